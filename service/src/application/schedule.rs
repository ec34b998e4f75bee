//! Schedules: catalog experiments with `spec.schedule` (cron) are started by the service
//! at their times, through the same [`LiveRuns::start`] as every other trigger — so the
//! emergency stop refuses them too. Times are UTC unless the schedule names a time zone
//! (`{ cron, timezone }`; the DST rule is in [`faultline_spec::schedule`]). Only the replica that leads (a
//! Kubernetes Lease in cluster mode; always, on one machine) fires them.
//!
//! Chaos Mesh's options, in the object form (`schedule_policy`):
//! - `concurrencyPolicy: Forbid` (the default): a time that comes while a run this
//!   schedule started is still running is skipped; `Allow` starts another beside it.
//! - `startingDeadline`: a time noticed later than this after it passed is skipped; a
//!   time missed while no service was up is started once at start-up if it is no older
//!   than this and no run of the experiment was created since it. Without it, missed
//!   runs are not made up: a chaos experiment at the wrong hour is worse than none.
//! - Of several times missed together (a stalled loop), only the newest fires, as robfig
//!   and Chaos Mesh do.
//!
//! Skips are logged and counted per experiment in `GET /api/v1/schedules`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};
use serde::Serialize;

use faultline_spec::{ConcurrencyPolicy, Experiment, Schedule};

use crate::application::catalog;
use crate::application::live::LiveRuns;
use crate::application::ports::{CatalogStore, RunFilter, Storage};
use crate::application::schedule_book::{Fired, ScheduleBook};

/// How often the catalog is re-read for new or changed schedules (a re-read parses every
/// catalog document: well under a millisecond each).
const REREAD: Duration = Duration::from_secs(2);

/// One scheduled experiment, as `GET /api/v1/schedules` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Scheduled {
    /// The catalog experiment.
    pub experiment: String,
    /// The cron expression as written.
    pub cron: String,
    /// The IANA zone the cron fields are read in (`UTC` for the string form).
    pub timezone: String,
    /// The next time it fires, in UTC.
    pub next: Option<DateTime<Utc>>,
    /// The same instant in `timezone`, with its offset (e.g. `2026-03-30T03:00:00+02:00`).
    pub next_local: Option<DateTime<FixedOffset>>,
    /// `Forbid` or `Allow`.
    pub concurrency_policy: ConcurrencyPolicy,
    /// `startingDeadline`, as written (`30s`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starting_deadline: Option<String>,
    /// `historyLimit` as given: shown, not enforced (every run is kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history_limit: Option<u32>,
    /// What this service's scheduler started and skipped for it since it started.
    #[serde(flatten)]
    pub fired: Fired,
}

/// Every scheduled experiment of the catalog, instantiated once per catalog read.
/// Templated documents (`{{ gitlab.* }}`) are left out: a schedule has no GitLab event to
/// fill them.
fn read_catalog(store: &dyn CatalogStore) -> Vec<(String, Experiment, Schedule)> {
    let rows = match store.list_experiments() {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the catalog for schedules");
            return Vec::new();
        }
    };
    rows.into_iter()
        .filter(|r| !r.text.contains("{{"))
        .filter_map(|r| {
            let exp = catalog::instantiate(&r.text, None, &r.name).ok()?;
            let s = exp.spec.schedule.clone()?;
            Some((r.name, exp, s))
        })
        .collect()
}

/// Every scheduled experiment of the catalog, its next time after `after`, and what
/// `book` says the scheduler did with it.
pub fn scheduled(
    store: &dyn CatalogStore,
    book: &ScheduleBook,
    after: DateTime<Utc>,
) -> Vec<Scheduled> {
    read_catalog(store)
        .into_iter()
        .map(|(name, _, s)| {
            let zone = s.effective_zone();
            let next = s.next_after(after);
            let policy = s.policy();
            Scheduled {
                fired: book.of(&name),
                concurrency_policy: policy.concurrency,
                starting_deadline: policy.starting_deadline.map(|d| d.to_string()),
                history_limit: policy.history_limit,
                experiment: name,
                cron: s.as_str().to_string(),
                timezone: zone.name().to_string(),
                next,
                next_local: next.map(|t| zone.with_offset(t)),
            }
        })
        .collect()
}

/// Whether this replica may fire schedules now (the Lease, in cluster mode).
pub type Leading = Arc<dyn Fn() -> bool + Send + Sync>;

