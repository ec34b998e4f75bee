//! The audit table: appended to, read newest first, never changed. Two triggers make the
//! database itself refuse an UPDATE or DELETE, so not even a bug in this process can
//! rewrite history through this connection. Times are kept as milliseconds since the
//! epoch (an integer compares the same in every SQL dialect) and the SQL is plain.

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::params;

use super::sql::{corrupt, sql};
use super::sqlite::Store;
use crate::application::ports::{AuditQuery, StoreError};
use crate::domain::{Actor, ActorKind, AuditAction, AuditOutcome, AuditRecord, NewAudit};

const COLUMNS: &str = "id, at_ms, actor_kind, actor_name, actor_project, actor_ref, actor_pipeline, action, object, outcome, reason";

type Row = (
    i64,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    String,
    String,
);

impl Store {
    /// Appends `rec`, stamped now.
    pub fn append_audit(&self, rec: &NewAudit) -> Result<AuditRecord, StoreError> {
        let at = Utc::now();
        let a = &rec.actor;
        let conn = self.conn();
        conn.execute(
            &format!("INSERT INTO audit ({COLUMNS}) VALUES (NULL, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
            params![
                at.timestamp_millis(),
                a.kind.as_str(),
                a.name,
                a.project,
                a.git_ref,
                a.pipeline,
                rec.action.as_str(),
                rec.object,
                rec.outcome.as_str(),
                rec.reason
            ],
        )
        .map_err(sql("append audit record"))?;
        Ok(AuditRecord {
            id: conn.last_insert_rowid(),
            at: Utc
                .timestamp_millis_opt(at.timestamp_millis())
                .single()
                .unwrap_or(at),
            actor: a.clone(),
            action: rec.action,
            object: rec.object.clone(),
            outcome: rec.outcome,
            reason: rec.reason.clone(),
        })
    }

    /// The records `q` selects, newest first.
    pub fn find_audit(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM audit
                 WHERE (?1 IS NULL OR actor_name = ?1)
                   AND (?2 IS NULL OR action = ?2)
                   AND (?3 IS NULL OR object = ?3)
                   AND (?4 IS NULL OR outcome = ?4)
                   AND (?5 IS NULL OR at_ms >= ?5)
                   AND (?6 IS NULL OR at_ms < ?6)
                   AND (?7 IS NULL OR id < ?7)
                 ORDER BY id DESC LIMIT ?8"
            ))
            .map_err(sql("read audit records"))?;
        let rows = stmt
            .query_map(
                params![
                    q.actor,
                    q.action.map(AuditAction::as_str),
                    q.object,
                    q.outcome.map(AuditOutcome::as_str),
                    q.since.map(|t| t.timestamp_millis()),
                    q.until.map(|t| t.timestamp_millis()),
                    q.before,
                    q.limit,
                ],
                // rusqlite reads a row into a tuple column by column.
                |r| Row::try_from(r),
            )
            .map_err(sql("read audit records"))?;
        rows.map(|r| record(r.map_err(sql("read audit records"))?))
            .collect()
    }
}

fn record(r: Row) -> Result<AuditRecord, StoreError> {
    let (id, at_ms, kind, name, project, git_ref, pipeline, action, object, outcome, reason) = r;
    Ok(AuditRecord {
        id,
        at: DateTime::from_timestamp_millis(at_ms).ok_or_else(|| corrupt("audit.at_ms")(at_ms))?,
        actor: Actor {
            kind: ActorKind::parse(&kind).ok_or_else(|| corrupt("audit.actor_kind")(&kind))?,
            name,
            project,
            git_ref,
            pipeline,
        },
        action: AuditAction::parse(&action).ok_or_else(|| corrupt("audit.action")(&action))?,
        object,
        outcome: AuditOutcome::parse(&outcome).ok_or_else(|| corrupt("audit.outcome")(&outcome))?,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_come_back_newest_first_and_cannot_be_changed() {
        let s = Store::open_in_memory().unwrap();
        let first = s
            .append_audit(&NewAudit::ok(
                Actor::token("alice"),
                AuditAction::RunStart,
                "exp-a",
            ))
            .unwrap();
        let second = s
            .append_audit(
                &NewAudit::ok(Actor::token("bob"), AuditAction::RunStart, "exp-b")
                    .ended(AuditOutcome::Refused, "halted"),
            )
            .unwrap();
        assert!(second.id > first.id);
        let all = s
            .find_audit(&AuditQuery {
                limit: 10,
                ..AuditQuery::default()
            })
            .unwrap();
        assert_eq!(all, vec![second.clone(), first.clone()]);
        let refused = s
            .find_audit(&AuditQuery {
                outcome: Some(AuditOutcome::Refused),
                limit: 10,
                ..AuditQuery::default()
            })
            .unwrap();
        assert_eq!(refused, vec![second.clone()]);
        for sql in ["UPDATE audit SET reason = 'x'", "DELETE FROM audit"] {
            let e = s.conn().execute(sql, []).unwrap_err();
            assert!(e.to_string().contains("append-only"), "{sql}: {e}");
        }
        assert_eq!(
            s.find_audit(&AuditQuery {
                limit: 10,
                ..AuditQuery::default()
            })
            .unwrap(),
            vec![second, first]
        );
    }
}
