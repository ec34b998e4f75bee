//! What the tests of the binary against a fake API server on loopback share: the
//! kubeconfig that points at it, `faultline serve --kubernetes` started on it, and the
//! API server's 404.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};

use actix_web::HttpResponse;
use faultline_test_support::{Proc, wait_listening};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_faultline");

/// The API server's answer for a path it does not know: a `Status` with reason NotFound.
pub fn not_found(path: &str) -> HttpResponse {
    HttpResponse::NotFound().json(json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "reason": "NotFound", "code": 404, "message": format!("{path} not found"),
    }))
}

/// Starts `faultline serve --insecure-no-auth --kubernetes` as pod `faultline-7d9f-abcde`
/// of namespace `faultline`, with a kubeconfig (written into `dir`) for the fake API
/// server on `api_port`, its state under `dir`, and `extra` arguments; returns the process
/// and the port it listens on.
pub async fn start_serve<I, S>(dir: &Path, api_port: u16, extra: I) -> (Proc, u16)
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster: {{ server: \"http://127.0.0.1:{api_port}\" }}\nusers:\n- name: u\n  user: {{ token: abc }}\ncontexts:\n- name: c\n  context: {{ cluster: fake, user: u, namespace: default }}\ncurrent-context: c\n"
        ),
    )
    .unwrap();
    let child = Command::new(BIN)
        .args([
            "serve",
            "--insecure-no-auth",
            "--kubernetes",
            "--listen",
            "127.0.0.1:0",
            "--state-dir",
        ])
        .arg(dir.join("state"))
        .args(extra)
        .env("KUBECONFIG", &kubeconfig)
        .env("POD_NAMESPACE", "faultline")
        .env("POD_NAME", "faultline-7d9f-abcde")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let proc = Proc(child);
    let pid = proc.0.id();
    let port = tokio::task::spawn_blocking(move || wait_listening(pid))
        .await
        .unwrap();
    (proc, port)
}
