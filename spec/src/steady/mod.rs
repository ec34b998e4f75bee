//! Steady-state checks: what "healthy" means for an experiment, measured before, during and
//! after the faults by a Prometheus query or an HTTP probe.

pub mod check;
pub mod expect;

pub use check::{
    HttpMethod, HttpProbe, Phase, Probe, SteadyCheck, default_every, default_status,
    default_timeout,
};
pub use expect::{
    Comparator, Condition, Expectation, ExpectationError, Statistic, Threshold, ThresholdUnit,
};
