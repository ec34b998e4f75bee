//! TLS to a real PostgreSQL 15 (`ssl = on`, a certificate from a test CA, pg_hba refusing
//! every plain TCP connection): the store URL's libpq keys (`sslmode`, `sslrootcert`,
//! `sslcert`, `sslkey`) do what libpq's do, and a certificate that is not good enough is
//! refused at once, naming why, with nothing written.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use faultline::application::ports::RunStore;
use faultline::domain::RunEvent;
use faultline::store::postgres::{PgSettings, PgStore};
use faultline_test_support::certs::{Authority, Issued};
use faultline_test_support::peers::{
    CERT_USER, Postgres, ServerTls, loopback_host, start_postgres_tcp,
};

/// A cluster serving `server` (TLS on) and its CA's file, or `None` (skipped).
struct Tls {
    pg: Postgres,
    dir: tempfile::TempDir,
    ca: Authority,
}

impl Tls {
    /// A server certificate for the name `name` derives from the cluster's address.
    fn start(name: impl FnOnce(&str) -> String) -> Option<Tls> {
        Tls::start_with(|ca, host| ca.issue(&name(host)))
    }

    /// A cluster serving the certificate `issue` makes with the test CA for its address.
    fn start_with(issue: impl FnOnce(&Authority, &str) -> Issued) -> Option<Tls> {
        let ca = Authority::new("faultline test database CA");
        let host = loopback_host();
        let server = issue(&ca, &host);
        let pg = start_postgres_tcp(
            &host,
            Some(ServerTls {
                server: &server,
                client_ca_pem: &ca.cert_pem(),
            }),
        )?;
        Some(Tls {
            pg,
            dir: tempfile::tempdir().unwrap(),
            ca,
        })
    }

    fn ca_file(&self) -> PathBuf {
        self.ca.write(self.dir.path(), "ca")
    }

    fn url(&self, user: &str, db: &str, query: &str) -> String {
        format!("postgres://{user}@{}:5432/{db}?{query}", self.pg.tcp_host())
    }
}

fn open(url: &str) -> Result<PgStore, String> {
    PgStore::open(&PgSettings {
        url: url.to_string(),
        password_file: None,
        lease_ttl: Duration::from_secs(5),
        replica: "tls-replica".into(),
    })
    .map_err(|e| format!("{:#}", anyhow::Error::from(e)))
}

/// How many of this test's store connections the server sees encrypted, and in all.
fn encrypted_connections(pg: &Postgres) -> (usize, usize) {
    let count = |extra: &str| -> usize {
        pg.psql(
            "postgres",
            &format!(
                "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
                 WHERE a.application_name = 'faultline tls-replica' {extra}"
            ),
        )
        .parse()
        .unwrap()
    };
    (count("AND s.ssl"), count(""))
}

