//! P9: what the HTTP faults' proxy costs requests it does not pick. A hyper server in
//! namespace b (10.77.0.2:8080), `wrk` in namespace a, three ways side by side in one run:
//! direct; through faultline's proxy (an `httpDelay` on port 8080 whose `match` picks no
//! request, so every request is passed on untouched); through Debian's `haproxy` in
//! namespace b doing the same pass-through (`mode http`, keep-alive to the server), the
//! well-tuned proxy a user would compare against. Reports p50 latency and requests per
//! second of each. Run as root: `cargo bench -p faultline-agent --bench http_passthrough`
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

/// One wrk measure from namespace `ns` against `url`: (p50 in µs, requests per second).
fn wrk(ns: &str, url: &str) -> (f64, f64) {
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "wrk", "-t1", "-c", CONNECTIONS, "-d"])
        .arg(format!("{SECONDS}s"))
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
    for _ in 0..reps {
        d.push(tokio::task::block_in_place(|| {
            wrk(&pair.a, "http://10.77.0.2:8080/")
        }));
        fam.apply(&rec).await.expect("apply");
        f.push(tokio::task::block_in_place(|| {
            wrk(&pair.a, "http://10.77.0.2:8080/")
        }));
        fam.recover(&rec).await.expect("recover");
        h.push(tokio::task::block_in_place(|| {
            wrk(&pair.a, "http://10.77.0.2:8081/")
        }));
    }
    let col = |v: &[(f64, f64)], i: usize| -> Vec<f64> {
        v.iter().map(|x| if i == 0 { x.0 } else { x.1 }).collect()
    };
    for (name, how, v) in [
        ("direct", "direct", &d),
        (
            "faultline",
            "through faultline's proxy, no rule matching",
            &f,
        ),
        ("haproxy", "through haproxy", &h),
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
    println!("  {:<10} {:>10} {:>12}", "", "p50", "req/s");
    for (name, v) in [("direct", &d), ("faultline", &f), ("haproxy", &h)] {
        println!(
            "  {name:<10} {:>8.0}µs {:>12.0}",
            med(col(v, 0)),
            med(col(v, 1))
        );
    }
    let (dp, fp, hp) = (med(col(&d, 0)), med(col(&f, 0)), med(col(&h, 0)));
    let (dr, fr, hr) = (med(col(&d, 1)), med(col(&f, 1)), med(col(&h, 1)));
    println!(
        "  faultline: +{:.0}µs p50, {:.0}% of direct throughput; haproxy: +{:.0}µs, {:.0}%",
        fp - dp,
        100.0 * fr / dr,
        hp - dp,
        100.0 * hr / dr
    );
}
