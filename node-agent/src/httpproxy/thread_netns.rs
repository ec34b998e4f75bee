//! Which network namespace the current thread entered for a proxy, if any: written by the
//! proxy's own thread (`runtime.rs`) once at start, read by the dialer (`sockets.rs`) to
//! make upstream sockets in place. A leaf of its own, so neither of the two imports the
//! other.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

thread_local! {
    /// The namespace this thread entered for a proxy, if it is a proxy's thread.
    static ENTERED: RefCell<Option<PathBuf>> = const { RefCell::new(None) };
}

/// Records that the current thread is a proxy thread inside the namespace at `netns`.
pub fn mark_entered(netns: PathBuf) {
    ENTERED.with(|e| *e.borrow_mut() = Some(netns));
}

/// Whether the current thread is a proxy thread that entered the namespace at `netns`.
pub fn entered(netns: &Path) -> bool {
    ENTERED.with(|e| e.borrow().as_deref() == Some(netns))
}
