//! `repeat:`: the child step started at each time of a schedule until the step's bound
//! (its `deadline`, an enclosing group's, or else `guard.maxDuration`), the way Chaos
//! Mesh's Workflow `Schedule` node spawns its chaos until the node's deadline.
//!
//! Instances are futures kept in one `FuturesUnordered` and polled beside the timer; none
//! is ever dropped. Each gets the repeat's bound as its `until`, so at the bound every
//! instance still holding a fault recovers it (the lifecycle's rule), and the step ends
//! when the last instance has. `Forbid` skips a time while an instance runs; `Allow`
//! starts another beside it.

use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use tokio::time::Instant;

use faultline_spec::{ConcurrencyPolicy, Repeat};

use super::lifecycle::{bounded, earliest};
use super::machine::Runner;
use super::stop::Stop;
use crate::application::engine::plan::label as step_label;
use crate::domain::RunEvent;

type Instances<'s> = FuturesUnordered<BoxFuture<'s, Result<(), Stop>>>;

impl Runner {
    /// Runs `r` until `outer` (the enclosing groups' deadline) at the latest.
    pub(super) async fn exec_repeat(
        &self,
        r: &Repeat,
        label: String,
        outer: Option<Instant>,
    ) -> Result<(), Stop> {
        let own = r.deadline.map(|d| Instant::now() + d.std());
        let until = match earliest(own, outer) {
            Some(u) => u,
            None => {
                Instant::now()
                    + self.at_most_max_duration(
                        &label,
                        "repeat has no deadline; it repeats until the run is aborted",
                    )?
            }
        };
        self.enter_observing(&label)?;
        let child = step_label(&r.step, 0);
        let mut running: Instances<'_> = FuturesUnordered::new();
        let (mut started, mut skipped) = (0u32, 0u32);
        let mut failed = None;
        let mut after = Utc::now();
        while let Some(tick) = r.schedule.next_after(after) {
            let at = instant_of(tick);
            if at >= until {
                break;
            }
            if let Err(e) = self.wait_driving(at, &mut running, &mut failed).await {
                failed.get_or_insert(e);
            }
            if failed.is_some() {
                break;
            }
            after = tick;
            if r.concurrency == ConcurrencyPolicy::Forbid && !running.is_empty() {
                skipped += 1;
                self.record(RunEvent::Note {
                    message: format!(
                        "step {label}: time {} skipped: instance {started} still runs (concurrencyPolicy Forbid)",
                        tick.format("%H:%M:%S")
                    ),
                })?;
                continue;
            }
            started += 1;
            running.push(self.exec_step(
                &r.step,
                format!("{label}[{started}].{child}"),
                Some(until),
            ));
        }
        // Every instance ends by `until` on its own (recovering what it holds): wait for
        // them, then for the bound, as the workflow node lasts until its deadline.
        while let Some(res) = running.next().await {
            if let Err(e) = res {
                failed.get_or_insert(e);
            }
        }
        if failed.is_none()
            && let Err(e) = self
                .wait(bounded(std::time::Duration::MAX, Some(until)))
                .await
        {
            failed = Some(e);
        }
        self.record(RunEvent::Note {
            message: format!(
                "step {label}: repeat ({}, concurrencyPolicy {}) ran {started} instance(s) and skipped {skipped} time(s)",
                r.schedule.as_str(),
                r.concurrency.as_str()
            ),
        })?;
        failed.map_or(Ok(()), Err)
    }

    /// Waits until `at` (or an abort), polling the running instances meanwhile; the first
    /// instance to fail is kept in `failed` and ends the wait.
    async fn wait_driving<'s>(
        &'s self,
        at: Instant,
        running: &mut Instances<'s>,
        failed: &mut Option<Stop>,
    ) -> Result<(), Stop> {
        loop {
            let left = at.saturating_duration_since(Instant::now());
            if running.is_empty() {
                return self.wait(left).await;
            }
            tokio::select! {
                r = self.wait(left) => return r,
                Some(res) = running.next() => {
                    if let Err(e) = res {
                        failed.get_or_insert(e);
                        return Ok(());
                    }
                }
            }
        }
    }
}

/// The monotonic instant of wall-clock time `t` (now, if it has passed).
fn instant_of(t: DateTime<Utc>) -> Instant {
    Instant::now() + (t - Utc::now()).to_std().unwrap_or_default()
}
