//! The PostgreSQL store: the same ports as the SQLite one, shared by several `serve`
//! replicas. The ports are synchronous (the SQLite store answers from a local file in
//! microseconds, and the application calls them from both threads and tasks), so this
//! adapter runs its own small tokio runtime with a connection pool, and each port call
//! hands its query to it and waits for the answer: a caller on another runtime never
//! blocks that runtime's reactor on the database's, and no call site changed.
//!
//! What the replicas share, and how (docs/architecture.md, "The store"):
//! - runs are leased by the replica that drives them (`lease.rs`): a heartbeat every
//!   third of the TTL, a generation number bumped on each adoption, and every write to a
//!   run fenced by owner and generation (`append.rs`);
//! - notifications are claimed with `FOR UPDATE SKIP LOCKED` (`queue.rs`), webhook
//!   deliveries by their unique uuid, schedules by a chore lease;
//! - an abort asked of any replica is a row the run's driver takes (`abort.rs`);
//! - a CI ID token's `jti` is spent once for all replicas (`spent_tokens.rs`);
//! - people's sign-in sessions, and sign-ins in flight, are known to every replica
//!   (`sessions.rs`, `logins.rs`);
//! - Grafana annotations wait in one queue, each sent by one replica (`annotations.rs`);
//! - the migrations run once, under an advisory lock (`schema.rs`);
//! - each event batch is announced with NOTIFY, and live views on every replica wake on
//!   it (`listen.rs`);
//! - the database is reached over TLS as the URL's libpq keys ask (`tls.rs`).

mod abort;
mod annotations;
mod append;
mod audit;
mod cached;
mod catalog;
mod connect;
mod lease;
mod listen;
mod logins;
mod open;
mod queue;
mod runs;
mod schema;
mod sessions;
mod spent_tokens;
mod tls;
mod trends;

pub use connect::{PgSettings, PgStore};
pub use schema::SCHEMA_VERSION;
pub use tls::{PgTls, PgTlsError, SslMode};
