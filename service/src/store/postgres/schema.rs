//! The PostgreSQL schema, one set of migrations numbered like SQLite's. They run in one
//! transaction under a transaction-scoped advisory lock, so when several replicas start
//! at once the first migrates and the others wait, then find nothing left to do.

use super::connect::{Inner, pg};
use crate::application::ports::StoreError;

/// The advisory lock's key: any constant no other program on the database uses
/// ("faultlin" in ASCII).
const MIGRATION_LOCK: i64 = 0x6661_756c_746c_696e;

/// Version 1: everything the SQLite store's version 3 holds, plus each run's lease
/// (owner, generation, expiry) and the chore leases.
const V1: &str = "
CREATE TABLE runs (
    id          TEXT PRIMARY KEY,
    experiment  TEXT NOT NULL,
    state       TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    spec_json   TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    finished_at TEXT,
    gitlab_json TEXT,
    owner       TEXT NOT NULL,
    generation  BIGINT NOT NULL DEFAULT 1,
    lease_until TIMESTAMPTZ NOT NULL
);
CREATE INDEX runs_created ON runs (created_at, id);
CREATE INDEX runs_unfinished ON runs (lease_until) WHERE finished_at IS NULL;
CREATE TABLE events (
    run_id  TEXT NOT NULL REFERENCES runs(id),
    seq     BIGINT NOT NULL,
    at      TEXT NOT NULL,
    body    TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE notifications (
    id          BIGSERIAL PRIMARY KEY,
    run_id      TEXT NOT NULL REFERENCES runs(id),
    route       TEXT NOT NULL,
    channel     TEXT NOT NULL,
    destination TEXT NOT NULL,
    verdict     TEXT NOT NULL,
    status      TEXT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    next_at_ms  BIGINT NOT NULL,
    last_error  TEXT NOT NULL DEFAULT '',
    created_ms  BIGINT NOT NULL,
    done_ms     BIGINT,
    UNIQUE (run_id, route)
);
CREATE INDEX notifications_due ON notifications (status, next_at_ms);
CREATE TABLE experiments (
    name        TEXT PRIMARY KEY,
    text        TEXT NOT NULL,
    source      TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE TABLE webhook_deliveries (
    uuid        TEXT PRIMARY KEY,
    arrival     BIGSERIAL NOT NULL,
    event       TEXT NOT NULL,
    received_at TEXT NOT NULL,
    response    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX webhook_deliveries_arrival ON webhook_deliveries (arrival);
CREATE TABLE halt (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    reason      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    at          TEXT NOT NULL
);
CREATE TABLE active_faults (
    run_id      TEXT NOT NULL REFERENCES runs(id),
    fault       TEXT NOT NULL,
    started     BIGSERIAL NOT NULL,
    body        TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    PRIMARY KEY (run_id, fault)
);
CREATE TABLE chore_leases (
    name        TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    until       TIMESTAMPTZ NOT NULL
);
";

/// Version 2: the audit log (the SQLite store's version 4). A trigger makes the database
/// itself refuse an UPDATE or DELETE of a record.
const V2: &str = "
CREATE TABLE audit (
    id             BIGSERIAL PRIMARY KEY,
    at_ms          BIGINT NOT NULL,
    actor_kind     TEXT NOT NULL,
    actor_name     TEXT NOT NULL,
    actor_project  TEXT,
    actor_ref      TEXT,
    actor_pipeline TEXT,
    action         TEXT NOT NULL,
    object         TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    reason         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_at ON audit(at_ms);
CREATE FUNCTION faultline_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
FOR EACH ROW EXECUTE FUNCTION faultline_audit_append_only();
";

/// Version 3: abort requests for runs another replica drives (`abort.rs`), one per run.
const V3: &str = "
CREATE TABLE abort_requests (
    run_id      TEXT PRIMARY KEY REFERENCES runs(id),
    reason      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    via         TEXT NOT NULL,
    generation  BIGINT NOT NULL,
    asked_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
";

/// Version 4: the CI ID-token `jti`s that started a run, until their tokens expire
/// (`spent_tokens.rs`; the SQLite store's version 5).
const V4: &str = "
CREATE TABLE spent_tokens (
    jti     TEXT PRIMARY KEY,
    expires BIGINT NOT NULL
);
CREATE INDEX spent_tokens_expires ON spent_tokens (expires);
";

/// Version 5: the Grafana annotation queue the replicas share (`annotations.rs`).
const V5: &str = "
CREATE TABLE annotation_queue (
    seq           BIGSERIAL PRIMARY KEY,
    run_id        TEXT NOT NULL,
    key           TEXT NOT NULL,
    op            TEXT NOT NULL,
    claimed_by    TEXT,
    claimed_until TIMESTAMPTZ,
    done          BOOLEAN NOT NULL DEFAULT false,
    grafana_id    BIGINT
);
CREATE INDEX annotation_queue_waiting ON annotation_queue (run_id, seq) WHERE NOT done;
CREATE INDEX annotation_queue_ids ON annotation_queue (key) WHERE grafana_id IS NOT NULL;
";

/// Version 6: people's sign-in sessions every replica reads, by the SHA-256 of their id
/// (`sessions.rs`), and sign-ins in flight by the SHA-256 of their state (`logins.rs`);
/// the SQLite store's version 6.
const V6: &str = "
CREATE TABLE sessions (
    key          TEXT PRIMARY KEY,
    session_json TEXT NOT NULL,
    expires      BIGINT NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires);
CREATE TABLE pending_logins (
    key        TEXT PRIMARY KEY,
    login_json TEXT NOT NULL,
    expires    BIGINT NOT NULL
);
CREATE INDEX pending_logins_expires ON pending_logins (expires);
";

/// Version 7: each run's last event seq on its row, so an append takes its seqs from the
/// row it updates (and so locks) in one statement (`append.rs`); filled from the events.
const V7: &str = "
ALTER TABLE runs ADD COLUMN last_seq BIGINT NOT NULL DEFAULT 0;
UPDATE runs SET last_seq = COALESCE((SELECT MAX(seq) FROM events WHERE run_id = runs.id), 0);
";

/// Each migration, in order; index `n` takes the schema from version `n` to `n + 1`.
const STEPS: &[&str] = &[V1, V2, V3, V4, V5, V6, V7];

/// The schema version this faultline migrates a database to.
pub const SCHEMA_VERSION: usize = STEPS.len();

/// Brings the schema to the newest version, once across every replica.
pub(super) async fn migrate(inner: &Inner) -> Result<(), StoreError> {
    let mut client = inner.client().await?;
    let tx = client.transaction().await.map_err(pg("begin migration"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(pg("take the migration lock"))?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS faultline_schema (version INTEGER NOT NULL)")
        .await
        .map_err(pg("create the schema version table"))?;
    let version: Option<i32> = tx
        .query_opt("SELECT version FROM faultline_schema", &[])
        .await
        .map_err(pg("read schema version"))?
        .map(|r| r.get(0));
    let from = usize::try_from(version.unwrap_or(0)).unwrap_or(0);
    if from > STEPS.len() {
        return Err(StoreError::Corrupt {
            run: String::new(),
            what: "schema version",
            detail: format!(
                "the database is at version {from}, this faultline knows up to {}: a newer faultline migrated it",
                STEPS.len()
            ),
        });
    }
    for step in &STEPS[from..] {
        tx.batch_execute(step).await.map_err(pg("migrate"))?;
    }
    let to = i32::try_from(STEPS.len()).unwrap_or(i32::MAX);
    tx.execute("DELETE FROM faultline_schema", &[])
        .await
        .map_err(pg("write schema version"))?;
    tx.execute("INSERT INTO faultline_schema (version) VALUES ($1)", &[&to])
        .await
        .map_err(pg("write schema version"))?;
    tx.commit().await.map_err(pg("commit migration"))
}
