//! TLS (issue 27) with real handshakes: `faultline serve --tls-cert` reached by reqwest
//! (rustls) and by curl, refused with a wrong CA, an expired certificate and plain HTTP,
//! and serving a replaced certificate without a restart; the Kubernetes client's TLS with
//! ring alone; and the build check that ring is the only crypto provider compiled in.
//!
//! The agent side (HTTPS and mutual TLS between service and agent) is tested in
//! node-agent/tests/agent_tls.rs, where both ends live.

mod crypto_provider;
mod kube_tls;
mod serve_tls;
