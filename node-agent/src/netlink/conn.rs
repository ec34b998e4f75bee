//! A route netlink connection bound to one network namespace.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rtnetlink::Handle;
use tokio::task::JoinHandle;

use super::link::{self, Link};
use super::qdisc::QdiscHandle;
use crate::error::FaultError;
use crate::netns;
use crate::target::NetnsId;

/// One route netlink socket inside a network namespace, driven by a tokio task that ends
/// when the last clone of this value is dropped.
#[derive(Debug, Clone)]
pub struct Netlink {
    handle: Handle,
    driver: Arc<Driver>,
    netns: PathBuf,
}

/// The task that drives the socket; aborted with the last [`Netlink`] clone.
#[derive(Debug)]
struct Driver(JoinHandle<()>);

impl Drop for Driver {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Connections kept between a fault's apply and its recover, by netns path, with the
/// namespace's (device, inode) so a path that now names another namespace never gets the
/// old socket. A kept socket keeps its namespace alive, so an entry lives only while the
/// fault is applied: [`Netlink::take_kept`] (recover) and [`Netlink::forget_kept`] (failed
/// apply) remove it.
static KEPT: Mutex<Vec<Kept>> = Mutex::new(Vec::new());

/// One kept connection: netns path, the namespace's (device, inode), the connection.
type Kept = (PathBuf, NetnsId, Netlink);

fn kept() -> std::sync::MutexGuard<'static, Vec<Kept>> {
    KEPT.lock().unwrap_or_else(|p| p.into_inner())
}

impl Netlink {
    /// Opens a connection inside the netns at `path` (`ip -n NAME` / `nsenter --net=PATH`).
    ///
    /// The socket is created on a short-lived thread that entered the namespace (see
    /// [`crate::netns`]); that costs one thread spawn, about 0.1 ms, on the caller's thread.
    /// Must be called within a tokio runtime.
    pub fn open(path: &Path) -> Result<Self, FaultError> {
        let rt = tokio::runtime::Handle::current();
        let made = netns::run_in(path, move || {
            // The socket registers with the runtime's reactor, not with this thread.
            let _in_runtime = rt.enter();
            rtnetlink::new_connection()
        })?;
        let (conn, handle, _) = made.map_err(|source| FaultError::Io {
            action: "open a netlink socket in network namespace",
            path: path.to_path_buf(),
            source,
        })?;
        let driver = Arc::new(Driver(tokio::spawn(conn)));
        Ok(Netlink {
            handle,
            driver,
            netns: path.to_path_buf(),
        })
    }

    /// The connection kept for `path` if it is still usable (same namespace, driver task
    /// alive: a runtime that shut down ends it), else a new one, which is kept. Saves
    /// recover the socket set-up that apply already paid for.
    pub fn open_kept(path: &Path) -> Result<Self, FaultError> {
        let id = netns::id(path)?;
        let mut kept = kept();
        kept.retain(|(_, _, nl)| !nl.driver.0.is_finished());
        if let Some((_, _, nl)) = kept.iter().find(|(p, i, _)| p == path && *i == id) {
            return Ok(nl.clone());
        }
        drop(kept);
        let nl = Self::open(path)?;
        let mut kept = self::kept();
        kept.retain(|(p, _, _)| p != path);
        kept.push((path.to_path_buf(), id, nl.clone()));
        Ok(nl)
    }

    /// Removes and returns the kept connection for `path` if it is still usable and in
    /// namespace `id` (the fault's, when known), else opens a new one that is not kept
    /// (recover: the fault is over, the namespace must be free to go) wherever
    /// [`netns::locate`] finds that namespace now. A kept socket acts in its namespace for
    /// as long as it lives, even when `path` (a dead PID's) no longer leads there.
    pub fn take_kept(path: &Path, id: Option<NetnsId>) -> Result<Self, FaultError> {
        let taken = {
            let mut kept = kept();
            let i = kept.iter().position(|(p, _, _)| p == path);
            i.map(|i| kept.swap_remove(i))
        };
        let id = match id {
            Some(id) => id,
            None => netns::id(path)?,
        };
        match taken {
            Some((_, i, nl)) if i == id && !nl.driver.0.is_finished() => Ok(nl),
            _ => Self::open(&netns::locate(path, Some(id))?),
        }
    }

    /// Drops the kept connection for `path`, if any.
    pub fn forget_kept(path: &Path) {
        kept().retain(|(p, _, _)| p != path);
    }

    /// The namespace this connection acts in.
    pub fn netns(&self) -> &Path {
        &self.netns
    }

    /// Qdisc requests (`tc qdisc ...`).
    pub fn qdisc(&self) -> QdiscHandle {
        QdiscHandle::new(self.handle.clone(), self.netns.clone())
    }

    /// Every interface in the namespace (`ip -o link show`).
    pub async fn links(&self) -> Result<Vec<Link>, FaultError> {
        link::list(&self.handle, &self.netns).await
    }

    /// The raw rtnetlink handle, for requests this module does not wrap.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }
}
