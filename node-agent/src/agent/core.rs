//! The agent thread's state: the journal it owns, its metrics, and the recoveries to
//! retry. What it does with them is in `apply.rs`, `recover.rs` and `lease.rs`; the loop
//! that calls them is in `thread.rs`.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use faultline_exporter::AgentMetrics;

use super::error::AgentError;
use super::events::ActiveChanged;
use crate::faults::{Baseline, FaultId, FaultRecord};
use crate::journal::Journal;
use faultline_spec::{LocalTarget, NodeFault};

/// What the agent thread owns; only that thread touches it, one command at a time.
pub(super) struct Core {
    /// The state dir's journal, holding the dir's lock.
    pub(super) journal: Journal,
    /// Where every event is counted.
    pub(super) metrics: Arc<AgentMetrics>,
    /// Records whose recovery failed: when to try again and the wait after that.
    pub(super) retry: HashMap<FaultId, (Instant, Duration)>,
    /// Instant requests done lately: (id, kind, targets, records).
    pub(super) recent_instant: VecDeque<(FaultId, NodeFault, Vec<LocalTarget>, Vec<FaultRecord>)>,
    /// What each record's observation compares against, read right after it applied
    /// (in memory only: after a restart an observation starts a new one).
    pub(super) baselines: HashMap<FaultId, Baseline>,
    /// Called before the first fault that outlasts its request is journaled, until it
    /// succeeds once (`faultline run` arms its watchdog there); `None` once it has.
    pub(super) before_lasting: Option<BeforeLasting>,
}

/// A hook the agent thread calls before journaling the first fault that stays applied
/// after its request returns (not an instant one such as processKill): `faultline run`
/// starts the watchdog that recovers the journal if the run is killed. An `Err` refuses
/// the apply, with nothing journaled or touched; the next lasting apply calls it again.
pub type BeforeLasting = Box<dyn FnMut() -> Result<(), String> + Send>;

impl Core {
    /// A core over an opened journal, with nothing to retry yet.
    pub(super) fn new(
        journal: Journal,
        metrics: Arc<AgentMetrics>,
        before_lasting: Option<BeforeLasting>,
    ) -> Core {
        Core {
            journal,
            metrics,
            retry: HashMap::new(),
            recent_instant: VecDeque::new(),
            baselines: HashMap::new(),
            before_lasting,
        }
    }

    /// Runs the [`BeforeLasting`] hook if it has not succeeded yet.
    pub(super) fn before_lasting(&mut self) -> Result<(), AgentError> {
        let Some(hook) = self.before_lasting.as_mut() else {
            return Ok(());
        };
        hook().map_err(|reason| AgentError::Unguarded { reason })?;
        self.before_lasting = None;
        Ok(())
    }

    /// Sets the active-faults gauge from what the journal holds.
    pub(super) fn active_changed(&self) {
        let kinds: Vec<&NodeFault> = self
            .journal
            .active()
            .values()
            .map(|a| &a.record.kind)
            .collect();
        ActiveChanged { active: &kinds }.emit(&self.metrics);
    }

    /// The active record ids of request `id`, or record `id` itself.
    pub(super) fn matching(&self, id: &FaultId) -> Vec<FaultId> {
        self.journal
            .active()
            .values()
            .filter(|a| a.record.id == *id || a.group == *id)
            .map(|a| a.record.id.clone())
            .collect()
    }
}
