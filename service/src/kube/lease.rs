//! Leader election over a `coordination.k8s.io/v1` Lease, client-go's `leaderelection`
//! algorithm: the holder renews `renewTime` every retry period; another replica takes the
//! Lease only once `renewTime + leaseDurationSeconds` has passed; every write is a PUT
//! carrying the `resourceVersion` it read, so two replicas racing for it get one 200 and
//! one 409, never two leaders.
//!
//! What leads is up to the caller (schedules, the podFailure sweep); this component only
//! says whether this replica leads, through [`LeaderElector::subscribe`].

use std::sync::Mutex;
use std::time::Duration;

use ::kube::Client;
use ::kube::api::{Api, ObjectMeta, PostParams};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use tokio::sync::watch;

use super::error::KubeError;

/// Which Lease, who we are, and the timings (client-go's defaults: 15 s / 10 s / 2 s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseConfig {
    /// Lease name (`--leader-lease`).
    pub name: String,
    /// Lease namespace (the service's own).
    pub namespace: String,
    /// This replica's identity: pod name plus a random suffix, so a restarted container
    /// is a new holder.
    pub identity: String,
    /// How long a lease holds without renewal.
    pub lease_duration: Duration,
    /// A leader that could not renew for this long steps down (before others may take
    /// over at `lease_duration`).
    pub renew_deadline: Duration,
    /// Time between attempts.
    pub retry_period: Duration,
}

impl LeaseConfig {
    /// client-go's timings for Lease `name` in `namespace`.
    pub fn new(
        name: impl Into<String>,
        namespace: impl Into<String>,
        identity: impl Into<String>,
    ) -> LeaseConfig {
        LeaseConfig {
            name: name.into(),
            namespace: namespace.into(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// Competes for the Lease and says whether this replica holds it.
pub struct LeaderElector {
    api: Api<Lease>,
    cfg: LeaseConfig,
    leading: watch::Sender<bool>,
    /// When the Lease was last written by us (acquired or renewed).
    last_renew: Mutex<Option<Timestamp>>,
}

impl LeaderElector {
    /// An elector for `cfg.name` in `cfg.namespace`; it does nothing until driven.
    pub fn new(client: Client, cfg: LeaseConfig) -> LeaderElector {
        LeaderElector {
            api: Api::namespaced(client, &cfg.namespace),
            cfg,
            leading: watch::channel(false).0,
            last_renew: Mutex::new(None),
        }
    }

    /// True while this replica holds the Lease.
    pub fn is_leader(&self) -> bool {
        *self.leading.borrow()
    }

    /// Follows leadership changes.
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.leading.subscribe()
    }

    /// The configuration.
    pub fn config(&self) -> &LeaseConfig {
        &self.cfg
    }

    /// One round at time `now`: create the Lease if there is none, renew it if we hold
    /// it, take it if its holder let it lapse. Returns whether we lead afterwards. A lost
    /// race (409) is not an error: someone else leads.
    pub async fn try_acquire_or_renew(&self, now: Timestamp) -> Result<bool, KubeError> {
        let c = &self.cfg;
        let what = format!("Lease {}/{}", c.namespace, c.name);
        let current = self
            .api
            .get_opt(&c.name)
            .await
            .map_err(KubeError::api(format!("read {what}")))?;
        let leads = match current {
            None => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(c.name.clone()),
                        namespace: Some(c.namespace.clone()),
                        ..ObjectMeta::default()
                    },
                    spec: Some(self.held_spec(now, now, 0)),
                };
                match self.api.create(&PostParams::default(), &lease).await {
                    Ok(_) => true,
                    Err(e) if KubeError::is_conflict(&e) => false,
                    Err(e) => return Err(KubeError::api(format!("create {what}"))(e)),
                }
            }
            Some(mut lease) => {
                let spec = lease.spec.clone().unwrap_or_default();
                let holder = spec.holder_identity.as_deref().unwrap_or_default();
                let transitions = spec.lease_transitions.unwrap_or(0);
                if holder == c.identity {
                    let acquired = spec.acquire_time.map_or(now, |t| t.0);
                    lease.spec = Some(self.held_spec(acquired, now, transitions));
                } else if holder.is_empty() || lapsed(&spec, now) {
                    lease.spec = Some(self.held_spec(now, now, transitions + 1));
                } else {
                    self.set_leading(false);
                    return Ok(false);
                }
                match self
                    .api
                    .replace(&c.name, &PostParams::default(), &lease)
                    .await
                {
                    Ok(_) => true,
                    Err(e) if KubeError::is_conflict(&e) => false,
                    Err(e) => return Err(KubeError::api(format!("update {what}"))(e)),
                }
            }
        };
        if leads {
            *self.last_renew.lock().unwrap_or_else(|p| p.into_inner()) = Some(now);
        }
        self.set_leading(leads);
        Ok(leads)
    }

