//! The real peers the tests start on loopback — Prometheus, Alertmanager, PostgreSQL, an
//! SMTP server (aiosmtpd) and a Python web server as the system under test — each behind a guard that
//! kills it (and removes its files) on drop. A peer whose program is missing makes its
//! launcher print `SKIPPED: ...` naming the program and how to install it, and return
//! `None`, so the test passes as skipped instead of failing on what `./test.sh` installs.

mod alertmanager;
mod http_server;
mod installed;
mod oidc_provider;
mod postgres;
mod prometheus;
mod smtp;

pub use alertmanager::{Alertmanager, alertmanager};
pub use http_server::{EmptySite, empty_http_server, http_server};
pub use installed::installed;
pub use oidc_provider::{OidcProvider, have_oidc_provider, start_oidc_provider};
pub use postgres::{
    CERT_USER, Postgres, ServerTls, loopback_host, start_postgres, start_postgres_tcp,
};
pub use prometheus::{Prometheus, start_prometheus};
pub use smtp::{have_aiosmtpd, smtp_sink};
