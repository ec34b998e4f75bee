//! Where runs and their events live: an embedded SQLite file by default (DESIGN §8), with
//! the experiment catalog, webhook deliveries and the notification outbox beside them.

mod catalog;
mod deliveries;
mod migrate;
mod outbox;
mod sqlite;

pub use catalog::{ExperimentRow, Halt};
pub use deliveries::{Delivery, PRUNE_AT_MOST};
pub use outbox::{NewNotification, NotificationRow, NotificationStatus};
pub use sqlite::{RunFilter, Store, StoreError};
