//! The one error type of the HTTP layer: every failure answers
//! `{"error": {"code", "message"}}` with a fitting status.

use access_domain::Denied;
use access_domain::api::{ErrorBody, ErrorDetail, error_codes as codes};
use access_domain::delegation::ManageDenied;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::store::StoreError;

/// An API error: status, stable machine code, message for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    /// Builds an error.
    ///
    /// ```
    /// use access_server::error::ApiError;
    /// let e = ApiError::new(axum::http::StatusCode::NOT_FOUND, "not_found", "No such lock.");
    /// assert_eq!(e.code, "not_found");
    /// ```
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, codes::BAD_REQUEST, message)
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, codes::VALIDATION, message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            codes::NOT_FOUND,
            format!("{what} not found."),
        )
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            codes::UNAUTHENTICATED,
            "Sign in first: send `Authorization: Bearer <token>` from POST /api/v1/sessions.",
        )
    }

    pub fn revoked() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            codes::REVOKED,
            Denied::Revoked.to_string(),
        )
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, codes::CONFLICT, message)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            codes::INTERNAL,
            "Something went wrong on the server; try again.",
        )
    }
}

impl From<ManageDenied> for ApiError {
    fn from(d: ManageDenied) -> Self {
        let code = match d {
            ManageDenied::NotManager | ManageDenied::NotOrganizationWide => codes::NOT_MANAGER,
            ManageDenied::ScopeBeyondYours => codes::OUT_OF_SCOPE,
            ManageDenied::PermissionBeyondYours(_) => codes::MISSING_PERMISSION,
            ManageDenied::Yourself | ManageDenied::UserBeyondYours => codes::FORBIDDEN,
            ManageDenied::OutsidePeriod(_) => codes::OUTSIDE_ACCESS_PERIOD,
        };
        ApiError::new(StatusCode::FORBIDDEN, code, d.to_string())
    }
}

impl From<Denied> for ApiError {
    fn from(d: Denied) -> Self {
        let (status, code) = match d {
            Denied::Revoked => (StatusCode::UNAUTHORIZED, codes::REVOKED),
            Denied::NotActive | Denied::ResidentAction => (StatusCode::FORBIDDEN, codes::FORBIDDEN),
            Denied::MissingPermission(_) => (StatusCode::FORBIDDEN, codes::MISSING_PERMISSION),
            Denied::OutOfScope => (StatusCode::FORBIDDEN, codes::OUT_OF_SCOPE),
            Denied::NotStarted(_) | Denied::Ended(_) | Denied::OutsideHours(_) => {
                (StatusCode::FORBIDDEN, codes::OUTSIDE_ACCESS_PERIOD)
            }
        };
        ApiError::new(status, code, d.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found("Resource"),
            StoreError::Conflict(m) => ApiError::conflict(m),
            StoreError::Backend(m) => {
                tracing::error!(error = %m, "store failure");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // Inside the request's span: the line carries the id the answer shows the user.
        let request_id = crate::request_id::current();
        let id = request_id.as_deref().unwrap_or("");
        if self.status.is_server_error() {
            tracing::error!(request_id = id, status = self.status.as_u16(), code = self.code, message = %self.message, "failed");
        } else {
            tracing::info!(
                request_id = id,
                status = self.status.as_u16(),
                code = self.code,
                "refused"
            );
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
                request_id,
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        response.extensions_mut().insert(ErrorCode(self.code));
        response
    }
}

/// The error code an error answer carries in its extensions, for the middleware that counts
/// answers (`crate::metrics::track`) to read without parsing the body.
#[derive(Clone, Copy, Debug)]
pub struct ErrorCode(pub &'static str);

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
