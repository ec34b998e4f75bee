//! Where the sender keeps the operations waiting for Grafana. One process keeps them in
//! its own journal file ([`Queue`]); replicas sharing a database keep them there (the
//! service implements [`Pending`] over its store), so an annotation a replica queued is
//! sent by another when it dies, and by exactly one of them.

use std::time::Duration;

use super::queue::{Op, Queue, QueueError};

/// The operations waiting for Grafana, as the sender uses them: in order, one at a time.
pub trait Pending: Send + Sync {
    /// Appends `op`, durable on return; returns how many of the oldest operations were
    /// dropped to stay within capacity.
    fn push(&mut self, op: Op) -> Result<usize, QueueError>;

    /// The operation to send now: the same one until [`Pending::complete`] is called.
    /// A shared queue hands each operation to one process (claimed, and taken back if
    /// that process dies), and only once the operations before it of the same run are
    /// done, so a patch never overtakes its create.
    fn next(&mut self) -> Result<Option<Op>, QueueError>;

    /// Grafana's id for `key`, once its create succeeded.
    fn id(&self, key: &str) -> Result<Option<i64>, QueueError>;

    /// The operation from [`Pending::next`] was sent (`learnt` = Grafana's id for its key)
    /// or given up; applies a `Forget`.
    fn complete(&mut self, learnt: Option<(String, i64)>) -> Result<(), QueueError>;

    /// Operations waiting (for the queue-length gauge).
    fn len(&self) -> usize;

    /// Whether nothing is waiting.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// For a queue other processes also fill: how often to look for their operations
    /// when none of ours are waiting. `None` for a queue only this process fills.
    fn poll(&self) -> Option<Duration> {
        None
    }
}

impl Pending for Queue {
    fn push(&mut self, op: Op) -> Result<usize, QueueError> {
        Queue::push(self, op)
    }

    fn next(&mut self) -> Result<Option<Op>, QueueError> {
        Ok(self.front().cloned())
    }

    fn id(&self, key: &str) -> Result<Option<i64>, QueueError> {
        Ok(Queue::id(self, key))
    }

    fn complete(&mut self, learnt: Option<(String, i64)>) -> Result<(), QueueError> {
        self.complete_front(learnt)
    }

    fn len(&self) -> usize {
        Queue::len(self)
    }
}
