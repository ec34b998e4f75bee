//! The dashboards, the rule file and the metrics text against real tools: a real
//! `faultline serve` (with Grafana annotations on) runs an experiment; its `/metrics` must
//! pass `promtool check metrics` and contain every metric a dashboard panel queries; a real
//! Prometheus scrapes it and every panel's PromQL, variables substituted, must return
//! data. The example recording rules pass `promtool check rules` and their unit tests.
//! Where promtool or Prometheus is not installed, the test prints why and skips.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use faultline_test_support::fakes::FakeGrafana;
use faultline_test_support::peers::start_prometheus;
use faultline_test_support::{Proc, closed_port, empty_http_server, proc_state, sleeper};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn dashboards() -> Vec<(String, Value)> {
    ["faultline-overview.json", "faultline-experiment.json"]
        .iter()
        .map(|n| {
            let text = std::fs::read_to_string(repo().join("dashboards").join(n)).unwrap();
            (n.to_string(), serde_json::from_str(&text).unwrap())
        })
        .collect()
}

/// Every PromQL expression of a dashboard's panels.
fn exprs(d: &Value) -> Vec<String> {
    d["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap().clone())
        .map(|t| t["expr"].as_str().unwrap().to_string())
        .collect()
}

/// The expression with Grafana's variables replaced as Grafana would for `experiment`.
fn substitute(expr: &str, experiment: &str) -> String {
    expr.replace("$__rate_interval", "1m")
        .replace("$__range", "5m")
        .replace("$__interval", "15s")
        .replace("$experiment", experiment)
        .replace("$check", ".*")
}

/// `faultline_*` metric names in an expression (histogram suffixes kept: they are what
/// the text format carries).
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = expr;
    while let Some(i) = rest.find("faultline_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.insert(tail[..end].to_string());
        rest = &tail[end..];
    }
    names
}

#[test]
fn dashboards_have_the_required_shape() {
    for (name, d) in dashboards() {
        for field in [
            "uid",
            "title",
            "schemaVersion",
            "panels",
            "templating",
            "annotations",
        ] {
            assert!(!d[field].is_null(), "{name}: no {field}");
        }
        assert!(
            d["schemaVersion"].as_i64().unwrap() >= 39,
            "{name}: old schema"
        );
        let vars = d["templating"]["list"].as_array().unwrap();
        let var = |n: &str| vars.iter().find(|v| v["name"] == n).cloned();
        assert_eq!(var("datasource").unwrap()["type"], "datasource", "{name}");
        assert_eq!(var("datasource").unwrap()["query"], "prometheus", "{name}");
        assert!(
            var("experiment").is_some(),
            "{name}: no experiment variable"
        );
        let mut ids = BTreeSet::new();
        for p in d["panels"].as_array().unwrap() {
            assert!(
                ids.insert(p["id"].as_i64().unwrap()),
                "{name}: duplicate panel id"
            );
            for k in ["type", "title", "gridPos", "targets"] {
                assert!(!p[k].is_null(), "{name}: panel {} has no {k}", p["title"]);
            }
            assert_eq!(
                p["datasource"]["uid"], "${datasource}",
                "{name}: {}",
                p["title"]
            );
            for t in p["targets"].as_array().unwrap() {
                assert_eq!(t["datasource"]["uid"], "${datasource}", "{name}");
                assert!(t["refId"].is_string() && t["expr"].is_string(), "{name}");
            }
        }
        let anns = d["annotations"]["list"].as_array().unwrap();
        assert!(
            anns.iter().any(|a| a["target"]["type"] == "tags"
                && a["target"]["tags"]
                    .as_array()
                    .unwrap()
                    .contains(&"faultline".into())),
            "{name}: no annotation query on the faultline tag"
        );
    }
}

fn promtool() -> bool {
    if Command::new("promtool").arg("--version").output().is_err() {
        eprintln!("SKIPPED: `promtool` is not installed (apt-get install prometheus)");
        return false;
    }
    true
}

