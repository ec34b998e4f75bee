//! The HTTP API through actix's test service: auth, status codes, error messages that name
//! the field, and the 200 paths against a real process.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{App, test, web};
use faultline_agent::Agent;
use faultline_agent::daemon::{Auth, configure};
use faultline_agent::protocol::{
    ApplyResponse, ErrorBody, Health, ListResponse, RecoverResponse, RenewResponse,
};
use faultline_test_support::{Proc, wait_until};
use serde_json::{Value, json};

const TOKEN: &str = "s3cret-token";

macro_rules! app {
    ($agent:expr) => {
        test::init_service(
            App::new()
                .app_data(web::Data::new($agent.clone()))
                .app_data(web::Data::new(Auth::token(TOKEN).unwrap()))
                .configure(configure),
        )
        .await
    };
}

fn post(path: &str, body: &Value) -> test::TestRequest {
    test::TestRequest::post()
        .uri(path)
        .insert_header(("Authorization", format!("Bearer {TOKEN}")))
        .set_json(body)
}

fn pause_body(id: &str, pid: u32) -> Value {
    json!({"id": id, "kind": {"processPause": {}}, "targets": [{"pid": pid}], "leaseSeconds": 60})
}

#[actix_web::test]
async fn fault_calls_need_the_bearer_token_but_probes_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::open(dir.path()).await.unwrap();
    let app = app!(agent);
    for auth in [
        None,
        Some("Bearer wrong-token"),
        Some("Bearer s3cret-toke"),
        Some(TOKEN),
    ] {
        let mut req = test::TestRequest::get().uri("/v1/faults");
        if let Some(a) = auth {
            req = req.insert_header(("Authorization", a));
        }
        let resp = test::call_service(&app, req.to_request()).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "auth {auth:?}");
    }
    let resp = test::call_service(
        &app,
        test::TestRequest::delete().uri("/v1/faults/x").to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    let ok = test::TestRequest::get()
        .uri("/v1/faults")
        .insert_header(("Authorization", format!("Bearer {TOKEN}")))
        .to_request();
    let list: ListResponse = test::call_and_read_body_json(&app, ok).await;
    assert!(list.faults.is_empty());
    let health: Health =
        test::call_and_read_body_json(&app, test::TestRequest::get().uri("/healthz").to_request())
            .await;
    assert_eq!(health.status, "ok");
    let resp =
        test::call_service(&app, test::TestRequest::get().uri("/metrics").to_request()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let text = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    assert!(text.contains("faultline_agent_build_info"), "{text}");
    agent.shutdown().await.unwrap();
}

#[actix_web::test]
async fn bad_requests_get_400_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::open(dir.path()).await.unwrap();
    let app = app!(agent);
    let cases = [
        (
            json!({"id": "a", "kind": {"networkDelay": {"latency": "ten"}}, "targets": [{"pid": 1}], "leaseSeconds": 60}),
            "kind.networkDelay.latency",
        ),
        (
            json!({"id": "a", "kind": {"processPause": {}}, "targets": [{"pid": 1}]}),
            "leaseSeconds",
        ),
        (
            json!({"id": "a b", "kind": {"processPause": {}}, "targets": [{"pid": 1}], "leaseSeconds": 60}),
            "id",
        ),
        (
            json!({"id": "a", "kind": {"processPause": {}}, "targets": [], "leaseSeconds": 60}),
            "targets",
        ),
        (
            json!({"id": "a", "kind": {"processPause": {}}, "targets": [{"pid": 1}], "leaseSeconds": 0}),
            "leaseSeconds",
        ),
        (
            json!({"id": "a", "kind": {"podKill": {}}, "targets": [{"pid": 1}], "leaseSeconds": 60}),
            "kind",
        ),
        (
            json!({"id": "a", "kind": {"processPause": {}}, "targets": [{"pod": 1}], "leaseSeconds": 60}),
            "targets[0]",
        ),
    ];
    for (body, field) in cases {
        let resp = test::call_service(&app, post("/v1/faults", &body).to_request()).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{body}");
        let err: ErrorBody = test::read_body_json(resp).await;
        assert!(
            err.error.contains(&format!("`{field}")),
            "{body}: {} does not name `{field}`",
            err.error
        );
    }
    let raw = test::TestRequest::post()
        .uri("/v1/faults")
        .insert_header(("Authorization", format!("Bearer {TOKEN}")))
        .set_payload("{not json")
        .to_request();
    assert_eq!(
        test::call_service(&app, raw).await.status(),
        StatusCode::BAD_REQUEST
    );
    agent.shutdown().await.unwrap();
}

