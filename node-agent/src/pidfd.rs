//! Waiting for a process to exit without polling `/proc`: a pidfd (Linux 5.3) turns
//! readable the moment its process exits, and tokio's reactor wakes the waiter then.
//! Polling every millisecond cost each SIGKILL a `faultline run` made 1-3 ms (tokio's
//! timer rounds a sleep up to its next whole millisecond; P7).
//!
//! A pidfd is registered with the reactor through `AsyncFd::register_with_interest`,
//! which is `unsafe` (the one other `unsafe` in this crate is in `netns`).
#![allow(unsafe_code)] // registering the pidfd with tokio's reactor, see `PidFd::open`

use std::io;
use std::os::fd::OwnedFd;
use std::time::Duration;

use rustix::process::{Pid, PidfdFlags, pidfd_open};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// A pidfd of one process, registered with the current tokio runtime's reactor.
pub struct PidFd(AsyncFd<OwnedFd>);

impl PidFd {
    /// A pidfd of the process now holding `pid`; `Ok(None)` if no process does. It names
    /// whichever process holds the PID at this moment: a caller that knows its process by
    /// PID and start time checks afterwards that the PID is still that process's.
    /// Must be called within a tokio runtime that has its I/O driver enabled.
    pub fn open(pid: u32) -> io::Result<Option<PidFd>> {
        let raw = i32::try_from(pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        let pid = Pid::from_raw(raw).ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        let fd = match pidfd_open(pid, PidfdFlags::empty()) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::SRCH) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        // SAFETY: the AsyncFd takes `fd` (an OwnedFd) and owns it until it is dropped, so
        // the descriptor stays open and names this pidfd for the registration's whole life.
        let registered = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) };
        registered
            .map(|fd| Some(PidFd(fd)))
            .map_err(io::Error::from)
    }

    /// Waits until the process has exited (a zombie counts) or `within` has passed; true
    /// if it exited.
    pub async fn exited_within(&self, within: Duration) -> bool {
        tokio::time::timeout(within, self.0.readable())
            .await
            .is_ok_and(|r| r.is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn it_wakes_when_its_process_exits_and_not_before() {
        let mut child = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        let fd = PidFd::open(child.id()).unwrap().expect("the child runs");
        assert!(
            !fd.exited_within(Duration::from_millis(50)).await,
            "readable while the process still runs"
        );
        child.kill().unwrap();
        assert!(
            fd.exited_within(Duration::from_secs(5)).await,
            "not readable after SIGKILL (exited as a zombie: nobody has reaped it yet)"
        );
        child.wait().unwrap();
    }

    #[tokio::test(flavor = "current_thread")]
    async fn no_process_is_none() {
        // PID_MAX_LIMIT is 2^22: no process has a PID above it.
        assert!(PidFd::open(4_194_305).unwrap().is_none());
    }
}
