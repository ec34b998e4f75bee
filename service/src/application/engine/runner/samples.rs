//! Raw samples of checks with `compare:`, kept per phase while they are measured, for
//! the statistical verdict once the faults are removed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::application::probes::CheckProbe;

/// Raw samples of checks with `compare:`, by check name and phase; shared with the tasks
/// that measure the `during` checks.
#[derive(Clone, Default)]
pub(super) struct Samples(Arc<Mutex<BTreeMap<Key, Vec<Option<f64>>>>>);

/// Check name and phase.
type Key = (String, &'static str);

impl Samples {
    /// Keeps what `probe` measured in `phase`, if its check compares.
    pub(super) fn keep(&self, probe: &mut CheckProbe, phase: &'static str) {
        if probe.check.compare.is_none() {
            return;
        }
        let taken = probe.take_samples();
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((probe.check.name.clone(), phase))
            .or_default()
            .extend(taken);
    }

    pub(super) fn get(&self, check: &str, phase: &'static str) -> Vec<Option<f64>> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(check.to_string(), phase))
            .cloned()
            .unwrap_or_default()
    }
}
