//! A real PostgreSQL 15 (Debian's `postgresql` package): a throwaway cluster made by
//! `initdb` in a temp dir and run by `pg_ctl` as the `postgres` user, reached over a Unix
//! socket in that dir only (no TCP port to collide with another test's).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where Debian puts PostgreSQL 15's server programs.
const BIN: &str = "/usr/lib/postgresql/15/bin";
/// The socket's port number: only its name (`.s.PGSQL.5432`) in the private dir.
const PORT: u16 = 5432;

/// A running PostgreSQL cluster; stopped (immediate) and its files removed on drop.
pub struct Postgres {
    data: PathBuf,
    _dir: tempfile::TempDir,
}

/// Starts a fresh cluster, or `None` (printing `SKIPPED: ...`) when PostgreSQL 15 is not
/// installed or this process cannot run it as the `postgres` user (needs root).
pub fn start_postgres() -> Option<Postgres> {
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
    let pg = Postgres { data, _dir: dir };
    pg.start();
    Some(pg)
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
            "su postgres -c \"{BIN}/pg_ctl -D {d} -w -o '-p {PORT} -k {d} -c listen_addresses=' -l {d}/log start\"",
            d = self.data.display()
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
