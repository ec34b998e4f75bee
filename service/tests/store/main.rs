//! The store: its ports' behaviour on SQLite and on a real PostgreSQL 15 (one test body
//! per behaviour, run against both), what only several replicas on one database have
//! (leases, fencing, adoption, work claimed once), and `faultline serve` replicas sharing
//! a database.

mod annotation_queue;
mod gitlab;
mod grafana_queue;
mod pg_tls;
mod ports;
mod postgres_only;
mod remote_abort;
mod replicas;
mod run_filters;
mod sessions;
mod spent_tokens;
#[path = "../support/mod.rs"]
mod support;

use faultline_test_support::peers::{Postgres, start_postgres};

/// A fresh database on a cluster started for this test, or `None` (skipped, said why).
fn database(name: &str) -> Option<(Postgres, String)> {
    let pg = start_postgres()?;
    let url = pg.create_database(name);
    Some((pg, url))
}
