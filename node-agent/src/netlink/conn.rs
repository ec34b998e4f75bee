//! A route netlink connection bound to one network namespace.

use std::path::{Path, PathBuf};

use rtnetlink::Handle;
use tokio::task::JoinHandle;

use super::link::{self, Link};
use super::qdisc::QdiscHandle;
use crate::error::FaultError;
use crate::netns;

/// One route netlink socket inside a network namespace, driven by a tokio task that ends
/// when this value is dropped.
#[derive(Debug)]
pub struct Netlink {
    handle: Handle,
    driver: JoinHandle<()>,
    netns: PathBuf,
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
        let driver = tokio::spawn(conn);
        Ok(Netlink {
            handle,
            driver,
            netns: path.to_path_buf(),
        })
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

impl Drop for Netlink {
    fn drop(&mut self) {
        self.driver.abort();
    }
}
