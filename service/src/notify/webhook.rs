//! The generic webhook: POST of the JSON report (schema `faultline.dev/report/v1`) with
//! `X-Faultline-Signature: sha256=<hex HMAC-SHA256 of the body>`, the GitHub-style
//! scheme, so a receiver holding the shared secret can check the body came from us.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::application::ports::outbox::{SendError, http_outcome};

/// The signature header's name.
pub const SIGNATURE_HEADER: &str = "X-Faultline-Signature";
/// A per-notification id, stable across retries, so receivers can drop duplicates.
pub const DELIVERY_HEADER: &str = "X-Faultline-Delivery";

/// `sha256=<hex>` of `body` under `secret`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for b in tag.iter() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Posts the report `body` to `url`, signed with `secret`.
pub async fn send(
    client: &reqwest::Client,
    url: &str,
    secret: &[u8],
    body: Vec<u8>,
    delivery: &str,
) -> Result<(), SendError> {
    let resp = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, sign(secret, &body))
        .header(DELIVERY_HEADER, delivery)
        .header("X-Faultline-Event", "run.finished")
        .body(body)
        .send()
        .await
        .map_err(|e| SendError::Retry {
            reason: format!("webhook {url} unreachable: {e}"),
            after: None,
        })?;
    http_outcome("webhook", resp).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_rfc_4231_vector() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
