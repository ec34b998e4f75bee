//! The node agent's metric families (`faultline_agent_*`).
//!
//! Every label set is bounded: fault kinds come from the closed `FaultKind` list, `op` and
//! `reason` from the closed enums below. A fault id is never a label (it would grow the
//! series count without bound).

use prometheus::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
};

/// Why the agent recovered a fault; the `reason` label of `faultline_agent_recoveries_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryReason {
    /// The caller asked (`DELETE /v1/faults/{id}` or `Agent::recover`).
    Api,
    /// The fault's lease lapsed without renewal.
    Lease,
    /// The journal said it was still applied when the agent started.
    Startup,
    /// The agent was shutting down (SIGTERM/SIGINT).
    Shutdown,
    /// A request over several targets failed part-way; what was applied was undone.
    Rollback,
}

impl RecoveryReason {
    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            RecoveryReason::Api => "api",
            RecoveryReason::Lease => "lease",
            RecoveryReason::Startup => "startup",
            RecoveryReason::Shutdown => "shutdown",
            RecoveryReason::Rollback => "rollback",
        }
    }
}

/// Which operation failed; the `op` label of `faultline_agent_errors_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentOp {
    /// Resolving a target.
    Resolve,
    /// Applying a fault.
    Apply,
    /// Recovering a fault.
    Recover,
    /// Writing the journal.
    Journal,
}

impl AgentOp {
    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            AgentOp::Resolve => "resolve",
            AgentOp::Apply => "apply",
            AgentOp::Recover => "recover",
            AgentOp::Journal => "journal",
        }
    }
}

/// The agent's metric families in a registry the agent owns (no process-wide globals, so
/// several agents in one test process do not share counters).
#[derive(Debug)]
pub struct AgentMetrics {
    registry: Registry,
    faults_active: IntGaugeVec,
    apply_seconds: HistogramVec,
    recover_seconds: HistogramVec,
    errors_total: IntCounterVec,
    lease_lapses_total: IntCounterVec,
    lease_renewals_total: IntCounter,
    recoveries_total: IntCounterVec,
}

/// Latency buckets from 100 µs to ~6.5 s: a signal takes microseconds, a netlink change
/// milliseconds, spawning stress workers tens of milliseconds.
fn latency_buckets() -> Vec<f64> {
    prometheus::exponential_buckets(0.0001, 4.0, 9).unwrap_or_default()
}

