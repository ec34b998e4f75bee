//! What every registry in this crate shares: the `*_build_info` gauge and the text
//! encoding served at `GET /metrics`.

use prometheus::{Encoder, IntGaugeVec, Opts, Registry, TextEncoder};

/// A `name{version="..."} 1` gauge, registered in `registry`.
pub fn register_build_info(
    registry: &Registry,
    name: &str,
    help: &str,
    version: &str,
) -> Result<(), prometheus::Error> {
    let build_info = IntGaugeVec::new(Opts::new(name, help), &["version"])?;
    build_info.with_label_values(&[version]).set(1);
    registry.register(Box::new(build_info))
}

/// Every family of `registry` in the Prometheus text format.
pub fn encode_text(registry: &Registry) -> String {
    let mut buf = Vec::new();
    // Encoding into a Vec cannot fail on I/O; an encoder error would mean a malformed
    // family, which the constructors rule out. Return what was written.
    let _ = TextEncoder::new().encode(&registry.gather(), &mut buf);
    String::from_utf8(buf).unwrap_or_default()
}
