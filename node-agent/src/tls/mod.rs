//! TLS for the agent's API and for `faultline serve` (issue 27), with rustls and ring.
//!
//! - [`files`] reads PEM certificates, keys and CA bundles, naming the file in every error.
//! - [`reload`] is the server's certificate resolver: it re-reads the cert and key files
//!   when they change on disk, so a renewed certificate is served without a restart.
//! - [`server`] builds the `rustls::ServerConfig` of a listener, optionally requiring
//!   client certificates signed by a CA (mutual TLS between service and agents).
//! - [`plain_http`] answers plain HTTP on an HTTPS port with a 400 in words, and builds
//!   the HTTPS listener of serve and the agent around it.
//! - [`client`] puts a CA file and an optional client certificate into a reqwest client
//!   (the service's [`AgentClient`](crate::client::AgentClient)).
//! - [`verify`] judges a server's certificate where plain WebPKI is not the rule (a fixed
//!   name, a pinned certificate, the chain alone), for every TLS client faultline has.
//!
//! It lives in the agent crate because both sides of the service -> agent link do, and
//! the service, which depends on this crate, reuses the server half for its own API.

pub mod client;
pub mod error;
pub mod files;
pub mod plain_http;
pub mod reload;
pub mod server;
pub mod verify;

pub use client::ClientTls;
pub use error::TlsError;
pub use plain_http::{REFUSAL, RefusePlainHttp, listen_https};
pub use reload::ReloadingCert;
pub use server::ServerTls;
