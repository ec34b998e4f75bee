//! What the scheduler did with each scheduled experiment since the service started: the
//! runs it started (so `concurrencyPolicy: Forbid` knows whether one still runs) and the
//! times it skipped, with why (shown by `GET /api/v1/schedules`).

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// A time the scheduler did not start a run for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skip {
    /// The schedule's time.
    pub at: DateTime<Utc>,
    /// Why: a run still running (Forbid), or noticed past `startingDeadline`.
    pub why: String,
}

/// One experiment's record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Fired {
    /// Runs started by the schedule.
    pub started: u64,
    /// Times skipped.
    pub skipped: u64,
    /// The latest skip.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_skip: Option<Skip>,
    /// The runs it started that may still run (pruned as they are found finished).
    #[serde(skip)]
    runs: Vec<String>,
}

/// Every scheduled experiment's record, by experiment name.
#[derive(Debug, Default)]
pub struct ScheduleBook {
    by_name: Mutex<HashMap<String, Fired>>,
}

impl ScheduleBook {
    fn with<R>(&self, name: &str, f: impl FnOnce(&mut Fired) -> R) -> R {
        let mut m = self.by_name.lock().unwrap_or_else(|p| p.into_inner());
        f(m.entry(name.to_string()).or_default())
    }

    /// The schedule of `name` started run `run`.
    pub fn started(&self, name: &str, run: &str) {
        self.with(name, |e| {
            e.started += 1;
            e.runs.push(run.to_string());
        });
    }

    /// The schedule of `name` skipped its time `at`.
    pub fn skipped(&self, name: &str, at: DateTime<Utc>, why: String) {
        self.with(name, |e| {
            e.skipped += 1;
            e.last_skip = Some(Skip { at, why });
        });
    }

    /// A run the schedule of `name` started that `is_live` says still runs.
    pub fn running(&self, name: &str, is_live: impl Fn(&str) -> bool) -> Option<String> {
        self.with(name, |e| {
            e.runs.retain(|r| is_live(r));
            e.runs.first().cloned()
        })
    }

    /// The record of `name` (empty when its schedule has done nothing yet).
    pub fn of(&self, name: &str) -> Fired {
        self.with(name, |e| e.clone())
    }
}
