//! The store's side of webhook deliveries: each request is queued for the delivery
//! writer (`deliveries`) when it is made, and its future is the writer's answer.

use std::future::Future;

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use super::deliveries::{Job, stopped};
use super::sqlite::Store;
use crate::application::ports::{Delivery, StoreError};

impl Store {
    /// Records delivery `uuid` as being handled. Resolves to the earlier delivery if
    /// `uuid` was seen before (the caller answers as it did then and acts on nothing).
    ///
    /// The request is queued when this is called, not when the future is first polled.
    pub fn claim_delivery(
        &self,
        uuid: &str,
        event: &str,
    ) -> impl Future<Output = Result<Option<Delivery>, StoreError>> + use<> {
        let (reply, rx) = oneshot::channel();
        let job = Job::Claim {
            uuid: uuid.to_string(),
            event: event.to_string(),
            at: Utc::now(),
            reply,
        };
        self.ask(job, rx)
    }

    /// Stores the answer given to delivery `uuid`, for its duplicates (queued at once,
    /// as [`Store::claim_delivery`]).
    pub fn finish_delivery(
        &self,
        uuid: &str,
        response: String,
    ) -> impl Future<Output = Result<(), StoreError>> + use<> {
        let (reply, rx) = oneshot::channel();
        let job = Job::Finish {
            uuid: uuid.to_string(),
            response,
            reply,
        };
        self.ask(job, rx)
    }

    /// Deletes deliveries first received before `before`, the oldest first and at most
    /// [`PRUNE_AT_MOST`](crate::application::ports::PRUNE_AT_MOST) of them; resolves to
    /// how many. A resend of a deleted one is a new delivery again.
    pub fn prune_deliveries(
        &self,
        before: DateTime<Utc>,
    ) -> impl Future<Output = Result<usize, StoreError>> + use<> {
        let (reply, rx) = oneshot::channel();
        self.ask(Job::Prune { before, reply }, rx)
    }

    /// Queues `job` now; the future is its answer, `rx`.
    fn ask<T>(
        &self,
        job: Job,
        rx: oneshot::Receiver<Result<T, StoreError>>,
    ) -> impl Future<Output = Result<T, StoreError>> + use<T> {
        let queued = self.deliveries.submit(job);
        async move {
            queued?;
            rx.await
                .unwrap_or_else(|_| Err(stopped("it dropped the request")))
        }
    }

    /// Delivery transactions committed so far (each holds one or more requests).
    pub fn delivery_commits(&self) -> u64 {
        self.deliveries.commits()
    }
}
