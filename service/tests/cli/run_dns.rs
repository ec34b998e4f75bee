//! `faultline run` of a whole experiment with a DNS fault, against the real resolver path:
//! the target namespace (a) has a `resolv.conf` naming b's 10.77.0.2, where this test runs
//! a one-name DNS responder; a client in a keeps asking for a name the fault matches. The
//! run must end `passed` with the fault verified (its evidence the proxy's counts), the
//! report must carry the fault's row, the client must have seen NXDOMAIN during the run
//! and the upstream's answer after it, and no nft table may be left in a.

use std::net::{Ipv4Addr, UdpSocket};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use faultline_agent::dnsproxy::wire;
use faultline_test_support::{NetnsPair, ResolvConf, UdpResponder, in_netns};

use crate::run_report::{
    assert_no_tables_left, assert_one_fault_verified, output_text, the_report,
};

/// What the upstream answers every A query with.
const UPSTREAM_ANSWER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 42);

/// A thread until dropped: sets the flag, joins.
struct Stoppable {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Stoppable {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// b's nameserver on 10.77.0.2:53, answering every A query with [`UPSTREAM_ANSWER`].
fn upstream(pair: &NetnsPair) -> UdpResponder {
    UdpResponder::start(&pair.b_path(), &["10.77.0.2:53"], |query, reply| {
        if let Some(q) = wire::question(query) {
            reply.extend(wire::address_response(
                query,
                &q,
                &[UPSTREAM_ANSWER.into()],
                60,
            ));
        }
    })
}

/// One A query for `name` from a to 10.77.0.2:53: the response code, `None` on silence.
fn ask(pair: &NetnsPair, name: &str) -> Option<u8> {
    let sock = in_netns(&pair.a_path(), || UdpSocket::bind("0.0.0.0:0")).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    sock.send_to(&wire::query(0x5151, name, 1), "10.77.0.2:53")
        .unwrap();
    let mut buf = [0u8; 512];
    let n = sock.recv(&mut buf).ok()?;
    let msg = &buf[..n];
    match wire::rcode(msg)? {
        0 if wire::a_records(msg) == [UPSTREAM_ANSWER] => Some(0),
        0 => Some(255), // NOERROR with another answer: nothing this test expects
        rc => Some(rc),
    }
}

/// A client in a asking for `name` every 50 ms; the response codes it got, in order.
fn client(pair: &NetnsPair, name: &'static str, seen: Arc<Mutex<Vec<Option<u8>>>>) -> Stoppable {
    let stop = Arc::new(AtomicBool::new(false));
    let (flag, path) = (stop.clone(), pair.a_path());
    let thread = std::thread::spawn(move || {
        let sock = in_netns(&path, || UdpSocket::bind("0.0.0.0:0")).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut buf = [0u8; 512];
        let mut id = 0u16;
        while !flag.load(Ordering::Relaxed) {
            id = id.wrapping_add(1);
            let _ = sock.send_to(&wire::query(id, name, 1), "10.77.0.2:53");
            let rc = sock
                .recv(&mut buf)
                .ok()
                .and_then(|n| wire::rcode(&buf[..n]));
            seen.lock().unwrap().push(rc);
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    Stoppable {
        stop,
        thread: Some(thread),
    }
}

#[test]
fn faultline_run_with_a_dns_error_verifies_reports_and_removes_it() {
    let pair = NetnsPair::new("rundns");
    let _upstream = upstream(&pair);
    let _conf = ResolvConf::new(&pair.a, "10.77.0.2");
    assert_eq!(ask(&pair, "api.blocked.test"), Some(0), "before the run");

    let state = tempfile::tempdir().unwrap();
    let spec = state.path().join("dns.yaml");
    std::fs::write(
        &spec,
        format!(
            "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: {{ name: dns-outage }}\nspec:\n  target: {{ local: {{ netns: {a} }} }}\n  steps:\n    - name: blocked-names\n      dnsError: {{ patterns: ['*.blocked.test'], answer: nxdomain }}\n      duration: 2s\n",
            a = pair.a
        ),
    )
    .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let asking = client(&pair, "api.blocked.test", seen.clone());
    let out = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["run", "--state-dir"])
        .arg(state.path().join("state"))
        .arg(&spec)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    drop(asking);
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("verdict: passed"), "{text}");

    // The client saw the fault while the run held it, and the upstream's answer again.
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.contains(&Some(3)),
        "no NXDOMAIN during the run: {seen:?}\n{text}"
    );
    assert_eq!(
        ask(&pair, "api.blocked.test"),
        Some(0),
        "after the run:\n{text}"
    );
    assert_eq!(ask(&pair, "ok.test"), Some(0));
    assert_no_tables_left(&pair.a);

    // The report: the fault's row verified, with the proxy's evidence.
    let (run_dir, report) = the_report(&state.path().join("state"));
    assert_eq!(report["verdict"], "passed", "{report:#}");
    assert_one_fault_verified(
        &report,
        "dnsError",
        &[
            "redirect UDP and TCP port 53 to the proxy",
            "queries answered with the fault",
        ],
    );
    let junit = std::fs::read_to_string(run_dir.join("junit.xml")).unwrap();
    assert!(junit.contains("dnsError"), "{junit}");
}
