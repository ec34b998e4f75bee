//! Writing to a run: the fence every write passes (this replica must still own the run,
//! at the generation it took it at) and the event append, one statement that a retried
//! call makes once even when its answer was lost.

use std::sync::Mutex;

use chrono::Utc;
use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;

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

/// The statement that appends a batch of events to a run, moving its state with them,
/// in one round trip. `moved` updates the run's row only while this replica owns the run
/// at its generation and, for a state change, the stored state may go there; updating
/// locks the row and re-reads it once granted, so the row's `last_seq` is the newest
/// whoever appended last, and the events take the seqs after it. (A statement reading
/// `MAX(seq)` would read its snapshot from before the lock was granted.) `GREATEST` covers
/// a run whose events an older faultline appended without counting them on the row.
/// Before this was one statement, an append was six round trips (BEGIN, a locking read,
/// the next seq, the insert, NOTIFY, COMMIT), most of what the replicas asked of the
/// database. No row back: nothing was written, and [`refusal`] says why.
const APPEND: &str = "WITH moved AS (
        UPDATE runs SET last_seq = last_seq + cardinality($9::text[]),
            state = COALESCE($4, state),
            reason = CASE WHEN $4::text IS NULL THEN reason ELSE $6 END,
            finished_at = CASE WHEN $4::text IS NULL THEN finished_at ELSE $7 END
        WHERE id = $1 AND owner = $2 AND ($3::bigint IS NULL OR generation = $3)
          AND ($4::text IS NULL OR state = ANY($5::text[]))
        RETURNING last_seq - cardinality($9::text[]) AS seq
    ), first AS (
        SELECT GREATEST(moved.seq,
                        (SELECT COALESCE(MAX(seq), 0) FROM events WHERE run_id = $1)) AS seq
        FROM moved
    ), added AS (
        INSERT INTO events (run_id, seq, at, body)
        SELECT $1, first.seq + e.n, $8, e.body
        FROM first, unnest($9::text[]) WITH ORDINALITY AS e(body, n)
    )
    SELECT first.seq + cardinality($9::text[]),
           (SELECT count(*) FROM (SELECT pg_notify($10, $1)
                                  WHERE cardinality($9::text[]) > 0) n)
    FROM first";

/// Runs `write` (SQL reading `fenced`, with the run as `$1` and `params` from `$4`) in
/// one statement with the fence: `fenced` has a row, locked, only while this replica owns
/// run `run` at its generation. One round trip, where a transaction around a locking read
/// took four.
pub(super) async fn fenced_write(
    inner: &Inner,
    run: &str,
    write: &str,
    params: &[&(dyn ToSql + Sync)],
    op: &'static str,
) -> Result<(), StoreError> {
    let client = inner.client().await?;
    let generation = inner.held().get(run).copied();
    let sql = format!(
        "WITH fenced AS (
             SELECT 1 FROM runs WHERE id = $1 AND owner = $2
               AND ($3::bigint IS NULL OR generation = $3) FOR UPDATE
         ), written AS ({write})
         SELECT count(*) FROM fenced"
    );
    let mut all: Vec<&(dyn ToSql + Sync)> = vec![&run, &inner.replica, &generation];
    all.extend_from_slice(params);
    let fenced: i64 = client
        .query_one_cached(&sql, &all)
        .await
        .map_err(pg(op))?
        .get(0);
    if fenced == 0 {
        return Err(refusal(inner, &client, run, generation, None).await);
    }
    Ok(())
}

/// Why a fenced write to run `run` wrote nothing: no such run, another replica's (or a
/// later generation's) lease, or else the state change `to` the stored state forbids.
async fn refusal(
    inner: &Inner,
    client: &impl GenericClient,
    run: &str,
    generation: Option<i64>,
    to: Option<RunState>,
) -> StoreError {
    let row = client
        .query_opt_cached(
            "SELECT state, owner, generation FROM runs WHERE id = $1",
            &[&run],
        )
        .await;
    let row = match row {
        Ok(Some(row)) => row,
        Ok(None) => return StoreError::NoSuchRun(run.to_string()),
        Err(e) => return pg("read run")(e),
    };
    let (owner, stored): (&str, i64) = (row.get(1), row.get(2));
    if owner != inner.replica || generation.is_some_and(|g| g != stored) {
        return StoreError::LeaseLost {
            run: run.to_string(),
        };
    }
    match (state(run, row.get(0)), to) {
        (Ok(from), Some(to)) => StoreError::IllegalTransition {
            run: run.to_string(),
            from,
            to,
        },
        (Err(e), _) => e,
        // Owner and generation match now, and nothing else could refuse: the run changed
        // hands and back between the write and this read. Not this write's to claim.
        (Ok(_), None) => StoreError::LeaseLost {
            run: run.to_string(),
        },
    }
}

