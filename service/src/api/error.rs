//! The one error shape every API route answers with:
//! `{"error": "...", "details": [{"path", "line", "column", "message"}]}`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use faultline_spec::SpecErrors;
use serde::Serialize;

/// One problem in a submitted experiment, where it is.
#[derive(Debug, Clone, Serialize)]
pub struct Detail {
    /// Field path, e.g. `spec.steps[0].networkDelay.latency` (empty for the document).
    pub path: String,
    /// 1-based line in the submitted text.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong (and how to fix it, when known).
    pub message: String,
}

/// An error answer: status, message and, for invalid experiments, every problem found.
#[derive(Debug, Clone, Serialize, thiserror::Error)]
#[error("{status}: {error}")]
pub struct ApiError {
    /// The HTTP status.
    #[serde(skip)]
    pub status: StatusCode,
    /// What went wrong, in one sentence.
    pub error: String,
    /// Per-field problems (invalid experiments only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<Detail>,
}

impl ApiError {
    /// An error with `status` and `message` and no details.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            error: message.into(),
            details: Vec::new(),
        }
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404 for a run id nobody knows.
    pub fn no_such_run(id: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, format!("no run with id {id}"))
    }

    /// 500 naming what failed; the cause chain is logged, not sent.
    pub fn internal(what: &str, err: &(dyn std::error::Error + 'static)) -> ApiError {
        tracing::error!(error = %faultline_agent::agent::error_chain(err), "{what}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("{what} failed"))
    }

    /// 400 listing every problem of an invalid experiment.
    pub fn invalid_spec(errs: &SpecErrors) -> ApiError {
        let details: Vec<Detail> = errs
            .errors
            .iter()
            .map(|e| Detail {
                path: e.path.clone(),
                line: e.line,
                column: e.column,
                message: match &e.hint {
                    Some(h) => format!("{}; {h}", e.message),
                    None => e.message.clone(),
                },
            })
            .collect();
        let n = details.len();
        ApiError {
            status: StatusCode::BAD_REQUEST,
            error: format!(
                "invalid experiment: {n} problem{}",
                if n == 1 { "" } else { "s" }
            ),
            details,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            res.insert_header(("WWW-Authenticate", "Bearer"));
        }
        res.json(self)
    }
}

/// Maps a store error: an unknown run is 404, anything else 500.
pub fn store_error(id: &str, e: crate::application::ports::StoreError) -> ApiError {
    match e {
        crate::application::ports::StoreError::NoSuchRun(_) => ApiError::no_such_run(id),
        other => ApiError::internal("reading the store", &other),
    }
}
