//! The catalog store (experiments kept by name, for webhooks, schedules and the API) and
//! the emergency stop, which must outlive a restart or a crash would re-open the gate an
//! operator closed.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::store_error::StoreError;

/// An experiment in the catalog: its document as submitted (it may hold `{{ gitlab.* }}`
/// template values, filled in per trigger).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExperimentRow {
    /// `metadata.name`.
    pub name: String,
    /// The YAML or JSON document.
    pub text: String,
    /// `api`, or the file it was loaded from.
    pub source: String,
    /// When it was last written.
    pub updated_at: DateTime<Utc>,
}

/// The emergency stop, while it is engaged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Halt {
    /// Why.
    pub reason: String,
    /// Who engaged it (the token's role and name, or `cli`).
    pub actor: String,
    /// Since when.
    pub at: DateTime<Utc>,
}

/// Where catalog experiments are kept.
pub trait CatalogStore: Send + Sync {
    /// Writes experiment `name` (replacing it); returns true if it is new.
    fn put_experiment(&self, name: &str, text: &str, source: &str) -> Result<bool, StoreError>;

    /// Experiment `name`, if stored.
    fn experiment(&self, name: &str) -> Result<Option<ExperimentRow>, StoreError>;

    /// Every stored experiment, by name.
    fn list_experiments(&self) -> Result<Vec<ExperimentRow>, StoreError>;

    /// Every stored experiment's name, sorted.
    fn experiment_names(&self) -> Result<Vec<String>, StoreError>;

    /// Deletes experiment `name`; true if it existed.
    fn delete_experiment(&self, name: &str) -> Result<bool, StoreError>;
}

/// Where the emergency stop is kept.
pub trait HaltStore: Send + Sync {
    /// Engages the emergency stop (keeping the first reason if it already is).
    fn halt(&self, reason: &str, actor: &str) -> Result<Halt, StoreError>;

    /// Releases the emergency stop; returns what was engaged, if anything.
    fn release_halt(&self) -> Result<Option<Halt>, StoreError>;

    /// The emergency stop, if engaged.
    fn halted(&self) -> Result<Option<Halt>, StoreError>;
}
