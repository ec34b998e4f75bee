//! A real Prometheus for the demo, when the machine has one (`apt-get install prometheus`):
//! it scrapes the demo web server every second, so the demo's SLOs include PromQL ones.
//! Without it the demo says how to get it and keeps to HTTP checks.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A Prometheus process and its data dir, both removed on drop.
pub struct DemoPrometheus {
    child: Child,
    /// Base URL on loopback.
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Drop for DemoPrometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts Prometheus scraping `target` (host:port) as job `demo-web`; `Ok(None)` when the
/// binary is not installed.
pub async fn start(target: &str) -> anyhow::Result<Option<DemoPrometheus>> {
    if Command::new("prometheus")
        .arg("--version")
        .output()
        .is_err()
    {
        return Ok(None);
    }
    let dir = tempfile::tempdir().context("creating a data dir for Prometheus")?;
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n  - job_name: demo-web\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .context("writing the Prometheus config")?;
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting prometheus")?;
    let prom = DemoPrometheus {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    };
    // Ready, and the web server scraped once, before any experiment asks.
    if !prom.scraped_within(Duration::from_secs(30)).await {
        bail!("Prometheus did not scrape the demo web server within 30 s");
    }
    Ok(Some(prom))
}

impl DemoPrometheus {
    /// Waits up to `limit` until Prometheus' latest scrape of the web server succeeded;
    /// false if none did.
    ///
    /// The demo calls this before every experiment, not only at start: the `before` check
    /// `max_over_time(up[5s])` looks back 5 s, and the experiment before may have kept the
    /// server from being scraped. Under the bandwidth limit a scrape's answer queues behind
    /// up to 1 s of the big page (the 32 KB queue at 256 kbit/s) and misses its 900 ms
    /// timeout, and the partition experiment starts a fraction of a second after that limit
    /// is lifted: its window held 2 or 3 good scrapes of 5 on a loaded host, enough by how
    /// the queue happened to drain, not by design. After this wait the latest scrape is good
    /// and under 2 s old (scrapes start 1 s apart and give up after 0.9 s), so the window
    /// keeps it for 3 s more, where the check takes milliseconds.
    pub async fn scraped_within(&self, limit: Duration) -> bool {
        let client =
            crate::application::probes::PrometheusClient::new(&self.url, Duration::from_secs(2));
        let deadline = Instant::now() + limit;
        while client.instant(r#"up{job="demo-web"}"#).await.ok() != Some(1.0) {
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        true
    }
}
