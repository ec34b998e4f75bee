//! Grafana's annotation HTTP API (`POST /api/annotations`, `PATCH /api/annotations/{id}`),
//! authenticated with a service-account token (`Authorization: Bearer ...`).
//!
//! The token is read from its file on every request, so a rotated token (or one fixed
//! after a 401) is picked up without a restart.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Where Grafana is and how to authenticate.
#[derive(Debug, Clone)]
pub struct GrafanaConfig {
    /// Base URL, e.g. `http://grafana:3000` (a sub-path like `/grafana` is kept).
    pub url: String,
    /// File holding the service-account token (trailing whitespace ignored).
    pub token_file: PathBuf,
    /// Dashboard the annotations belong to; `None` makes them organisation-wide.
    pub dashboard_uid: Option<String>,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// Why a request to Grafana did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum GrafanaError {
    /// The token file could not be read.
    #[error("failed to read the Grafana token from {path}")]
    Token {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP client could not be built.
    #[error("failed to build the HTTP client for Grafana")]
    Client(#[source] reqwest::Error),
    /// Grafana could not be reached (connection refused, timeout, reset).
    #[error("failed to reach Grafana at {url}")]
    Unreachable {
        /// The request URL.
        url: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// Grafana answered with an error status.
    #[error("Grafana answered {status} to {method} {url}: {body}")]
    Status {
        /// Method.
        method: &'static str,
        /// The request URL.
        url: String,
        /// HTTP status code.
        status: u16,
        /// The body (Grafana's `message`), shortened.
        body: String,
    },
    /// Grafana answered 2xx with a body that is not what its API documents.
    #[error("Grafana's answer to {method} {url} is not the documented JSON: {body}")]
    Answer {
        /// Method.
        method: &'static str,
        /// The request URL.
        url: String,
        /// The body, shortened.
        body: String,
    },
}

impl GrafanaError {
    /// Whether trying again later can help: network errors, 5xx, 429, and auth errors
    /// (the token file may be fixed). A 400 or 404 will not change.
    pub fn retryable(&self) -> bool {
        match self {
            GrafanaError::Unreachable { .. } | GrafanaError::Token { .. } => true,
            GrafanaError::Status { status, .. } => {
                *status >= 500 || matches!(*status, 401 | 403 | 408 | 429)
            }
            GrafanaError::Client(_) | GrafanaError::Answer { .. } => false,
        }
    }
}

/// The body of `POST /api/annotations` (Grafana HTTP API, "Create Annotation").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewAnnotation {
    /// Dashboard UID; absent for an organisation-wide annotation. Grafana spells it
    /// `dashboardUID`, not camelCase.
    #[serde(
        rename = "dashboardUID",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub dashboard_uid: Option<String>,
    /// Start, epoch milliseconds.
    pub time: i64,
    /// End, epoch milliseconds; absent for a point annotation (patched in later for a
    /// region whose end is not known yet).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub time_end: Option<i64>,
    /// Tags.
    pub tags: Vec<String>,
    /// Text (Grafana renders HTML links in it).
    pub text: String,
}

/// The body of `PATCH /api/annotations/{id}` ("Patch Annotation"): only the fields set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnnotationPatch {
    /// New end, epoch milliseconds.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub time_end: Option<i64>,
    /// The full new tag list (Grafana replaces the tags).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tags: Option<Vec<String>>,
    /// New text.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub text: Option<String>,
}

#[derive(Deserialize)]
struct Created {
    id: i64,
}

/// A client for Grafana's annotation API.
#[derive(Debug, Clone)]
pub struct GrafanaClient {
    cfg: GrafanaConfig,
    http: reqwest::Client,
}

impl GrafanaClient {
    /// A client for `cfg`.
    pub fn new(cfg: GrafanaConfig) -> Result<Self, GrafanaError> {
        let http = crate::tls_provider::http_client()
            .timeout(cfg.timeout)
            .build()
            .map_err(GrafanaError::Client)?;
        Ok(GrafanaClient { cfg, http })
    }

    /// The configuration.
    pub fn config(&self) -> &GrafanaConfig {
        &self.cfg
    }

    fn token(&self) -> Result<String, GrafanaError> {
        std::fs::read_to_string(&self.cfg.token_file)
            .map(|t| t.trim().to_string())
            .map_err(|source| GrafanaError::Token {
                path: self.cfg.token_file.clone(),
                source,
            })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.cfg.url.trim_end_matches('/'))
    }

    /// Creates an annotation; returns its id.
    pub async fn create(&self, a: &NewAnnotation) -> Result<i64, GrafanaError> {
        let url = self.url("/api/annotations");
        let body = self
            .send("POST", &url, self.http.post(&url).json(a))
            .await?;
        serde_json::from_str::<Created>(&body)
            .map(|c| c.id)
            .map_err(|_| GrafanaError::Answer {
                method: "POST",
                url,
                body: shorten(&body),
            })
    }

    /// Changes annotation `id`.
    pub async fn patch(&self, id: i64, p: &AnnotationPatch) -> Result<(), GrafanaError> {
        let url = self.url(&format!("/api/annotations/{id}"));
        self.send("PATCH", &url, self.http.patch(&url).json(p))
            .await
            .map(|_| ())
    }

    async fn send(
        &self,
        method: &'static str,
        url: &str,
        req: reqwest::RequestBuilder,
    ) -> Result<String, GrafanaError> {
        let token = self.token()?;
        let resp = req
            .bearer_auth(token)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|source| GrafanaError::Unreachable {
                url: url.to_string(),
                source,
            })?;
        let status = resp.status();
        let body = resp
            .text()
            .await
            .map_err(|source| GrafanaError::Unreachable {
                url: url.to_string(),
                source,
            })?;
        if !status.is_success() {
            return Err(GrafanaError::Status {
                method,
                url: url.to_string(),
                status: status.as_u16(),
                body: shorten(&body),
            });
        }
        Ok(body)
    }
}

fn shorten(s: &str) -> String {
    s.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_use_grafanas_field_names_and_omit_unset_fields() {
        let a = NewAnnotation {
            dashboard_uid: Some("abc".into()),
            time: 1,
            time_end: None,
            tags: vec!["faultline".into()],
            text: "t".into(),
        };
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            serde_json::json!({"dashboardUID": "abc", "time": 1, "tags": ["faultline"], "text": "t"})
        );
        let p = AnnotationPatch {
            time_end: Some(5),
            ..AnnotationPatch::default()
        };
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            serde_json::json!({"timeEnd": 5})
        );
    }

    #[test]
    fn only_errors_that_can_change_are_retried() {
        let status = |status| GrafanaError::Status {
            method: "POST",
            url: String::new(),
            status,
            body: String::new(),
        };
        assert!(status(500).retryable());
        assert!(status(401).retryable());
        assert!(!status(400).retryable());
        assert!(!status(404).retryable());
    }
}
