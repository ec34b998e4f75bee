//! The Grafana annotation sender's queue when replicas share a PostgreSQL store: the
//! exporter's sender works through [`Pending`], and this implements it over the store's
//! `AnnotationQueue` port, so every replica's sender draws from one queue and each
//! operation is sent by one of them (docs/architecture.md, "The store").

use std::sync::Arc;
use std::time::Duration;

use faultline_exporter::grafana::{Op, Pending, QueueError};

use crate::application::ports::{AnnotationQueue, ClaimedAnnotation, StoreError};

/// How long a claimed operation stays hidden from the other replicas without a renewal:
/// the time a dead replica's claimed annotation waits before another sends it.
const HOLD: Duration = Duration::from_secs(10);

/// How often a replica with nothing of its own to send looks for others' operations.
const POLL: Duration = Duration::from_millis(500);

/// The shared queue, as the exporter's sender sees it.
pub struct SharedQueue {
    store: Arc<dyn AnnotationQueue>,
    /// The operation this replica claimed and has not completed.
    held: Option<(ClaimedAnnotation, Op)>,
}

impl SharedQueue {
    /// The queue kept in `store`.
    pub fn new(store: Arc<dyn AnnotationQueue>) -> SharedQueue {
        SharedQueue { store, held: None }
    }
}

fn shared(step: &'static str) -> impl FnOnce(StoreError) -> QueueError {
    move |e| QueueError::Shared {
        step,
        source: Box::new(e),
    }
}

/// The run an operation belongs to: keys are `<run>/<what>`, a forget's prefix `<run>/`.
fn run_of(key: &str) -> &str {
    key.split('/').next().unwrap_or(key)
}

fn key_of(op: &Op) -> &str {
    match op {
        Op::Create { key, .. } | Op::Patch { key, .. } => key,
        Op::Forget { prefix } => prefix,
    }
}

impl Pending for SharedQueue {
    fn push(&mut self, op: Op) -> Result<usize, QueueError> {
        let json = serde_json::to_string(&op).unwrap_or_default();
        let key = key_of(&op);
        self.store
            .push_annotation(run_of(key), key, &json)
            .map_err(shared("append to"))?;
        Ok(0)
    }

    fn next(&mut self) -> Result<Option<Op>, QueueError> {
        if let Some((claimed, op)) = &self.held {
            // A retry of the operation we hold: keep the others off it meanwhile.
            if self
                .store
                .hold_annotation(claimed.seq, HOLD)
                .map_err(shared("renew a claim in"))?
            {
                return Ok(Some(op.clone()));
            }
            // Paused past the hold: another replica has it now.
            self.held = None;
        }
        loop {
            let Some(claimed) = self
                .store
                .claim_annotation(HOLD)
                .map_err(shared("claim from"))?
            else {
                return Ok(None);
            };
            match serde_json::from_str::<Op>(&claimed.op) {
                Ok(op) => {
                    self.held = Some((claimed, op.clone()));
                    return Ok(Some(op));
                }
                Err(e) => {
                    // Written by a newer faultline: skip it rather than block its run.
                    tracing::error!(seq = claimed.seq, error = %e, "unreadable annotation operation in the shared queue; dropped");
                    self.store
                        .annotation_done(claimed.seq, None)
                        .map_err(shared("drop from"))?;
                }
            }
        }
    }

    fn id(&self, key: &str) -> Result<Option<i64>, QueueError> {
        self.store
            .annotation_id(key)
            .map_err(shared("read an id from"))
    }

    fn complete(&mut self, learnt: Option<(String, i64)>) -> Result<(), QueueError> {
        // Let go first: should the write fail, the claim lapses and another replica sends
        // the operation again, rather than this one retrying it forever.
        let Some((claimed, op)) = self.held.take() else {
            return Ok(());
        };
        match &op {
            Op::Forget { prefix } => self
                .store
                .annotations_forget(claimed.seq, run_of(prefix))
                .map_err(shared("forget a run in")),
            _ => self
                .store
                .annotation_done(claimed.seq, learnt.map(|(_, id)| id))
                .map_err(shared("complete an operation in")),
        }
    }

    fn len(&self) -> usize {
        self.store
            .annotations_waiting()
            .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn poll(&self) -> Option<Duration> {
        Some(POLL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_belong_to_the_run_their_key_names() {
        assert_eq!(run_of("r1/f1-0"), "r1");
        assert_eq!(run_of("r1/"), "r1");
        assert_eq!(run_of("r1/verdict"), "r1");
    }
}
