//! Schedules: catalog experiments with `spec.schedule` (cron) are started by the service
//! at their times, through the same [`LiveRuns::start`] as every other trigger — so the
//! emergency stop refuses them too. Times are UTC unless the schedule names a time zone
//! (`{ cron, timezone }`; the DST rule is in [`faultline_spec::schedule`]). Only the replica that leads (a
//! Kubernetes Lease in cluster mode; always, on one machine) fires them. Runs missed while
//! no service was up are not made up: a chaos experiment at the wrong hour is worse than
//! none.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};
use serde::Serialize;

use faultline_spec::{Experiment, Schedule};

use crate::application::catalog;
use crate::application::live::LiveRuns;
use crate::application::ports::CatalogStore;

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

/// Every scheduled experiment of the catalog and its next time after `after`.
pub fn scheduled(store: &dyn CatalogStore, after: DateTime<Utc>) -> Vec<Scheduled> {
    read_catalog(store)
        .into_iter()
        .map(|(name, _, s)| {
            let zone = s.effective_zone();
            let next = s.next_after(after);
            Scheduled {
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
    store: Arc<dyn CatalogStore>,
    live: Arc<LiveRuns>,
    leading: Leading,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut since = Utc::now();
        loop {
            let now = Utc::now();
            // One catalog read a tick: what is due in (since, now] fires once, and the
            // earliest time after now says how long to sleep.
            let mut wake: Option<DateTime<Utc>> = None;
            for (name, exp, s) in read_catalog(&*store) {
                if s.next_after(since).is_some_and(|t| t <= now) {
                    if leading() {
                        fire(&live, &name, s.as_str(), exp);
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

fn fire(live: &Arc<LiveRuns>, name: &str, cron: &str, exp: Experiment) {
    match live.start(exp) {
        Ok(id) => tracing::info!(run = %id, experiment = %name, %cron, "schedule started a run"),
        Err(e) => tracing::warn!(experiment = %name, error = %e, "schedule did not start a run"),
    }
}
