//! Notifications as a [`RunObserver`]: when a run reaches its verdict, the routes that
//! want it are written to the outbox, then the worker is woken. The write happens in the
//! observer call on purpose — it is one small SQLite insert per route, and it means the
//! notification is durable before `faultline run` reports the verdict.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use faultline_spec::{Experiment, Notify};

use super::config::NotifyConfig;
use super::error::NotifyError;
use super::outbox::{Outbox, RetryPolicy};
use super::routing::resolve;
use super::send::Channels;
use super::templates::Templates;
use crate::application::config_file::walk::check_url;
use crate::application::ports::observe::{RunInfo, RunObserver};
use crate::application::ports::{
    Destination, NotificationRow, NotificationStatus, RunStore, Storage,
};
use crate::domain::RunEvent;

/// The notification subsystem of one process: outbox, worker and observer.
pub struct Notifier {
    outbox: Outbox,
    worker: tokio::task::JoinHandle<()>,
    runs: Arc<Mutex<Vec<String>>>,
}

/// The observer [`Notifier::observer`] hands to the engine.
struct NotifyObserver {
    outbox: Outbox,
    runs: Arc<Mutex<Vec<String>>>,
}

/// The experiment's own `notify:` entries, from the spec stored with the run.
fn spec_routes(store: &dyn RunStore, run: &str) -> Vec<Notify> {
    let spec = match store.run(run) {
        Ok(r) => r.spec_json,
        Err(e) => {
            tracing::error!(%run, error = %e, "cannot read the run's spec; using global routes only");
            return Vec::new();
        }
    };
    serde_json::from_str::<serde_json::Value>(&spec)
        .ok()
        .and_then(|v| v.pointer("/spec/notify").cloned())
        .and_then(|n| serde_json::from_value(n).ok())
        .unwrap_or_default()
}

impl RunObserver for NotifyObserver {
    fn observe(&self, run: &RunInfo, event: &RunEvent, _at: DateTime<Utc>) {
        let RunEvent::StateChanged { to, .. } = event else {
            return;
        };
        if !to.is_terminal() {
            return;
        }
        let spec = spec_routes(&**self.outbox.store(), &run.id);
        let cfg = self.outbox.channels().config();
        let environment = run
            .gitlab
            .as_ref()
            .and_then(|g| g.environment.as_deref())
            .or(cfg.environment.as_deref());
        let mut dests = resolve(&cfg.routes, &run.experiment, environment, &spec, *to);
        dests.retain(|d| *d != Destination::Gitlab);
        self.runs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(run.id.clone());
        match self.outbox.enqueue(&run.id, *to, &dests) {
            Ok(n) => {
                tracing::info!(run = %run.id, verdict = %to, queued = n, "notifications queued")
            }
            Err(e) => tracing::error!(run = %run.id, error = %e, "cannot queue notifications"),
        }
    }
}

impl Notifier {
    /// Reads the config and templates: everything that can be wrong is reported here.
    /// `default_report_url` (with `{run}`) links reports when the config names no
    /// `reportUrl` (`faultline run` points at the files it writes).
    pub fn load(
        config: &Path,
        templates: Option<&Path>,
        default_report_url: Option<String>,
    ) -> Result<Channels, NotifyError> {
        let mut cfg = NotifyConfig::load(config)?;
        if cfg.report_url.is_none() {
            cfg.report_url = default_report_url;
        }
        Channels::new(cfg, Templates::load(templates)?)
    }

    /// Starts the worker (on the current tokio runtime) over `store`; pending
    /// notifications from earlier processes are resumed.
    pub fn start(channels: Channels, store: Arc<dyn Storage>, policy: RetryPolicy) -> Notifier {
        let outbox = Outbox::new(store, channels, policy);
        let worker = outbox.spawn();
        Notifier {
            outbox,
            worker,
            runs: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// The observer to add to `RunOptions.observers`.
    pub fn observer(&self) -> Arc<dyn RunObserver> {
        Arc::new(NotifyObserver {
            outbox: self.outbox.clone(),
            runs: self.runs.clone(),
        })
    }

    /// The outbox (tests, the server's API).
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Waits up to `timeout` for pending notifications, stops the worker and says how
    /// this process's runs were notified and what is still pending.
    pub async fn finish(self, timeout: Duration) -> Result<Summary, NotifyError> {
        let pending = self.outbox.drain(timeout).await?;
        self.worker.abort();
        let runs = self.runs.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut rows = Vec::new();
        for r in &runs {
            rows.extend(self.outbox.store().notifications(r)?);
        }
        Ok(Summary { rows, pending })
    }
}

/// What [`Notifier::finish`] found.
#[derive(Debug, Clone)]
pub struct Summary {
    /// This process's runs' notifications.
    pub rows: Vec<NotificationRow>,
    /// Everything still pending in the store (any run).
    pub pending: Vec<NotificationRow>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = |s| self.rows.iter().filter(|r| r.status == s).count();
        write!(
            f,
            "notifications: {} sent, {} failed, {} pending",
            count(NotificationStatus::Sent),
            count(NotificationStatus::Failed),
            self.pending.len()
        )?;
        for r in self
            .rows
            .iter()
            .filter(|r| r.status == NotificationStatus::Failed)
        {
            write!(
                f,
                "\n  failed:  run {} {}: {}",
                r.run, r.route, r.last_error
            )?;
        }
        for r in &self.pending {
            write!(
                f,
                "\n  pending: run {} {} ({} attempt(s), next {}){}",
                r.run,
                r.route,
                r.attempts,
                r.next_at.format("%H:%M:%S"),
                if r.last_error.is_empty() {
                    String::new()
                } else {
                    format!(": {}", r.last_error)
                }
            )?;
        }
        if !self.pending.is_empty() {
            write!(
                f,
                "\n  (kept in the store; the next faultline run with this state dir sends them)"
            )?;
        }
        Ok(())
    }
}

/// Problems with an experiment's own `notify:` entries under this config (a Slack
/// channel with no webhook, email with no SMTP server, a malformed URL), one line each.
pub fn check_experiment(cfg: &NotifyConfig, exp: &Experiment) -> Vec<String> {
    let mut out = Vec::new();
    for (i, n) in exp.spec.notify.iter().enumerate() {
        let d = Destination::from_spec(&n.channel);
        let field = format!(
            "experiment {}: spec.notify[{i}].{}",
            exp.metadata.name,
            d.channel()
        );
        if let Destination::Webhook { url } = &d
            && let Err(why) = check_url(url)
        {
            out.push(format!("{field}: {why}"));
        }
        if let Some(why) = cfg.missing_settings(&d) {
            out.push(format!("{field}: {why}"));
        }
    }
    out
}