#[test]
fn the_example_recording_rules_pass_promtool_and_their_unit_tests() {
    if !promtool() {
        return;
    }
    let dir = repo().join("deploy/prometheus");
    for args in [
        ["check", "rules", "faultline-rules.yml"],
        ["test", "rules", "faultline-rules.test.yml"],
    ] {
        let out = Command::new("promtool")
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "promtool {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

async fn wait_terminal(http: &reqwest::Client, base: &str, id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let run: Value = http
            .get(format!("{base}/api/v1/runs/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if ["passed", "failed", "aborted", "error"].contains(&run["verdict"].as_str().unwrap_or(""))
        {
            return run;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "run not done: {run}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn every_panel_query_returns_data_from_a_real_serve_and_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let grafana = FakeGrafana::start("tok");
    let token = dir.path().join("grafana-token");
    std::fs::write(&token, "tok").unwrap();
    // A number, not port 0: serve makes its report links (asserted below) from the address
    // it is told, not the one it bound.
    let port = closed_port().0.release();
    let base = format!("http://127.0.0.1:{port}");
    // The webhook and notification panels need their series: a GitLab config whose rule
    // matches nothing, and a notification route to a receiver that is down (retries).
    let gitlab = dir.path().join("gitlab.yaml");
    std::fs::write(
        &gitlab,
        "projects:\n  - path: \"*\"\n    secret: dashboards-secret-0123\nrules:\n  - events: [deployment]\n    experiments: [\"none\"]\n",
    )
    .unwrap();
    let notify = dir.path().join("notify.yaml");
    std::fs::write(
        &notify,
        "webhook:\n  secret: dashboards-webhook-secret\nroutes:\n  - webhook: http://127.0.0.1:9/down\n    on: [passed]\n",
    )
    .unwrap();
    let mut serve = Proc(
        Command::new(env!("CARGO_BIN_EXE_faultline"))
            .args(["serve", "--insecure-no-auth", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .args(["--grafana-url", &grafana.url(), "--grafana-token-file"])
            .arg(&token)
            .arg("--gitlab-config")
            .arg(&gitlab)
            .arg("--notify-config")
            .arg(&notify)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    assert_eq!(serve.wait_listening(), port);

    let (web, web_port) = empty_http_server();
    let sleeper = sleeper();
    let experiment = format!("dash-{}", std::process::id());
    let yaml = format!(
        r#"apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: {{ name: {experiment} }}
spec:
  target: {{ local: {{ pid: {pid} }} }}
  steadyState:
    - name: availability
      http: {{ url: "http://127.0.0.1:{web_port}/", every: 100ms, timeout: 1s }}
      expect: ">= 0.99"
  steps:
    - name: pause
      processPause: {{}}
      duration: 1s
"#,
        pid = sleeper.pid()
    );
    let http = faultline_exporter::tls_provider::http_client()
        .build()
        .unwrap();
    let created: Value = http
        .post(format!("{base}/api/v1/runs"))
        .header("content-type", "application/yaml")
        .body(yaml)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().expect("a run id").to_string();
    // While the 1 s pause is on, faultline_fault_active is 1 (what SLO rules key on).
    let active = format!(
        r#"faultline_fault_active{{experiment="{experiment}",kind="processPause",namespace="local"}} 1"#
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let text = http
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if text.contains(&active) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never saw {active}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let run = wait_terminal(&http, &base, &id).await;
    assert_eq!(run["verdict"], "passed", "{run}");
    assert_ne!(proc_state(sleeper.pid()), 'T');
    drop(web);
    let push = std::fs::read(repo().join("service/tests/fixtures/gitlab/push.json")).unwrap();
    let res = http
        .post(format!("{base}/webhooks/gitlab"))
        .header("X-Gitlab-Event", "Push Hook")
        .header("X-Gitlab-Token", "dashboards-secret-0123")
        .body(push)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::ACCEPTED);
    // The verdict's webhook notification meets a closed port and is retried.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .contains(r#"faultline_notifications_total{channel="webhook",outcome="retry"}"#)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the notification was never attempted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // serve's wiring: the annotations reached Grafana (region + verdict point).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while grafana.annotations().len() < 2
        || grafana
            .annotations()
            .iter()
            .any(|a| a.tags.contains(&"processPause".into()) && a.tags.len() < 4)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            grafana.annotations()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        grafana.violations().is_empty(),
        "{:?}",
        grafana.violations()
    );
    let region = grafana
        .annotations()
        .into_iter()
        .find(|a| a.tags.contains(&"processPause".into()))
        .unwrap();
    assert!(region.time_end.is_some());
    assert!(
        region
            .text
            .contains(&format!("{base}/api/v1/runs/{id}/report.html")),
        "{}",
        region.text
    );

    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        format!(
            r#"faultline_fault_active{{experiment="{experiment}",kind="processPause",namespace="local"}} 0"#
        ),
        format!(
            r#"faultline_check_threshold{{bound="lower",check="availability",experiment="{experiment}",phase="before"}} 0.99"#
        ),
        r#"faultline_grafana_annotation_requests_total{op="create",outcome="ok"} 2"#.to_string(),
        // serve probes its in-process agent at start: the agents panel has real values.
        "faultline_agents_known 1".to_string(),
        "faultline_agents_healthy 1".to_string(),
    ] {
        assert!(text.contains(&needle), "missing {needle} in\n{text}");
    }
    // Every metric a panel queries is really exported.
    let exported: BTreeSet<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap())
        .collect();
    for (name, d) in dashboards() {
        for e in exprs(&d) {
            for m in metric_names(&e) {
                assert!(
                    exported.contains(m.as_str()),
                    "{name}: {m} (in `{e}`) is not exported:\n{text}"
                );
            }
        }
    }

    if promtool() {
        let mut child = Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool check metrics: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let config = format!(
        "global: {{ scrape_interval: 1s, evaluation_interval: 1s }}\nscrape_configs:\n  - job_name: faultline\n    static_configs: [{{ targets: ['127.0.0.1:{port}'] }}]\n"
    );
    let Some(prom) = start_prometheus(&config, None).await else {
        return;
    };
    let query = |q: String| {
        let http = http.clone();
        let url = format!("{}/api/v1/query", prom.url);
        async move {
            let v: Value = http
                .get(url)
                .query(&[("query", q.as_str())])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(v["status"], "success", "{q}: {v}");
            v["data"]["result"].as_array().cloned().unwrap_or_default()
        }
    };
    for (name, d) in dashboards() {
        for e in exprs(&d) {
            let q = substitute(&e, &experiment);
            // Rates need two scrapes of a series: poll, 30 s at most.
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            loop {
                if !query(q.clone()).await.is_empty() {
                    break;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{name}: no data for `{q}`"
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        // The variable queries list the experiment.
        let values: Value = http
            .get(format!("{}/api/v1/label/experiment/values", prom.url))
            .query(&[("match[]", "faultline_check_value")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            values["data"]
                .as_array()
                .unwrap()
                .contains(&experiment.clone().into()),
            "{name}: {values}"
        );
    }
}
