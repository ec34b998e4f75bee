//! P9: what the HTTP faults' proxy costs requests it does not pick. A hyper server in
//! namespace b (10.77.0.2:8080), `wrk` in namespace a, three ways side by side in one run:
//! direct; through faultline's proxy (an `httpDelay` on port 8080 whose `match` picks no
//! request, so every request is passed on untouched); through Debian's `haproxy` in
//! namespace b doing the same pass-through (`mode http`, keep-alive to the server), the
//! well-tuned proxy a user would compare against. Reports, for each, requests per second
//! and p50 latency at 16 connections (saturated: every party is busy, so the p50 there is
//! mostly queueing, 16 / throughput), and the p50 of one connection's requests one after
//! another (the time a request spends in the proxy itself, nothing queued ahead of it). Run as root: `cargo bench -p faultline-agent --bench http_passthrough`
//! (needs `wrk` and `haproxy`: apt).

#[path = "../tests/support/mod.rs"]
mod support;

use std::convert::Infallible;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use faultline_agent::faults::{Family, Fault};
use faultline_spec::NodeFault;
use faultline_spec::fault::{HttpDelay, HttpMatch, HttpTarget};
use faultline_test_support::bench::report;
use faultline_test_support::{NetnsPair, in_netns};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use support::netns_record;

/// wrk's connections and seconds per measure.
const CONNECTIONS: &str = "16";
const SECONDS: &str = "5";
/// The unloaded latency measure: one connection, requests one after another.
const SECONDS_ONE: &str = "3";

/// A small hyper HTTP/1.1 server on 0.0.0.0:8080 in `ns`, serving until the runtime ends.
fn serve_in(ns: &std::path::Path) {
    let std = in_netns(ns, || std::net::TcpListener::bind("0.0.0.0:8080")).expect("bind :8080");
    std.set_nonblocking(true).unwrap();
    let listener = tokio::net::TcpListener::from_std(std).unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((conn, _)) = listener.accept().await else {
                continue;
            };
            let _ = conn.set_nodelay(true);
            tokio::spawn(async move {
                let svc = service_fn(|_req: Request<hyper::body::Incoming>| async {
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
                        b"{\"status\":\"ok\"}",
                    ))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(conn), svc)
                    .await;
            });
        }
    });
}

