//! The ID-token family (issue 28): GitLab CI ID tokens refused, by reason. `reason` is
//! one of a closed list the service passes at start-up (malformed, algorithm,
//! unknown_kid, expired, ...), never a claim value, so the label set stays bounded.

use prometheus::{IntCounterVec, Opts, Registry};

/// `faultline_id_token_refusals_total{reason}`.
#[derive(Debug, Clone)]
pub struct IdTokenMetrics {
    refusals: IntCounterVec,
}

impl IdTokenMetrics {
    /// Creates the family with a zero series for each of `reasons` (so a rate over it
    /// exists before the first refusal) and registers it in `registry`.
    pub fn register(registry: &Registry, reasons: &[&str]) -> Result<Self, prometheus::Error> {
        let refusals = IntCounterVec::new(
            Opts::new(
                "faultline_id_token_refusals_total",
                "GitLab CI ID tokens refused, by the check that failed.",
            ),
            &["reason"],
        )?;
        for r in reasons {
            refusals.with_label_values(&[r]);
        }
        registry.register(Box::new(refusals.clone()))?;
        Ok(IdTokenMetrics { refusals })
    }

    /// Counts one refusal.
    pub fn refused(&self, reason: &str) {
        self.refusals.with_label_values(&[reason]).inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_counted_by_reason() {
        let r = Registry::new();
        let m = IdTokenMetrics::register(&r, &["expired", "audience"]).unwrap();
        m.refused("expired");
        let out = crate::text::encode_text(&r);
        assert!(
            out.contains("reason=\"expired\"} 1") && out.contains("reason=\"audience\"} 0"),
            "{out}"
        );
    }
}
