//! The run's state machine (DESIGN §3). Every transition is an event persisted by the
//! store before the next step runs; the store refuses a transition this table forbids, so
//! a bug in the engine cannot write a history that never happened.

use serde::{Deserialize, Serialize};

/// Where a run is. The last four are terminal and carry the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunState {
    /// Accepted, not started.
    Pending,
    /// Steady-state checks before anything is injected.
    CheckingBefore,
    /// Applying a step's faults.
    Injecting,
    /// Faults active; `during` checks run continuously.
    Observing,
    /// Removing faults (end of a step, or an abort).
    Recovering,
    /// Steady-state checks after recovery, within the recovery window.
    CheckingAfter,
    /// Every check held.
    Passed,
    /// A check failed (or the system was not steady before injection).
    Failed,
    /// Stopped early: an abort bound, an operator, a signal, an alert.
    Aborted,
    /// faultline itself could not complete the run (a fault failed to apply, a crash).
    Error,
}

impl RunState {
    /// Every state, in order.
    pub const ALL: [RunState; 10] = [
        RunState::Pending,
        RunState::CheckingBefore,
        RunState::Injecting,
        RunState::Observing,
        RunState::Recovering,
        RunState::CheckingAfter,
        RunState::Passed,
        RunState::Failed,
        RunState::Aborted,
        RunState::Error,
    ];

    /// True once the run has a verdict.
    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            RunState::Passed | RunState::Failed | RunState::Aborted | RunState::Error
        )
    }

    /// Whether `self -> next` is a legal transition.
    pub fn can_go(self, next: RunState) -> bool {
        use RunState::*;
        if self.is_terminal() {
            return false;
        }
        // Any live run may end in error; aborting goes through Recovering once faults may
        // be active, so it is direct only where nothing was injected yet.
        if next == Error {
            return true;
        }
        matches!(
            (self, next),
            (Pending, CheckingBefore | Aborted)
                | (CheckingBefore, Injecting | Failed | Aborted)
                | (Injecting, Observing | Recovering)
                | (Observing, Recovering | Injecting)
                | (Recovering, Injecting | CheckingAfter | Aborted | Failed)
                | (CheckingAfter, Passed | Failed | Aborted)
        )
    }

    /// The name used in the API, the store and metrics labels.
    pub const fn as_str(self) -> &'static str {
        match self {
            RunState::Pending => "pending",
            RunState::CheckingBefore => "checking-before",
            RunState::Injecting => "injecting",
            RunState::Observing => "observing",
            RunState::Recovering => "recovering",
            RunState::CheckingAfter => "checking-after",
            RunState::Passed => "passed",
            RunState::Failed => "failed",
            RunState::Aborted => "aborted",
            RunState::Error => "error",
        }
    }

    /// Parses [`RunState::as_str`].
    pub fn parse(s: &str) -> Option<RunState> {
        RunState::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl std::fmt::Display for RunState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::RunState::*;
    use super::*;

    #[test]
    fn the_happy_path_is_legal() {
        let path = [
            Pending,
            CheckingBefore,
            Injecting,
            Observing,
            Recovering,
            Injecting,
            Observing,
            Recovering,
            CheckingAfter,
            Passed,
        ];
        for w in path.windows(2) {
            assert!(w[0].can_go(w[1]), "{} -> {}", w[0], w[1]);
        }
    }

    #[test]
    fn terminal_states_are_final_and_skips_are_refused() {
        for t in [Passed, Failed, Aborted, Error] {
            for s in RunState::ALL {
                assert!(!t.can_go(s), "{t} -> {s}");
            }
        }
        assert!(
            !Pending.can_go(Injecting),
            "injecting without checking before"
        );
        assert!(!Observing.can_go(Passed), "a verdict without recovery");
        assert!(
            !Observing.can_go(Aborted),
            "aborting with faults active skips recovery"
        );
        assert!(Observing.can_go(Error));
    }

    #[test]
    fn names_round_trip() {
        for s in RunState::ALL {
            assert_eq!(RunState::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
    }
}