#[actix_web::test]
async fn apply_renew_list_and_delete_with_404_and_409() {
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::open(dir.path()).await.unwrap();
    let app = app!(agent);
    let s = Proc::sleep();
    let other = Proc::sleep();

    // 404: the target does not exist; nothing applied.
    let resp = test::call_service(
        &app,
        post("/v1/faults", &pause_body("api1", u32::MAX - 1)).to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let err: ErrorBody = test::read_body_json(resp).await;
    assert!(
        err.error.contains("targets[0]") && err.error.contains("not found"),
        "{}",
        err.error
    );

    // 200, and the process is stopped.
    let applied: ApplyResponse = test::call_and_read_body_json(
        &app,
        post("/v1/faults", &pause_body("api1", s.pid())).to_request(),
    )
    .await;
    assert_eq!(applied.id.as_str(), "api1");
    assert_eq!(applied.records[0].id.as_str(), "api1-0");
    assert!(s.reaches('T'), "paused process must be stopped");

    // Same request again: 200, same records. Different request, same id: 409.
    let again: ApplyResponse = test::call_and_read_body_json(
        &app,
        post("/v1/faults", &pause_body("api1", s.pid())).to_request(),
    )
    .await;
    assert_eq!(again.records, applied.records);
    let resp = test::call_service(
        &app,
        post("/v1/faults", &pause_body("api1", other.pid())).to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert_eq!(other.state(), 'S');

    // Renew: 200; unknown id: 404.
    let renewed: RenewResponse = test::call_and_read_body_json(
        &app,
        post("/v1/faults/api1/renew", &json!({"leaseSeconds": 120})).to_request(),
    )
    .await;
    assert_eq!(renewed.renewed.len(), 1);
    let resp = test::call_service(
        &app,
        post("/v1/faults/nope/renew", &json!({"leaseSeconds": 120})).to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    // One record renewed once; the refused renewal is not counted.
    let metrics = agent.metrics().encode_text();
    assert!(
        metrics.contains("faultline_agent_lease_renewals_total 1"),
        "{metrics}"
    );

    let list: ListResponse = test::call_and_read_body_json(
        &app,
        test::TestRequest::get()
            .uri("/v1/faults")
            .insert_header(("Authorization", format!("Bearer {TOKEN}")))
            .to_request(),
    )
    .await;
    assert_eq!(list.faults.len(), 1);
    assert_eq!(list.faults[0].lease_until, renewed.lease_until);

    let del = || {
        test::TestRequest::delete()
            .uri("/v1/faults/api1")
            .insert_header(("Authorization", format!("Bearer {TOKEN}")))
            .to_request()
    };
    let rec: RecoverResponse = test::call_and_read_body_json(&app, del()).await;
    assert_eq!(rec.recovered.len(), 1);
    assert!(wait_until(Duration::from_secs(5), || s.state() == 'S').is_some());
    // Deleting again is idempotent.
    let rec: RecoverResponse = test::call_and_read_body_json(&app, del()).await;
    assert!(rec.recovered.is_empty());
    agent.shutdown().await.unwrap();
}

#[actix_web::test]
async fn a_fault_that_fails_to_apply_is_422_with_the_executors_message() {
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::open(dir.path()).await.unwrap();
    let app = app!(agent);
    let s = Proc::sleep();
    // The sleep is in the root freezer cgroup, which cannot be frozen.
    let body = json!({"id": "f1", "kind": {"processPause": {"method": "freezer"}}, "targets": [{"pid": s.pid()}], "leaseSeconds": 60});
    let resp = test::call_service(&app, post("/v1/faults", &body).to_request()).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let err: ErrorBody = test::read_body_json(resp).await;
    assert!(
        err.error.contains("failed to apply processPause to pid"),
        "{}",
        err.error
    );
    assert_eq!(s.state(), 'S');
    agent.shutdown().await.unwrap();
}

/// `GET /metrics` after an apply, a renewal and a recovery is valid Prometheus text
/// (`promtool check metrics`, Prometheus' own linter), renewals and lapses included.
#[actix_web::test]
async fn the_metrics_endpoint_passes_promtool() {
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::open(dir.path()).await.unwrap();
    let app = app!(agent);
    let s = Proc::sleep();
    let _: ApplyResponse = test::call_and_read_body_json(
        &app,
        post("/v1/faults", &pause_body("prom1", s.pid())).to_request(),
    )
    .await;
    let _: RenewResponse = test::call_and_read_body_json(
        &app,
        post("/v1/faults/prom1/renew", &json!({"leaseSeconds": 60})).to_request(),
    )
    .await;
    let del = test::TestRequest::delete()
        .uri("/v1/faults/prom1")
        .insert_header(("Authorization", format!("Bearer {TOKEN}")))
        .to_request();
    let _: RecoverResponse = test::call_and_read_body_json(&app, del).await;
    assert!(wait_until(Duration::from_secs(5), || s.state() == 'S').is_some());
    let body =
        test::call_and_read_body(&app, test::TestRequest::get().uri("/metrics").to_request()).await;
    let text = String::from_utf8(body.to_vec()).unwrap();
    for needle in [
        "faultline_agent_lease_renewals_total 1",
        r#"faultline_agent_lease_lapses_total{kind="processPause"} 0"#,
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
    agent.shutdown().await.unwrap();
    let Ok(mut child) = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    else {
        eprintln!("SKIPPED: `promtool` is not installed (apt-get install prometheus)");
        return;
    };
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