fn tables(pg: &Postgres, db: &str) -> usize {
    pg.psql(
        db,
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .parse()
    .unwrap()
}

#[test]
fn verify_full_with_the_servers_ca_stores_runs_over_encrypted_connections_only() {
    let Some(t) = Tls::start(|ip| ip.to_string()) else {
        return;
    };
    t.pg.create_database("tls_full");
    let ca = t.ca_file();
    let store = open(&t.url(
        "fl",
        "tls_full",
        &format!("sslmode=verify-full&sslrootcert={}", ca.display()),
    ))
    .expect("verify-full with the server's CA");
    store.create_run_from("r1", "exp", "{}", None).unwrap();
    store
        .record(
            "r1",
            &RunEvent::Note {
                message: "over TLS".into(),
            },
        )
        .unwrap();
    assert_eq!(store.events("r1").unwrap().len(), 1);
    let (tls, all) = encrypted_connections(&t.pg);
    assert!(all > 0, "the store's connections are open");
    assert_eq!(tls, all, "every one of them is encrypted");
}

#[test]
fn a_certificate_another_ca_signed_is_refused_at_once_and_nothing_is_written() {
    let Some(t) = Tls::start(|ip| ip.to_string()) else {
        return;
    };
    t.pg.create_database("tls_wrong_ca");
    let other = Authority::new("somebody else's CA").write(t.dir.path(), "other");
    let started = Instant::now();
    let err = open(&t.url(
        "fl",
        "tls_wrong_ca",
        &format!("sslmode=verify-ca&sslrootcert={}", other.display()),
    ))
    .err()
    .expect("refused");
    assert!(
        err.contains("TLS handshake") && err.contains("UnknownIssuer"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a bad certificate is not asked again for 10 s: {:?}",
        started.elapsed()
    );
    assert_eq!(tables(&t.pg, "tls_wrong_ca"), 0, "no migration ran");
}

#[test]
fn verify_full_checks_the_host_name_and_verify_ca_does_not() {
    let Some(t) = Tls::start(|_| "db.faultline.test".to_string()) else {
        return;
    };
    t.pg.create_database("tls_name");
    let ca = t.ca_file();
    let full = format!("sslmode=verify-full&sslrootcert={}", ca.display());
    let err = open(&t.url("fl", "tls_name", &full))
        .err()
        .expect("refused");
    assert!(err.contains("certificate not valid for name"), "{err}");
    let chain_only = format!("sslmode=verify-ca&sslrootcert={}", ca.display());
    let store = open(&t.url("fl", "tls_name", &chain_only)).expect("verify-ca");
    store.create_run_from("r1", "exp", "{}", None).unwrap();
}

#[test]
fn disable_is_plain_tcp_which_this_server_refuses_and_require_encrypts() {
    let Some(t) = Tls::start(|ip| ip.to_string()) else {
        return;
    };
    t.pg.create_database("tls_modes");
    let err = open(&t.url("fl", "tls_modes", "sslmode=disable"))
        .err()
        .expect("plain TCP refused by pg_hba");
    assert!(err.contains("no encryption"), "{err}");
    // require without a root: encrypted, the certificate not checked (libpq's meaning).
    let store = open(&t.url("fl", "tls_modes", "sslmode=require")).expect("require");
    store.create_run_from("r1", "exp", "{}", None).unwrap();
    let (tls, all) = encrypted_connections(&t.pg);
    assert!(all > 0 && tls == all, "{tls} of {all} encrypted");
}

#[test]
fn require_refuses_a_server_without_tls_and_prefer_falls_back_to_plain() {
    let Some(pg) = start_postgres_tcp(&loopback_host(), None) else {
        return;
    };
    pg.create_database("plain");
    let url = |q: &str| format!("postgres://fl@{}:5432/plain?{q}", pg.tcp_host());
    let err = open(&url("sslmode=require")).err().expect("refused");
    assert!(err.contains("TLS"), "{err}");
    assert_eq!(tables(&pg, "plain"), 0, "no migration ran");
    let store = open(&url("sslmode=prefer")).expect("prefer takes plain TCP");
    store.create_run_from("r1", "exp", "{}", None).unwrap();
    let (tls, all) = encrypted_connections(&pg);
    assert!(all > 0 && tls == 0, "{tls} of {all} encrypted");
}

#[test]
fn a_client_certificate_signs_in_the_user_it_names_and_none_is_refused() {
    let Some(t) = Tls::start(|ip| ip.to_string()) else {
        return;
    };
    t.pg.create_database("tls_cert_user");
    let ca = t.ca_file();
    let base = format!("sslmode=verify-full&sslrootcert={}", ca.display());
    let err = open(&t.url(CERT_USER, "tls_cert_user", &base))
        .err()
        .expect("no client certificate: refused");
    assert!(err.contains("certificate"), "{err}");
    let (cert, key) = t.ca.issue_client(CERT_USER).write(t.dir.path(), "client");
    let store = open(&t.url(
        CERT_USER,
        "tls_cert_user",
        &format!("{base}&sslcert={}&sslkey={}", cert.display(), key.display()),
    ))
    .expect("signed in by certificate");
    store.create_run_from("r1", "exp", "{}", None).unwrap();
}

#[test]
fn an_expired_server_certificate_is_refused() {
    let Some(t) = Tls::start_with(|ca, host| ca.issue_expired(host)) else {
        return;
    };
    t.pg.create_database("tls_expired");
    let ca = t.ca_file();
    let err = open(&t.url(
        "fl",
        "tls_expired",
        &format!("sslmode=verify-full&sslrootcert={}", ca.display()),
    ))
    .err()
    .expect("refused");
    assert!(err.contains("certificate expired"), "{err}");
}
