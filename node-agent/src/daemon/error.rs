//! The daemon's error answer, shared by the routes and the bearer-token check: a status
//! and an [`ErrorBody`], and how each agent error maps to a status.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::agent::AgentError;
use crate::error::{FaultError, error_chain};
use crate::protocol::ErrorBody;

/// An error answer: a status and an [`ErrorBody`].
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub(super) fn unauthorized() -> ApiError {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            message: "missing or wrong bearer token".into(),
        }
    }

    pub(super) fn bad_request(message: String) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(ErrorBody {
            error: self.message.clone(),
        })
    }
}

impl From<AgentError> for ApiError {
    fn from(e: AgentError) -> ApiError {
        let status = match &e {
            AgentError::Invalid { .. } => StatusCode::BAD_REQUEST,
            AgentError::Conflict(_) => StatusCode::CONFLICT,
            AgentError::NotFound(_) => StatusCode::NOT_FOUND,
            AgentError::Target {
                source: FaultError::TargetNotFound(_),
                ..
            } => StatusCode::NOT_FOUND,
            AgentError::Target { .. } | AgentError::Apply { .. } | AgentError::Recover { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            AgentError::Journal(_) | AgentError::Start { .. } | AgentError::Unguarded { .. } => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            AgentError::Stopped => StatusCode::SERVICE_UNAVAILABLE,
        };
        ApiError {
            status,
            message: error_chain(&e),
        }
    }
}