/// The state changes among a batch's events, checked against each other: the states the
/// run may be in for the first one to be legal, and where the last one leaves it.
struct Move<'e> {
    from: Vec<&'static str>,
    first: RunState,
    to: RunState,
    reason: &'e str,
}

fn moves<'e>(run: &str, events: &'e [RunEvent]) -> Result<Option<Move<'e>>, StoreError> {
    let mut found: Option<Move<'e>> = None;
    for event in events {
        let RunEvent::StateChanged { to, reason } = event else {
            continue;
        };
        match &mut found {
            None => {
                found = Some(Move {
                    from: RunState::ALL
                        .into_iter()
                        .filter(|s| s.can_go(*to))
                        .map(RunState::as_str)
                        .collect(),
                    first: *to,
                    to: *to,
                    reason,
                });
            }
            Some(m) if m.to.can_go(*to) => {
                m.to = *to;
                m.reason = reason;
            }
            Some(m) => {
                return Err(StoreError::IllegalTransition {
                    run: run.to_string(),
                    from: m.to,
                    to: *to,
                });
            }
        }
    }
    Ok(found)
}

/// What a try at appending sent: if the connection broke before the answer, the next try
/// reads the first event back to learn whether it landed. Its time has nanoseconds, so
/// time and body together name one append.
#[derive(Debug, Clone)]
pub(super) struct Sent {
    at: String,
    first_body: String,
    count: i64,
    ended: bool,
}

/// Appends `events` to run `run`'s log in one fenced statement. `sent` is shared by the
/// tries of one call (see `PgStore::call`): a statement whose answer was lost may have
/// been applied, and appending again would log the events twice (or refuse a second
/// terminal state), so a retry first checks whether the previous try's first event is
/// stored — same time and body — and if so answers as that try would have.
pub(super) async fn record_all(
    inner: &Inner,
    run: &str,
    events: &[RunEvent],
    sent: &Mutex<Option<Sent>>,
) -> Result<u64, StoreError> {
    let moving = moves(run, events)?;
    let client = inner.client().await?;
    // Kept until a later try replaces it: a try that fails before it reads again.
    let previous = sent.lock().unwrap_or_else(|p| p.into_inner()).clone();
    if let Some(s) = previous {
        let landed = client
            .query_opt_cached(
                "SELECT seq FROM events WHERE run_id = $1 AND at = $2 AND body = $3",
                &[&run, &s.at, &s.first_body],
            )
            .await
            .map_err(pg("read back event"))?;
        if let Some(row) = landed {
            if s.ended {
                inner.held().remove(run);
            }
            let first: i64 = row.get(0);
            return Ok((first + s.count - 1).unsigned_abs());
        }
    }
    let bodies: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_string(e).expect("RunEvent serialises"))
        .collect();
    let ended = moving.as_ref().is_some_and(|m| m.to.is_terminal());
    let generation = inner.held().get(run).copied();
    let (to, from, reason) = match &moving {
        Some(m) => (Some(m.to.as_str()), m.from.clone(), Some(m.reason)),
        None => (None, Vec::new(), None),
    };
    let now = Utc::now().to_rfc3339();
    let finished = ended.then(|| now.clone());
    if let Some(first) = bodies.first() {
        *sent.lock().unwrap_or_else(|p| p.into_inner()) = Some(Sent {
            at: now.clone(),
            first_body: first.clone(),
            count: i64::try_from(bodies.len()).unwrap_or(i64::MAX),
            ended,
        });
    }
    let row = client
        .query_opt_cached(
            APPEND,
            &[
                &run,
                &inner.replica,
                &generation,
                &to,
                &from,
                &reason,
                &finished,
                &now,
                &bodies,
                &super::listen::CHANNEL,
            ],
        )
        .await
        .map_err(pg("append events"))?;
    let Some(row) = row else {
        return Err(refusal(inner, &client, run, generation, moving.map(|m| m.first)).await);
    };
    if ended {
        inner.held().remove(run);
    }
    let last: i64 = row.get(0);
    Ok(last.unsigned_abs())
}
