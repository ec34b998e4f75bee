//! Why a run stopped before its verdict.

/// Why a run stopped early.
#[derive(Debug, Clone)]
pub(super) enum Stop {
    Aborted(String),
    Error(String),
}
