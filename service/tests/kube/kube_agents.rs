//! The console's agents list in cluster mode: `faultline serve --kubernetes` against a
//! fake API server on loopback that lists three agent pods, one of them served by a real
//! node agent (the agent library's daemon, in this process). `GET /api/v1/agents` shows
//! each pod with its node; the live one with its version and active faults, the others
//! unhealthy with the reason (not ready; no answer).

use std::ffi::OsStr;
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use faultline_agent::agent::Agent;
use faultline_agent::daemon;
use serde_json::{Value, json};

use crate::fake_api_server::{not_found, start_serve};

const AGENT_TOKEN: &str = "agent-token-0123456789";

/// An agent pod on `node`: running and ready at `ip`, or pending without an address.
fn agent_pod(name: &str, node: &str, ip: Option<&str>) -> Value {
    let status = match ip {
        Some(ip) => json!({
            "phase": "Running", "podIP": ip,
            "conditions": [{ "type": "Ready", "status": "True" }],
        }),
        None => json!({ "phase": "Pending" }),
    };
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": name, "namespace": "faultline", "resourceVersion": "3",
                      "labels": { "app.kubernetes.io/name": "faultline-agent" } },
        "spec": { "nodeName": node, "containers": [{ "name": "agent", "image": "faultline-agent" }] },
        "status": status,
    })
}

async fn handle(req: HttpRequest) -> HttpResponse {
    let list = |items: Vec<Value>| {
        HttpResponse::Ok().json(json!({
            "kind": "PodList", "apiVersion": "v1", "metadata": { "resourceVersion": "9" }, "items": items,
        }))
    };
    match (req.method().as_str(), req.path()) {
        // Start-up: no pod under a fault of a previous run.
        ("GET", "/api/v1/pods") => list(Vec::new()),
        ("GET", "/api/v1/namespaces/faultline/pods") => {
            let selector = req.query_string();
            assert!(
                selector.contains("faultline-agent"),
                "agents listed by their label: {selector}"
            );
            list(vec![
                agent_pod("agent-a", "node-a", Some("127.0.0.1")),
                agent_pod("agent-b", "node-b", None),
                // Nothing listens there: an agent that does not answer.
                agent_pod("agent-c", "node-c", Some("127.0.0.2")),
            ])
        }
        (_, path) => not_found(path),
    }
}

#[actix_web::test]
async fn the_agents_list_in_cluster_mode_shows_each_nodes_agent_and_its_health() {
    let dir = tempfile::tempdir().unwrap();
    // The node agent of node-a: the real daemon, holding no fault.
    let agent = Agent::open(dir.path().join("agent")).await.unwrap();
    let agent_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let agent_port = agent_listener.local_addr().unwrap().port();
    let agent_server = daemon::serve(
        agent,
        daemon::Auth::token(AGENT_TOKEN).unwrap(),
        agent_listener,
    )
    .unwrap();
    let agent_handle = agent_server.handle();
    actix_web::rt::spawn(agent_server);

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let api_port = listener.local_addr().unwrap().port();
    let api = HttpServer::new(|| App::new().default_service(web::to(handle)))
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
    let api_handle = api.handle();
    actix_web::rt::spawn(api);

    let token_file = dir.path().join("agent-token");
    std::fs::write(&token_file, AGENT_TOKEN).unwrap();
    let agent_port_arg = agent_port.to_string();
    let (proc, port) = start_serve(
        dir.path(),
        api_port,
        [
            OsStr::new("--agent-namespace"),
            OsStr::new("faultline"),
            OsStr::new("--agent-port"),
            OsStr::new(&agent_port_arg),
            OsStr::new("--agent-token-file"),
            token_file.as_os_str(),
        ],
    )
    .await;

    let http = faultline_exporter::tls_provider::http_client()
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let answer: Value = loop {
        let res = http
            .get(format!("http://127.0.0.1:{port}/api/v1/agents"))
            .send()
            .await
            .unwrap();
        if res.status().is_success() {
            break res.json().await.unwrap();
        }
        assert!(Instant::now() < deadline, "agents: {}", res.status());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(answer["cluster"], json!(true), "{answer}");
    let agents = answer["agents"].as_array().unwrap();
    let nodes: Vec<&str> = agents.iter().map(|a| a["node"].as_str().unwrap()).collect();
    assert_eq!(nodes, ["node-a", "node-b", "node-c"], "{answer}");

    let a = &agents[0];
    assert_eq!(a["name"], json!("faultline/agent-a"), "{a}");
    assert_eq!(a["healthy"], json!(true), "{a}");
    assert_eq!(a["version"], json!(env!("CARGO_PKG_VERSION")), "{a}");
    assert_eq!(a["activeFaults"], json!(0), "{a}");
    assert_eq!(
        a["location"],
        json!(format!("http://127.0.0.1:{agent_port}")),
        "{a}"
    );

    let b = &agents[1];
    assert_eq!(b["healthy"], json!(false), "{b}");
    assert!(b["error"].as_str().unwrap().contains("not ready"), "{b}");
    let c = &agents[2];
    assert_eq!(c["healthy"], json!(false), "{c}");
    assert!(c["error"].as_str().is_some_and(|e| !e.is_empty()), "{c}");
    assert_eq!(c["version"], Value::Null, "{c}");

    drop(proc);
    api_handle.stop(false).await;
    agent_handle.stop(false).await;
}
