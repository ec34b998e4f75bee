//! Grafana annotations for real runs (in-process agent, `processPause` on a `sleep`),
//! sent to a loopback stand-in that checks every request against Grafana's documented
//! annotation API: a region per fault window, its end patched at recovery, the verdict
//! tag added at the end, a point annotation for the verdict; Grafana down during the run
//! (then failing, then refusing the token) and the annotations arriving once it is back;
//! a queue persisted by one process and sent by the next.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use faultline::application::engine::inject::Injector;
use faultline::application::engine::runner::{RunOptions, Runner};
use faultline::domain::RunState;
use faultline::outputs::GrafanaObserver;
use faultline::store::Store;
use faultline_agent::agent::Agent;
use faultline_exporter::grafana::{GrafanaConfig, SenderConfig};
use faultline_spec::load_str;

use faultline_test_support::fakes::grafana::{FakeGrafana, Stored};
use faultline_test_support::{
    Proc, Reserved, empty_http_server, next_number, proc_state, wait_for_async,
};

const TOKEN: &str = "glsa_test_token";

fn report_url(run: &str) -> String {
    format!("http://faultline.test/api/v1/runs/{run}/report")
}

fn observer(state: &Path, url: &str) -> Arc<GrafanaObserver> {
    let token_file = state.join("grafana-token");
    if !token_file.exists() {
        std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    }
    let cfg = GrafanaConfig {
        url: url.into(),
        token_file,
        dashboard_uid: Some("faultline-experiment".into()),
        timeout: Duration::from_secs(2),
    };
    let fast = SenderConfig {
        capacity: 10_000,
        backoff_min: Duration::from_millis(50),
        backoff_max: Duration::from_millis(400),
    };
    let obs = GrafanaObserver::start(cfg, state, fast, Box::new(report_url)).unwrap();
    Arc::new(obs)
}

/// Runs a 1 s `processPause` on a fresh `sleep` with `obs` observing; returns the run id
/// and verdict, and proves the pause was removed.
async fn run_pause(state: &Path, obs: Arc<GrafanaObserver>) -> (String, RunState) {
    let (web, port) = empty_http_server();
    let sleeper = Proc(
        std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap(),
    );
    let pid = sleeper.pid();
    let yaml = format!(
        r#"apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: {{ name: grafana-pause }}
spec:
  target: {{ local: {{ pid: {pid} }} }}
  steadyState:
    - name: availability
      http: {{ url: "http://127.0.0.1:{port}/", every: 100ms, timeout: 1s }}
      expect: ">= 0.99"
  steps:
    - name: pause
      processPause: {{}}
      duration: 1s
"#
    );
    let exp = load_str(&yaml, "t.yaml").unwrap().remove(0);
    let agent = Arc::new(Agent::open(state.join("agent")).await.unwrap());
    let store = Arc::new(Store::open(&state.join("faultline.db")).unwrap());
    let run = format!("g{}{}", std::process::id(), next_number());
    store.create_run(&run, &exp.metadata.name, "{}").unwrap();
    let mut opts = RunOptions {
        lease: Duration::from_secs(10),
        ..RunOptions::default()
    };
    opts.observers.push(obs);
    let runner = Runner::new(
        store,
        Injector::InProcess(agent.clone()),
        opts,
        run.clone(),
        exp,
    );
    // An unreachable Grafana must not hold the run up: generous bound, 1 s of fault.
    let verdict = tokio::time::timeout(Duration::from_secs(60), runner.execute())
        .await
        .expect("the run finished");
    assert_ne!(proc_state(pid), 'T', "the pause outlived its run");
    assert!(agent.list().await.unwrap().is_empty(), "a fault is left");
    drop(web);
    (run, verdict)
}

/// The region and the verdict point of `run`, checked for their documented shape.
fn assert_annotated(annotations: &[Stored], run: &str, verdict: &str) {
    assert_eq!(annotations.len(), 2, "{annotations:#?}");
    let region = annotations
        .iter()
        .find(|a| a.tags.contains(&"processPause".to_string()))
        .expect("a region for the fault");
    assert_eq!(
        region.tags,
        ["faultline", "grafana-pause", "processPause", verdict],
        "region tags: faultline, experiment, kind, then the verdict"
    );
    let end = region.time_end.expect("the region's end was patched in");
    // The fault lasted 1 s; the window cannot be shorter (a lower bound only).
    assert!(end - region.time >= 900, "window {} ms", end - region.time);
    assert!(region.text.contains(&report_url(run)), "{}", region.text);
    assert!(region.text.contains("processPause"), "{}", region.text);
    assert_eq!(
        region.dashboard_uid.as_deref(),
        Some("faultline-experiment")
    );
    let point = annotations
        .iter()
        .find(|a| a.tags.contains(&"verdict".to_string()))
        .expect("a point annotation for the verdict");
    assert_eq!(
        point.tags,
        ["faultline", "grafana-pause", "verdict", verdict]
    );
    assert_eq!(point.time_end, None, "the verdict is a point");
    assert!(point.time >= end, "the verdict comes after the window");
    assert!(point.text.contains(verdict) && point.text.contains(&report_url(run)));
}

#[tokio::test]
async fn a_run_is_annotated_with_its_fault_window_and_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let grafana = FakeGrafana::start(TOKEN);
    let obs = observer(dir.path(), &grafana.url());
    let (run, verdict) = run_pause(dir.path(), obs.clone()).await;
    assert_eq!(verdict, RunState::Passed);
    assert_eq!(obs.sender().flush(Duration::from_secs(20)).await, 0);
    assert_annotated(&grafana.annotations(), &run, "passed");
    assert!(
        grafana.violations().is_empty(),
        "{:?}",
        grafana.violations()
    );
    // create region, patch end, patch tags, create verdict: each answered 200 once.
    assert_eq!(grafana.statuses(), [200, 200, 200, 200]);
}

