//! Log set-up for the `faultline` and `faultline-agent` binaries: human-readable lines for
//! a terminal, or one JSON object per line for a log pipeline. `RUST_LOG` overrides the
//! level chosen by `-v`.

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// `2026-01-01T00:00:00Z  INFO target: message key=value`.
    #[default]
    Human,
    /// One JSON object per line.
    Json,
}

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// `RUST_LOG` did not parse.
    #[error("RUST_LOG is not a valid filter: {0}")]
    Filter(String),
    /// A global subscriber was already installed (init called twice).
    #[error("logging was already initialised: {0}")]
    AlreadySet(String),
}

/// The default level for a `-v` count: warn, info, debug, trace.
pub fn level_for(verbosity: u8) -> &'static str {
    match verbosity {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    }
}

/// Installs the global subscriber, writing to stderr so stdout stays for results.
pub fn init(format: LogFormat, verbosity: u8) -> Result<(), LoggingError> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.trim().is_empty() => {
            EnvFilter::try_new(v).map_err(|e| LoggingError::Filter(e.to_string()))?
        }
        _ => EnvFilter::new(level_for(verbosity)),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let r = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    r.map_err(|e| LoggingError::AlreadySet(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_maps_to_levels() {
        assert_eq!(level_for(0), "warn");
        assert_eq!(level_for(1), "info");
        assert_eq!(level_for(2), "debug");
        assert_eq!(level_for(9), "trace");
    }

    #[test]
    fn second_init_is_an_error_not_a_panic() {
        let first = init(LogFormat::Json, 0);
        let second = init(LogFormat::Human, 0);
        assert!(first.is_ok() || second.is_err());
        assert!(matches!(second, Err(LoggingError::AlreadySet(_))));
    }
}
