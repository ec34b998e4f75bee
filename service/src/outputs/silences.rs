//! Alertmanager silences for the fault window (`spec.silenceAlerts`): when a run applies
//! its first fault, a silence with the experiment's label matchers is created through
//! Alertmanager's API v2; when the run ends it is expired. The silence always carries an
//! end time — the planned length of the steps plus a margin — so one a crashed service
//! never expired still ends on its own.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use faultline_spec::Experiment;
use serde_json::json;
use tokio::task::JoinHandle;

use crate::application::ports::RunStore;
use crate::application::ports::observe::{RunInfo, RunObserver};
use crate::domain::RunEvent;

/// How long past the planned end a silence lasts, for after-checks and slow recoveries.
const MARGIN: Duration = Duration::from_secs(300);

/// Creates and expires the silences of runs that ask for one.
pub struct SilenceObserver {
    base: String,
    http: reqwest::Client,
    store: Arc<dyn RunStore>,
    /// Run id -> the task creating its silence (it yields the silence id).
    runs: Mutex<HashMap<String, JoinHandle<Option<String>>>>,
}

impl SilenceObserver {
    /// Silences in the Alertmanager at `url` (e.g. `http://alertmanager:9093`); run specs
    /// are read from `store`.
    pub fn new(url: &str, store: Arc<dyn RunStore>) -> Result<SilenceObserver, reqwest::Error> {
        Ok(SilenceObserver {
            base: url.trim_end_matches('/').to_string(),
            http: faultline_exporter::tls_provider::http_client()
                .timeout(Duration::from_secs(10))
                .build()?,
            store,
            runs: Mutex::new(HashMap::new()),
        })
    }

    fn runs(&self) -> std::sync::MutexGuard<'_, HashMap<String, JoinHandle<Option<String>>>> {
        self.runs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The matchers and planned end of run `id`'s silence, if its spec asks for one.
    fn wanted(&self, id: &str) -> Option<(BTreeMap<String, String>, DateTime<Utc>)> {
        let row = self.store.run(id).ok()?;
        let exp: Experiment = serde_json::from_str(&row.spec_json).ok()?;
        if exp.spec.silence_alerts.is_empty() {
            return None;
        }
        let planned = crate::application::engine::plan::plan(&exp)
            .iter()
            .map(|f| {
                f.starts_at_seconds
                    + f.duration
                        .as_deref()
                        .and_then(|d| d.parse::<faultline_spec::Duration>().ok())
                        .map_or(0.0, |d| d.std().as_secs_f64())
            })
            .fold(0.0, f64::max);
        let ends = Utc::now()
            + chrono::Duration::from_std(Duration::from_secs_f64(planned) + MARGIN)
                .unwrap_or_default();
        Some((exp.spec.silence_alerts, ends))
    }
}

impl RunObserver for SilenceObserver {
    fn observe(&self, run: &RunInfo, event: &RunEvent, _at: DateTime<Utc>) {
        match event {
            RunEvent::FaultApplied { .. } => {
                let mut runs = self.runs();
                if runs.contains_key(&run.id) {
                    return;
                }
                let Some((matchers, ends)) = self.wanted(&run.id) else {
                    return;
                };
                let body = json!({
                    "matchers": matchers.iter().map(|(k, v)| json!({
                        "name": k, "value": v, "isRegex": false, "isEqual": true,
                    })).collect::<Vec<_>>(),
                    "startsAt": Utc::now().to_rfc3339(),
                    "endsAt": ends.to_rfc3339(),
                    "createdBy": "faultline",
                    "comment": format!("faultline run {} of {}: fault window", run.id, run.experiment),
                });
                let (http, url, id) = (
                    self.http.clone(),
                    format!("{}/api/v2/silences", self.base),
                    run.id.clone(),
                );
                runs.insert(
                    run.id.clone(),
                    tokio::spawn(async move {
                        let res = http.post(&url).json(&body).send().await;
                        match res {
                            Ok(r) if r.status().is_success() => {
                                let v: serde_json::Value = r.json().await.ok()?;
                                let sid = v["silenceID"].as_str()?.to_string();
                                tracing::info!(run = %id, silence = %sid, until = %ends, "Alertmanager silence created");
                                Some(sid)
                            }
                            Ok(r) => {
                                tracing::warn!(run = %id, status = %r.status(), "Alertmanager refused the silence; alerts are not silenced");
                                None
                            }
                            Err(e) => {
                                tracing::warn!(run = %id, error = %e, "cannot reach Alertmanager; alerts are not silenced");
                                None
                            }
                        }
                    }),
                );
            }
            RunEvent::StateChanged { to, .. } if to.is_terminal() => {
                let Some(creating) = self.runs().remove(&run.id) else {
                    return;
                };
                let (http, base, id) = (self.http.clone(), self.base.clone(), run.id.clone());
                tokio::spawn(async move {
                    let Ok(Some(sid)) = creating.await else {
                        return;
                    };
                    match http
                        .delete(format!("{base}/api/v2/silence/{sid}"))
                        .send()
                        .await
                    {
                        Ok(r) if r.status().is_success() => {
                            tracing::info!(run = %id, silence = %sid, "Alertmanager silence expired")
                        }
                        other => {
                            tracing::warn!(run = %id, silence = %sid, answer = ?other.map(|r| r.status()), "cannot expire the silence; it ends at its end time")
                        }
                    }
                });
            }
            _ => {}
        }
    }
}