#[tokio::test]
async fn grafana_down_during_the_run_gets_the_annotations_when_it_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let port = Reserved::new(); // refuses connections until Grafana is "back" on it
    let url = port.url();
    std::fs::write(dir.path().join("grafana-token"), "a-revoked-token").unwrap();
    let obs = observer(dir.path(), &url);
    let (run, verdict) = run_pause(dir.path(), obs.clone()).await;
    assert_eq!(
        verdict,
        RunState::Passed,
        "an unreachable Grafana failed the run"
    );
    assert!(obs.sender().outstanding() > 0, "nothing waited for Grafana");

    // Grafana comes up failing (500), then answers but refuses the token (401), then
    // the token file is fixed: everything arrives, in order, nothing twice.
    let grafana = FakeGrafana::start_on(port, TOKEN);
    grafana
        .fail
        .store(true, std::sync::atomic::Ordering::SeqCst);
    wait_for_async("a 401", Duration::from_secs(30), || {
        grafana.statuses().contains(&401)
    })
    .await;
    std::fs::write(dir.path().join("grafana-token"), TOKEN).unwrap();
    wait_for_async("a 500", Duration::from_secs(30), || {
        grafana.statuses().contains(&500)
    })
    .await;
    assert!(grafana.annotations().is_empty());
    grafana
        .fail
        .store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(obs.sender().flush(Duration::from_secs(30)).await, 0);
    assert_annotated(&grafana.annotations(), &run, "passed");
    assert!(
        grafana.violations().is_empty(),
        "{:?}",
        grafana.violations()
    );
}

#[test]
fn a_queue_persisted_by_one_process_is_sent_by_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let port = Reserved::new(); // refuses connections until Grafana is up on it
    let url = port.url();
    // "Process" one: its own runtime, Grafana down, shut down with the queue pending.
    let run = {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let (run, left) = rt.block_on(async {
            let obs = observer(dir.path(), &url);
            let (run, verdict) = run_pause(dir.path(), obs.clone()).await;
            assert_eq!(verdict, RunState::Passed);
            (run, obs.sender().flush(Duration::from_millis(300)).await)
        });
        rt.shutdown_timeout(Duration::from_secs(5));
        assert_eq!(left, 5, "create, end, tags, verdict, forget wait on disk");
        run
    };
    let queue = dir.path().join("grafana/annotations.jsonl");
    assert!(std::fs::read_to_string(&queue).unwrap().contains(&run));

    // "Process" two: Grafana is up; the observer opens the same state dir.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let grafana = FakeGrafana::start_on(port, TOKEN);
        let obs = observer(dir.path(), &url);
        assert_eq!(obs.sender().flush(Duration::from_secs(30)).await, 0);
        assert_annotated(&grafana.annotations(), &run, "passed");
        assert!(
            grafana.violations().is_empty(),
            "{:?}",
            grafana.violations()
        );
    });
    // Sent means gone from the queue: a third start sends nothing again.
    rt.block_on(async {
        let grafana = FakeGrafana::start(TOKEN);
        let obs = observer(dir.path(), &grafana.url());
        assert_eq!(obs.sender().outstanding(), 0);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(grafana.statuses().is_empty());
    });
}

#[tokio::test]
async fn faultline_run_with_the_grafana_flags_annotates_and_links_the_report_file() {
    let dir = tempfile::tempdir().unwrap();
    let grafana = FakeGrafana::start(TOKEN);
    let token = dir.path().join("token");
    std::fs::write(&token, TOKEN).unwrap();
    let (web, port) = empty_http_server();
    let sleeper = Proc(
        std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap(),
    );
    let file = dir.path().join("exp.yaml");
    std::fs::write(
        &file,
        format!(
            r#"apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: {{ name: grafana-pause }}
spec:
  target: {{ local: {{ pid: {pid} }} }}
  steadyState:
    - name: availability
      http: {{ url: "http://127.0.0.1:{port}/", every: 100ms, timeout: 1s }}
      expect: ">= 0.99"
  steps:
    - name: pause
      processPause: {{}}
      duration: 1s
"#,
            pid = sleeper.pid()
        ),
    )
    .unwrap();
    let state = dir.path().join("state");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_faultline"))
        .arg("run")
        .arg(&file)
        .arg("--state-dir")
        .arg(&state)
        .args(["--grafana-url", &grafana.url(), "--grafana-token-file"])
        .arg(&token)
        .args(["--grafana-dashboard-uid", "faultline-experiment"])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(proc_state(sleeper.pid()), 'T');
    drop(web);
    // The process flushed before exiting: everything is in Grafana already.
    let run = std::fs::read_dir(state.join("reports"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name()
        .into_string()
        .unwrap();
    let annotations = grafana.annotations();
    assert_eq!(annotations.len(), 2, "{stdout}\n{annotations:#?}");
    let link = format!(
        "file://{}/reports/{run}/report.html",
        std::path::absolute(&state).unwrap().display()
    );
    for a in &annotations {
        assert!(a.text.contains(&link), "{} lacks {link}", a.text);
        assert!(a.tags.contains(&"passed".to_string()), "{:?}", a.tags);
    }
    assert!(
        grafana.violations().is_empty(),
        "{:?}",
        grafana.violations()
    );
}
