//! kube's mock-service pattern (kube `kube/src/mock_tests.rs`): the client talks to a
//! `tower_test` mock, and an [`ApiServerVerifier`] plays the API server. Each test names a
//! scenario as the list of calls it expects; the verifier asserts each call's method, path
//! and query, answers with real Kubernetes JSON, and hands back the request bodies. It must
//! be awaited with [`done`], whose timeout fails a test when an expected call never came;
//! a call beyond the scenario finds the mock closed and fails the code under test.

use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

/// Plays the API server.
pub struct ApiServerVerifier(Handle);

/// A client wired to a verifier.
pub fn testcontext() -> (Client, ApiServerVerifier) {
    let (svc, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    (Client::new(svc, "default"), ApiServerVerifier(handle))
}

/// One expected call and the answer to it.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The method.
    pub method: Method,
    /// The exact path, e.g. `/api/v1/namespaces/shop/pods`.
    pub path: String,
    /// `key=value` pairs the query must hold (decoded), in any order.
    pub query: Vec<(String, String)>,
    /// Keys the query must not hold.
    pub no_query: Vec<String>,
    /// The status to answer with.
    pub status: StatusCode,
    /// The body to answer with.
    pub body: Value,
    /// A plain-text body to answer with instead of `body` (a pod's `log` subresource
    /// answers `text/plain`).
    pub text: Option<String>,
    /// Answer this call as often as it comes in a row (at least once): a read polled
    /// until a deadline, whose count depends on timing.
    pub repeated: bool,
}

impl Exchange {
    /// Expects `method path`, answers 200 with `body`.
    pub fn new(method: Method, path: impl Into<String>, body: Value) -> Exchange {
        Exchange {
            method,
            path: path.into(),
            query: Vec::new(),
            no_query: Vec::new(),
            status: StatusCode::OK,
            body,
            text: None,
            repeated: false,
        }
    }

    /// Answered as often as the same method and path come in a row (at least once);
    /// `done` reports it once.
    pub fn repeated(mut self) -> Exchange {
        self.repeated = true;
        self
    }

    /// A GET answered 200 with plain text (`GET .../pods/NAME/log`).
    pub fn text(path: impl Into<String>, text: &str) -> Exchange {
        Exchange {
            text: Some(text.to_string()),
            ..Exchange::get(path, Value::Null)
        }
    }

    /// A GET.
    pub fn get(path: impl Into<String>, body: Value) -> Exchange {
        Exchange::new(Method::GET, path, body)
    }

    /// The query must hold `k=v`.
    pub fn query(mut self, k: &str, v: &str) -> Exchange {
        self.query.push((k.into(), v.into()));
        self
    }

    /// The query must not hold `k`.
    pub fn without(mut self, k: &str) -> Exchange {
        self.no_query.push(k.into());
        self
    }

    /// Answer with `status` instead of 200.
    pub fn status(mut self, status: u16) -> Exchange {
        self.status = StatusCode::from_u16(status).unwrap();
        self
    }
}

/// One request as the verifier saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The method.
    pub method: Method,
    /// Path and query.
    pub uri: String,
    /// The Content-Type header.
    pub content_type: String,
    /// The body as JSON (`Null` when empty).
    pub body: Value,
}

impl ApiServerVerifier {
    /// A verifier over a mock handle whose service side the test wired up itself (e.g.
    /// behind a rate limit).
    pub fn from_handle(h: Handle) -> ApiServerVerifier {
        ApiServerVerifier(h)
    }

    /// Answers `calls` in order, asserting each; returns what it saw.
    pub fn run(mut self, calls: Vec<Exchange>) -> tokio::task::JoinHandle<Vec<Seen>> {
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut pending = None;
            for (i, want) in calls.into_iter().enumerate() {
                let (req, send) = match pending.take() {
                    Some(p) => p,
                    None => self.0.next_request().await.unwrap_or_else(|| {
                        panic!("call {i} ({} {}) never came", want.method, want.path)
                    }),
                };
                seen.push(answer(i, &want, req, send).await);
                // Further calls of the same method and path, while they come in a row.
                if want.repeated {
                    loop {
                        let Some((req, send)) = self.0.next_request().await else {
                            break;
                        };
                        if req.method() != want.method || req.uri().path() != want.path {
                            pending = Some((req, send));
                            break;
                        }
                        answer(i, &want, req, send).await;
                    }
                }
            }
            // A call beyond the scenario goes unanswered, as with the mock closed.
            drop(pending);
            seen
        })
    }
}

/// Asserts call `i` against `want` and answers it.
async fn answer(
    i: usize,
    want: &Exchange,
    req: Request<Body>,
    send: tower_test::mock::SendResponse<Response<Body>>,
) -> Seen {
    let uri = req.uri().clone();
    assert_eq!(req.method(), want.method, "call {i}: method of {uri}");
    assert_eq!(uri.path(), want.path, "call {i}: path of {uri}");
    let pairs = query_pairs(uri.query().unwrap_or_default());
    for (k, v) in &want.query {
        assert!(
            pairs.iter().any(|(pk, pv)| pk == k && pv == v),
            "call {i}: {uri} lacks {k}={v}; has {pairs:?}"
        );
    }
    for k in &want.no_query {
        assert!(
            !pairs.iter().any(|(pk, _)| pk == k),
            "call {i}: {uri} has {k}"
        );
    }
    let content_type = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let method = req.method().clone();
    let bytes = req.into_body().collect_bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    let (content_type_out, bytes_out) = match &want.text {
        Some(t) => ("text/plain", t.clone().into_bytes()),
        None => ("application/json", serde_json::to_vec(&want.body).unwrap()),
    };
    let reply = Response::builder()
        .status(want.status)
        .header("content-type", content_type_out)
        .body(Body::from(bytes_out))
        .unwrap();
    send.send_response(reply);
    Seen {
        method,
        uri: uri.to_string(),
        content_type,
        body,
    }
}

/// Awaits the scenario: every expected call must arrive within 5 s.
pub async fn done(h: tokio::task::JoinHandle<Vec<Seen>>) -> Vec<Seen> {
    tokio::time::timeout(Duration::from_secs(5), h)
        .await
        .expect("timeout on the mock API server: an expected call never came")
        .expect("scenario failed")
}

fn query_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// A Kubernetes `Status` failure, as the API server sends it with a 4xx.
pub fn status(code: u16, reason: &str, message: &str, kind: &str, name: &str) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": { "name": name, "kind": kind },
        "code": code
    })
}

/// A 404 for pod `name`.
pub fn pod_not_found(name: &str) -> Value {
    status(
        404,
        "NotFound",
        &format!("pods \"{name}\" not found"),
        "pods",
        name,
    )
}
