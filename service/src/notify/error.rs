//! Errors of the notification subsystem: bad config at start-up, and why a send failed.

use crate::application::config_file::ConfigErrors;

/// Why the notification subsystem could not start or render.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The config file is wrong.
    // Not `#[from]`: that would also make the errors the source, and `{:#}` would print
    // every one of them twice.
    #[error("invalid notification config:\n{0}")]
    Config(ConfigErrors),
    /// A template (shipped or from `--notify-templates`) does not parse or render.
    #[error("notification template {name}: {source}")]
    Template {
        /// Template file name.
        name: String,
        /// What minijinja said.
        #[source]
        source: minijinja::Error,
    },
    /// The Slack template rendered something that is not JSON.
    #[error("notification template slack.json did not render JSON: {0}")]
    SlackJson(#[source] serde_json::Error),
    /// A template override could not be read.
    #[error("cannot read notification template {path}: {source}")]
    ReadTemplate {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP client for Slack and webhooks could not be built.
    #[error("cannot build the HTTP client for notifications: {0}")]
    HttpClient(#[source] reqwest::Error),
    /// The SMTP transport could not be built from the settings.
    #[error("cannot set up SMTP to {host}: {source}")]
    Smtp {
        /// Server.
        host: String,
        /// Why.
        #[source]
        source: lettre::transport::smtp::Error,
    },
    /// The store could not be read or written.
    #[error(transparent)]
    Store(#[from] crate::application::ports::StoreError),
}

impl From<ConfigErrors> for NotifyError {
    fn from(e: ConfigErrors) -> Self {
        NotifyError::Config(e)
    }
}