/// Starts the scheduler on the current runtime.
pub fn spawn(
    store: Arc<dyn Storage>,
    live: Arc<LiveRuns>,
    leading: Leading,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let started = Utc::now();
        if leading() {
            make_up_missed(&*store, &live, started);
        }
        let mut since = started;
        loop {
            let now = Utc::now();
            // One catalog read a tick: the newest time due in (since, now] fires once, and
            // the earliest time after now says how long to sleep.
            let mut wake: Option<DateTime<Utc>> = None;
            for (name, exp, s) in read_catalog(&*store) {
                if let Some(due) = s.last_in(since, now) {
                    if leading() {
                        fire(&live, &name, &s, exp, due, now);
                    } else {
                        tracing::debug!(experiment = %name, "not the leader; another replica fires this schedule");
                    }
                }
                let next = s.next_after(now);
                wake = match (wake, next) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            since = now;
            let sleep = wake
                .map_or(REREAD, |t| (t - Utc::now()).to_std().unwrap_or_default())
                .clamp(Duration::from_millis(50), REREAD);
            tokio::time::sleep(sleep).await;
        }
    })
}

/// At start-up: each schedule with a `startingDeadline` starts the newest time missed
/// while no service was up, if it is within the deadline and no run of the experiment was
/// created since that time (a restart right after a run must not run it twice).
fn make_up_missed(store: &dyn Storage, live: &Arc<LiveRuns>, now: DateTime<Utc>) {
    for (name, exp, s) in read_catalog(store) {
        let Some(deadline) = s.policy().starting_deadline else {
            continue;
        };
        // Looking back three deadlines also finds a time that is too old, to say so.
        let window = chrono::Duration::from_std(deadline.std() * 3).unwrap_or_default();
        let Some(due) = s.last_in(now - window, now) else {
            continue;
        };
        let filter = RunFilter {
            experiment: Some(&name),
            limit: 1,
            ..RunFilter::default()
        };
        let ran_since = match store.find_runs(&filter) {
            Ok(runs) => runs.first().is_some_and(|r| r.created_at >= due),
            Err(e) => {
                tracing::error!(experiment = %name, error = %e, "cannot read runs; not making up a missed time");
                true
            }
        };
        if !ran_since {
            fire(live, &name, &s, exp, due, now);
        }
    }
}

/// Why the time `due` of `s`, noticed at `now`, is not started (`None`: start it).
/// `running` is a run the schedule started that still runs.
pub fn skip_reason(
    s: &Schedule,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
    running: Option<&str>,
) -> Option<String> {
    let policy = s.policy();
    if let Some(d) = policy.starting_deadline {
        let late = (now - due).to_std().unwrap_or_default();
        if late > d.std() {
            return Some(format!(
                "noticed {} after its time, past startingDeadline {d}",
                faultline_spec::Duration(Duration::from_millis(late.as_millis() as u64))
            ));
        }
    }
    match (policy.concurrency, running) {
        (ConcurrencyPolicy::Forbid, Some(run)) => Some(format!(
            "run {run} it started still runs (concurrencyPolicy Forbid)"
        )),
        _ => None,
    }
}

fn fire(
    live: &Arc<LiveRuns>,
    name: &str,
    s: &Schedule,
    exp: Experiment,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) {
    let book = live.schedules();
    let running = book.running(name, |r| live.is_live(r));
    if let Some(why) = skip_reason(s, due, now, running.as_deref()) {
        tracing::info!(experiment = %name, cron = %s.as_str(), time = %due, %why, "schedule skipped a time");
        book.skipped(name, due, why);
        return;
    }
    match live.start_as(exp, None, crate::domain::Actor::schedule(name)) {
        Ok(id) => {
            tracing::info!(run = %id, experiment = %name, cron = %s.as_str(), "schedule started a run");
            book.started(name, &id);
        }
        Err(e) => tracing::warn!(experiment = %name, error = %e, "schedule did not start a run"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn schedule(yaml: &str) -> Schedule {
        serde_json::from_str(yaml).unwrap()
    }

    #[test]
    fn a_time_noticed_past_its_starting_deadline_is_skipped() {
        let s = schedule(r#"{"cron":"@every 10s","startingDeadline":"2s"}"#);
        let due = at("2026-01-09T12:00:00Z");
        assert_eq!(
            skip_reason(&s, due, at("2026-01-09T12:00:01.500Z"), None),
            None
        );
        let why = skip_reason(&s, due, at("2026-01-09T12:00:05Z"), None).unwrap();
        assert!(
            why.contains("noticed 5s after its time, past startingDeadline 2s"),
            "{why}"
        );
        // Without a deadline, lateness alone skips nothing.
        let s = schedule(r#""@every 10s""#);
        assert_eq!(skip_reason(&s, due, at("2026-01-09T12:05:00Z"), None), None);
    }

    #[test]
    fn forbid_skips_while_a_run_still_runs_and_allow_does_not() {
        let due = at("2026-01-09T12:00:00Z");
        let forbid = schedule(r#""@every 1s""#);
        let why = skip_reason(&forbid, due, due, Some("r1")).unwrap();
        assert!(why.contains("run r1 it started still runs"), "{why}");
        assert_eq!(skip_reason(&forbid, due, due, None), None);
        let allow = schedule(r#"{"cron":"@every 1s","concurrencyPolicy":"Allow"}"#);
        assert_eq!(skip_reason(&allow, due, due, Some("r1")), None);
    }
}
