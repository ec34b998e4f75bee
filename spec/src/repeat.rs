//! `repeat:`, a step that runs one step at each time of a schedule until its deadline
//! (Chaos Mesh's Workflow `templateType: Schedule` node). Without a deadline (its own or an
//! enclosing group's) it repeats until the run is aborted, at most `guard.maxDuration`,
//! as an `untilAborted` fault holds.

use serde::{Deserialize, Serialize};

use crate::experiment::Step;
use crate::schedule::Schedule;
use crate::schedule_policy::ConcurrencyPolicy;
use crate::units::Duration;

/// A step run at each time of a schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Repeat {
    /// When each instance starts (a cron expression in UTC, a descriptor, `@every 2s`).
    pub schedule: Schedule,
    /// A time that comes while the previous instance still runs: skipped (`Forbid`, the
    /// default, as for `spec.schedule`) or started beside it (`Allow`).
    pub concurrency: ConcurrencyPolicy,
    /// The step each instance runs.
    pub step: Box<Step>,
    /// Repeating ends when this has passed since the step started: instances still
    /// holding a fault are recovered then, as a group's deadline does.
    pub deadline: Option<Duration>,
}

/// `repeat:`'s body as the spec writes it (the deadline sits beside `repeat:`).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RepeatBody {
    pub(crate) schedule: Schedule,
    #[serde(default)]
    pub(crate) concurrency_policy: ConcurrencyPolicy,
    pub(crate) step: Box<Step>,
}
