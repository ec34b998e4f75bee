//! Event news across replicas: `record_all` sends `pg_notify('faultline_events', run)` in
//! the transaction that writes the events (delivered at commit), and one connection per
//! replica LISTENs and bumps a watch channel per run that someone follows. A live view on
//! any replica then wakes when the replica driving the run records something, instead of
//! polling. A lost connection is re-made; what was missed meanwhile the view's own poll
//! catches.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::watch;
use tokio_postgres::AsyncMessage;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The channel `record_all` notifies on.
pub(super) const CHANNEL: &str = "faultline_events";

/// The runs someone follows, each with its signal.
#[derive(Default)]
pub(super) struct Watchers(Mutex<HashMap<String, watch::Sender<u64>>>);

impl Watchers {
    fn map(&self) -> MutexGuard<'_, HashMap<String, watch::Sender<u64>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A receiver that changes each time run `run` records something.
    pub(super) fn subscribe(&self, run: &str) -> watch::Receiver<u64> {
        let mut map = self.map();
        // Forget runs nobody follows any more, so the map stays as small as the streams.
        map.retain(|_, tx| tx.receiver_count() > 0);
        map.entry(run.to_string())
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    fn notify(&self, run: &str) {
        if let Some(tx) = self.map().get(run) {
            tx.send_modify(|n| *n += 1);
        }
    }
}

/// Listens for as long as the store lives, reconnecting after a second when the
/// connection drops (the database restarted).
pub(super) async fn listen(
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    watchers: Arc<Watchers>,
) {
    loop {
        if let Err(e) = listen_once(&config, tls.clone(), &watchers).await {
            tracing::debug!(error = %e, "event news connection lost; reconnecting");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn listen_once(
    config: &tokio_postgres::Config,
    tls: MakeRustlsConnect,
    watchers: &Watchers,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(tls).await?;
    // The connection's messages (notifications among them) come from polling it; the
    // LISTEN itself is a query through the client, answered through the same polling.
    let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx)).fuse();
    let statement = format!("LISTEN {CHANNEL}");
    {
        let listen = client.batch_execute(&statement);
        tokio::pin!(listen);
        loop {
            tokio::select! {
                done = &mut listen => { done?; break; }
                msg = messages.next() => match msg {
                    Some(Ok(AsyncMessage::Notification(n))) => watchers.notify(n.payload()),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(e),
                    None => return Ok(()),
                },
            }
        }
    }
    // The client stays alive (and with it the session that LISTENs) while its messages
    // are read.
    while let Some(msg) = messages.next().await {
        if let AsyncMessage::Notification(n) = msg? {
            watchers.notify(n.payload());
        }
    }
    drop(client);
    Ok(())
}
