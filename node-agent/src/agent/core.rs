//! The agent thread's state: the journal it owns, its metrics, and the recoveries to
//! retry. What it does with them is in `apply.rs`, `recover.rs` and `lease.rs`; the loop
//! that calls them is in `thread.rs`.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use faultline_exporter::AgentMetrics;

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
}

impl Core {
    /// A core over an opened journal, with nothing to retry yet.
    pub(super) fn new(journal: Journal, metrics: Arc<AgentMetrics>) -> Core {
        Core {
            journal,
            metrics,
            retry: HashMap::new(),
            recent_instant: VecDeque::new(),
            baselines: HashMap::new(),
        }
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
