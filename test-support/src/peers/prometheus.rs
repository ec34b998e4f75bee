//! A real Prometheus (Debian's `prometheus` package) on a loopback port.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::installed;
use crate::process::Proc;

/// A running Prometheus; killed, then its data removed, on drop.
pub struct Prometheus {
    /// Its base URL, `http://127.0.0.1:PORT`.
    pub url: String,
    // Field order is drop order: the process dies before its directory goes.
    _proc: Proc,
    _dir: tempfile::TempDir,
}

/// Starts Prometheus with `config` (and `rules`, written next to it as `rules.yml`) and
/// returns it once `/-/ready` answers, or `None` (saying why) when it cannot run here.
///
/// It listens on port 0 and its port is read back (see [`crate::ports`]).
pub async fn start_prometheus(config: &str, rules: Option<&str>) -> Option<Prometheus> {
    if !installed("prometheus", "apt-get install prometheus") {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(&cfg, config).unwrap();
    if let Some(r) = rules {
        std::fs::write(dir.path().join("rules.yml"), r).unwrap();
    }
    let mut proc = Proc::spawn(
        Command::new("prometheus")
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg("--web.listen-address=127.0.0.1:0")
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let port = proc.wait_listening_async().await;
    let prom = Prometheus {
        url: format!("http://127.0.0.1:{port}"),
        _proc: proc,
        _dir: dir,
    };
    wait_ready("prometheus", &prom.url).await;
    Some(prom)
}

/// Waits (30 s at most) until `GET {url}/-/ready` answers 2xx, as Prometheus and
/// Alertmanager do once they serve.
pub(super) async fn wait_ready(what: &str, url: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let http = crate::http::builder().build().unwrap();
    loop {
        if let Ok(r) = http.get(format!("{url}/-/ready")).send().await
            && r.status().is_success()
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not become ready in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
