//! The background sender: takes annotation operations without blocking the caller,
//! persists them in the [`Queue`], and sends them to Grafana in order, retrying with
//! exponential backoff while Grafana is unreachable or failing.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use prometheus::{IntCounterVec, IntGauge, Opts, Registry};
use tokio::sync::{mpsc, watch};

use super::client::{GrafanaClient, GrafanaError};
use super::pending::Pending;
use super::queue::{Op, Queue, QueueError};

/// Queue and retry settings.
#[derive(Debug, Clone)]
pub struct SenderConfig {
    /// Most operations kept waiting; past it the oldest is dropped (and counted).
    pub capacity: usize,
    /// First retry delay; doubled after each failure.
    pub backoff_min: Duration,
    /// Longest retry delay.
    pub backoff_max: Duration,
}

impl Default for SenderConfig {
    fn default() -> Self {
        SenderConfig {
            capacity: 10_000,
            backoff_min: Duration::from_millis(250),
            backoff_max: Duration::from_secs(60),
        }
    }
}

/// Errors starting the sender.
#[derive(Debug, thiserror::Error)]
pub enum SenderError {
    /// The persisted queue could not be opened.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The HTTP client could not be built.
    #[error(transparent)]
    Grafana(#[from] GrafanaError),
    /// A metric family could not be registered (a name already taken in the registry).
    #[error("failed to register the Grafana annotation metrics")]
    Metrics(#[source] prometheus::Error),
}

/// `faultline_grafana_*` families.
#[derive(Debug, Clone)]
struct SenderMetrics {
    requests: IntCounterVec,
    dropped: IntCounterVec,
    queued: IntGauge,
}

impl SenderMetrics {
    fn new() -> Result<Self, prometheus::Error> {
        let requests = IntCounterVec::new(
            Opts::new(
                "faultline_grafana_annotation_requests_total",
                "Requests to Grafana's annotation API, by operation (create, patch) and outcome (ok, retry, rejected).",
            ),
            &["op", "outcome"],
        )?;
        let dropped = IntCounterVec::new(
            Opts::new(
                "faultline_grafana_annotations_dropped_total",
                "Annotation operations given up, by reason: overflow (queue full, oldest dropped), rejected (Grafana refused it for good), orphaned (its annotation was never created).",
            ),
            &["reason"],
        )?;
        let queued = IntGauge::new(
            "faultline_grafana_annotation_queue_length",
            "Annotation operations waiting to be sent to Grafana.",
        )?;
        // Pre-create the series so a dashboard sees zeros, not "no data", before trouble.
        for op in ["create", "patch"] {
            for outcome in ["ok", "retry", "rejected"] {
                requests.with_label_values(&[op, outcome]);
            }
        }
        for reason in ["overflow", "rejected", "orphaned"] {
            dropped.with_label_values(&[reason]);
        }
        Ok(SenderMetrics {
            requests,
            dropped,
            queued,
        })
    }

    fn register(&self, registry: &Registry) -> Result<(), prometheus::Error> {
        registry.register(Box::new(self.requests.clone()))?;
        registry.register(Box::new(self.dropped.clone()))?;
        registry.register(Box::new(self.queued.clone()))
    }
}

/// A handle to the sender; cheap to clone. Dropping every handle lets the sender finish
/// what it can and stop (what it could not send stays in the file).
#[derive(Debug, Clone)]
pub struct Annotations {
    tx: mpsc::UnboundedSender<Op>,
    outstanding: Arc<watch::Sender<usize>>,
    metrics: SenderMetrics,
}

impl Annotations {
    /// Opens the queue at `queue_path` (sending whatever an earlier process left), and
    /// starts sending on the current tokio runtime. See [`Annotations::register_metrics`].
    pub fn start(
        client: GrafanaClient,
        queue_path: &Path,
        cfg: SenderConfig,
    ) -> Result<Annotations, SenderError> {
        let queue = Queue::open(queue_path, cfg.capacity)?;
        Annotations::start_with(client, Box::new(queue), cfg)
    }

    /// Like [`Annotations::start`], keeping the operations in `queue`: a queue several
    /// replicas share (the service's database) instead of this process's file.
    pub fn start_with(
        client: GrafanaClient,
        queue: Box<dyn Pending>,
        cfg: SenderConfig,
    ) -> Result<Annotations, SenderError> {
        let metrics = SenderMetrics::new().map_err(SenderError::Metrics)?;
        metrics
            .queued
            .set(i64::try_from(queue.len()).unwrap_or(i64::MAX));
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = queue.poll().is_some();
        // Outstanding counts what this process still has to send: with a shared queue,
        // what others left is theirs to flush, not ours.
        let outstanding = Arc::new(watch::Sender::new(if shared { 0 } else { queue.len() }));
        let worker = Worker {
            client,
            queue,
            shared,
            cfg,
            metrics: metrics.clone(),
            rx,
            outstanding: outstanding.clone(),
        };
        tokio::spawn(worker.run());
        Ok(Annotations {
            tx,
            outstanding,
            metrics,
        })
    }

    /// Registers the `faultline_grafana_*` families (requests by outcome, drops by
    /// reason, queue length) in the registry `/metrics` gathers.
    pub fn register_metrics(&self, registry: &Registry) -> Result<(), SenderError> {
        self.metrics
            .register(registry)
            .map_err(SenderError::Metrics)
    }

    /// Queues `op`. Never blocks and never fails the caller: if the sender is gone the
    /// operation is logged and lost.
    pub fn push(&self, op: Op) {
        self.outstanding.send_modify(|n| *n += 1);
        if self.tx.send(op).is_err() {
            self.outstanding.send_modify(|n| *n = n.saturating_sub(1));
            tracing::warn!("the Grafana annotation sender has stopped; an annotation is lost");
        }
    }

    /// Operations not yet sent or given up.
    pub fn outstanding(&self) -> usize {
        *self.outstanding.borrow()
    }

    /// Waits until everything queued so far is sent or given up, or `timeout` passes;
    /// returns what is still outstanding (it stays persisted for the next process).
    pub async fn flush(&self, timeout: Duration) -> usize {
        let mut rx = self.outstanding.subscribe();
        let _ = tokio::time::timeout(timeout, rx.wait_for(|n| *n == 0)).await;
        self.outstanding()
    }
}

struct Worker {
    client: GrafanaClient,
    queue: Box<dyn Pending>,
    /// Other processes fill and drain the queue too (see [`Pending::poll`]).
    shared: bool,
    cfg: SenderConfig,
    metrics: SenderMetrics,
    rx: mpsc::UnboundedReceiver<Op>,
    outstanding: Arc<watch::Sender<usize>>,
}

/// What happened to the operation at the front of the queue.
enum Attempt {
    Sent(Option<(String, i64)>),
    GiveUp(&'static str),
    Retry,
}

impl Worker {
    async fn run(mut self) {
        let mut backoff = self.cfg.backoff_min;
        let mut open = true;
        loop {
            while let Ok(op) = self.rx.try_recv() {
                self.enqueue(op);
            }
            let op = match self.queue.next() {
                Ok(op) => op,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the Grafana annotation queue; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(self.cfg.backoff_max);
                    continue;
                }
            };
            let Some(op) = op else {
                if !open {
                    return;
                }
                // A shared queue also holds what other replicas queued (or left when
                // they died): look again every poll period.
                let poll = self.queue.poll();
                tokio::select! {
                    got = self.rx.recv() => match got {
                        Some(op) => self.enqueue(op),
                        None => return,
                    },
                    _ = tokio::time::sleep(poll.unwrap_or_default()), if poll.is_some() => {}
                }
                continue;
            };
            match self.attempt(&op).await {
                Attempt::Sent(learnt) => {
                    backoff = self.cfg.backoff_min;
                    self.settle(learnt);
                }
                Attempt::GiveUp(reason) => {
                    self.metrics.dropped.with_label_values(&[reason]).inc();
                    self.settle(None);
                }
                Attempt::Retry => {
                    // New operations keep arriving in the channel meanwhile; they join
                    // the persisted queue at the top of the loop.
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        op = self.rx.recv(), if open => match op {
                            Some(op) => self.enqueue(op),
                            None => open = false,
                        },
                    }
                    backoff = (backoff * 2).min(self.cfg.backoff_max);
                }
            }
        }
    }

    fn enqueue(&mut self, op: Op) {
        match self.queue.push(op) {
            Ok(dropped) => {
                if self.shared {
                    // Durable in the shared queue: any replica may send it now.
                    self.outstanding.send_modify(|n| *n = n.saturating_sub(1));
                }
                if dropped > 0 {
                    self.metrics
                        .dropped
                        .with_label_values(&["overflow"])
                        .inc_by(dropped as u64);
                    self.outstanding
                        .send_modify(|n| *n = n.saturating_sub(dropped));
                    tracing::warn!(
                        capacity = self.cfg.capacity,
                        "Grafana annotation queue full; dropped the oldest"
                    );
                }
            }
            Err(e) => {
                self.outstanding.send_modify(|n| *n = n.saturating_sub(1));
                tracing::error!(error = %e, "an annotation could not be queued and is lost");
            }
        }
        self.metrics
            .queued
            .set(i64::try_from(self.queue.len()).unwrap_or(i64::MAX));
    }

    fn settle(&mut self, learnt: Option<(String, i64)>) {
        if let Err(e) = self.queue.complete(learnt) {
            // The operation stays in memory's front; without a durable "done" it would be
            // sent again after a restart, which is the lesser harm. Stop re-trying it now.
            tracing::error!(error = %e, "could not record a sent annotation");
        }
        if !self.shared {
            self.outstanding.send_modify(|n| *n = n.saturating_sub(1));
        }
        self.metrics
            .queued
            .set(i64::try_from(self.queue.len()).unwrap_or(i64::MAX));
    }

    async fn attempt(&self, op: &Op) -> Attempt {
        let (name, result) = match op {
            Op::Forget { .. } => return Attempt::Sent(None),
            Op::Create { key, annotation } => (
                "create",
                self.client
                    .create(annotation)
                    .await
                    .map(|id| Some((key.clone(), id))),
            ),
            Op::Patch { key, patch } => {
                let id = match self.queue.id(key) {
                    Ok(id) => id,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read an annotation's Grafana id; retrying");
                        return Attempt::Retry;
                    }
                };
                let Some(id) = id else {
                    tracing::warn!(%key, "no Grafana annotation to patch (its create was dropped or rejected)");
                    return Attempt::GiveUp("orphaned");
                };
                ("patch", self.client.patch(id, patch).await.map(|_| None))
            }
        };
        match result {
            Ok(learnt) => {
                self.metrics.requests.with_label_values(&[name, "ok"]).inc();
                Attempt::Sent(learnt)
            }
            Err(e) if e.retryable() => {
                self.metrics
                    .requests
                    .with_label_values(&[name, "retry"])
                    .inc();
                tracing::warn!(error = %e, "Grafana annotation not sent; will retry");
                Attempt::Retry
            }
            Err(e) => {
                self.metrics
                    .requests
                    .with_label_values(&[name, "rejected"])
                    .inc();
                tracing::error!(error = %e, "Grafana rejected an annotation; giving it up");
                Attempt::GiveUp("rejected")
            }
        }
    }
}