impl AgentMetrics {
    /// Creates and registers every family. `version` goes into `faultline_agent_build_info`.
    pub fn new(version: &str) -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let faults_active = IntGaugeVec::new(
            Opts::new(
                "faultline_agent_faults_active",
                "Faults applied and not yet recovered, by kind.",
            ),
            &["kind"],
        )?;
        let apply_seconds = HistogramVec::new(
            HistogramOpts::new(
                "faultline_agent_apply_seconds",
                "Time to apply one fault on one target.",
            )
            .buckets(latency_buckets()),
            &["kind"],
        )?;
        let recover_seconds = HistogramVec::new(
            HistogramOpts::new(
                "faultline_agent_recover_seconds",
                "Time to recover one fault on one target.",
            )
            .buckets(latency_buckets()),
            &["kind"],
        )?;
        let errors_total = IntCounterVec::new(
            Opts::new(
                "faultline_agent_errors_total",
                "Failed agent operations, by fault kind and operation.",
            ),
            &["kind", "op"],
        )?;
        let lease_lapses_total = IntCounterVec::new(
            Opts::new(
                "faultline_agent_lease_lapses_total",
                "Faults whose lease lapsed without renewal.",
            ),
            &["kind"],
        )?;
        // No kind label: a renewal is the service saying "still here", whatever the fault.
        let lease_renewals_total = IntCounter::new(
            "faultline_agent_lease_renewals_total",
            "Fault leases extended by a renewal (one per record renewed).",
        )?;
        let recoveries_total = IntCounterVec::new(
            Opts::new(
                "faultline_agent_recoveries_total",
                "Faults recovered, by why.",
            ),
            &["reason"],
        )?;
        registry.register(Box::new(faults_active.clone()))?;
        registry.register(Box::new(apply_seconds.clone()))?;
        registry.register(Box::new(recover_seconds.clone()))?;
        registry.register(Box::new(errors_total.clone()))?;
        registry.register(Box::new(lease_lapses_total.clone()))?;
        registry.register(Box::new(lease_renewals_total.clone()))?;
        registry.register(Box::new(recoveries_total.clone()))?;
        crate::text::register_build_info(
            &registry,
            "faultline_agent_build_info",
            "Always 1; the agent's version as a label.",
            version,
        )?;
        Ok(AgentMetrics {
            registry,
            faults_active,
            apply_seconds,
            recover_seconds,
            errors_total,
            lease_lapses_total,
            lease_renewals_total,
            recoveries_total,
        })
    }

    /// Starts the lapse counter of each of `kinds` at 0, so a dashboard's lapse rate
    /// reads 0 rather than "no data" on an agent that never saw a lapse (a counter child
    /// only appears once touched). `kinds` is the agent's closed list of fault kinds.
    pub fn init_kinds<'a>(&self, kinds: impl IntoIterator<Item = &'a str>) {
        for k in kinds {
            self.lease_lapses_total.with_label_values(&[k]);
        }
    }

    /// Sets the number of active faults of `kind`.
    pub fn set_active(&self, kind: &str, n: usize) {
        self.faults_active
            .with_label_values(&[kind])
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Records one successful apply.
    pub fn applied(&self, kind: &str, seconds: f64) {
        self.apply_seconds
            .with_label_values(&[kind])
            .observe(seconds);
    }

    /// Records one successful recovery.
    pub fn recovered(&self, kind: &str, reason: RecoveryReason, seconds: f64) {
        self.recover_seconds
            .with_label_values(&[kind])
            .observe(seconds);
        self.recoveries_total
            .with_label_values(&[reason.as_str()])
            .inc();
    }

    /// Counts a failed operation.
    pub fn error(&self, kind: &str, op: AgentOp) {
        self.errors_total
            .with_label_values(&[kind, op.as_str()])
            .inc();
    }

    /// Counts a lease that lapsed.
    pub fn lease_lapsed(&self, kind: &str) {
        self.lease_lapses_total.with_label_values(&[kind]).inc();
    }

    /// Counts `records` leases extended by one renewal.
    pub fn lease_renewed(&self, records: usize) {
        self.lease_renewals_total
            .inc_by(u64::try_from(records).unwrap_or(u64::MAX));
    }

    /// The registry, for callers that gather it together with others.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Every family in the Prometheus text format, for `GET /metrics`.
    pub fn encode_text(&self) -> String {
        crate::text::encode_text(&self.registry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_appear_in_the_text_encoding_with_bounded_labels() {
        let m = AgentMetrics::new("1.2.3").unwrap();
        m.set_active("processPause", 2);
        m.applied("processPause", 0.001);
        m.recovered("processPause", RecoveryReason::Lease, 0.002);
        m.error("networkDelay", AgentOp::Apply);
        m.lease_lapsed("processPause");
        m.lease_renewed(2);
        let text = m.encode_text();
        for needle in [
            r#"faultline_agent_faults_active{kind="processPause"} 2"#,
            r#"faultline_agent_apply_seconds_count{kind="processPause"} 1"#,
            r#"faultline_agent_recover_seconds_count{kind="processPause"} 1"#,
            r#"faultline_agent_recoveries_total{reason="lease"} 1"#,
            r#"faultline_agent_errors_total{kind="networkDelay",op="apply"} 1"#,
            r#"faultline_agent_lease_lapses_total{kind="processPause"} 1"#,
            "faultline_agent_lease_renewals_total 2",
            r#"faultline_agent_build_info{version="1.2.3"} 1"#,
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
    }

    #[test]
    fn renewals_and_initialised_lapses_read_zero_before_anything_happens() {
        let m = AgentMetrics::new("x").unwrap();
        m.init_kinds(["processPause", "networkDelay"]);
        let text = m.encode_text();
        for needle in [
            "faultline_agent_lease_renewals_total 0",
            r#"faultline_agent_lease_lapses_total{kind="networkDelay"} 0"#,
            r#"faultline_agent_lease_lapses_total{kind="processPause"} 0"#,
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
    }

    #[test]
    fn two_instances_do_not_share_counters() {
        let a = AgentMetrics::new("x").unwrap();
        let b = AgentMetrics::new("x").unwrap();
        a.lease_lapsed("processKill");
        assert!(
            !b.encode_text()
                .contains("faultline_agent_lease_lapses_total{")
        );
    }
}
