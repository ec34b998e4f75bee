//! The real binary in cluster mode against a fake API server on loopback (plain HTTP, a
//! kubeconfig pointing at it): `faultline serve --kubernetes` restores a pod a killed
//! service left under podFailure, takes the leader Lease, says so on /readyz, and hands
//! the Lease back on SIGTERM. The fake answers only the calls a start makes; anything
//! else is a 404 the test then sees as a missing restore or lease.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

use crate::fake_api_server::{not_found, start_serve};

const LEASE: &str = "/apis/coordination.k8s.io/v1/namespaces/faultline/leases/faultline-leader";

#[derive(Default)]
struct Api {
    /// (method, path, body) of every call.
    calls: Vec<(String, String, Value)>,
    lease: Option<Value>,
}

fn failed_pod() -> Value {
    let annotation = json!({
        "fault": "deadrun-f1",
        "containers": { "app": "ghcr.io/example/web:1.4.2" },
        "expires": "2026-01-01T00:00:00Z",
    });
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": "web-0", "namespace": "shop", "resourceVersion": "7",
            "labels": { "app": "web", "faultline.dev/pod-failure": "deadrun-f1" },
            "annotations": { "faultline.dev/original-images": annotation.to_string() },
        },
        "spec": { "nodeName": "node-a", "containers": [{ "name": "app", "image": "registry.k8s.io/pause:3.10" }] },
        "status": { "phase": "Running" },
    })
}

async fn handle(req: HttpRequest, body: web::Bytes, api: web::Data<Mutex<Api>>) -> HttpResponse {
    let method = req.method().to_string();
    let path = req.path().to_string();
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut api = api.lock().unwrap();
    api.calls
        .push((method.clone(), path.clone(), value.clone()));
    match (method.as_str(), path.as_str()) {
        ("GET", "/api/v1/pods") => HttpResponse::Ok().json(json!({
            "kind": "PodList", "apiVersion": "v1", "metadata": { "resourceVersion": "9" },
            "items": [failed_pod()],
        })),
        ("GET", "/api/v1/namespaces/shop/pods/web-0") => HttpResponse::Ok().json(failed_pod()),
        ("PATCH", "/api/v1/namespaces/shop/pods/web-0") => HttpResponse::Ok().json(failed_pod()),
        ("GET", LEASE) => match &api.lease {
            Some(l) => HttpResponse::Ok().json(l),
            None => not_found(&path),
        },
        ("POST", "/apis/coordination.k8s.io/v1/namespaces/faultline/leases") | ("PUT", LEASE) => {
            let mut l = value;
            l["metadata"]["resourceVersion"] = json!(api.calls.len().to_string());
            api.lease = Some(l.clone());
            if method == "POST" {
                HttpResponse::Created().json(l)
            } else {
                HttpResponse::Ok().json(l)
            }
        }
        _ => not_found(&path),
    }
}

#[actix_web::test]
async fn serve_in_cluster_mode_restores_orphans_leads_and_releases_the_lease() {
    let api = web::Data::new(Mutex::new(Api::default()));
    let shared = api.clone().into_inner();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let api_port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(api.clone())
            .default_service(web::to(handle))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    let server_handle = server.handle();
    actix_web::rt::spawn(server);

    let dir = tempfile::tempdir().unwrap();
    let (proc, port) = start_serve(dir.path(), api_port, [] as [&str; 0]).await;
    let pid = proc.0.id();

    let http = faultline_exporter::tls_provider::http_client()
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut body = String::new();
    while Instant::now() < deadline {
        body = http
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if body.contains("leader: this replica") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(body, "ready\nleader: this replica\n");

    // The orphan (its lease lapsed long ago) got its image back.
    let calls = shared.lock().unwrap().calls.clone();
    let restore = calls
        .iter()
        .find(|(m, p, _)| m == "PATCH" && p.ends_with("/pods/web-0"))
        .expect("the orphaned pod was not restored");
    assert_eq!(
        restore.2["spec"]["containers"][0]["image"],
        json!("ghcr.io/example/web:1.4.2")
    );
    let holder = shared.lock().unwrap().lease.clone().unwrap()["spec"]["holderIdentity"].clone();
    assert!(
        holder
            .as_str()
            .unwrap()
            .starts_with("faultline-7d9f-abcde_"),
        "{holder}"
    );

    // SIGTERM: the Lease is handed back (holder cleared) before the process exits.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let mut proc = proc;
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(st) = proc.0.try_wait().unwrap() {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "serve did not stop within 20 s of SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Reaped: its PID may be reused, so Proc's kill-on-drop must not run.
    std::mem::forget(proc);
    assert!(status.success(), "{status}");
    let lease = shared.lock().unwrap().lease.clone().unwrap();
    assert_eq!(lease["spec"].get("holderIdentity"), None, "{lease}");
    server_handle.stop(false).await;
    drop(dir);
}
