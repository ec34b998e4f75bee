//! `GET /api/v1/runs/{id}/events` as Server-Sent Events: the stored events first (after
//! `Last-Event-ID` when the client reconnects), then new ones as the run records them,
//! until the run is terminal. Each event is `id: <seq>`, `event: <type>`, `data: <json>`;
//! a last `event: end` (no id) carries the verdict and reason so a client can tell the end
//! of the run from a dropped connection.

use std::collections::VecDeque;
use std::time::Duration;

use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use tokio::sync::watch;

use super::auth::Viewer;
use super::error::{ApiError, store_error};
use super::state::ApiState;
use crate::domain::StoredEvent;

/// How often a stream re-reads the store when it has no news (a run another process
/// drives on a store that cannot signal, or a missed notification); also the keep-alive
/// comment period.
const POLL: Duration = Duration::from_secs(1);
/// Keep-alive comments every this many idle polls, so proxies keep the connection.
const KEEPALIVE_POLLS: u32 = 15;

struct Cursor {
    state: web::Data<ApiState>,
    id: String,
    last: u64,
    pending: VecDeque<StoredEvent>,
    news: Option<watch::Receiver<u64>>,
    idle_polls: u32,
    done: bool,
}

pub(super) async fn events(
    _: Viewer,
    req: HttpRequest,
    state: web::Data<ApiState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    // 404 now, before the stream starts, for a run nobody knows.
    state.store.run(&id).map_err(|e| store_error(&id, e))?;
    let last = req
        .headers()
        .get("Last-Event-ID")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    // The local run's own signal, else the store's (PostgreSQL: a NOTIFY from whichever
    // replica drives the run); with neither, the stream polls.
    let news = state
        .live
        .news(&id)
        .or_else(|| state.store.watch_events(&id));
    let cursor = Cursor {
        state,
        id,
        last,
        pending: VecDeque::new(),
        news,
        idle_polls: 0,
        done: false,
    };
    let stream = futures::stream::unfold(cursor, |mut c| async move {
        next_frame(&mut c)
            .await
            .map(|frame| (Ok::<_, actix_web::Error>(frame), c))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        // nginx buffers responses by default; a stream must not be.
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(stream))
}

async fn next_frame(c: &mut Cursor) -> Option<Bytes> {
    loop {
        if let Some(ev) = c.pending.pop_front() {
            c.last = ev.seq;
            return Some(frame(&ev));
        }
        if c.done {
            return None;
        }
        let store = c.state.store.clone();
        let id = c.id.clone();
        // The row is read before the events: a terminal row means its terminal event is
        // already stored (same transaction), so the events read next include it.
        let Ok(row) = store.run(&id) else {
            c.done = true;
            return None;
        };
        // Only what is new since the last frame: re-reading from the first event on each
        // news made a stream quadratic in the run's events.
        let fresh: Vec<StoredEvent> = match store.events_after(&id, c.last) {
            Ok(fresh) => fresh,
            Err(e) => {
                tracing::error!(run = %id, error = %e, "event stream: cannot read events");
                c.done = true;
                return None;
            }
        };
        if !fresh.is_empty() {
            c.idle_polls = 0;
            c.pending.extend(fresh);
            continue;
        }
        if row.state.is_terminal() {
            c.done = true;
            let end = serde_json::json!({ "verdict": row.state, "reason": row.reason });
            return Some(Bytes::from(format!("event: end\ndata: {end}\n\n")));
        }
        if wait_for_news(c).await {
            c.idle_polls = 0;
        } else {
            c.idle_polls += 1;
            if c.idle_polls >= KEEPALIVE_POLLS {
                c.idle_polls = 0;
                return Some(Bytes::from_static(b": keep-alive\n\n"));
            }
        }
    }
}

/// Waits for the run to record something or for [`POLL`]; true if there was news.
async fn wait_for_news(c: &mut Cursor) -> bool {
    let Some(rx) = c.news.as_mut() else {
        tokio::time::sleep(POLL).await;
        return false;
    };
    match tokio::time::timeout(POLL, rx.changed()).await {
        Ok(Ok(())) => true,
        Ok(Err(_)) => {
            // The run's task is gone: it has finished; the store says the rest.
            c.news = None;
            true
        }
        Err(_) => false,
    }
}

fn frame(ev: &StoredEvent) -> Bytes {
    let data = serde_json::to_string(ev).unwrap_or_else(|_| "{}".into());
    let kind = serde_json::to_value(&ev.event)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_string))
        .unwrap_or_else(|| "event".into());
    Bytes::from(format!("id: {}\nevent: {kind}\ndata: {data}\n\n", ev.seq))
}
