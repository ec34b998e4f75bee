//! The run store: runs and their events. The engine writes every event here before it
//! takes its next step; the API, reports and notifications read them back.

use chrono::{DateTime, Utc};

use crate::domain::{ActiveFault, GitlabContext, RunEvent, RunRow, RunState, StoredEvent};

use super::store_error::StoreError;

/// Which runs [`RunStore::find_runs`] returns.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunFilter<'a> {
    /// Only this experiment's.
    pub experiment: Option<&'a str>,
    /// Only runs in this state (a verdict, or a live state).
    pub state: Option<RunState>,
    /// Only runs a GitLab event of this project started: its path (`group/project`), or
    /// a group's (`group`: every project under it).
    pub project: Option<&'a str>,
    /// Only runs created at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only runs created before this time.
    pub until: Option<DateTime<Utc>>,
    /// Start after this run id (the previous page's last).
    pub before: Option<&'a str>,
    /// At most this many.
    pub limit: u32,
}

/// One finished run in an experiment's verdict trend ([`RunStore::verdict_trends`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerdictPoint {
    /// The experiment.
    pub experiment: String,
    /// The run.
    pub id: String,
    /// Its verdict (a terminal state).
    pub verdict: RunState,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// Where runs and their events are kept.
pub trait RunStore: Send + Sync {
    /// Creates a run in `pending` that GitLab event `gitlab` (if any) started.
    fn create_run_from(
        &self,
        id: &str,
        experiment: &str,
        spec_json: &str,
        gitlab: Option<&GitlabContext>,
    ) -> Result<(), StoreError>;

    /// Run `id`.
    fn run(&self, id: &str) -> Result<RunRow, StoreError>;

    /// The newest `limit` runs, newest first.
    fn list_runs(&self, limit: u32) -> Result<Vec<RunRow>, StoreError>;

    /// The runs `filter` picks, newest first.
    fn find_runs(&self, filter: &RunFilter<'_>) -> Result<Vec<RunRow>, StoreError>;

    /// The verdicts of each experiment's `last` newest finished runs: experiments by
    /// name, each one's runs newest first (the console's trend strip, whatever page of
    /// runs it shows).
    fn verdict_trends(&self, last: u32) -> Result<Vec<VerdictPoint>, StoreError>;

    /// Run `run`'s events, in order.
    fn events(&self, run: &str) -> Result<Vec<StoredEvent>, StoreError>;

    /// Run `run`'s events after sequence number `after`, in order: what a live view
    /// reads on each news, instead of every event from the start again.
    fn events_after(&self, run: &str, after: u64) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(self
            .events(run)?
            .into_iter()
            .filter(|e| e.seq > after)
            .collect())
    }

    /// A signal that run `run` recorded something, whichever process records it (its
    /// value changes; read the events to see what): live views wait on it rather than
    /// poll. `None` when this store cannot tell (SQLite: only the process driving the run
    /// knows, and the API asks it first).
    fn watch_events(&self, run: &str) -> Option<tokio::sync::watch::Receiver<u64>> {
        let _ = run;
        None
    }

    /// Persists one event (and the state it moves the run to); returns its sequence
    /// number.
    fn record(&self, run: &str, event: &RunEvent) -> Result<u64, StoreError>;

    /// Persists `events` in order, all or none; returns the last one's sequence number.
    fn record_all(&self, run: &str, events: &[RunEvent]) -> Result<u64, StoreError>;

    /// Ends every run a previous process left unfinished (`error`, `reason`); their ids.
    fn fail_interrupted(&self, reason: &str) -> Result<Vec<String>, StoreError>;

    /// Records `fault` as active on run `run`, before it is applied (replacing an
    /// earlier record of the same id).
    fn fault_started(&self, run: &str, fault: &ActiveFault) -> Result<(), StoreError>;

    /// Moves the lease of active fault `fault` of run `run` to `expires`.
    fn fault_renewed(
        &self,
        run: &str,
        fault: &str,
        expires: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Forgets active fault `fault` of run `run`: it is recovered.
    fn fault_ended(&self, run: &str, fault: &str) -> Result<(), StoreError>;

    /// Every run's active faults, `(run, fault)`, oldest first: what a restarted
    /// service confirms recovered.
    fn active_faults(&self) -> Result<Vec<(String, ActiveFault)>, StoreError>;
}
