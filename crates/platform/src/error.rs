//! One error catalogue for every product: a stable code, its HTTP status, and how each
//! product's contract writes it on the wire (`ErrorFormat`, applied by `error_shape_layer`).

use std::{fmt, sync::Arc};

use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::{Value, json};

/// Stable error codes (Encore's vocabulary, which the other contracts map onto).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidArgument,
    Unauthenticated,
    PermissionDenied,
    NotFound,
    AlreadyExists,
    FailedPrecondition,
    ResourceExhausted,
    Unimplemented,
    Internal,
    Unavailable,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidArgument => "invalid_argument",
            Self::Unauthenticated => "unauthenticated",
            Self::PermissionDenied => "permission_denied",
            Self::NotFound => "not_found",
            Self::AlreadyExists => "already_exists",
            Self::FailedPrecondition => "failed_precondition",
            Self::ResourceExhausted => "resource_exhausted",
            Self::Unimplemented => "unimplemented",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
        }
    }

    /// The status each code answers with (Encore's table).
    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidArgument | Self::FailedPrecondition => StatusCode::BAD_REQUEST,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::PermissionDenied => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::AlreadyExists => StatusCode::CONFLICT,
            Self::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
            Self::Unimplemented => StatusCode::NOT_IMPLEMENTED,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// A field that failed validation, reported in `details.fields`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// The error every handler, extractor and service returns.
///
/// `Internal` keeps its cause for the log only; the response says nothing about it.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub status: StatusCode,
    pub message: String,
    pub details: Option<Value>,
    pub retry_after: Option<u64>,
    cause: Option<String>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            status: code.status(),
            message: message.into(),
            details: None,
            retry_after: None,
            cause: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidArgument, message)
    }
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthenticated, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::PermissionDenied, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::AlreadyExists, message)
    }
    pub fn precondition(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::FailedPrecondition, message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unavailable, message)
    }

    /// A validation failure naming the offending fields.
    pub fn validation(fields: Vec<FieldError>) -> Self {
        let message = fields
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; ");
        Self::invalid(message).with_details(json!({ "fields": fields }))
    }

    pub fn rate_limited(retry_after: u64) -> Self {
        let mut e = Self::new(ErrorCode::ResourceExhausted, "too many requests, slow down")
            .with_details(json!({ "retryAfter": retry_after }));
        e.retry_after = Some(retry_after);
        e
    }

    /// An unexpected failure: logged with the request id, answered as an opaque 500.
    pub fn internal(cause: impl fmt::Display) -> Self {
        let mut e = Self::new(ErrorCode::Internal, "internal error");
        e.cause = Some(cause.to_string());
        e
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::internal(format!("database: {e}"))
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        Self::internal(format!("{e:#}"))
    }
}

/// What travels from `ApiError::into_response` to the product's `error_shape_layer`.
#[derive(Clone, Debug)]
pub struct ErrorPayload {
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<Value>,
    pub cause: Option<String>,
}

impl ErrorPayload {
    /// An invalid argument that names its offending fields.
    pub fn is_validation(&self) -> bool {
        self.code == ErrorCode::InvalidArgument
            && self
                .details
                .as_ref()
                .is_some_and(|d| d.get("fields").is_some())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = Response::new(Body::empty());
        *res.status_mut() = self.status;
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res.extensions_mut().insert(Arc::new(ErrorPayload {
            code: self.code,
            message: self.message,
            details: self.details,
            cause: self.cause,
        }));
        res
    }
}

/// How a product writes errors (DESIGN.md, "One core, four contracts").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorFormat {
    /// `{ code, message, details }` (War Room's Encore shape; PawfectMatch).
    Flat,
    /// `{ "error": { code, message, details? } }` (Crenoir X MAP); `details` only when the
    /// error has some (the offending fields of a validation failure).
    Nested,
    /// `{ "error": { code, message, details, requestId } }` (LeadGen).
    NestedWithRequestId,
}

impl ErrorFormat {
    pub fn body(self, p: &ErrorPayload, request_id: Option<&str>) -> Value {
        match self {
            Self::Flat => json!({ "code": p.code, "message": p.message, "details": p.details }),
            Self::Nested => match &p.details {
                Some(d) => {
                    json!({ "error": { "code": p.code, "message": p.message, "details": d } })
                }
                None => json!({ "error": { "code": p.code, "message": p.message } }),
            },
            Self::NestedWithRequestId => json!({ "error": {
                "code": p.code, "message": p.message, "details": p.details, "requestId": request_id,
            }}),
        }
    }
}

