//! `faultline serve --tls-cert --tls-key`, the real binary, reached by reqwest (rustls,
//! ring) and by curl (OpenSSL): what a user's client sees in each case.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use faultline_test_support::certs::{Authority, Issued};
use faultline_test_support::{Proc, closed_port};

/// serve's answer to plain HTTP on its HTTPS port.
const REFUSAL: &str = "this port serves HTTPS: use an https:// URL\n";

/// A serve process on a loopback port with a certificate for 127.0.0.1.
struct Serve {
    proc: Proc,
    port: u16,
}

impl Serve {
    fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }
}

fn serve_command(state: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_faultline"));
    c.arg("serve")
        .arg("--state-dir")
        .arg(state)
        .arg("--insecure-no-auth")
        .args(extra);
    for (k, _) in std::env::vars() {
        if k.starts_with("FAULTLINE_") {
            c.env_remove(k);
        }
    }
    c
}

/// Starts serve with `cert` and `key`; returns once it says it listens on https://.
fn start(dir: &Path, cert: &Path, key: &Path) -> Serve {
    let (hold, port) = closed_port();
    let listen = format!("127.0.0.1:{port}");
    let mut cmd = serve_command(
        &dir.join("state"),
        &[
            "--listen",
            &listen,
            "--tls-cert",
            &s(cert),
            "--tls-key",
            &s(key),
        ],
    );
    hold.release();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let proc = Proc(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(out).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
    assert_eq!(
        line.trim(),
        format!("faultline listening on https://{listen}"),
        "serve did not start over TLS"
    );
    Serve { proc, port }
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// A fresh client (so a fresh connection and handshake) trusting only `ca`.
fn client_trusting(ca: &Authority) -> reqwest::Client {
    let anchor = reqwest::Certificate::from_pem(ca.cert_pem().as_bytes()).unwrap();
    faultline_test_support::http::builder()
        .tls_certs_only([anchor])
        .tls_info(true)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Every message of `e`'s chain, joined: what an operator reads.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut next = e.source();
    while let Some(s) = next {
        parts.push(s.to_string());
        next = s.source();
    }
    parts.join(": ")
}

/// The DER of the certificate the server showed.
async fn served_cert(client: &reqwest::Client, url: &str) -> Vec<u8> {
    let res = client.get(url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .expect("a TLS connection")
        .to_vec()
}

fn der(issued: &Issued) -> Vec<u8> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    CertificateDer::from_pem_slice(issued.cert_pem.as_bytes())
        .unwrap()
        .to_vec()
}

/// Sends `request` over plain TCP and reads until the server closes.
fn raw_exchange(port: u16, request: &[u8]) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    tcp.write_all(request).unwrap();
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer);
    answer
}

