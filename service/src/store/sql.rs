//! What every table's code shares: connection settings, SQLite errors as store errors
//! named for the operation, and stored times read back.

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use crate::application::ports::StoreError;

/// Settings every connection to the store gets (the store's own and the delivery
/// writer's). WAL + FULL: every committed write survives a power cut, readers never block
/// the engine's writes.
pub(super) fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(sql("set journal_mode"))?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(sql("set synchronous"))?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(sql("set foreign_keys"))
}

pub(super) fn sql(op: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| StoreError::Database {
        op,
        source: Box::new(source),
    }
}

pub(super) fn corrupt<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> StoreError {
    move |detail| StoreError::Corrupt {
        run: String::new(),
        what,
        detail: detail.to_string(),
    }
}

/// A stored time that is not RFC 3339 (the detail of a `StoreError::Corrupt`).
#[derive(Debug, thiserror::Error)]
#[error("{text}: {error}")]
pub(super) struct BadTime {
    text: String,
    error: chrono::ParseError,
}

pub(super) fn parse_time(s: &str) -> Result<DateTime<Utc>, BadTime> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|error| BadTime {
            text: s.to_string(),
            error,
        })
}