/// The request id header a product echoes, and where its error layer reads it.
#[derive(Clone, Debug)]
pub struct ErrorShape {
    pub format: ErrorFormat,
    pub request_id_header: header::HeaderName,
    /// The status of a validation failure (an error naming offending fields), when the
    /// product's contract gives it its own (Crenoir X MAP: 422); `None` keeps the code's.
    pub validation_status: Option<StatusCode>,
}

/// Middleware that writes every error response in the product's shape: `ApiError`s, and the
/// bodies axum and tower-http produce themselves (405, 413, 408, panics), so no plain-text
/// rejection ever leaves the server. Internal causes are logged here, once, with the request id.
pub async fn error_shape_layer(
    State(shape): State<Arc<ErrorShape>>,
    req: Request,
    next: Next,
) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let request_id = req
        .headers()
        .get(&shape.request_id_header)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let res = next.run(req).await;
    let status = res.status();
    let payload = match res.extensions().get::<Arc<ErrorPayload>>() {
        Some(p) => p.clone(),
        None if status.is_client_error() || status.is_server_error() => {
            if is_json(&res) {
                return res;
            }
            Arc::new(transport_error(status))
        }
        None => return res,
    };
    if let Some(cause) = &payload.cause {
        tracing::error!(request_id = request_id.as_deref(), %method, %path, %cause, "internal error");
    }
    let (mut parts, _) = res.into_parts();
    parts.extensions.remove::<Arc<ErrorPayload>>();
    if let Some(v) = shape.validation_status
        && payload.is_validation()
    {
        parts.status = v;
    }
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = shape.format.body(&payload, request_id.as_deref());
    Response::from_parts(parts, Body::from(body.to_string()))
}

fn is_json(res: &Response) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// Maps an error status produced below the handlers to a catalogue entry.
fn transport_error(status: StatusCode) -> ErrorPayload {
    let (code, message) = match status {
        StatusCode::NOT_FOUND => (ErrorCode::NotFound, "no such route"),
        StatusCode::METHOD_NOT_ALLOWED => {
            (ErrorCode::Unimplemented, "method not allowed on this route")
        }
        StatusCode::PAYLOAD_TOO_LARGE => (ErrorCode::ResourceExhausted, "request body too large"),
        StatusCode::REQUEST_TIMEOUT => (ErrorCode::Unavailable, "request timed out"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            (ErrorCode::InvalidArgument, "unsupported content type")
        }
        s if s.is_server_error() => (ErrorCode::Internal, "internal error"),
        _ => (ErrorCode::InvalidArgument, "bad request"),
    };
    ErrorPayload {
        code,
        message: message.into(),
        details: None,
        cause: None,
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_the_encore_status() {
        assert_eq!(ErrorCode::InvalidArgument.status(), StatusCode::BAD_REQUEST);
        assert_eq!(ErrorCode::AlreadyExists.status(), StatusCode::CONFLICT);
        assert_eq!(
            ErrorCode::ResourceExhausted.status(),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            ErrorCode::Unavailable.status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[test]
    fn internal_errors_keep_their_cause_out_of_the_body() {
        let e = ApiError::internal("connection refused at 10.0.0.3");
        let p = ErrorPayload {
            code: e.code,
            message: e.message.clone(),
            details: None,
            cause: None,
        };
        let body = ErrorFormat::Flat.body(&p, Some("r1")).to_string();
        assert!(!body.contains("10.0.0.3"));
        assert!(body.contains("internal"));
    }

    #[test]
    fn nested_formats_carry_the_request_id_only_where_the_contract_has_room() {
        let p = transport_error(StatusCode::NOT_FOUND);
        assert_eq!(
            ErrorFormat::NestedWithRequestId.body(&p, Some("r1"))["error"]["requestId"],
            "r1"
        );
        assert!(
            ErrorFormat::Nested.body(&p, Some("r1"))["error"]
                .get("requestId")
                .is_none()
        );
    }
}
