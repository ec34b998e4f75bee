//! The webhook delivery log: a delivery that would start runs is recorded before anything
//! starts, so one GitLab resends is answered, not run twice.

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use super::store_error::StoreError;

/// A webhook delivery seen before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The event header value.
    pub event: String,
    /// When it first arrived.
    pub received_at: DateTime<Utc>,
    /// The JSON answer given the first time; empty while that first request is still
    /// being handled (or if the process died handling it).
    pub response: String,
}

/// The most deliveries one prune deletes. Each is a random page of the uuid index, so a
/// large prune is as slow as a large batch of claims; a backlog (a first start after a
/// long time, a lowered retention) goes in several.
pub const PRUNE_AT_MOST: usize = 1000;

/// Where webhook deliveries are recorded. Each call queues its request when it is made,
/// not when the future is first polled (the store commits them in arrival order).
pub trait DeliveryLog: Send + Sync {
    /// Records delivery `uuid` as being handled. Resolves to the earlier delivery if
    /// `uuid` was seen before (the caller answers as it did then and acts on nothing).
    fn claim_delivery(
        &self,
        uuid: &str,
        event: &str,
    ) -> BoxFuture<'static, Result<Option<Delivery>, StoreError>>;

    /// Stores the answer given to delivery `uuid`, for its duplicates.
    fn finish_delivery(
        &self,
        uuid: &str,
        response: String,
    ) -> BoxFuture<'static, Result<(), StoreError>>;

    /// Deletes deliveries first received before `before`, the oldest first and at most
    /// [`PRUNE_AT_MOST`] of them; resolves to how many.
    fn prune_deliveries(
        &self,
        before: DateTime<Utc>,
    ) -> BoxFuture<'static, Result<usize, StoreError>>;
}
