//! Notifications: every finished run tells the right people (issue 9). Routes come from
//! the experiment's `notify:` and the `--notify-config` file; the notifications a verdict
//! calls for are written to the store's outbox first, then sent by a worker with retries
//! — Slack (Block Kit), email (SMTP) and signed webhooks. The worker implements the
//! application's `Outbox` port and hands GitLab's entries to the `DeliveryChannel` it is
//! given (the `gitlab` adapter's client).

pub mod config;
mod config_read;
pub mod email;
pub mod error;
pub mod observer;
pub mod outbox;
pub mod routing;
pub mod send;
pub mod slack;
pub mod templates;
pub mod webhook;

pub use config::NotifyConfig;
pub use error::NotifyError;
pub use observer::{Notifier, Summary, check_experiment};
pub use outbox::{Outbox, RetryPolicy};
pub use routing::Route;
pub use send::Channels;
pub use templates::Templates;
