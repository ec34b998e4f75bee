//! The client side of the HTTP tests: a client with a timeout (a hung server fails the
//! test instead of hanging it) and a Server-Sent Events reader.

use std::time::Duration;

use futures::StreamExt;

/// A client whose requests give up after 60 s.
pub fn client() -> reqwest::Client {
    builder().timeout(Duration::from_secs(60)).build().unwrap()
}

/// A reqwest builder that is safe to `build()`: reqwest is compiled without a crypto
/// provider of its own (issue 27), so this installs ring first, as
/// `faultline_exporter::tls_provider::http_client` does for the crates (no workspace crate
/// here, see Cargo.toml).
pub fn builder() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

/// One SSE frame.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    /// `id:`.
    pub id: Option<u64>,
    /// `event:`.
    pub event: String,
    /// `data:` parsed as JSON.
    pub data: serde_json::Value,
}

/// Reads an SSE response to its end (a server closes the stream when it has no more to
/// say); fails the test when it is not `text/event-stream` or lasts over 90 s.
pub async fn read_sse(res: reqwest::Response) -> Vec<Frame> {
    assert_eq!(
        res.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    let mut stream = res.bytes_stream();
    let mut buf = String::new();
    let mut frames = Vec::new();
    let read = async {
        while let Some(chunk) = stream.next().await {
            buf.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            while let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                if let Some(f) = parse_frame(&block) {
                    frames.push(f);
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(90), read)
        .await
        .expect("the event stream ended within 90 s");
    frames
}

/// One frame from its block of lines; `None` for a block without data (a comment, a
/// keep-alive).
fn parse_frame(block: &str) -> Option<Frame> {
    let mut f = Frame::default();
    let mut data = String::new();
    for line in block.lines() {
        if let Some(v) = line.strip_prefix("id: ") {
            f.id = v.parse().ok();
        } else if let Some(v) = line.strip_prefix("event: ") {
            f.event = v.to_string();
        } else if let Some(v) = line.strip_prefix("data: ") {
            data.push_str(v);
        }
    }
    if data.is_empty() {
        return None;
    }
    f.data = serde_json::from_str(&data).unwrap();
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_has_its_id_event_and_json_and_a_keep_alive_is_none() {
        let f = parse_frame("id: 7\nevent: state\ndata: {\"to\":\"passed\"}\n\n").unwrap();
        assert_eq!((f.id, f.event.as_str()), (Some(7), "state"));
        assert_eq!(f.data["to"], "passed");
        assert!(parse_frame(": keep-alive\n\n").is_none());
    }
}
