//! The agent's journal: an append-only JSON-lines file under the state dir, fsync'd, that
//! says which faults may still be applied. It is written *before* the kernel is touched,
//! so after a crash (or `kill -9`) the next start knows exactly what to undo. Instant faults
//! (kills) are not journaled: there is nothing to undo.
//!
//! One line per entry:
//! - `{"op":"applying","group":"<request id>","record":{FaultRecord}}` before apply;
//! - `{"op":"recovered","id":"<record id>"}` after recovery (or after an instant fault);
//! - `{"op":"renewed","id":"<record id>","leaseUntil":"<RFC 3339>"}` when a lease is renewed.
//!
//! Replaying the lines in order gives the records still applied. A line that does not
//! parse (a crash mid-write, a disk error) is reported with its line number and skipped:
//! it never stops the recovery of the rest. Whenever the file has grown well past what is
//! active, it is compacted: the active records are written to a temp file, fsync'd and
//! renamed over the journal. On open that is done only when it is needed (a damaged or cut
//! last line, a missing file, a long one), not at every start.
//!
//! A `lock` file held with `flock` keeps two agents (or an agent and `faultline run`) from
//! journaling into the same directory at once.
//!
//! One file per step: `format` (the lines), `lock`, `replay`, `compact`, and `writer`
//! ([`Journal`], which uses them all).

mod compact;
mod error;
mod format;
mod lock;
mod replay;
mod writer;

pub use error::JournalError;
pub use format::{Active, JOURNAL_FILE};
pub use lock::LOCK_FILE;
pub use writer::Journal;