/// curl's exit code and stderr.
fn curl(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .args(args)
        .output()
        .expect("curl is installed");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rustls_and_curl_reach_serve_over_https_and_a_wrong_ca_or_plain_http_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Authority::new("faultline test CA");
    let wrong = Authority::new("someone else's CA");
    let (cert, key) = ca.issue("127.0.0.1").write(dir.path(), "serve");
    let ca_file = ca.write(dir.path(), "ca");
    let wrong_file = wrong.write(dir.path(), "wrong-ca");
    let serve = start(dir.path(), &cert, &key);

    // rustls (reqwest) with the right CA: a real handshake, TLS 1.3.
    let res = client_trusting(&ca)
        .get(serve.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.version(), reqwest::Version::HTTP_11);
    // curl (OpenSSL) with --cacert.
    let (code, body, err) = curl(&["--cacert", &s(&ca_file), &serve.url("/healthz")]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!body.is_empty());

    // A CA that did not sign the certificate: both clients refuse, saying why.
    let e = client_trusting(&wrong)
        .get(serve.url("/healthz"))
        .send()
        .await
        .unwrap_err();
    let text = chain(&e);
    assert!(
        text.contains("invalid peer certificate: UnknownIssuer"),
        "{text}"
    );
    let (code, _, err) = curl(&["--cacert", &s(&wrong_file), &serve.url("/healthz")]);
    assert_eq!(
        code,
        Some(60),
        "curl: peer certificate cannot be authenticated: {err}"
    );
    assert!(err.contains("SSL certificate problem"), "{err}");

    // The API's absolute URLs say https: the request is known to be secure.
    let res = client_trusting(&ca)
        .post(serve.url("/api/v1/experiments"))
        .body(include_str!(
            "../../../examples/native/checkout-under-stress.yaml"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{:?}", res.text().await);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with(&serve.url("/api/v1/experiments/")),
        "{location}"
    );

    // Plain HTTP to the TLS port: refused in words (a 400 saying to use https://), never
    // served; rustls alone would answer a TLS alert that clients misreport.
    let plain = format!("http://127.0.0.1:{}/healthz", serve.port);
    let (code, body, err) = curl(&["-w", "%{http_code}", &plain]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(body, format!("{REFUSAL}400"), "curl's body then status");
    let res = faultline_test_support::client()
        .get(&plain)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.text().await.unwrap(), REFUSAL);
    let answer = raw_exchange(serve.port, b"POST /api/v1/runs HTTP/1.1\r\nHost: x\r\n\r\n");
    let answer = String::from_utf8(answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer}"
    );
    assert!(answer.ends_with(REFUSAL), "{answer}");
    // faultline's own client commands trust the system roots, or SSL_CERT_FILE's CA.
    let resume = |ca_file: Option<&Path>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_faultline"));
        c.args(["resume", "--server", &serve.url("")])
            .env("SSL_CERT_DIR", dir.path().join("no-such-dir"))
            .env_remove("FAULTLINE_TOKEN")
            .env_remove("FAULTLINE_URL");
        match ca_file {
            Some(f) => c.env("SSL_CERT_FILE", f),
            None => c.env_remove("SSL_CERT_FILE"),
        };
        c.output().unwrap()
    };
    let out = resume(Some(&ca_file));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = resume(Some(&wrong_file));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("UnknownIssuer"),
        "{err}"
    );
    // ... while HTTPS on the same port still answers.
    let res = client_trusting(&ca)
        .get(serve.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    drop(serve.proc);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_certificate_is_refused_by_rustls_and_curl() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Authority::new("faultline test CA");
    let (cert, key) = ca.issue_expired("127.0.0.1").write(dir.path(), "expired");
    let ca_file = ca.write(dir.path(), "ca");
    let serve = start(dir.path(), &cert, &key);

    let e = client_trusting(&ca)
        .get(serve.url("/healthz"))
        .send()
        .await
        .unwrap_err();
    let text = chain(&e);
    assert!(
        text.contains("invalid peer certificate: certificate expired"),
        "{text}"
    );
    let (code, _, err) = curl(&["--cacert", &s(&ca_file), &serve.url("/healthz")]);
    assert_eq!(code, Some(60), "{err}");
    assert!(err.contains("certificate has expired"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_certificate_is_served_to_new_connections_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Authority::new("faultline test CA");
    let first = ca.issue("127.0.0.1");
    let (cert, key) = first.write(dir.path(), "serve");
    let mut serve = start(dir.path(), &cert, &key);
    let url = serve.url("/healthz");
    assert_eq!(served_cert(&client_trusting(&ca), &url).await, der(&first));

    // Replaced the way a Secret volume or cert-manager does: new files renamed over the
    // old ones, the certificate first.
    let second = ca.issue("127.0.0.1");
    let staged = dir.path().join("staged");
    std::fs::create_dir(&staged).unwrap();
    let (new_cert, new_key) = second.write(&staged, "serve");
    std::fs::rename(&new_cert, &cert).unwrap();
    std::fs::rename(&new_key, &key).unwrap();

    assert_eq!(served_cert(&client_trusting(&ca), &url).await, der(&second));
    assert!(
        serve.proc.0.try_wait().unwrap().is_none(),
        "serve restarted or died"
    );

    // A broken replacement (a key that is not the certificate's) keeps the last good one.
    let third = ca.issue("127.0.0.1");
    std::fs::write(&key, &third.key_pem).unwrap();
    assert_eq!(served_cert(&client_trusting(&ca), &url).await, der(&second));
}

/// Runs serve expecting it to refuse to start; returns its stderr.
fn refused(dir: &Path, extra: &[&str]) -> String {
    let out = serve_command(
        &dir.join("state"),
        &[&["--listen", "127.0.0.1:0"], extra].concat(),
    )
    .output()
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        !dir.join("state").exists(),
        "state dir created before the refusal"
    );
    err
}

#[test]
fn unusable_tls_files_stop_the_start_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = Authority::new("faultline test CA");
    let (cert, key) = ca.issue("127.0.0.1").write(d, "serve");
    let (_, other_key) = ca.issue("127.0.0.1").write(d, "other");
    let missing: PathBuf = d.join("missing.crt");

    let err = refused(d, &["--tls-cert", &s(&missing), "--tls-key", &s(&key)]);
    assert!(
        err.contains(&format!("cannot read the certificate file {}", s(&missing))),
        "{err}"
    );
    let err = refused(d, &["--tls-cert", &s(&cert), "--tls-key", &s(&other_key)]);
    assert!(
        err.contains(&format!(
            "the key file {} does not match the certificate file {}",
            s(&other_key),
            s(&cert)
        )),
        "{err}"
    );
    let err = refused(d, &["--tls-cert", &s(&key), "--tls-key", &s(&key)]);
    assert!(
        err.contains(&format!(
            "the certificate file {} holds no CERTIFICATE",
            s(&key)
        )),
        "{err}"
    );
    let err = refused(d, &["--tls-cert", &s(&cert)]);
    assert!(
        err.contains("`tlsCert` (env FAULTLINE_TLS_CERT) needs `tlsKey`"),
        "{err}"
    );
}
