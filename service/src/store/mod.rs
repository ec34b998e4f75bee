//! Where runs and their events live: an embedded SQLite file by default (DESIGN §8), with
//! the experiment catalog, webhook deliveries and the notification outbox beside them.
//! [`Store`] implements the application's store ports (`ports.rs`); [`PgStore`]
//! (`postgres/`) implements the same ports on PostgreSQL, for several replicas.

mod active;
mod audit;
mod catalog;
mod deliveries;
mod delivery_log;
mod logins;
mod outbox;
mod ports;
pub mod postgres;
mod schema;
mod sessions;
mod spent_tokens;
mod sql;
mod sqlite;
mod trends;

pub use postgres::{PgSettings, PgStore};
pub use sqlite::Store;
