//! A deadline on reading a request's body. actix times out a slow request head by itself
//! (5 s) but not a slow body: a client trickling a body a byte at a time (slowloris) would
//! hold its connection and its buffer for ever. Every request's payload is wrapped in a
//! stream that fails once [`REQUEST_DEADLINE`] has passed since the request arrived; the
//! handler's extractor then gives up, and the answer becomes a 408.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::StatusCode;
use actix_web::{HttpMessage as _, ResponseError as _};
use futures::StreamExt as _;

use super::error::ApiError;

/// How long a request's body may take to arrive. Bodies are at most 1 MiB, which any
/// client still sending sends in well under this.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(15);

/// Set when a request's body missed the deadline.
#[derive(Clone, Default)]
pub struct Missed(Arc<AtomicBool>);

/// Replaces `req`'s payload with one that fails after the deadline, and returns the flag
/// it sets then.
pub fn limit_body(req: &mut ServiceRequest) -> Missed {
    let missed = Missed::default();
    let flag = missed.clone();
    let deadline = tokio::time::Instant::now() + REQUEST_DEADLINE;
    let inner = req.take_payload();
    let stream = futures::stream::unfold(Some(inner), move |inner| {
        let flag = flag.clone();
        async move {
            let mut inner = inner?;
            match tokio::time::timeout_at(deadline, inner.next()).await {
                Ok(Some(chunk)) => Some((chunk, Some(inner))),
                Ok(None) => None,
                Err(_) => {
                    flag.0.store(true, Ordering::Relaxed);
                    let e =
                        std::io::Error::new(std::io::ErrorKind::TimedOut, "request body too slow");
                    Some((Err(PayloadError::Io(e)), None))
                }
            }
        }
    });
    req.set_payload(Payload::Stream {
        payload: Box::pin(stream),
    });
    missed
}

/// `res`, or a 408 in its place when the body missed the deadline (whatever the
/// handler's extractor made of the failed read).
pub fn answer(res: ServiceResponse, missed: &Missed) -> ServiceResponse {
    if !missed.0.load(Ordering::Relaxed) {
        return res;
    }
    let (req, _) = res.into_parts();
    let err = ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        format!(
            "the request body was not complete within {} s",
            REQUEST_DEADLINE.as_secs()
        ),
    );
    ServiceResponse::new(req, err.error_response())
}
