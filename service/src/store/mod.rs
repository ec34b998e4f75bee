//! Where runs and their events live: an embedded SQLite file by default (DESIGN §8).

mod sqlite;

pub use sqlite::{RunRow, Store, StoreError};
