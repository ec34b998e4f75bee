//! Protocol-level stand-ins for the services that cannot run here: HTTP servers on
//! loopback that speak each service's documented API (paths, headers, JSON fields, error
//! answers), record every request, and report what broke the documentation so a test can
//! assert there was nothing. They know no faultline type; fakes that need one (the node
//! agent stand-in) live in the service's `tests/support/`.

pub mod gitlab;
pub mod grafana;
pub mod kube;
pub mod ok;
pub mod otlp;
pub mod receiver;

pub use gitlab::FakeGitlab;
pub use grafana::FakeGrafana;
pub use ok::http_ok_server;
pub use receiver::Receiver;
