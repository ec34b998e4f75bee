//! The service's metric families (`faultline_*` without the `agent_` prefix): runs, their
//! verdicts and durations, active faults, steady-state check values, API requests.
//!
//! Every label set is bounded: `experiment` is an experiment's name (a handful per team),
//! `verdict` one of four, `kind` from the closed `FaultKind` list, `check` and `phase` from
//! the experiment's spec, `route` the matched route *pattern* (`/api/v1/runs/{id}`, never
//! the path) and `status` an HTTP status code. A run id is never a label.

use prometheus::{GaugeVec, Histogram, HistogramOpts, IntCounterVec, IntGaugeVec, Opts, Registry};

/// The service's metric families in a registry the service owns (no process-wide
/// globals, so several services in one test process do not share counters).
#[derive(Debug)]
pub struct ServiceMetrics {
    registry: Registry,
    runs_started: IntCounterVec,
    runs_finished: IntCounterVec,
    run_duration: Histogram,
    faults_active: IntGaugeVec,
    check_value: GaugeVec,
    api_requests: IntCounterVec,
    webhook_requests: IntCounterVec,
    notifications: IntCounterVec,
    emergency_stop: prometheus::IntGauge,
    agents_known: prometheus::IntGauge,
    agents_healthy: prometheus::IntGauge,
}

/// Run duration buckets from 1 s to ~2.3 h: experiments last seconds to hours.
fn duration_buckets() -> Vec<f64> {
    prometheus::exponential_buckets(1.0, 3.0, 9).unwrap_or_default()
}

