//! The transparent HTTP proxy the HTTP faults run in a target's network namespace.
//!
//! The fault's nftables `tproxy` rule hands it the TCP connections of one port; each
//! accepted socket's local address is where the client meant to go, so the proxy needs
//! no configuration of upstreams. It serves HTTP/1.1 and h2c with hyper, matches each
//! request against the fault's [`Policy`] and passes every request the policy does not
//! pick on untouched, over its own connection to that destination made in the same
//! namespace and marked [`UPSTREAM_MARK`] so the fault's rules let it through.
//!
//! The tasks live in the agent: the proxy dies with it, and the rules that would then
//! point at nothing are named by the journal and removed by recovery.

pub mod connection;
pub mod exchange;
pub mod policy;
pub mod runtime;
pub mod serve;
pub mod sockets;
pub mod thread_netns;
pub mod tls;
pub mod tls_settings;

use std::path::Path;
use std::sync::Arc;

pub use policy::{Action, Policy, Stats};

use crate::error::FaultError;

/// The socket mark of the proxy's upstream connections; the fault's rules skip them.
pub const UPSTREAM_MARK: u32 = 0x0fa1_7d06;

/// A running proxy; dropping it stops it: the listener and every open connection are
/// closed before the drop returns.
#[derive(Debug)]
pub struct Proxy {
    /// The port it listens on (on every address, `IP_TRANSPARENT`) in the target's
    /// namespace.
    pub port: u16,
    /// Its counters.
    pub stats: Arc<Stats>,
    /// Whether it takes IPv6 connections too (the namespace has IPv6).
    pub ipv6: bool,
    _thread: runtime::ProxyThread,
}

/// Starts a proxy for `policy` in the network namespace at `netns`.
pub async fn start(netns: &Path, policy: Policy) -> Result<Proxy, FaultError> {
    let (listener, ipv6) = sockets::transparent_listener(netns).await?;
    let port = listener
        .local_addr()
        .map_err(|e| FaultError::Io {
            action: "read the HTTP proxy's port in",
            path: netns.to_path_buf(),
            source: e,
        })?
        .port();
    let stats = Arc::new(Stats::default());
    // The fault's `tls` files are read now: a bad one fails the apply, naming it.
    let tls = match &policy.tls {
        Some(t) => Some(Arc::new(
            tls_settings::Terminate::load(t).map_err(|e| FaultError::HttpsFiles(Box::new(e)))?,
        )),
        None => None,
    };
    let shared = Arc::new(exchange::Shared {
        policy,
        stats: stats.clone(),
        dice: policy::Dice::new(),
        dialer: sockets::Dialer {
            netns: netns.to_path_buf(),
            mark: UPSTREAM_MARK,
        },
        tls,
    });
    // Served on the proxy's own thread, inside the namespace (runtime.rs says why).
    let listener = listener.into_std().map_err(|e| FaultError::Io {
        action: "hand the HTTP proxy's listener over in",
        path: netns.to_path_buf(),
        source: e,
    })?;
    let path = netns.to_path_buf();
    let thread = tokio::task::spawn_blocking(move || runtime::spawn(&path, listener, shared))
        .await
        .map_err(|e| FaultError::Io {
            action: "start the HTTP proxy in",
            path: netns.to_path_buf(),
            source: std::io::Error::other(e),
        })??;
    Ok(Proxy {
        port,
        stats,
        ipv6,
        _thread: thread,
    })
}
