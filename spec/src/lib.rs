//! faultline's experiment language (DESIGN §4): typed values, fault kinds, targets, the
//! native document, its validating decoder (errors with file, line, field and fix), the
//! Chaos Mesh import, schedules and time zones.
//!
//! It is pure: no I/O beyond reading a spec's text, and no other workspace crate. The node
//! agent depends on it for the fault vocabulary it executes; the service for the rest.

pub mod chaos_mesh;
pub mod compare;
pub mod cron_shorthand;
pub mod decode;
pub mod error;
pub mod experiment;
pub mod fault;
pub mod legacy;
pub mod load;
pub mod schedule;
pub mod schedule_policy;
pub mod selector;
pub mod status_check;
pub mod steady;
pub mod target;
pub mod task;
pub mod units;
pub mod verify;
pub mod yaml;
pub mod zone;

pub use compare::{ChangeLimit, Compare};
pub use error::{SpecError, SpecErrors};
pub use experiment::{
    Channel, Experiment, ExperimentSpec, FaultStep, Group, Guard, Metadata, Notify, Repeat, Step,
    Verdict,
};
pub use fault::{
    Direction, FaultKind, Host, NetemParams, NetworkScope, NodeFault, PeerPort, PodFault, Signal,
};
pub use fault::{TaintEffect, ZONE_LABEL};
pub use load::{load_file, load_str};
pub use schedule::{Schedule, ScheduleError, WeekdayError};
pub use schedule_policy::{ConcurrencyPolicy, SchedulePolicy};
pub use selector::{
    LabelExpression, LabelOperator, Mode, ModeError, PodPhase, PodSelector, Target,
};
pub use status_check::{CheckMode, CheckStep, StatusCodes, StatusRequest};
pub use steady::{Expectation, ExpectationError, HttpProbe, Phase, Probe, SteadyCheck};
pub use target::LocalTarget;
pub use task::{Branch, Condition, Task, TaskStep};
pub use units::{BitRate, Bytes, Duration, Percent, UnitError};
pub use verify::Verify;
pub use zone::{Zone, ZoneError};
