//! The agent thread's body: open the journal, recover what it holds, report ready, then
//! serve commands and reap lapsed leases until shutdown.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use faultline_exporter::{AgentMetrics, RecoveryReason};
use tokio::sync::{mpsc, oneshot};

use super::command::{Command, Reply, StartupReport};
use super::core::{BeforeLasting, Core};
use super::error::AgentError;
use crate::journal::Journal;
use crate::protocol::RecoveredFault;

/// The thread's body: open, recover what the journal holds, report ready, then serve.
pub(super) fn run(
    dir: PathBuf,
    metrics: Arc<AgentMetrics>,
    mut rx: mpsc::Receiver<Command>,
    ready: oneshot::Sender<Result<StartupReport, AgentError>>,
    before_lasting: Option<BeforeLasting>,
) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(AgentError::Start {
                step: "build the agent runtime",
                source: Box::new(e),
            }));
            return;
        }
    };
    rt.block_on(async move {
        let journal = match Journal::open(&dir) {
            Ok(j) => j,
            Err(e) => {
                let _ = ready.send(Err(e.into()));
                return;
            }
        };
        let mut core = Core::new(journal, metrics, before_lasting);
        let report = core.recover_at_startup().await;
        let _ = ready.send(Ok(report));
        let shutdown_reply = core.serve(&mut rx).await;
        if let Some((reply, result)) = shutdown_reply {
            // Release the state dir's lock before answering, so whoever waits on
            // shutdown can open the dir again at once.
            drop(core);
            let _ = reply.send(result);
        }
    });
}

impl Core {
    /// Answers commands one at a time and reaps when a lease or retry is due, until the
    /// channel closes (`None`) or a shutdown asks for its reply.
    async fn serve(
        &mut self,
        rx: &mut mpsc::Receiver<Command>,
    ) -> Option<(
        Reply<Vec<RecoveredFault>>,
        Result<Vec<RecoveredFault>, AgentError>,
    )> {
        loop {
            let deadline = self.next_deadline();
            let cmd = tokio::select! {
                cmd = rx.recv() => cmd,
                () = sleep_until(deadline) => {
                    self.reap().await;
                    continue;
                }
            };
            match cmd? {
                Command::Apply(req, reply) => {
                    let _ = reply.send(self.apply(*req).await);
                }
                Command::Recover(id, reply) => {
                    let _ = reply.send(self.recover_matching(&id, RecoveryReason::Api).await);
                }
                Command::Renew(id, secs, reply) => {
                    let _ = reply.send(self.renew(&id, secs));
                }
                Command::List(reply) => {
                    let _ = reply.send(Ok(self
                        .journal
                        .active()
                        .values()
                        .map(|a| a.record.clone())
                        .collect()));
                }
                Command::Observe(id, reply) => {
                    let _ = reply.send(self.observe(&id).await);
                }
                Command::RecoverAll(reason, reply) => {
                    let _ = reply.send(self.recover_all(reason).await);
                }
                Command::Shutdown(reply) => {
                    let result = self.recover_all(RecoveryReason::Shutdown).await;
                    return Some((reply, result));
                }
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
