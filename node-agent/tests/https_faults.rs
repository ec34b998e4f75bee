//! HTTP faults on HTTPS, with the server's certificate and key (`tls`), against the real
//! kernel: the target namespace (b) runs Python's http.server wrapped in TLS (HTTP/1.1
//! only in ALPN) with a certificate for 10.77.0.2 from a CA this test makes (rcgen);
//! curl in a trusts that CA and nothing else. Each test proves the fault acted on the
//! decrypted requests as the client sees them, that the requests it does not pick reach
//! the server untouched, that the client is shown the server's own certificate, and
//! that recovery removed the table, the rule, the route and the proxy.

mod http;
mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use faultline_agent::Recovered;
use faultline_agent::faults::{Baseline, Family, Fault, FaultRecord};
use faultline_spec::NodeFault;
use faultline_spec::fault::http::HttpChanges;
use faultline_spec::fault::{HttpAbort, HttpDelay, HttpReplace, HttpTarget, HttpTls};
use faultline_test_support::NetnsPair;
use faultline_test_support::certs::Authority;
use http::{
    PyServer, Seen, abort, curl_in, delay, file_fingerprint, leftovers_in, path, served_fingerprint,
};
use support::netns_record;

const ADDR: &str = "10.77.0.2:8443";

/// The test's PKI and server: the CA file clients trust, the server's cert and key.
struct Https {
    pair: NetnsPair,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    authority: Authority,
    dir: tempfile::TempDir,
    _server: PyServer,
}

impl Https {
    fn start(tag: &str) -> Https {
        let pair = NetnsPair::new(tag);
        let dir = tempfile::tempdir().unwrap();
        let authority = Authority::new("faultline https test CA");
        let ca = authority.write(dir.path(), "ca");
        let (cert, key) = authority.issue("10.77.0.2").write(dir.path(), "server");
        let (ns, ca2) = (pair.a.clone(), ca.clone());
        let server = PyServer::start(&pair.b, "10.77.0.2", 8443, Some((&cert, &key)), || {
            get(&ns, &ca2, "/ready").status == 200
        });
        Https {
            pair,
            ca,
            cert,
            key,
            authority,
            dir,
            _server: server,
        }
    }

    /// `curl --cacert CA https://10.77.0.2:8443PATH` from a.
    fn get(&self, path: &str) -> Seen {
        tokio::task::block_in_place(|| get(&self.pair.a, &self.ca, path))
    }

    fn tls(&self) -> HttpTls {
        HttpTls {
            cert_file: self.cert.display().to_string(),
            key_file: self.key.display().to_string(),
            ca_file: None,
        }
    }

    async fn applied(&self, kind: NodeFault) -> (Family, FaultRecord) {
        let rec = netns_record("https", kind, &self.pair.b_path());
        let fam = Family::of(&rec.kind);
        fam.apply(&rec).await.unwrap();
        (fam, rec)
    }

    /// Recovers, then checks nothing is left and the server answers HTTPS as before.
    async fn recovered(&self, fam: &Family, rec: &FaultRecord) {
        assert_eq!(fam.recover(rec).await.unwrap(), Recovered::Removed);
        assert_eq!(leftovers_in(&self.pair.b), "", "left after recovery");
        let listeners = tokio::task::block_in_place(|| {
            faultline_test_support::sh(&format!("ip netns exec {} ss -Htln", self.pair.b))
        });
        assert_eq!(
            listeners.lines().count(),
            1,
            "only the server listens: {listeners}"
        );
        let after = self.get("/api/after");
        assert_eq!(after.status, 200, "after recovery: {after:?}");
        assert!(after.headers.contains("x-server: real"), "{after:?}");
    }
}

