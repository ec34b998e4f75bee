//! Runs, their events and active faults on PostgreSQL. Every write to a run is fenced:
//! it locks the run's row and goes ahead only while this replica owns the run at the
//! generation it took it at. A replica that was paused past its lease, and whose run
//! another replica adopted meanwhile, gets `StoreError::LeaseLost` instead of writing
//! over its successor.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use std::sync::{Arc, Mutex};

use super::append::{corrupt, fence, fenced_write, record_all, state};
use super::cached::Cached;
use super::connect::{PgStore, pg, uncertain};
use crate::application::ports::{RunFilter, RunStore, StoreError, VerdictPoint};
use crate::domain::{ActiveFault, GitlabContext, RunEvent, RunRow, RunState, StoredEvent};

const RUN_COLUMNS: &str =
    "id, experiment, state, reason, spec_json, created_at, finished_at, gitlab_json";

fn time(run: &str, what: &'static str, text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt(run, what, format!("{text}: {e}")))
}

fn decode_run(r: &Row) -> Result<RunRow, StoreError> {
    let id: String = r.get(0);
    let finished: Option<String> = r.get(6);
    let gitlab: Option<String> = r.get(7);
    Ok(RunRow {
        experiment: r.get(1),
        state: state(&id, r.get(2))?,
        reason: r.get(3),
        spec_json: r.get(4),
        created_at: time(&id, "created_at", r.get(5))?,
        finished_at: finished.map(|f| time(&id, "finished_at", &f)).transpose()?,
        gitlab: gitlab
            .map(|g| serde_json::from_str(&g))
            .transpose()
            .map_err(|e| corrupt(&id, "gitlab_json", e))?,
        id,
    })
}

impl RunStore for PgStore {
    fn create_run_from(
        &self,
        id: &str,
        experiment: &str,
        spec_json: &str,
        gitlab: Option<&GitlabContext>,
    ) -> Result<(), StoreError> {
        let gitlab = gitlab.map(|g| serde_json::to_string(g).expect("GitlabContext serialises"));
        let (id, experiment, spec) = (
            id.to_string(),
            experiment.to_string(),
            spec_json.to_string(),
        );
        self.call(move |inner| async move {
            let client = inner.client().await?;
            // The replica creating a run drives it: it holds the lease from the start.
            let generation: i64 = client
                .query_one_cached(
                    "INSERT INTO runs (id, experiment, state, spec_json, created_at, gitlab_json, owner, generation, lease_until) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 1, now() + make_interval(secs => $8)) RETURNING generation",
                    &[&id, &experiment, &RunState::Pending.as_str(), &spec, &Utc::now().to_rfc3339(), &gitlab, &inner.replica, &inner.ttl.as_secs_f64()],
                )
                .await
                .map_err(uncertain("create run"))?
                .get(0);
            inner.held().insert(id, generation);
            Ok(())
        })
    }

    fn run(&self, id: &str) -> Result<RunRow, StoreError> {
        let id = id.to_string();
        self.call(move |inner| async move {
            let client = inner.client().await?;
            let row = client
                .query_opt_cached(
                    &format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = $1"),
                    &[&id],
                )
                .await
                .map_err(pg("read run"))?;
            row.ok_or(StoreError::NoSuchRun(id))
                .and_then(|r| decode_run(&r))
        })
    }

    fn list_runs(&self, limit: u32) -> Result<Vec<RunRow>, StoreError> {
        self.find_runs(&RunFilter {
            limit,
            ..RunFilter::default()
        })
    }