impl ServiceMetrics {
    /// Creates and registers every family. `version` goes into `faultline_build_info`.
    pub fn new(version: &str) -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let runs_started = IntCounterVec::new(
            Opts::new(
                "faultline_runs_started_total",
                "Runs started, by experiment.",
            ),
            &["experiment"],
        )?;
        let runs_finished = IntCounterVec::new(
            Opts::new(
                "faultline_runs_finished_total",
                "Runs that reached a verdict, by experiment and verdict.",
            ),
            &["experiment", "verdict"],
        )?;
        let run_duration = Histogram::with_opts(
            HistogramOpts::new(
                "faultline_run_duration_seconds",
                "Wall time of a run from start to verdict.",
            )
            .buckets(duration_buckets()),
        )?;
        let faults_active = IntGaugeVec::new(
            Opts::new(
                "faultline_faults_active",
                "Faults the service's runs have applied and not yet recovered, by kind.",
            ),
            &["kind"],
        )?;
        let check_value = GaugeVec::new(
            Opts::new(
                "faultline_check_value",
                "Last measured value of a steady-state check, by experiment, check and phase.",
            ),
            &["experiment", "check", "phase"],
        )?;
        let api_requests = IntCounterVec::new(
            Opts::new(
                "faultline_api_requests_total",
                "HTTP requests answered, by route pattern and status code.",
            ),
            &["route", "status"],
        )?;
        let webhook_requests = IntCounterVec::new(
            Opts::new(
                "faultline_webhook_requests_total",
                "Webhook deliveries, by event kind and outcome (triggered, ignored, duplicate, unauthorized, invalid, refused).",
            ),
            &["event", "outcome"],
        )?;
        let notifications = IntCounterVec::new(
            Opts::new(
                "faultline_notifications_total",
                "Notification delivery attempts, by channel and outcome (sent, retry, failed).",
            ),
            &["channel", "outcome"],
        )?;
        let emergency_stop = prometheus::IntGauge::new(
            "faultline_emergency_stop",
            "1 while the emergency stop is engaged (every run aborted, new runs refused).",
        )?;
        // Plain gauges, no per-agent label: a cluster has one agent per node, and a
        // node name as a label would grow without bound as nodes come and go.
        let agents_known = prometheus::IntGauge::new(
            "faultline_agents_known",
            "Node agents the service knows (its --agent, the in-process agent, or the agent pods it discovered), at the last probe.",
        )?;
        let agents_healthy = prometheus::IntGauge::new(
            "faultline_agents_healthy",
            "Node agents that answered their health check at the last probe.",
        )?;
        registry.register(Box::new(agents_known.clone()))?;
        registry.register(Box::new(agents_healthy.clone()))?;
        registry.register(Box::new(webhook_requests.clone()))?;
        registry.register(Box::new(notifications.clone()))?;
        registry.register(Box::new(emergency_stop.clone()))?;
        registry.register(Box::new(runs_started.clone()))?;
        registry.register(Box::new(runs_finished.clone()))?;
        registry.register(Box::new(run_duration.clone()))?;
        registry.register(Box::new(faults_active.clone()))?;
        registry.register(Box::new(check_value.clone()))?;
        registry.register(Box::new(api_requests.clone()))?;
        crate::text::register_build_info(
            &registry,
            "faultline_build_info",
            "Always 1; the service's version as a label.",
            version,
        )?;
        Ok(ServiceMetrics {
            registry,
            runs_started,
            runs_finished,
            run_duration,
            faults_active,
            check_value,
            api_requests,
            webhook_requests,
            notifications,
            emergency_stop,
            agents_known,
            agents_healthy,
        })
    }

    /// Counts a run of `experiment` that started.
    pub fn run_started(&self, experiment: &str) {
        self.runs_started.with_label_values(&[experiment]).inc();
    }

    /// Counts a run that reached `verdict` after `seconds`.
    pub fn run_finished(&self, experiment: &str, verdict: &str, seconds: f64) {
        self.runs_finished
            .with_label_values(&[experiment, verdict])
            .inc();
        self.run_duration.observe(seconds);
    }

    /// One more (`delta` = 1) or one fewer (`delta` = -1) active fault of `kind`.
    pub fn fault_active(&self, kind: &str, delta: i64) {
        self.faults_active.with_label_values(&[kind]).add(delta);
    }

    /// The last value a check measured.
    pub fn check_value(&self, experiment: &str, check: &str, phase: &str, value: f64) {
        self.check_value
            .with_label_values(&[experiment, check, phase])
            .set(value);
    }

    /// Counts one answered API request.
    pub fn api_request(&self, route: &str, status: u16) {
        self.api_requests
            .with_label_values(&[route, &status.to_string()])
            .inc();
    }

    /// Counts one webhook delivery of `event` (`pipeline`, `push`, ... or `unknown`) that
    /// ended as `outcome`.
    pub fn webhook_request(&self, event: &str, outcome: &str) {
        self.webhook_requests
            .with_label_values(&[event, outcome])
            .inc();
    }

    /// Counts one notification attempt on `channel` (`email`, `slack`, `webhook`,
    /// `gitlab`) that ended as `outcome` (`sent`, `retry`, `failed`).
    pub fn notification(&self, channel: &str, outcome: &str) {
        self.notifications
            .with_label_values(&[channel, outcome])
            .inc();
    }

    /// Whether the emergency stop is engaged.
    pub fn emergency_stop(&self, engaged: bool) {
        self.emergency_stop.set(i64::from(engaged));
    }

    /// The result of one agent health probe: `known` agents, `healthy` of them answering.
    pub fn agents(&self, known: usize, healthy: usize) {
        let n = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
        self.agents_known.set(n(known));
        self.agents_healthy.set(n(healthy));
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
        let m = ServiceMetrics::new("1.2.3").unwrap();
        m.run_started("checkout");
        m.run_finished("checkout", "passed", 12.0);
        m.fault_active("processPause", 1);
        m.fault_active("processPause", 1);
        m.fault_active("processPause", -1);
        m.check_value("checkout", "availability", "during", 0.995);
        m.api_request("/api/v1/runs/{id}", 200);
        m.agents(3, 2);
        let text = m.encode_text();
        for needle in [
            r#"faultline_runs_started_total{experiment="checkout"} 1"#,
            r#"faultline_runs_finished_total{experiment="checkout",verdict="passed"} 1"#,
            "faultline_run_duration_seconds_count 1",
            r#"faultline_run_duration_seconds_bucket{le="27"} 1"#,
            r#"faultline_faults_active{kind="processPause"} 1"#,
            r#"faultline_check_value{check="availability",experiment="checkout",phase="during"} 0.995"#,
            r#"faultline_api_requests_total{route="/api/v1/runs/{id}",status="200"} 1"#,
            r#"faultline_build_info{version="1.2.3"} 1"#,
            "faultline_agents_known 3",
            "faultline_agents_healthy 2",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
    }

    #[test]
    fn two_instances_do_not_share_counters() {
        let a = ServiceMetrics::new("x").unwrap();
        let b = ServiceMetrics::new("x").unwrap();
        a.run_started("e");
        assert!(!b.encode_text().contains("faultline_runs_started_total{"));
    }
}
