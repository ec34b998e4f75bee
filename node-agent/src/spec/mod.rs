//! The experiment spec (DESIGN §4): typed values, fault kinds, targets, the native document,
//! its validating decoder and the Chaos Mesh import.

pub mod chaos_mesh;
pub mod compare;
pub mod decode;
pub mod error;
pub mod experiment;
pub mod fault;
pub mod load;
pub mod schedule;
pub mod selector;
pub mod steady;
pub mod target;
pub mod units;
pub mod yaml;
pub mod zone;

pub use compare::{ChangeLimit, Compare};
pub use error::{SpecError, SpecErrors};
pub use experiment::{
    Channel, Experiment, ExperimentSpec, FaultStep, Guard, Metadata, Notify, Step, Verdict,
};
pub use fault::{Direction, FaultKind, NetemParams, NetworkScope, Signal};
pub use load::{load_file, load_str};
pub use schedule::Schedule;
pub use selector::{LabelExpression, LabelOperator, Mode, PodPhase, PodSelector, Target};
pub use steady::{Expectation, HttpProbe, Phase, Probe, SteadyCheck};
pub use target::LocalTarget;
pub use units::{BitRate, Bytes, Duration, Percent, UnitError};
