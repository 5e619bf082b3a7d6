//! Errors as clients see them: a status and a JSON body saying what is wrong and what to
//! do. Internal errors are logged in full and reach the client only as a reference: no SQL,
//! no paths, no stack traces.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use warden_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// The server cannot show this (no workflow for the run): not the client's fault.
    #[error("{0}")]
    Unavailable(String),
    /// The server is at a capacity limit (live-update clients): try again later.
    #[error("{0}")]
    Busy(String),
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Internal(format!("store: {e}"))
    }
}

#[derive(Debug, Serialize)]
pub struct ErrorBody {
    pub status: u16,
    pub error: String,
}

static REFERENCE: AtomicU64 = AtomicU64::new(1);

/// What a 401 answers in `WWW-Authenticate` (pages and API alike).
pub const CHALLENGE: &str = "Bearer realm=\"warden\"";

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable(_) | ApiError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the client is told (an internal error only by reference, logged in full here).
    pub fn public_message(&self) -> String {
        match self {
            ApiError::Internal(detail) => {
                let reference = REFERENCE.fetch_add(1, Ordering::Relaxed);
                tracing::error!(reference, %detail, "internal error serving a request");
                format!("internal error (reference {reference}); the server's log has the details")
            }
            other => other.to_string(),
        }
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            status: self.status().as_u16(),
            error: self.public_message(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), Json(self.body())).into_response();
        match self {
            ApiError::Unauthorized(_) => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(CHALLENGE),
                );
            }
            ApiError::Busy(_) => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_reach_the_client_only_as_a_reference() {
        let e = ApiError::Internal(
            "store: error returned from database: near \"SELEC\": syntax error".into(),
        );
        let body = e.body();
        assert_eq!(body.status, 500);
        assert!(body.error.contains("reference"), "{}", body.error);
        assert!(
            !body.error.contains("SELEC") && !body.error.contains("database"),
            "{}",
            body.error
        );
        let e = ApiError::Conflict("cannot hold `X`: it has succeeded".into());
        assert_eq!(e.body().error, "cannot hold `X`: it has succeeded");
        assert_eq!(e.body().status, 409);
    }
}
