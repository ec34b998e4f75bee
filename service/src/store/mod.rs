//! Where runs and their events live: an embedded SQLite file by default (DESIGN §8), with
//! the experiment catalog, webhook deliveries and the notification outbox beside them.
//! [`Store`] implements the application's store ports (`ports.rs`).

mod active;
mod audit;
mod catalog;
mod deliveries;
mod delivery_log;
mod outbox;
mod ports;
mod schema;
mod sql;
mod sqlite;

pub use sqlite::Store;
