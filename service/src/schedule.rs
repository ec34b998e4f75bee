//! Schedules: catalog experiments with `spec.schedule` (cron) are started by the service
//! at their times, through the same [`LiveRuns::start`] as every other trigger — so the
//! emergency stop refuses them too. Times are UTC. Only the replica that leads (a
//! Kubernetes Lease in cluster mode; always, on one machine) fires them. Runs missed while
//! no service was up are not made up: a chaos experiment at the wrong hour is worse than
//! none.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::api::LiveRuns;
use crate::catalog;
use crate::store::Store;

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
    /// The next time it fires (UTC).
    pub next: Option<DateTime<Utc>>,
}

/// Every scheduled experiment of the catalog and its next time after `after`. Templated
/// documents (`{{ gitlab.* }}`) are left out: a schedule has no GitLab event to fill them.
pub fn scheduled(store: &Store, after: DateTime<Utc>) -> Vec<Scheduled> {
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
            let s = exp.spec.schedule?;
            Some(Scheduled {
                experiment: r.name,
                cron: s.as_str().to_string(),
                next: s.cron().after(&after).next(),
            })
        })
        .collect()
}

/// Whether this replica may fire schedules now (the Lease, in cluster mode).
pub type Leading = Arc<dyn Fn() -> bool + Send + Sync>;

/// Starts the scheduler on the current runtime.
pub fn spawn(
    store: Arc<Store>,
    live: Arc<LiveRuns>,
    leading: Leading,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut since = Utc::now();
        loop {
            let now = Utc::now();
            // Everything due in (since, now] fires once.
            for s in scheduled(&store, since) {
                let Some(next) = s.next else { continue };
                if next > now {
                    continue;
                }
                if !leading() {
                    tracing::debug!(experiment = %s.experiment, "not the leader; another replica fires this schedule");
                    continue;
                }
                fire(&store, &live, &s);
            }
            since = now;
            let next = scheduled(&store, now)
                .into_iter()
                .filter_map(|s| s.next)
                .min()
                .map_or(REREAD, |t| (t - Utc::now()).to_std().unwrap_or_default())
                .clamp(Duration::from_millis(50), REREAD);
            tokio::time::sleep(next).await;
        }
    })
}

fn fire(store: &Store, live: &Arc<LiveRuns>, s: &Scheduled) {
    let exp = match catalog::get(store, &s.experiment, None) {
        Ok((_, exp)) => exp,
        Err(e) => {
            tracing::error!(experiment = %s.experiment, error = %e, "scheduled experiment is no longer valid; not started");
            return;
        }
    };
    match live.start(exp) {
        Ok(id) => {
            tracing::info!(run = %id, experiment = %s.experiment, cron = %s.cron, "schedule started a run")
        }
        Err(e) => {
            tracing::warn!(experiment = %s.experiment, error = %e, "schedule did not start a run")
        }
    }
}