fn get(ns: &str, ca: &Path, path: &str) -> Seen {
    let ca = ca.display().to_string();
    curl_in(
        ns,
        &format!("https://{ADDR}{path}"),
        &["--cacert", &ca, "-w", "\n%{http_version}"],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_requests_are_aborted_by_path_and_the_client_sees_the_server_s_own_certificate() {
    let t = Https::start("httpsabort");
    let kind = NodeFault::HttpAbort(HttpAbort {
        body: Some("down for chaos".into()),
        tls: Some(t.tls()),
        ..abort(8443, path("/api/"), 503)
    });
    let (fam, rec) = t.applied(kind).await;
    let base = fam.baseline(&rec).await;

    let hit = t.get("/api/orders");
    assert_eq!(hit.status, 503, "{hit:?}");
    assert!(hit.body.starts_with("down for chaos"), "{hit:?}");
    assert!(
        !hit.headers.contains("x-server"),
        "the server never answered: {hit:?}"
    );
    let other = t.get("/web/index");
    assert_eq!(other.status, 200, "{other:?}");
    assert!(other.headers.contains("x-server: real"), "{other:?}");
    assert!(other.body.contains(r#""path": "/web/index""#), "{other:?}");
    // curl offered h2; the server speaks only HTTP/1.1, and the proxy kept its choice.
    assert!(other.body.trim_end().ends_with("\n1.1"), "{other:?}");
    // Through the proxy, the client is shown the server's own certificate.
    let shown = tokio::task::block_in_place(|| served_fingerprint(&t.pair.a, ADDR, &t.ca));
    assert_eq!(shown, file_fingerprint(&t.cert));

    let seen = fam.observe(&rec, &base).await;
    assert!(seen.effective, "{}", seen.evidence);
    assert!(
        seen.evidence
            .contains("1 of 2 requests aborted since apply, 1 passed on untouched"),
        "{}",
        seen.evidence
    );
    t.recovered(&fam, &rec).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_requests_are_delayed_and_responses_patched_after_decryption() {
    let t = Https::start("httpsdelay");
    let kind = NodeFault::HttpDelay(HttpDelay {
        tls: Some(t.tls()),
        ..delay(8443, path("/api/"), 700)
    });
    let (fam, rec) = t.applied(kind).await;
    let slow = t.get("/api/slow");
    assert_eq!(slow.status, 200, "{slow:?}");
    assert!(slow.took >= Duration::from_millis(700), "{slow:?}");
    let fast = t.get("/web");
    assert_eq!(fast.status, 200, "{fast:?}");
    assert!(fast.took < Duration::from_millis(600), "{fast:?}");
    t.recovered(&fam, &rec).await;

    let kind = NodeFault::HttpReplace(HttpReplace {
        port: 8443,
        direction: Default::default(),
        matching: path("/api/"),
        target: HttpTarget::Response,
        replace: HttpChanges {
            patch: Some(serde_json::json!({"status": "degraded"})),
            ..HttpChanges::default()
        },
        tls: Some(t.tls()),
    });
    let (fam, rec) = t.applied(kind).await;
    let patched = t.get("/api/x");
    assert!(
        patched.body.contains(r#""status":"degraded""#),
        "{patched:?}"
    );
    assert!(patched.headers.contains("x-server: real"), "{patched:?}");
    let other = t.get("/web");
    assert!(other.body.contains(r#""status": "ok""#), "{other:?}");
    t.recovered(&fam, &rec).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_trusts_only_the_pinned_certificate_or_the_given_ca_upstream() {
    let t = Https::start("httpstrust");
    // Another certificate for the same address, from the same CA: not the server's.
    let (other_cert, other_key) = t.authority.issue("10.77.0.2").write(t.dir.path(), "other");
    let abort_with = |tls: HttpTls| {
        NodeFault::HttpAbort(HttpAbort {
            tls: Some(tls),
            ..abort(8443, path("/api/"), 503)
        })
    };
    let pinned_to_other = HttpTls {
        cert_file: other_cert.display().to_string(),
        key_file: other_key.display().to_string(),
        ca_file: None,
    };
    let (fam, rec) = t.applied(abort_with(pinned_to_other.clone())).await;
    // The server shows a certificate other than the pinned one: no request goes on.
    let refused = t.get("/web");
    assert_ne!(refused.exit, 0, "passed to an unpinned server: {refused:?}");
    assert_eq!(refused.status, 0, "{refused:?}");
    t.recovered(&fam, &rec).await;

    // With the CA, any certificate it signed for the address is the server.
    let with_ca = HttpTls {
        ca_file: Some(t.ca.display().to_string()),
        ..pinned_to_other
    };
    let (fam, rec) = t.applied(abort_with(with_ca)).await;
    assert_eq!(t.get("/web").status, 200);
    assert_eq!(t.get("/api/x").status, 503);
    t.recovered(&fam, &rec).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_tls_file_fails_the_apply_by_name_and_leaves_nothing() {
    let t = Https::start("httpsbad");
    let missing = t.dir.path().join("no-such.key");
    let kind = NodeFault::HttpAbort(HttpAbort {
        tls: Some(HttpTls {
            key_file: missing.display().to_string(),
            ..t.tls()
        }),
        ..abort(8443, path("/api/"), 503)
    });
    let rec = netns_record("httpsbad", kind, &t.pair.b_path());
    let fam = Family::of(&rec.kind);
    let e = fam.apply(&rec).await.unwrap_err().to_string();
    assert!(e.contains(&missing.display().to_string()), "{e}");
    assert_eq!(leftovers_in(&t.pair.b), "");
    assert!(!fam.observe(&rec, &Baseline::now(None)).await.effective);
    assert_eq!(t.get("/api/x").status, 200);
}