/// haproxy in namespace `ns` on 10.77.0.2:8081 passing every request to 127.0.0.1:8080;
/// killed on drop (its config lives in the temp dir held beside it).
struct Haproxy(Child, #[allow(dead_code)] tempfile::TempDir);

impl Haproxy {
    fn start(ns: &str) -> Haproxy {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("haproxy.cfg");
        std::fs::write(
            &cfg,
            "global\n  maxconn 4096\ndefaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\nfrontend f\n  bind 10.77.0.2:8081\n  default_backend b\nbackend b\n  server s1 127.0.0.1:8080\n",
        )
        .unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", ns, "haproxy", "-db", "-f"])
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("haproxy runs (apt-get install haproxy)");
        std::thread::sleep(Duration::from_millis(500));
        Haproxy(child, dir)
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One wrk measure from namespace `ns` against `url` over `connections` for `seconds`:
/// (p50 in µs, requests per second).
fn wrk(ns: &str, url: &str, connections: &str, seconds: &str) -> (f64, f64) {
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "wrk", "-t1", "-c", connections, "-d"])
        .arg(format!("{seconds}s"))
        .args(["--latency", url])
        .output()
        .expect("wrk runs (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout);
    let micros = |v: &str| -> Option<f64> {
        let (n, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic())?);
        let n: f64 = n.parse().ok()?;
        Some(match unit {
            "us" => n,
            "ms" => n * 1e3,
            "s" => n * 1e6,
            _ => return None,
        })
    };
    let p50 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("50%"))
        .and_then(|v| micros(v.trim()));
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok());
    match (p50, rps) {
        (Some(p), Some(r)) => (p, r),
        _ => panic!(
            "unreadable wrk output:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let pair = NetnsPair::new("p9");
    serve_in(&pair.b_path());
    let _haproxy = Haproxy::start(&pair.b);
    let kind = NodeFault::HttpDelay(HttpDelay {
        port: 8080,
        direction: Default::default(),
        // No request has this path: every one is passed on untouched.
        matching: HttpMatch {
            path: Some("/never-matched".into()),
            ..HttpMatch::default()
        },
        target: HttpTarget::Request,
        delay: faultline_spec::Duration::from_millis(100),
        tls: None,
    });
    let rec = netns_record("p9", kind, &pair.b_path());
    let fam = Family::of(&rec.kind);

    let reps = report::reps(3, 1);
    let (mut d, mut f, mut h) = (Vec::new(), Vec::new(), Vec::new());
    let (mut d1, mut f1, mut h1) = (Vec::new(), Vec::new(), Vec::new());
    // Both loads, one after the other, per way: (saturated, one connection).
    let both = |url: &str| {
        tokio::task::block_in_place(|| {
            (
                wrk(&pair.a, url, CONNECTIONS, SECONDS),
                wrk(&pair.a, url, "1", SECONDS_ONE).0,
            )
        })
    };
    for _ in 0..reps {
        let (loaded, one) = both("http://10.77.0.2:8080/");
        d.push(loaded);
        d1.push(one);
        fam.apply(&rec).await.expect("apply");
        let (loaded, one) = both("http://10.77.0.2:8080/");
        f.push(loaded);
        f1.push(one);
        fam.recover(&rec).await.expect("recover");
        let (loaded, one) = both("http://10.77.0.2:8081/");
        h.push(loaded);
        h1.push(one);
    }
    let col = |v: &[(f64, f64)], i: usize| -> Vec<f64> {
        v.iter().map(|x| if i == 0 { x.0 } else { x.1 }).collect()
    };
    for (name, how, v, one) in [
        ("direct", "direct", &d, &d1),
        (
            "faultline",
            "through faultline's proxy, no rule matching",
            &f,
            &f1,
        ),
        ("haproxy", "through haproxy", &h, &h1),
    ] {
        let label = |what: &str| format!("HTTP {what} {how} (wrk -c{CONNECTIONS} {SECONDS}s)");
        report::emit(
            "P9",
            &format!("{name}_p50"),
            &label("p50"),
            "µs",
            &col(v, 0),
        );
        report::emit(
            "P9",
            &format!("{name}_p50_one"),
            &format!("HTTP p50 {how}, one connection (wrk -c1 {SECONDS_ONE}s)"),
            "µs",
            one,
        );
        report::emit(
            "P9",
            &format!("{name}_rps"),
            &label("throughput"),
            "req/s",
            &col(v, 1),
        );
    }
    let med = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!("P9 HTTP pass-through (median of {reps}):");
    println!(
        "  {:<10} {:>10} {:>12} {:>12}",
        "", "p50", "req/s", "p50 (c1)"
    );
    for (name, v, one) in [
        ("direct", &d, &d1),
        ("faultline", &f, &f1),
        ("haproxy", &h, &h1),
    ] {
        println!(
            "  {name:<10} {:>8.0}µs {:>12.0} {:>10.0}µs",
            med(col(v, 0)),
            med(col(v, 1)),
            med(one.clone())
        );
    }
    let (dp, fp, hp) = (med(col(&d, 0)), med(col(&f, 0)), med(col(&h, 0)));
    let (dr, fr, hr) = (med(col(&d, 1)), med(col(&f, 1)), med(col(&h, 1)));
    let (d1, f1, h1) = (med(d1), med(f1), med(h1));
    println!(
        "  faultline: +{:.0}µs p50 (one connection: +{:.0}µs), {:.0}% of direct throughput; haproxy: +{:.0}µs (+{:.0}µs), {:.0}%",
        fp - dp,
        f1 - d1,
        100.0 * fr / dr,
        hp - dp,
        h1 - d1,
        100.0 * hr / dr
    );
}