    fn find_runs(&self, f: &RunFilter<'_>) -> Result<Vec<RunRow>, StoreError> {
        let experiment = f.experiment.map(str::to_string);
        let state = f.state.map(|s| s.as_str().to_string());
        let before = f.before.map(str::to_string);
        let limit = i64::from(f.limit);
        let project = f.project.map(str::to_string);
        let since = f.since.map(|t| t.to_rfc3339());
        let until = f.until.map(|t| t.to_rfc3339());
        self.call(move |inner| async move {
            let client = inner.client().await?;
            // Keyset pagination on (created_at, id), as on SQLite. The times are RFC 3339
            // text and compared byte by byte (COLLATE "C": a locale's collation would
            // skip the punctuation), as SQLite compares them.
            let rows = client
                .query(
                    &format!(
                        "SELECT {RUN_COLUMNS} FROM runs
                         WHERE ($1::text IS NULL OR experiment = $1)
                           AND ($2::text IS NULL OR state = $2)
                           AND ($3::text IS NULL OR (created_at, id) < (SELECT created_at, id FROM runs WHERE id = $3))
                           AND ($5::text IS NULL OR gitlab_json::jsonb ->> 'projectPath' = $5
                                OR left(gitlab_json::jsonb ->> 'projectPath', length($5) + 1) = $5 || '/')
                           AND ($6::text IS NULL OR created_at COLLATE \"C\" >= $6)
                           AND ($7::text IS NULL OR created_at COLLATE \"C\" < $7)
                         ORDER BY created_at DESC, id DESC LIMIT $4"
                    ),
                    &[&experiment, &state, &before, &limit, &project, &since, &until],
                )
                .await
                .map_err(pg("find runs"))?;
            rows.iter().map(decode_run).collect()
        })
    }

    fn verdict_trends(&self, last: u32) -> Result<Vec<VerdictPoint>, StoreError> {
        super::trends::verdict_trends(self, last)
    }

    fn events(&self, run: &str) -> Result<Vec<StoredEvent>, StoreError> {
        self.events_after(run, 0)
    }

    fn events_after(&self, run: &str, after: u64) -> Result<Vec<StoredEvent>, StoreError> {
        let run = run.to_string();
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        self.call(move |inner| async move {
            let client = inner.client().await?;
            let rows = client
                .query_cached(
                    "SELECT seq, at, body FROM events WHERE run_id = $1 AND seq > $2 ORDER BY seq",
                    &[&run, &after],
                )
                .await
                .map_err(pg("read events"))?;
            rows.iter()
                .map(|r| {
                    let seq: i64 = r.get(0);
                    let body: &str = r.get(2);
                    Ok(StoredEvent {
                        seq: seq.unsigned_abs(),
                        at: time(&run, "event time", r.get(1))?,
                        event: serde_json::from_str(body).map_err(|e| corrupt(&run, "event", e))?,
                    })
                })
                .collect()
        })
    }

    fn record(&self, run: &str, event: &RunEvent) -> Result<u64, StoreError> {
        self.record_all(run, std::slice::from_ref(event))
    }

    fn watch_events(&self, run: &str) -> Option<tokio::sync::watch::Receiver<u64>> {
        Some(self.inner.watchers.subscribe(run))
    }

    fn record_all(&self, run: &str, events: &[RunEvent]) -> Result<u64, StoreError> {
        let (run, events) = (run.to_string(), events.to_vec());
        let sent = Arc::new(Mutex::new(None));
        self.call(move |inner| async move { record_all(&inner, &run, &events, &sent).await })
    }

    /// Ends the runs this replica adopted from a lost one (`RunLeases::adopt_lapsed`):
    /// with several replicas on one database, an unfinished run another replica holds a
    /// live lease on is not interrupted, whoever restarts.
    fn fail_interrupted(&self, reason: &str) -> Result<Vec<String>, StoreError> {
        let ids: Vec<String> = self.inner.adopted().iter().cloned().collect();
        let mut ended = Vec::new();
        for id in ids {
            let event = RunEvent::StateChanged {
                to: RunState::Error,
                reason: reason.to_string(),
            };
            match self.record(&id, &event) {
                Ok(_) => ended.push(id.clone()),
                // Ended meanwhile (its old owner's last write landed first), or adopted
                // again by a third replica: not ours to end.
                Err(StoreError::IllegalTransition { .. } | StoreError::LeaseLost { .. }) => {}
                Err(e) => return Err(e),
            }
            self.inner.adopted().remove(&id);
        }
        Ok(ended)
    }

    fn fault_started(&self, run: &str, fault: &ActiveFault) -> Result<(), StoreError> {
        let body = serde_json::to_string(fault).expect("ActiveFault serialises");
        let (run, id, expires) = (
            run.to_string(),
            fault.fault.clone(),
            fault.expires.to_rfc3339(),
        );
        self.call(move |inner| async move {
            fenced_write(
                &inner,
                &run,
                "INSERT INTO active_faults (run_id, fault, body, expires_at) SELECT $1, $4, $5, $6 FROM fenced
                 ON CONFLICT (run_id, fault) DO UPDATE SET body = excluded.body, expires_at = excluded.expires_at",
                &[&id, &body, &expires],
                "record active fault",
            )
            .await
        })
    }

    fn fault_renewed(
        &self,
        run: &str,
        fault: &str,
        expires: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (run, fault) = (run.to_string(), fault.to_string());
        self.call(move |inner| async move {
            let mut client = inner.client().await?;
            let tx = client.transaction().await.map_err(pg("begin"))?;
            fence(&inner, &tx, &run).await?;
            let Some(row) = tx
                .query_opt_cached(
                    "SELECT body FROM active_faults WHERE run_id = $1 AND fault = $2",
                    &[&run, &fault],
                )
                .await
                .map_err(pg("read active fault"))?
            else {
                return Ok(());
            };
            let mut active: ActiveFault = serde_json::from_str(row.get(0))
                .map_err(|e| corrupt(&run, "active fault", e))?;
            active.expires = expires;
            let body = serde_json::to_string(&active).expect("ActiveFault serialises");
            tx.execute_cached(
                "UPDATE active_faults SET body = $3, expires_at = $4 WHERE run_id = $1 AND fault = $2",
                &[&run, &fault, &body, &expires.to_rfc3339()],
            )
            .await
            .map_err(pg("renew active fault"))?;
            tx.commit().await.map_err(pg("renew active fault"))
        })
    }

    fn fault_ended(&self, run: &str, fault: &str) -> Result<(), StoreError> {
        let (run, fault) = (run.to_string(), fault.to_string());
        self.call(move |inner| async move {
            fenced_write(
                &inner,
                &run,
                "DELETE FROM active_faults WHERE run_id = $1 AND fault = $4 AND EXISTS (SELECT 1 FROM fenced)",
                &[&fault],
                "forget active fault",
            )
            .await
        })
    }

    /// The active faults of the runs this replica adopted from a lost one: what it must
    /// confirm recovered (a live replica's faults are its own to recover).
    fn active_faults(&self) -> Result<Vec<(String, ActiveFault)>, StoreError> {
        let runs: Vec<String> = self.inner.adopted().iter().cloned().collect();
        if runs.is_empty() {
            return Ok(Vec::new());
        }
        self.call(move |inner| async move {
            let client = inner.client().await?;
            let rows = client
                .query_cached(
                    "SELECT run_id, body FROM active_faults WHERE run_id = ANY($1) ORDER BY started",
                    &[&runs],
                )
                .await
                .map_err(pg("list active faults"))?;
            rows.iter()
                .map(|r| {
                    let run: String = r.get(0);
                    let fault = serde_json::from_str(r.get(1))
                        .map_err(|e| corrupt(&run, "active fault", e))?;
                    Ok((run, fault))
                })
                .collect()
        })
    }
}
