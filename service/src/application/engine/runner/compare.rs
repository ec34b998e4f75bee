//! The statistical verdict of checks with `compare:`: their raw samples are kept per
//! phase while they are measured, and once the faults are removed the `during` window is
//! compared with the `before` window (`domain::compare`) and the result recorded.

use super::machine::Runner;
use super::stop::Stop;
use crate::application::probes::CheckProbe;
use crate::domain::RunEvent;
use crate::domain::compare;

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
