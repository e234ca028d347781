//! The API's one error type: picks the status code and a stable machine-readable `code`, never
//! leaks internal detail to the client, and logs it.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// An error answered to an HTTP client as `{"error": {"code", "message", "parameter"?}}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A query or path parameter is missing or invalid (400).
    #[error("invalid parameter {parameter}: {message}")]
    InvalidParameter {
        /// The parameter's name, e.g. `from`.
        parameter: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A webhook's signature did not verify (400); nothing was stored.
    #[error(transparent)]
    Signature(#[from] stripe_bridge::SignatureError),
    /// The request body is larger than allowed (413); nothing was stored.
    #[error("request body is larger than {limit_bytes} bytes")]
    PayloadTooLarge {
        /// The limit.
        limit_bytes: usize,
    },
    /// Nothing is known under this id (404).
    #[error("{what} {id} not found")]
    NotFound {
        /// What was looked up, e.g. `customer`.
        what: &'static str,
        /// The id.
        id: String,
    },
    /// No API key, or one that is malformed, unknown or revoked (401); `code` is
    /// `missing_api_key` or `invalid_api_key`.
    #[error("{message}")]
    Unauthorized {
        /// The stable code.
        code: &'static str,
        /// What to do about it.
        message: String,
    },
    /// A valid API key whose scope does not allow the request (403, `insufficient_scope`).
    #[error("{message}")]
    Forbidden {
        /// The stable code.
        code: &'static str,
        /// Which scope was needed.
        message: String,
    },
    /// The request conflicts with an earlier one (409), e.g. `idempotency_key_reused`.
    #[error("{message}")]
    Conflict {
        /// The stable code.
        code: &'static str,
        /// What conflicts.
        message: String,
    },
    /// The server is not configured for this request (503), e.g. no webhook secret.
    #[error("{0}")]
    NotConfigured(&'static str),
    /// Anything else (500); the detail is logged, not returned.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// Shorthand for [`ApiError::InvalidParameter`].
    pub fn invalid(parameter: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidParameter {
            parameter,
            message: message.into(),
        }
    }
}

impl ApiError {
    /// The stable machine-readable `code` answered for this error, e.g. `invalid_parameter`,
    /// `signature_mismatch`, `payload_too_large`, `not_found`, `missing_api_key`, `invalid_api_key`,
    /// `insufficient_scope`, `idempotency_key_reused`, `not_configured`, `internal`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidParameter { .. } => "invalid_parameter",
            Self::Signature(error) => error.code(),
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::NotFound { .. } => "not_found",
            Self::Unauthorized { code, .. }
            | Self::Forbidden { code, .. }
            | Self::Conflict { code, .. } => code,
            Self::NotConfigured(_) => "not_configured",
            Self::Internal(_) => "internal",
        }
    }
}

impl From<projections::ProjectionError> for ApiError {
    fn from(error: projections::ProjectionError) -> Self {
        Self::Internal(error.to_string())
    }
}

impl From<stripe_bridge::ingest::IngestError> for ApiError {
    fn from(error: stripe_bridge::ingest::IngestError) -> Self {
        Self::Internal(error.to_string())
    }
}

impl From<ledger::LedgerError> for ApiError {
    fn from(error: ledger::LedgerError) -> Self {
        Self::Internal(error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.code();
        let (status, message, parameter) = match &self {
            Self::InvalidParameter { parameter, message } => {
                (StatusCode::BAD_REQUEST, message.clone(), Some(*parameter))
            }
            Self::Signature(error) => (StatusCode::BAD_REQUEST, error.to_string(), None),
            Self::PayloadTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, self.to_string(), None),
            Self::NotFound { .. } => (StatusCode::NOT_FOUND, self.to_string(), None),
            Self::Unauthorized { message, .. } => (StatusCode::UNAUTHORIZED, message.clone(), None),
            Self::Forbidden { message, .. } => (StatusCode::FORBIDDEN, message.clone(), None),
            Self::Conflict { message, .. } => (StatusCode::CONFLICT, message.clone(), None),
            Self::NotConfigured(message) => {
                (StatusCode::SERVICE_UNAVAILABLE, (*message).to_owned(), None)
            }
            Self::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; see the server log".to_owned(),
                    None,
                )
            }
        };
        if status.is_client_error() {
            tracing::info!(%status, code, %message, "request rejected");
        }
        let mut error = json!({ "code": code, "message": message });
        if let Some(parameter) = parameter {
            error["parameter"] = json!(parameter);
        }
        let mut response = (status, Json(json!({ "error": error }))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"tally\""),
            );
        }
        response
    }
}
