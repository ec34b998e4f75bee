//! Each run's active faults: one row per fault request, written before it is applied,
//! its expiry moved by each renewal, deleted once it is recovered. What is left after a
//! crash is exactly what the next process must confirm recovered.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::sql::{corrupt, sql};
use super::sqlite::Store;
use crate::application::ports::StoreError;
use crate::domain::ActiveFault;

impl Store {
    /// Records `fault` as active on run `run` (again: the row is replaced).
    pub fn fault_started(&self, run: &str, fault: &ActiveFault) -> Result<(), StoreError> {
        let body = serde_json::to_string(fault).expect("ActiveFault serialises");
        self.conn()
            .execute(
                "INSERT OR REPLACE INTO active_faults (run_id, fault, body, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![run, fault.fault, body, fault.expires.to_rfc3339()],
            )
            .map_err(sql("record active fault"))?;
        Ok(())
    }

    /// Moves the lease of active fault `fault` of run `run` to `expires`.
    pub fn fault_renewed(
        &self,
        run: &str,
        fault: &str,
        expires: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let conn = self.conn();
        let body: Option<String> = rusqlite::OptionalExtension::optional(conn.query_row(
            "SELECT body FROM active_faults WHERE run_id = ?1 AND fault = ?2",
            params![run, fault],
            |r| r.get(0),
        ))
        .map_err(sql("read active fault"))?;
        let Some(body) = body else {
            return Ok(());
        };
        let mut active: ActiveFault =
            serde_json::from_str(&body).map_err(corrupt("active fault"))?;
        active.expires = expires;
        let body = serde_json::to_string(&active).expect("ActiveFault serialises");
        conn.execute(
            "UPDATE active_faults SET body = ?3, expires_at = ?4 WHERE run_id = ?1 AND fault = ?2",
            params![run, fault, body, expires.to_rfc3339()],
        )
        .map_err(sql("renew active fault"))?;
        Ok(())
    }

    /// Forgets active fault `fault` of run `run`: it is recovered (or never applied).
    pub fn fault_ended(&self, run: &str, fault: &str) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "DELETE FROM active_faults WHERE run_id = ?1 AND fault = ?2",
                params![run, fault],
            )
            .map_err(sql("forget active fault"))?;
        Ok(())
    }

    /// Every active fault of every run, `(run, fault)`, in the order they were started.
    pub fn active_faults(&self) -> Result<Vec<(String, ActiveFault)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT run_id, body FROM active_faults ORDER BY rowid")
            .map_err(sql("list active faults"))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(sql("list active faults"))?;
        let mut out = Vec::new();
        for row in rows {
            let (run, body) = row.map_err(sql("list active faults"))?;
            let fault = serde_json::from_str(&body).map_err(corrupt("active fault"))?;
            out.push((run, fault));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ExecutorRef;

    fn active(id: &str) -> ActiveFault {
        ActiveFault {
            fault: id.into(),
            step: "cpu".into(),
            kind: "cpuStress".into(),
            executor: ExecutorRef::InProcess,
            targets: vec!["pid 1".into()],
            expires: Utc::now(),
        }
    }

    #[test]
    fn active_faults_are_kept_renewed_and_forgotten_across_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("faultline.db");
        let later = Utc::now() + chrono::Duration::seconds(90);
        {
            let s = Store::open(&path).unwrap();
            s.create_run("r1", "exp", "{}").unwrap();
            s.fault_started("r1", &active("r1-f1")).unwrap();
            s.fault_started("r1", &active("r1-f2")).unwrap();
            s.fault_renewed("r1", "r1-f2", later).unwrap();
            s.fault_ended("r1", "r1-f1").unwrap();
            // Renewing or ending what is not there is no error.
            s.fault_renewed("r1", "r1-f9", later).unwrap();
            s.fault_ended("r1", "r1-f9").unwrap();
        }
        let s = Store::open(&path).unwrap();
        let left = s.active_faults().unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].0, "r1");
        assert_eq!(left[0].1.fault, "r1-f2");
        assert_eq!(left[0].1.expires.timestamp(), later.timestamp());
    }
}
