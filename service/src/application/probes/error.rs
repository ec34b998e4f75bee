//! Why a probe produced no value, and how errors are flattened into one line.

/// Why a probe produced no value.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The request could not be sent or timed out.
    #[error("request to {url} failed: {detail}")]
    Request {
        /// Where.
        url: String,
        /// reqwest's description, with its causes.
        detail: String,
    },
    /// Prometheus answered with an error.
    #[error("prometheus rejected `{query}`: {error_type}: {error}")]
    Query {
        /// The PromQL.
        query: String,
        /// Prometheus' errorType.
        error_type: String,
        /// Prometheus' error text.
        error: String,
    },
    /// The answer had no usable sample (empty vector, NaN, several series).
    #[error("`{query}` gave no single value: {detail}")]
    NoValue {
        /// The PromQL.
        query: String,
        /// What came back instead.
        detail: String,
    },
}

/// Flattens an error and its sources into one line ("a: b: c") for events and logs.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
