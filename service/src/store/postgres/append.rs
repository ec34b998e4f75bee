//! Writing to a run: the fence every write passes (this replica must still own the run,
//! at the generation it took it at) and the event append, which a retried call makes
//! once even when the answer to its COMMIT was lost.

use std::sync::Mutex;

use chrono::Utc;
use deadpool_postgres::GenericClient;

use super::cached::Cached;
use super::connect::{Inner, pg};
use crate::application::ports::StoreError;
use crate::domain::{RunEvent, RunState};

pub(super) fn corrupt(run: &str, what: &'static str, detail: impl ToString) -> StoreError {
    StoreError::Corrupt {
        run: run.to_string(),
        what,
        detail: detail.to_string(),
    }
}

pub(super) fn state(run: &str, s: &str) -> Result<RunState, StoreError> {
    RunState::parse(s).ok_or_else(|| corrupt(run, "state", s))
}

/// Locks run `run`'s row for this transaction and checks this replica may write to it;
/// returns its state.
pub(super) async fn fence(
    inner: &Inner,
    tx: &impl GenericClient,
    run: &str,
) -> Result<RunState, StoreError> {
    let row = tx
        .query_opt_cached(
            "SELECT state, owner, generation FROM runs WHERE id = $1 FOR UPDATE",
            &[&run],
        )
        .await
        .map_err(pg("read run"))?
        .ok_or_else(|| StoreError::NoSuchRun(run.to_string()))?;
    let owner: &str = row.get(1);
    let generation: i64 = row.get(2);
    let held = inner.held().get(run).copied();
    if owner != inner.replica || held.is_some_and(|g| g != generation) {
        return Err(StoreError::LeaseLost {
            run: run.to_string(),
        });
    }
    state(run, row.get(0))
}

/// What a try at appending sent with its COMMIT: if the connection broke before the
/// answer, the next try reads the first event back to learn whether it landed.
#[derive(Debug, Clone)]
pub(super) struct Sent {
    first_seq: i64,
    last_seq: i64,
    at: String,
    first_body: String,
    ended: bool,
}

/// Appends `events` to run `run`'s log in one fenced transaction. `sent` is shared by the
/// tries of one call (see `PgStore::call`): a COMMIT whose answer was lost may have been
/// applied, and appending again would log the events twice (or refuse a second terminal
/// state), so a retry first checks whether the previous try's first event is stored —
/// same seq, time and body — and if so answers as that try would have.
pub(super) async fn record_all(
    inner: &Inner,
    run: &str,
    events: &[RunEvent],
    sent: &Mutex<Option<Sent>>,
) -> Result<u64, StoreError> {
    let mut client = inner.client().await?;
    // Kept until a later COMMIT replaces it: a try that fails before it reads again.
    let previous = sent.lock().unwrap_or_else(|p| p.into_inner()).clone();
    if let Some(s) = previous {
        let landed = client
            .query_opt_cached(
                "SELECT 1 FROM events WHERE run_id = $1 AND seq = $2 AND at = $3 AND body = $4",
                &[&run, &s.first_seq, &s.at, &s.first_body],
            )
            .await
            .map_err(pg("read back event"))?
            .is_some();
        if landed {
            if s.ended {
                inner.held().remove(run);
            }
            return Ok(s.last_seq.unsigned_abs());
        }
    }
    let tx = client.transaction().await.map_err(pg("begin"))?;
    let mut from = fence(inner, &tx, run).await?;
    let mut seq: i64 = tx
        .query_one_cached(
            "SELECT COALESCE(MAX(seq), 0) FROM events WHERE run_id = $1",
            &[&run],
        )
        .await
        .map_err(pg("next event seq"))?
        .get(0);
    let now = Utc::now().to_rfc3339();
    let insert = tx
        .prepare_cached("INSERT INTO events (run_id, seq, at, body) VALUES ($1, $2, $3, $4)")
        .await
        .map_err(pg("insert event"))?;
    for event in events {
        if let RunEvent::StateChanged { to, reason } = event {
            if !from.can_go(*to) {
                return Err(StoreError::IllegalTransition {
                    run: run.to_string(),
                    from,
                    to: *to,
                });
            }
            let finished = to.is_terminal().then(|| now.clone());
            tx.execute_cached(
                "UPDATE runs SET state = $2, reason = $3, finished_at = $4 WHERE id = $1",
                &[&run, &to.as_str(), reason, &finished],
            )
            .await
            .map_err(pg("update run state"))?;
            from = *to;
        }
        seq += 1;
        let body = serde_json::to_string(event).expect("RunEvent serialises");
        tx.execute(&insert, &[&run, &seq, &now, &body])
            .await
            .map_err(pg("insert event"))?;
    }
    if !events.is_empty() {
        // Live views on every replica wake on this instead of polling (sent at commit).
        tx.execute_cached("SELECT pg_notify($1, $2)", &[&super::listen::CHANNEL, &run])
            .await
            .map_err(pg("notify event"))?;
    }
    if let Some(first) = events.first() {
        *sent.lock().unwrap_or_else(|p| p.into_inner()) = Some(Sent {
            first_seq: seq - i64::try_from(events.len()).unwrap_or(i64::MAX) + 1,
            last_seq: seq,
            at: now.clone(),
            first_body: serde_json::to_string(first).expect("RunEvent serialises"),
            ended: from.is_terminal(),
        });
    }
    tx.commit().await.map_err(pg("commit event"))?;
    if from.is_terminal() {
        inner.held().remove(run);
    }
    Ok(seq.unsigned_abs())
}
