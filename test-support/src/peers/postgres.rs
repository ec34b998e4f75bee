//! A real PostgreSQL 15 (Debian's `postgresql` package): a throwaway cluster made by
//! `initdb` in a temp dir and run by `pg_ctl` as the `postgres` user, reached over a Unix
//! socket in that dir only (no TCP port to collide with another test's). For the TLS
//! tests, [`start_postgres_tcp`] also listens on a loopback address of its own
//! (127.x.y.z: every address of 127/8 is this machine's), with or without TLS.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where Debian puts PostgreSQL 15's server programs.
const BIN: &str = "/usr/lib/postgresql/15/bin";
/// The socket's port number: only its name (`.s.PGSQL.5432`) in the private dir.
const PORT: u16 = 5432;

/// A running PostgreSQL cluster; stopped (immediate) and its files removed on drop.
pub struct Postgres {
    data: PathBuf,
    /// `listen_addresses`: empty for the socket only.
    listen: String,
    _dir: tempfile::TempDir,
}

/// TLS for [`start_postgres_tcp`]: the server's certificate and key, and the CA whose
/// client certificates it accepts.
pub struct ServerTls<'a> {
    /// The server certificate and key (PEM).
    pub server: &'a crate::certs::Issued,
    /// The CA (PEM) client certificates must chain to (`ssl_ca_file`).
    pub client_ca_pem: &'a str,
}

/// The user that must sign in with a client certificate (`hostssl ... cert`) on a
/// cluster from [`start_postgres_tcp`] with TLS: its certificate's CN must be this.
pub const CERT_USER: &str = "certuser";

/// Starts a fresh cluster, or `None` (printing `SKIPPED: ...`) when PostgreSQL 15 is not
/// installed or this process cannot run it as the `postgres` user (needs root).
pub fn start_postgres() -> Option<Postgres> {
    let pg = init_postgres(String::new())?;
    pg.start();
    Some(pg)
}

/// A loopback address no other cluster of this process listens on (127.x.y.z: pid in
/// the middle bytes, a counter in the last), for [`start_postgres_tcp`]. A certificate
/// for it can be issued before the cluster starts.
pub fn loopback_host() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let (pid, n) = (std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    format!("127.{}.{}.{}", 1 + (pid >> 8) % 250, pid % 256, 1 + n % 250)
}

/// A fresh cluster that also listens on TCP at `host` (from [`loopback_host`]), port
/// 5432. With `tls`: `ssl = on`, and pg_hba lets user `fl` in over TLS only (trust),
/// [`CERT_USER`] over TLS with a client certificate only, and refuses every plain TCP
/// connection, so a client that does not use TLS is seen to fail. Without: plain TCP,
/// trust.
pub fn start_postgres_tcp(host: &str, tls: Option<ServerTls<'_>>) -> Option<Postgres> {
    let pg = init_postgres(host.to_string())?;
    let hba = match tls {
        Some(tls) => {
            for (name, pem) in [
                ("server.crt", tls.server.cert_pem.as_str()),
                ("server.key", tls.server.key_pem.as_str()),
                ("client-ca.crt", tls.client_ca_pem),
            ] {
                std::fs::write(pg.data.join(name), pem).unwrap();
            }
            as_postgres(&format!(
                "chown postgres {d}/server.crt {d}/server.key {d}/client-ca.crt && chmod 600 {d}/server.key",
                d = pg.data.display()
            ));
            append(
                &pg.data.join("postgresql.conf"),
                "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\nssl_ca_file = 'client-ca.crt'\n",
            );
            format!(
                "hostssl all fl 127.0.0.0/8 trust\nhostssl all {CERT_USER} 127.0.0.0/8 cert\nhostnossl all all 127.0.0.0/8 reject\n"
            )
        }
        None => "host all all 127.0.0.0/8 trust\n".to_string(),
    };
    // pg_hba.conf is read top down, first match wins: these go before initdb's lines.
    let path = pg.data.join("pg_hba.conf");
    let old = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{hba}{old}")).unwrap();
    pg.start();
    pg.psql(
        "postgres",
        &format!("CREATE ROLE {CERT_USER} LOGIN SUPERUSER"),
    );
    Some(pg)
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn init_postgres(listen: String) -> Option<Postgres> {
    if !Path::new(BIN).join("initdb").exists() {
        eprintln!(
            "SKIPPED: PostgreSQL 15 is not installed ({BIN}/initdb): apt-get install postgresql; ./test.sh does it"
        );
        return None;
    }
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIPPED: starting PostgreSQL as the postgres user needs root");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    // The server runs as `postgres`, which must reach its data dir through this one.
    chmod(dir.path(), 0o755);
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    as_postgres(&format!("chown postgres {}", data.display()));
    as_postgres(&format!(
        "su postgres -c '{BIN}/initdb -D {} -A trust -U fl --no-sync'",
        data.display()
    ));
    Some(Postgres {
        data,
        listen,
        _dir: dir,
    })
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn as_postgres(script: &str) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Postgres {
    /// The URL of database `postgres` as user `fl` (no password: trust auth), over the
    /// cluster's socket.
    pub fn url(&self) -> String {
        self.url_of("postgres")
    }

    /// The URL of database `db`.
    pub fn url_of(&self, db: &str) -> String {
        let socket = self.data.display().to_string().replace('/', "%2F");
        format!("postgres://fl@{socket}:{PORT}/{db}")
    }

    /// The loopback address a cluster from [`start_postgres_tcp`] listens on (port 5432);
    /// empty for a socket-only one.
    pub fn tcp_host(&self) -> &str {
        &self.listen
    }

    /// Creates database `db` (each test its own, on one cluster).
    pub fn create_database(&self, db: &str) -> String {
        self.psql("postgres", &format!("CREATE DATABASE \"{db}\""));
        self.url_of(db)
    }

    /// Runs `sql` in database `db` with psql; its output (unaligned, tuples only).
    pub fn psql(&self, db: &str, sql: &str) -> String {
        self.try_psql(db, sql)
            .unwrap_or_else(|e| panic!("psql {sql}: {e}"))
    }

    /// Runs `sql` in database `db`: its output, or the server's error when it refused.
    pub fn try_psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let out = Command::new(Path::new(BIN).join("psql"))
            .args(["-h", &self.data.display().to_string()])
            .args(["-p", &PORT.to_string(), "-U", "fl", "-d", db])
            .args(["-v", "ON_ERROR_STOP=1", "-Atqc", sql])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    }

    /// Starts the server (again, after [`Postgres::stop`]) and waits until it accepts.
    pub fn start(&self) {
        as_postgres(&format!(
            "su postgres -c \"{BIN}/pg_ctl -D {d} -w -o '-p {PORT} -k {d} -c listen_addresses={l}' -l {d}/log start\"",
            d = self.data.display(),
            l = self.listen
        ));
    }

    /// Stops the server at once (`-m immediate`: like a crash, clients cut off).
    pub fn stop(&self) {
        as_postgres(&format!(
            "su postgres -c '{BIN}/pg_ctl -D {} -w -m immediate stop'",
            self.data.display()
        ));
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "su postgres -c '{BIN}/pg_ctl -D {} -m immediate stop'",
                self.data.display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
