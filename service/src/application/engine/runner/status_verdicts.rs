//! What the run's verdict needs from its `check:` steps (`status_check.rs`): which failed,
//! and whether one of them aborted the run (which then ends `failed`, not `aborted`).

use std::sync::Mutex;

/// The results of the run's status checks that decide its verdict.
#[derive(Default)]
pub(super) struct StatusVerdicts {
    /// Why each failed check fails the verdict.
    failed: Mutex<Vec<String>>,
    /// The reason a check with `abortRun` aborted the run with.
    aborted_with: Mutex<Option<String>>,
}

impl StatusVerdicts {
    /// A check failed without `abortRun`: the run goes on, its verdict fails for `why`.
    pub(super) fn failed(&self, why: String) {
        self.failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(why);
    }

    /// A check with `abortRun` failed and aborts the run with `why`.
    pub(super) fn aborted_with(&self, why: String) {
        *self.aborted_with.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
    }

    /// The failed checks, each with how it failed.
    pub(super) fn failures(&self) -> Vec<String> {
        self.failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Whether the run's abort `reason` is a failed status check's: the run ends `failed`.
    pub(super) fn aborted_run(&self, reason: &str) -> bool {
        self.aborted_with
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_deref()
            == Some(reason)
    }
}
