//! The PromQL probe against a real Prometheus (Debian's `prometheus` package, which
//! `./test.sh` installs), started on a loopback port by the test and killed by its guard.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use faultline::checks::ProbeError;
use faultline::checks::PrometheusClient;

struct Prometheus {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts Prometheus, or returns None (printing why) when the binary is not installed.
async fn start_prometheus() -> Option<Prometheus> {
    if Command::new("prometheus")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!(
            "SKIPPED: `prometheus` is not installed (apt-get install prometheus; ./test.sh does it)"
        );
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        "global:\n  scrape_interval: 15s\nscrape_configs: []\n",
    )
    .unwrap();
    let port = free_port();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prometheus");
    let prom = Prometheus {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let http = reqwest::Client::new();
    loop {
        if let Ok(r) = http.get(format!("{}/-/ready", prom.url)).send().await
            && r.status().is_success()
        {
            return Some(prom);
        }
        assert!(
            Instant::now() < deadline,
            "prometheus did not become ready in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn instant_queries_give_one_value_or_say_why_not() {
    let Some(prom) = start_prometheus().await else {
        return;
    };
    let client = PrometheusClient::new(&prom.url, Duration::from_secs(5));

    assert_eq!(client.instant("vector(0.995)").await.unwrap(), 0.995);
    assert_eq!(client.instant("scalar(vector(3)) * 2").await.unwrap(), 6.0);

    let err = client.instant("vector(1) > 2").await.unwrap_err();
    assert!(matches!(err, ProbeError::NoValue { .. }), "{err}");
    assert!(err.to_string().contains("empty vector"), "{err}");

    let two = r#"label_replace(vector(1), "a", "x", "", "") or label_replace(vector(2), "a", "y", "", "")"#;
    let err = client.instant(two).await.unwrap_err();
    assert!(err.to_string().contains("2 series"), "{err}");

    let err = client.instant("sum(").await.unwrap_err();
    assert!(matches!(err, ProbeError::Query { .. }), "{err}");
    assert!(err.to_string().contains("bad_data"), "{err}");
}

#[tokio::test]
async fn an_unreachable_prometheus_is_an_error_not_a_value() {
    let port = free_port(); // bound then released: nothing listens there
    let client = PrometheusClient::new(&format!("http://127.0.0.1:{port}"), Duration::from_secs(2));
    let err = client.instant("vector(1)").await.unwrap_err();
    assert!(matches!(err, ProbeError::Request { .. }), "{err}");
}
