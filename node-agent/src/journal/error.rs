//! The journal's error, and the `map_err` helper its I/O steps share.

use std::path::{Path, PathBuf};

use crate::faults::FaultId;

/// Why the journal could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// A file or directory operation failed.
    #[error("failed to {action} {path}")]
    Io {
        /// The step, e.g. "fsync".
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Another process holds the state dir's lock.
    #[error(
        "state dir {dir} is in use by another faultline agent or run ({holder}); \
         stop it or pick another --state-dir"
    )]
    Locked {
        /// The state dir.
        dir: PathBuf,
        /// What the lock file says about its holder (its pid), or "unknown".
        holder: String,
    },
    /// An entry could not be encoded (never expected: the types are plain data).
    #[error("failed to encode journal entry for {id}")]
    Encode {
        /// The record concerned.
        id: FaultId,
        /// The encoder's error.
        #[source]
        source: serde_json::Error,
    },
}

/// A `map_err` for an I/O step on `path`.
pub(super) fn io<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> JournalError + 'a {
    move |source| JournalError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}
