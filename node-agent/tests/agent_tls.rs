//! Service -> agent over TLS (issue 27) with real handshakes: the agent daemon serving
//! HTTPS (`faultline-agent --tls-cert --tls-key [--tls-client-ca]`) and the service's
//! `AgentClient` checking it against a CA file, optionally showing a client certificate.
//! Certificates are made by rcgen in each test.

use std::net::TcpListener;
use std::path::Path;

use actix_web::dev::ServerHandle;
use faultline_agent::daemon::{self, Auth};
use faultline_agent::tls::{ClientTls, ServerTls};
use faultline_agent::{Agent, AgentClient, ClientError};
use faultline_test_support::certs::{Authority, Issued};

const TOKEN: &str = "agent-token-0123456789";

/// A real agent daemon serving HTTPS on a loopback port.
struct TlsAgent {
    agent: Agent,
    port: u16,
    handle: ServerHandle,
    _dir: tempfile::TempDir,
}

impl TlsAgent {
    /// Serves with `issued` as its certificate; requires client certificates signed by
    /// `client_ca` when given (then without a token, as the binary does).
    async fn start(issued: &Issued, client_ca: Option<&Authority>) -> TlsAgent {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = issued.write(dir.path(), "agent");
        let settings = ServerTls {
            cert,
            key,
            client_ca: client_ca.map(|ca| ca.write(dir.path(), "client-ca")),
        };
        let auth = match client_ca {
            Some(_) => Auth::Disabled,
            None => Auth::token(TOKEN).unwrap(),
        };
        let agent = Agent::open(dir.path().join("state")).await.unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = daemon::serve_tls(
            agent.clone(),
            auth,
            listener,
            None,
            Some(settings.config().unwrap()),
        )
        .unwrap();
        let handle = server.handle();
        tokio::spawn(server);
        TlsAgent {
            agent,
            port,
            handle,
            _dir: dir,
        }
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    async fn stop(self) {
        self.handle.stop(true).await;
        self.agent.shutdown().await.unwrap();
    }
}

/// Client settings trusting `ca`, showing `identity` when given; files under `dir`.
fn client_tls(dir: &Path, ca: &Authority, identity: Option<&Issued>) -> ClientTls {
    ClientTls {
        ca: ca.write(dir, "ca"),
        identity: identity.map(|i| i.write(dir, "client")),
        server_name: None,
    }
}

fn client(url: &str, token: Option<&str>, tls: &ClientTls) -> AgentClient {
    AgentClient::with_tls(url, token.map(str::to_string), Some(tls)).unwrap()
}

/// The TLS reason of a refused call, failing the test on any other outcome.
fn tls_reason(result: Result<impl std::fmt::Debug, ClientError>) -> String {
    match result {
        Err(ClientError::Tls { reason, url, .. }) => {
            assert!(url.starts_with("https://127.0.0.1:"), "{url}");
            reason
        }
        other => panic!("expected a TLS refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn the_agent_client_calls_an_https_agent_whose_certificate_the_ca_signed() {
    let ca = Authority::new("agents CA");
    let agent = TlsAgent::start(&ca.issue("127.0.0.1"), None).await;
    let dir = tempfile::tempdir().unwrap();
    let tls = client_tls(dir.path(), &ca, None);
    let c = client(&agent.url(), Some(TOKEN), &tls);
    assert!(
        c.list().await.unwrap().faults.is_empty(),
        "/v1 answered over TLS"
    );
    c.health().await.unwrap();
    // The token still guards /v1 over TLS.
    let anonymous = client(&agent.url(), None, &tls);
    assert_eq!(
        anonymous
            .list()
            .await
            .unwrap_err()
            .status()
            .map(|s| s.as_u16()),
        Some(401)
    );
    // Plain HTTP to the agent's TLS port: a 400 that says so, nothing served.
    let res = faultline_test_support::client()
        .get(format!("http://127.0.0.1:{}/v1/faults", agent.port))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.text().await.unwrap(),
        "this port serves HTTPS: use an https:// URL\n"
    );
    // A client with TLS settings never falls back to plain HTTP (the token in clear).
    let plain = client(
        &format!("http://127.0.0.1:{}", agent.port),
        Some(TOKEN),
        &tls,
    );
    let e = plain.list().await.unwrap_err();
    assert!(matches!(e, ClientError::Transport { .. }), "{e:?}");
    agent.stop().await;
}

#[tokio::test]
async fn a_wrong_ca_an_expired_or_a_misnamed_agent_certificate_is_refused_saying_why() {
    let ca = Authority::new("agents CA");
    let wrong = Authority::new("another CA");
    let dir = tempfile::tempdir().unwrap();

    let agent = TlsAgent::start(&ca.issue("127.0.0.1"), None).await;
    let e = client(
        &agent.url(),
        Some(TOKEN),
        &client_tls(dir.path(), &wrong, None),
    )
    .list()
    .await;
    assert_eq!(tls_reason(e), "invalid peer certificate: UnknownIssuer");
    let e = client(
        &agent.url(),
        Some(TOKEN),
        &client_tls(dir.path(), &wrong, None),
    )
    .list()
    .await
    .unwrap_err();
    assert!(
        e.to_string().starts_with(&format!(
            "TLS handshake with agent {}/v1/faults failed: invalid peer certificate: UnknownIssuer",
            agent.url()
        )),
        "{e}"
    );
    agent.stop().await;

    let expired = TlsAgent::start(&ca.issue_expired("127.0.0.1"), None).await;
    let e = client(
        &expired.url(),
        Some(TOKEN),
        &client_tls(dir.path(), &ca, None),
    )
    .list()
    .await;
    let reason = tls_reason(e);
    assert!(
        reason.starts_with("invalid peer certificate: certificate expired"),
        "{reason}"
    );
    expired.stop().await;

    // Agents are dialled by pod IP; their certificates name a fixed name instead, which
    // `server_name` checks (and the dialled IP no longer matters).
    let named = TlsAgent::start(&ca.issue("faultline-agent"), None).await;
    let by_ip = client_tls(dir.path(), &ca, None);
    let reason = tls_reason(client(&named.url(), Some(TOKEN), &by_ip).list().await);
    assert!(
        reason.contains("certificate not valid for name"),
        "{reason}"
    );
    let by_name = ClientTls {
        server_name: Some("faultline-agent".into()),
        ..by_ip.clone()
    };
    client(&named.url(), Some(TOKEN), &by_name)
        .list()
        .await
        .unwrap();
    let other_name = ClientTls {
        server_name: Some("someone-else".into()),
        ..by_ip
    };
    let reason = tls_reason(client(&named.url(), Some(TOKEN), &other_name).list().await);
    assert!(
        reason.contains("certificate not valid for name \"someone-else\""),
        "{reason}"
    );
    named.stop().await;
}

#[tokio::test]
async fn mutual_tls_accepts_a_client_certificate_the_ca_signed_and_refuses_none_or_another() {
    let ca = Authority::new("agents CA");
    let clients = Authority::new("service clients CA");
    let stranger = Authority::new("a stranger's CA");
    let agent = TlsAgent::start(&ca.issue("127.0.0.1"), Some(&clients)).await;
    let dir = tempfile::tempdir().unwrap();

    let service = client_tls(dir.path(), &ca, Some(&clients.issue_client("faultline")));
    let c = client(&agent.url(), None, &service);
    assert!(
        c.list().await.unwrap().faults.is_empty(),
        "the right client certificate"
    );

    // No client certificate: the agent ends the handshake (TLS 1.3: the client learns it
    // from the agent's alert on its first read).
    let none = client_tls(dir.path(), &ca, None);
    let reason = tls_reason(client(&agent.url(), None, &none).list().await);
    assert!(reason.contains("CertificateRequired"), "{reason}");

    // A client certificate from a CA the agent does not trust.
    let other = client_tls(dir.path(), &ca, Some(&stranger.issue_client("faultline")));
    let reason = tls_reason(client(&agent.url(), None, &other).list().await);
    assert!(reason.contains("received fatal alert"), "{reason}");
    agent.stop().await;
}

#[test]
fn unusable_client_files_are_named_when_the_client_is_made() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Authority::new("agents CA");
    let missing = ClientTls {
        ca: dir.path().join("missing-ca.crt"),
        identity: None,
        server_name: None,
    };
    let e = AgentClient::with_tls("https://127.0.0.1:1", None, Some(&missing)).unwrap_err();
    let text = format!("{:#}", anyhow::Error::from(e));
    assert!(
        text.contains("cannot read the CA file") && text.contains("missing-ca.crt"),
        "{text}"
    );

    let a = ca.issue_client("a");
    let b = ca.issue_client("b");
    let (cert, _) = a.write(dir.path(), "a");
    let (_, key) = b.write(dir.path(), "b");
    let mismatched = ClientTls {
        ca: ca.write(dir.path(), "ca"),
        identity: Some((cert, key)),
        server_name: None,
    };
    let e = AgentClient::with_tls("https://127.0.0.1:1", None, Some(&mismatched)).unwrap_err();
    let text = format!("{:#}", anyhow::Error::from(e));
    assert!(
        text.contains("b.key does not match the certificate file"),
        "{text}"
    );
}

#[tokio::test]
async fn the_agent_binary_serves_mutual_tls_without_a_token_and_names_an_unusable_file() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = Authority::new("agents CA");
    let clients = Authority::new("service clients CA");
    let (cert, key) = ca.issue("127.0.0.1").write(d, "agent");
    let client_ca = clients.write(d, "clients-ca");
    let agent = |cert: &Path| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_faultline-agent"));
        cmd.args(["--listen", "127.0.0.1:0"])
            .arg("--state-dir")
            .arg(d.join("state"))
            .arg("--tls-cert")
            .arg(cert)
            .arg("--tls-key")
            .arg(&key)
            .arg("--tls-client-ca")
            .arg(&client_ca)
            .stdin(Stdio::null());
        cmd
    };

    let mut proc = faultline_test_support::Proc::spawn(&mut agent(&cert));
    let url = format!("https://127.0.0.1:{}", proc.wait_listening());
    let service = client_tls(d, &ca, Some(&clients.issue_client("faultline")));
    assert!(
        client(&url, None, &service)
            .list()
            .await
            .unwrap()
            .faults
            .is_empty()
    );
    let reason = tls_reason(client(&url, None, &client_tls(d, &ca, None)).list().await);
    assert!(reason.contains("CertificateRequired"), "{reason}");
    drop(proc);

    let missing = d.join("missing.crt");
    let out = agent(&missing).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "cannot read the certificate file {}",
            missing.display()
        )),
        "{err}"
    );
}
