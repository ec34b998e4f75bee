//! Where runs and their events live: an embedded SQLite file by default (DESIGN §8).

mod outbox;
mod sqlite;

pub use outbox::{NewNotification, NotificationRow, NotificationStatus};
pub use sqlite::{RunRow, Store, StoreError};
