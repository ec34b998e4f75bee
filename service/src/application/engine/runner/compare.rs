//! The statistical verdict of checks with `compare:`: their raw samples are kept per
//! phase while they are measured, and once the faults are removed the `during` window is
//! compared with the `before` window (`checks::compare`) and the result recorded.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::{Runner, Stop};
use crate::application::probes::CheckProbe;
use crate::domain::RunEvent;
use crate::domain::compare;

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

    fn get(&self, check: &str, phase: &'static str) -> Vec<Option<f64>> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(check.to_string(), phase))
            .cloned()
            .unwrap_or_default()
    }
}

impl Runner {
    /// Compares every comparing check's `during` samples with its `before` samples and
    /// records the result. Returns why each check that got worse failed.
    pub(super) fn compare_windows(&self, checks: &[CheckProbe]) -> Result<Vec<String>, Stop> {
        let mut failed = Vec::new();
        for c in checks {
            let Some(spec) = &c.check.compare else {
                continue;
            };
            let name = &c.check.name;
            let comparison = compare::compare(
                spec,
                c.sample_unit(),
                &self.samples.get(name, "before"),
                &self.samples.get(name, "during"),
            );
            if !comparison.ok {
                failed.push(format!(
                    "{name} was worse during the faults than before ({})",
                    comparison.reason
                ));
            }
            self.record(RunEvent::CheckCompared {
                check: name.clone(),
                comparison: Box::new(comparison),
            })?;
        }
        Ok(failed)
    }
}
