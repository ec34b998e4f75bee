//! Steady-state verdicts from a real Prometheus: it scrapes a Python HTTP server (the
//! system under test) every second and evaluates an alert rule; `processPause` on that
//! server is the fault. Steady, breaking, abort-bound and alert-driven scenarios, each
//! proving the paused server runs again afterwards.

use std::sync::Arc;
use std::time::{Duration, Instant};

use faultline::application::engine::inject::Injector;
use faultline::application::engine::runner::{RunOptions, Runner};
use faultline::application::probes::PrometheusClient;
use faultline::domain::{RunEvent, RunState};
use faultline::store::Store;
use faultline_agent::agent::Agent;
use faultline_spec::load_str;
use faultline_test_support::peers::{Prometheus, start_prometheus};
use faultline_test_support::{Proc, http_server, proc_state, sleeper};

const RULES: &str = r#"groups:
  - name: faultline-test
    interval: 1s
    rules:
      - alert: WebDown
        expr: up{job="web"} == 0
        for: 0s
"#;

struct World {
    prom: Prometheus,
    web: Proc,
    _site: tempfile::TempDir,
    store: Arc<Store>,
    agent: Arc<Agent>,
    _state: tempfile::TempDir,
}

/// Prometheus scraping the web server's `/metrics` (a static file) every second, with
/// `up{job="web"}` already 1 when this returns.
async fn world() -> Option<World> {
    let site = tempfile::tempdir().unwrap();
    std::fs::write(
        site.path().join("metrics"),
        "# TYPE demo_ready gauge\ndemo_ready 1\n",
    )
    .unwrap();
    let (web, port) = http_server(site.path());
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 500ms\n  evaluation_interval: 1s\nrule_files: [rules.yml]\nscrape_configs:\n  - job_name: web\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
    );
    let prom = start_prometheus(&config, Some(RULES)).await?;
    let client = PrometheusClient::new(&prom.url, Duration::from_secs(2));
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.instant(r#"up{job="web"}"#).await.ok() != Some(1.0) {
        assert!(
            Instant::now() < deadline,
            "prometheus never scraped the web server"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let state = tempfile::tempdir().unwrap();
    let agent = Arc::new(Agent::open(state.path().join("agent")).await.unwrap());
    let store = Arc::new(Store::open(&state.path().join("faultline.db")).unwrap());
    Some(World {
        prom,
        web,
        _site: site,
        store,
        agent,
        _state: state,
    })
}

impl World {
    async fn run(
        &self,
        id: &str,
        target_pid: u32,
        check_extra: &str,
        spec_extra: &str,
        duration: &str,
    ) -> RunState {
        let yaml = format!(
            r#"apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: {{ name: prom-{id} }}
spec:
  target: {{ local: {{ pid: {target_pid} }} }}
{spec_extra}  steadyState:
    - name: web-up
      prometheus: 'up{{job="web"}}'
      expect: ">= 1"
{check_extra}  steps:
    - name: pause
      processPause: {{}}
      duration: {duration}
"#
        );
        let exp = load_str(&yaml, "t.yaml")
            .unwrap_or_else(|e| panic!("{e}"))
            .remove(0);
        self.store.create_run(id, &exp.metadata.name, "{}").unwrap();
        let opts = RunOptions {
            lease: Duration::from_secs(10),
            prometheus: Some(PrometheusClient::new(
                &self.prom.url,
                Duration::from_secs(2),
            )),
            ..RunOptions::default()
        };
        Runner::new(
            self.store.clone(),
            Injector::InProcess(self.agent.clone()),
            opts,
            id.into(),
            exp,
        )
        .execute()
        .await
    }

    /// Waits until the server is scraped as up again and WebDown no longer fires, so one
    /// scenario's outage does not leak into the next one's `before` phase.
    async fn settle(&self) {
        let client = PrometheusClient::new(&self.prom.url, Duration::from_secs(2));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let up = client.instant(r#"up{job="web"}"#).await.ok() == Some(1.0);
            let quiet = client
                .firing_alerts(&["WebDown".into()])
                .await
                .map(|f| f.is_empty())
                .unwrap_or(false);
            if up && quiet {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the web server did not come back within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn reason(&self, id: &str) -> String {
        self.store.run(id).unwrap().reason
    }
}

#[tokio::test]
async fn prometheus_verdicts_for_steady_breaking_abort_bound_and_alerts() {
    let Some(w) = world().await else { return };
    let web_pid = w.web.pid();

    // Steady: pausing an unrelated process leaves `up` at 1 throughout.
    let other = sleeper();
    let v = w.run("steady", other.pid(), "", "", "2s").await;
    assert_eq!(v, RunState::Passed, "{}", w.reason("steady"));
    assert_ne!(proc_state(other.pid()), 'T');

    // Error budget: a burn rate over its limit refuses the run before anything is injected.
    let budget = "  guard:\n    errorBudget: { prometheus: 'vector(2.5)', expect: '< 1' }\n";
    let v = w.run("budget", other.pid(), "", budget, "2s").await;
    assert_eq!(v, RunState::Failed);
    let reason = w.reason("budget");
    assert!(
        reason.contains("error budget `vector(2.5)` = 2.5 does not meet `< 1`; nothing injected"),
        "{reason}"
    );
    let injected = w
        .store
        .events("budget")
        .unwrap()
        .iter()
        .any(|e| matches!(e.event, RunEvent::FaultApplied { .. }));
    assert!(!injected);

    // Breaking: pausing the server fails its scrapes; `up` drops during the fault and
    // comes back after, within the recovery window.
    w.settle().await;
    let v = w
        .run("breaking", web_pid, "      recoveryWithin: 15s\n", "", "4s")
        .await;
    assert_eq!(v, RunState::Failed, "{}", w.reason("breaking"));
    assert!(
        w.reason("breaking")
            .contains("web-up failed during the faults"),
        "{}",
        w.reason("breaking")
    );
    let events = w.store.events("breaking").unwrap();
    let during_zero = events.iter().any(|e| {
        matches!(&e.event, RunEvent::CheckEvaluated { phase, value: Some(v), ok: false, .. } if phase == "during" && *v == 0.0)
    });
    assert!(during_zero, "the during check saw up == 0");
    assert_ne!(proc_state(web_pid), 'T', "the server was not resumed");

    // Abort bound: the same fault for 60 s is cut short when `up` falls below 0.5.
    w.settle().await;
    let started = Instant::now();
    let v = w
        .run(
            "bound",
            web_pid,
            "      abortBelow: 0.5\n      recoveryWithin: 15s\n",
            "",
            "60s",
        )
        .await;
    assert_eq!(v, RunState::Aborted, "{}", w.reason("bound"));
    assert!(
        w.reason("bound").contains("below abortBelow 0.5"),
        "{}",
        w.reason("bound")
    );
    assert!(
        started.elapsed() < Duration::from_secs(45),
        "the abort did not cut the step short"
    );
    assert_ne!(proc_state(web_pid), 'T');

    // Alert-driven abort: no abort bound, but the team's WebDown alert stops the run.
    w.settle().await;
    let v = w
        .run(
            "alert",
            web_pid,
            "      recoveryWithin: 15s\n",
            "  abortOnAlerts: [WebDown]\n",
            "60s",
        )
        .await;
    assert_eq!(v, RunState::Aborted, "{}", w.reason("alert"));
    assert!(
        w.reason("alert").starts_with("alert WebDown is firing"),
        "{}",
        w.reason("alert")
    );
    assert_ne!(proc_state(web_pid), 'T');
    assert!(
        w.agent.list().await.unwrap().is_empty(),
        "no fault outlives its run"
    );
}
