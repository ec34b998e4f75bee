//! The proxy's own thread: it enters the target's network namespace once, at start, and
//! runs a single-threaded tokio runtime that serves every connection of one proxy.
//!
//! Two costs of serving from the agent's runtime go away. Each upstream connection was a
//! socket made by the agent's one netns worker thread (`netns::run_in`: open the netns
//! file, a blocking task, a hand-over, a `setns`); here the thread already is in the
//! namespace, so [`Dialer::connect`](super::sockets::Dialer::connect) makes the socket in
//! place. And a request crosses two tasks (the client's connection, the upstream one),
//! woken by each other for every request: on one thread those wake-ups are a push on a
//! local queue, where a multi-threaded runtime moved them between cores (measured: P9,
//! docs/benchmarks.md). One thread per proxy is a core per faulted port at most; the
//! goal is the pass-through of one service's port, not a load balancer's.
//!
//! No other task ever runs on this thread, so nothing else can act in the wrong
//! namespace (the reason `netns.rs` never moves the agent's own workers).

use std::io;
use std::path::Path;
use std::sync::Arc;

use nix::sched::{CloneFlags, setns};
use tokio::sync::oneshot;

use super::exchange::Shared;
use super::serve::accept_loop;
use super::thread_netns;
use crate::error::FaultError;
use crate::netns;

/// A proxy's thread; dropping it stops the accept loop and every connection it serves,
/// and waits for the thread to end (dropping the runtime cancels their tasks at once).
#[derive(Debug)]
pub struct ProxyThread {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for ProxyThread {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts the thread serving `listener` (made in the namespace at `netns`) for `shared`;
/// returns once the thread is in the namespace with its runtime built, or why not.
pub fn spawn(
    netns: &Path,
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
) -> Result<ProxyThread, FaultError> {
    let ns = netns::open(netns)?;
    let path = netns.to_path_buf();
    let io_err = |action: &'static str, e: io::Error| FaultError::Io {
        action,
        path: netns.to_path_buf(),
        source: e,
    };
    let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel::<io::Result<()>>(1);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("faultline-httpproxy".into())
        .spawn(move || {
            let started = setns(&ns, CloneFlags::CLONE_NEWNET)
                .map_err(io::Error::from)
                .and_then(|()| {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                });
            let rt = match started {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            thread_netns::mark_entered(path);
            rt.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                tokio::select! {
                    () = accept_loop(listener, shared) => {}
                    _ = stop_rx => {}
                }
            });
            // Dropping `rt` here cancels every connection task still running.
        })
        .map_err(|e| io_err("start the HTTP proxy's thread for", e))?;
    let started = ready_rx
        .recv()
        .unwrap_or_else(|_| Err(io::Error::other("the HTTP proxy's thread ended at start")));
    let mut proxy = ProxyThread {
        stop: Some(stop_tx),
        thread: Some(thread),
    };
    if let Err(e) = started {
        // The thread has ended or is ending: joined by the drop.
        proxy.stop.take();
        return Err(io_err("enter the network namespace for the HTTP proxy", e));
    }
    Ok(proxy)
}
