//! What handlers share of a request: its body, read with a size limit, and absolute URLs
//! of this server as the client reached it.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use futures::StreamExt;

use super::error::ApiError;

/// Bodies over this are refused with 413 (an experiment is a few KiB).
pub const MAX_BODY: usize = 1 << 20;

/// The absolute URL of `path` on this server, as the client reached it.
pub(super) fn absolute(req: &HttpRequest, path: &str) -> String {
    let info = req.connection_info();
    format!("{}://{}{path}", info.scheme(), info.host())
}

/// The request body, refused with 413 over [`MAX_BODY`].
pub(super) async fn read_body(mut payload: web::Payload) -> Result<web::BytesMut, ApiError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("reading the body: {e}")))?;
        if body.len() + chunk.len() > MAX_BODY {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is over {MAX_BODY} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
