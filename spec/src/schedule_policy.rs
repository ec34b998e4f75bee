//! What a schedule does around its times, beyond when they are (Chaos Mesh's `Schedule`
//! options in the native spelling): whether a time may start a run while the previous one
//! still runs, how late a time may still start one, and how many runs to keep.

use serde::{Deserialize, Serialize};

use crate::units::Duration;

/// Whether a time fires while a run this schedule started is still running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ConcurrencyPolicy {
    /// Skip the time (and say so): two runs of one experiment would inject the same fault
    /// twice into the same targets, and the first to recover would undo the other's. The
    /// default, as in Chaos Mesh.
    #[default]
    Forbid,
    /// Start the run anyway, beside the one still running.
    Allow,
}

impl ConcurrencyPolicy {
    /// Both spellings, as the spec writes them.
    pub const ALL_NAMES: [&'static str; 2] = ["Forbid", "Allow"];

    /// Reads one of [`ConcurrencyPolicy::ALL_NAMES`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Forbid" => Some(ConcurrencyPolicy::Forbid),
            "Allow" => Some(ConcurrencyPolicy::Allow),
            _ => None,
        }
    }

    /// The spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ConcurrencyPolicy::Forbid => "Forbid",
            ConcurrencyPolicy::Allow => "Allow",
        }
    }
}

/// The options of a schedule; the default is what a plain cron string means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SchedulePolicy {
    /// Overlapping runs: skipped (the default) or allowed.
    pub concurrency: ConcurrencyPolicy,
    /// A time noticed later than this after it passed is skipped; a time missed while the
    /// service was down is started once at start-up when it is no older than this. `None`:
    /// a time is fired only by a service that is up at that time (missed times are never
    /// made up).
    pub starting_deadline: Option<Duration>,
    /// Chaos Mesh's `historyLimit`, kept for reference and shown: faultline keeps every run
    /// as the experiment's record and prunes none (nothing reads this to delete runs).
    pub history_limit: Option<u32>,
}

impl SchedulePolicy {
    /// Whether every option is at its default (the string form can carry it).
    pub fn is_default(&self) -> bool {
        *self == SchedulePolicy::default()
    }
}
