//! The audit log on PostgreSQL: the same columns and queries as the SQLite table
//! (`store/audit.rs`), appended to by every replica, read newest first, never changed (a
//! trigger refuses UPDATE and DELETE, see `schema.rs`).

use chrono::{DateTime, Utc};
use tokio_postgres::Row;

use super::connect::{PgStore, pg};
use crate::application::ports::{AuditLog, AuditQuery, StoreError};
use crate::domain::{Actor, ActorKind, AuditAction, AuditOutcome, AuditRecord, NewAudit};

const COLUMNS: &str = "id, at_ms, actor_kind, actor_name, actor_project, actor_ref, actor_pipeline, action, object, outcome, reason";

fn corrupt(what: &'static str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        run: String::new(),
        what,
        detail: detail.to_string(),
    }
}

fn record(r: &Row) -> Result<AuditRecord, StoreError> {
    let at_ms: i64 = r.get(1);
    let kind: String = r.get(2);
    let action: String = r.get(7);
    let outcome: String = r.get(9);
    Ok(AuditRecord {
        id: r.get(0),
        at: DateTime::from_timestamp_millis(at_ms).ok_or_else(|| corrupt("audit.at_ms", at_ms))?,
        actor: Actor {
            kind: ActorKind::parse(&kind).ok_or_else(|| corrupt("audit.actor_kind", &kind))?,
            name: r.get(3),
            project: r.get(4),
            git_ref: r.get(5),
            pipeline: r.get(6),
        },
        action: AuditAction::parse(&action).ok_or_else(|| corrupt("audit.action", &action))?,
        object: r.get(8),
        outcome: AuditOutcome::parse(&outcome).ok_or_else(|| corrupt("audit.outcome", &outcome))?,
        reason: r.get(10),
    })
}

impl AuditLog for PgStore {
    fn append_audit(&self, rec: &NewAudit) -> Result<AuditRecord, StoreError> {
        let rec = rec.clone();
        self.call(move |inner| async move {
            let client = inner.client().await?;
            let a = &rec.actor;
            let row = client
                .query_one(
                    &format!(
                        "INSERT INTO audit ({COLUMNS}) VALUES (DEFAULT, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                         RETURNING {COLUMNS}"
                    ),
                    &[
                        &Utc::now().timestamp_millis(),
                        &a.kind.as_str(),
                        &a.name,
                        &a.project,
                        &a.git_ref,
                        &a.pipeline,
                        &rec.action.as_str(),
                        &rec.object,
                        &rec.outcome.as_str(),
                        &rec.reason,
                    ],
                )
                .await
                .map_err(pg("append audit record"))?;
            record(&row)
        })
    }

    fn find_audit(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let q = q.clone();
        self.call(move |inner| async move {
            let client = inner.client().await?;
            let rows = client
                .query(
                    &format!(
                        "SELECT {COLUMNS} FROM audit
                         WHERE ($1::TEXT IS NULL OR actor_name = $1)
                           AND ($2::TEXT IS NULL OR action = $2)
                           AND ($3::TEXT IS NULL OR object = $3)
                           AND ($4::TEXT IS NULL OR outcome = $4)
                           AND ($5::BIGINT IS NULL OR at_ms >= $5)
                           AND ($6::BIGINT IS NULL OR at_ms < $6)
                           AND ($7::BIGINT IS NULL OR id < $7)
                         ORDER BY id DESC LIMIT $8"
                    ),
                    &[
                        &q.actor,
                        &q.action.map(AuditAction::as_str),
                        &q.object,
                        &q.outcome.map(AuditOutcome::as_str),
                        &q.since.map(|t| t.timestamp_millis()),
                        &q.until.map(|t| t.timestamp_millis()),
                        &q.before,
                        &i64::from(q.limit),
                    ],
                )
                .await
                .map_err(pg("read audit records"))?;
            rows.iter().map(record).collect()
        })
    }
}