    /// Competes until `stop` resolves, then hands the Lease back if it holds it, so the
    /// next replica need not wait out the lease duration.
    pub async fn run(&self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let now = Timestamp::now();
            if let Err(e) = self.try_acquire_or_renew(now).await {
                tracing::warn!(error = %faultline_agent::agent::error_chain(&e), "leader election round failed");
                if self.is_leader() && self.renew_overdue(now) {
                    tracing::warn!(lease = %self.cfg.name, "could not renew the Lease within the renew deadline; stepping down");
                    self.set_leading(false);
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(self.cfg.retry_period) => {}
                _ = &mut stop => break,
            }
        }
        if self.is_leader()
            && let Err(e) = self.release(Timestamp::now()).await
        {
            tracing::warn!(error = %faultline_agent::agent::error_chain(&e), "could not release the Lease; the next leader waits for it to lapse");
        }
    }

    /// Gives the Lease up (holder cleared, as client-go's `ReleaseOnCancel`), if held.
    pub async fn release(&self, now: Timestamp) -> Result<(), KubeError> {
        let c = &self.cfg;
        let what = format!("Lease {}/{}", c.namespace, c.name);
        let Some(mut lease) = self
            .api
            .get_opt(&c.name)
            .await
            .map_err(KubeError::api(format!("read {what}")))?
        else {
            self.set_leading(false);
            return Ok(());
        };
        let mut spec = lease.spec.clone().unwrap_or_default();
        if spec.holder_identity.as_deref() == Some(c.identity.as_str()) {
            spec.holder_identity = None;
            spec.lease_duration_seconds = Some(1);
            spec.renew_time = Some(MicroTime(now));
            lease.spec = Some(spec);
            self.api
                .replace(&c.name, &PostParams::default(), &lease)
                .await
                .map_err(KubeError::api(format!("release {what}")))?;
        }
        self.set_leading(false);
        Ok(())
    }

    fn held_spec(&self, acquired: Timestamp, now: Timestamp, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.cfg.identity.clone()),
            lease_duration_seconds: Some(secs_i32(self.cfg.lease_duration)),
            acquire_time: Some(MicroTime(acquired)),
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    fn renew_overdue(&self, now: Timestamp) -> bool {
        let last = *self.last_renew.lock().unwrap_or_else(|p| p.into_inner());
        last.is_none_or(|t| millis_between(t, now) > self.cfg.renew_deadline.as_millis() as i64)
    }

    fn set_leading(&self, leads: bool) {
        let changed = self.leading.send_if_modified(|cur| {
            let changed = *cur != leads;
            *cur = leads;
            changed
        });
        if changed {
            if leads {
                tracing::info!(lease = %self.cfg.name, identity = %self.cfg.identity, "this replica leads");
            } else {
                tracing::info!(lease = %self.cfg.name, identity = %self.cfg.identity, "this replica does not lead");
            }
        }
    }
}

/// True when the holder has not renewed within its lease duration (or never said when).
fn lapsed(spec: &LeaseSpec, now: Timestamp) -> bool {
    let (Some(renewed), Some(secs)) = (spec.renew_time.as_ref(), spec.lease_duration_seconds)
    else {
        return true;
    };
    millis_between(renewed.0, now) > i64::from(secs) * 1000
}

fn millis_between(a: Timestamp, b: Timestamp) -> i64 {
    b.as_millisecond() - a.as_millisecond()
}

fn secs_i32(d: Duration) -> i32 {
    i32::try_from(d.as_secs()).unwrap_or(i32::MAX).max(1)
}
