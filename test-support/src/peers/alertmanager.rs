//! A real Alertmanager (Debian's `prometheus-alertmanager` package) on a loopback port.

use std::process::{Command, Stdio};

use super::installed;
use super::prometheus::wait_ready;
use crate::process::Proc;

/// A running Alertmanager; killed, then its data removed, on drop.
pub struct Alertmanager {
    /// Its base URL, `http://127.0.0.1:PORT`.
    pub url: String,
    _proc: Proc,
    _dir: tempfile::TempDir,
}

/// Alertmanager routing every alert at once to `webhook` with bearer `token`, returned
/// once `/-/ready` answers, or `None` (saying why) when it cannot run here.
///
/// It listens on port 0 and its port is read back (see [`crate::ports`]); gossip is off,
/// since clustering would listen on every interface and a second port.
pub async fn alertmanager(webhook: &str, token: &str) -> Option<Alertmanager> {
    if !installed(
        "prometheus-alertmanager",
        "apt-get install prometheus-alertmanager",
    ) {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("alertmanager.yml");
    std::fs::write(
        &cfg,
        format!(
            "route:\n  receiver: faultline\n  group_by: [alertname]\n  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\n\
             receivers:\n  - name: faultline\n    webhook_configs:\n      - url: {webhook}\n        send_resolved: false\n\
             \x20       http_config:\n          authorization:\n            credentials: {token}\n"
        ),
    )
    .unwrap();
    let mut proc = Proc::spawn(
        Command::new("prometheus-alertmanager")
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg("--web.listen-address=127.0.0.1:0")
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let port = proc.wait_listening_async().await;
    let am = Alertmanager {
        url: format!("http://127.0.0.1:{port}"),
        _proc: proc,
        _dir: dir,
    };
    wait_ready("alertmanager", &am.url).await;
    Some(am)
}
