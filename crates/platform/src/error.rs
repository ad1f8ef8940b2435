//! One error catalogue for every product: a stable code, its HTTP status, and how each
//! product's contract writes it on the wire (`ErrorFormat`, applied by `error_shape_layer`).

use std::{collections::BTreeMap, fmt, sync::Arc};

use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

pub use crate::validate::FieldError;

// Encore's vocabulary, which the other contracts map onto.
/// Stable error codes; each answers with one HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
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

/// What an error carries besides its code and message; one shape per kind of error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ErrorDetails {
    /// A validation failure: every offending field.
    Fields { fields: Vec<FieldError> },
    /// Rate limited: seconds until a request may pass again (also in `Retry-After`).
    RetryAfter {
        #[serde(rename = "retryAfter")]
        retry_after: u64,
    },
    /// The password was right; the account's second factor (`totpCode`) is missing or wrong.
    TwoFactorRequired {
        #[serde(rename = "twoFactorRequired")]
        two_factor_required: bool,
    },
    /// The account must verify its email address before it can sign in.
    EmailNotVerified {
        #[serde(rename = "emailNotVerified")]
        email_not_verified: bool,
    },
    /// The resource's current status, which forbids the request.
    Status { status: String },
    /// The alert's current lifecycle state, which forbids the request.
    Lifecycle { lifecycle: String },
    /// The existing resources the request conflicts with, by the name of their id
    /// (`{ "campaignId": …, "configId": … }`).
    Conflicts(BTreeMap<String, Uuid>),
    /// No details (the shape of products whose contract always has a `details` object).
    Empty {},
}

/// The error every handler, extractor and service returns.
///
/// `Internal` keeps its cause for the log only; the response says nothing about it.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub status: StatusCode,
    pub message: String,
    pub details: Option<ErrorDetails>,
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
        Self::invalid(message).with_details(ErrorDetails::Fields { fields })
    }

    pub fn rate_limited(retry_after: u64) -> Self {
        let mut e = Self::new(ErrorCode::ResourceExhausted, "too many requests, slow down")
            .with_details(ErrorDetails::RetryAfter { retry_after });
        e.retry_after = Some(retry_after);
        e
    }

    /// An unexpected failure: logged with the request id, answered as an opaque 500.
    pub fn internal(cause: impl fmt::Display) -> Self {
        let mut e = Self::new(ErrorCode::Internal, "internal error");
        e.cause = Some(cause.to_string());
        e
    }

    pub fn with_details(mut self, details: ErrorDetails) -> Self {
        self.details = Some(details);
        self
    }

    /// The offending fields of a validation failure (none for other errors).
    pub fn field_errors(&self) -> &[FieldError] {
        match &self.details {
            Some(ErrorDetails::Fields { fields }) => fields,
            _ => &[],
        }
    }

    /// The offending fields' names, in order (for tests and logs).
    pub fn field_names(&self) -> Vec<String> {
        self.field_errors()
            .iter()
            .map(|f| f.field.clone())
            .collect()
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

impl ToSchema for ErrorDetails {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        use utoipa::PartialSchema;
        schemas.push((FieldError::name().into_owned(), FieldError::schema()));
    }
}

/// Written by hand: utoipa would document the untagged enum as `oneOf`, which a body with no
/// details (`{}`, matched by every variant's object) cannot satisfy. Each kind is an object
/// with its own required key; `anyOf` lets a client match the one it knows.
impl utoipa::__dev::ComposeSchema for ErrorDetails {
    fn compose(
        _: Vec<utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>>,
    ) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::{
            ArrayBuilder, ObjectBuilder, Ref, Type,
            schema::{AnyOfBuilder, SchemaType},
        };
        let kind = |key: &str, value: ObjectBuilder, description: &str| {
            ObjectBuilder::new()
                .property(key, value)
                .required(key)
                .description(Some(description))
        };
        let typed = |t: Type| ObjectBuilder::new().schema_type(SchemaType::new(t));
        let fields = ArrayBuilder::new().items(Ref::from_schema_name("FieldError"));
        AnyOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .property("fields", fields)
                    .required("fields")
                    .description(Some("A validation failure: every offending field")),
            )
            .item(kind(
                "retryAfter",
                typed(Type::Integer),
                "Rate limited: seconds until a request may pass again (also in Retry-After)",
            ))
            .item(kind(
                "twoFactorRequired",
                typed(Type::Boolean),
                "The account's second factor (totpCode) is missing or wrong",
            ))
            .item(kind(
                "emailNotVerified",
                typed(Type::Boolean),
                "The account must verify its email address first",
            ))
            .item(kind(
                "status",
                typed(Type::String),
                "The resource's current status, which forbids the request",
            ))
            .item(kind(
                "lifecycle",
                typed(Type::String),
                "The alert's current lifecycle state, which forbids the request",
            ))
            .item(
                ObjectBuilder::new()
                    .additional_properties(Some(
                        ObjectBuilder::new()
                            .schema_type(SchemaType::new(Type::String))
                            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                                utoipa::openapi::KnownFormat::Uuid,
                            ))),
                    ))
                    .description(Some(
                        "The existing resources the request conflicts with, by id name",
                    )),
            )
            .description(Some("What the error carries besides its code and message"))
            .into()
    }
}

/// What travels from `ApiError::into_response` to the product's `error_shape_layer`.
#[derive(Clone, Debug)]
pub struct ErrorPayload {
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<ErrorDetails>,
    pub cause: Option<String>,
}

impl ErrorPayload {
    /// An invalid argument that names its offending fields.
    pub fn is_validation(&self) -> bool {
        self.code == ErrorCode::InvalidArgument
            && matches!(self.details, Some(ErrorDetails::Fields { .. }))
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
    /// The error body in this format, serialized from the types that document it.
    pub fn body(self, p: &ErrorPayload, request_id: Option<&str>) -> Vec<u8> {
        let code = p.code;
        let message = p.message.clone();
        let details = p.details.clone();
        let written = match self {
            Self::Flat => serde_json::to_vec(&FlatError {
                code,
                message,
                details,
            }),
            Self::Nested => serde_json::to_vec(&NestedError {
                error: NestedErrorBody {
                    code,
                    message,
                    details,
                },
            }),
            Self::NestedWithRequestId => serde_json::to_vec(&NestedErrorWithRequestId {
                error: NestedErrorDetail {
                    code,
                    message,
                    details: details.unwrap_or(ErrorDetails::Empty {}),
                    request_id: request_id.map(str::to_owned),
                },
            }),
        };
        // Serializing these plain structs cannot fail; an empty body would still carry the status.
        written.unwrap_or_default()
    }

    /// The OpenAPI schema of this format's body.
    pub fn schema(self) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::PartialSchema;
        match self {
            Self::Flat => FlatError::schema(),
            Self::Nested => NestedError::schema(),
            Self::NestedWithRequestId => NestedErrorWithRequestId::schema(),
        }
    }
}

// War Room's (Encore) and PawfectMatch's error body.
/// The error body: `{ code, message, details }`.
#[derive(Serialize, ToSchema)]
pub struct FlatError {
    pub code: ErrorCode,
    pub message: String,
    /// `null` when the error has none.
    pub details: Option<ErrorDetails>,
}

// Crenoir X MAP's error body.
/// The error body: `{ "error": { code, message, details? } }`.
#[derive(Serialize, ToSchema)]
pub struct NestedError {
    #[schema(inline)]
    pub error: NestedErrorBody,
}

#[derive(Serialize, ToSchema)]
pub struct NestedErrorBody {
    pub code: ErrorCode,
    pub message: String,
    /// Present when the error has details (the offending fields of a validation failure).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<ErrorDetails>,
}

// LeadGen's error body.
/// The error body: `{ "error": { code, message, details, requestId } }`.
#[derive(Serialize, ToSchema)]
pub struct NestedErrorWithRequestId {
    #[schema(inline)]
    pub error: NestedErrorDetail,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NestedErrorDetail {
    pub code: ErrorCode,
    pub message: String,
    // As seed 004 has it.
    /// Always an object; `{}` when the error has no details.
    pub details: ErrorDetails,
    /// The request's `X-Request-Id`.
    pub request_id: Option<String>,
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
    // Kept cheaply (reference-counted clones): only an error answer turns them into text.
    let method = req.method().clone();
    let uri = req.uri().clone();
    let request_id = req.headers().get(&shape.request_id_header).cloned();
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
    let request_id = request_id.as_ref().and_then(|v| v.to_str().ok());
    if let Some(cause) = &payload.cause {
        let path = uri.path();
        tracing::error!(request_id, %method, path, %cause, "internal error");
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
    let body = shape.format.body(&payload, request_id);
    Response::from_parts(parts, Body::from(body))
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
        StatusCode::URI_TOO_LONG => (ErrorCode::ResourceExhausted, "request URI too long"),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
            (ErrorCode::ResourceExhausted, "request headers too large")
        }
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
        let body = String::from_utf8(ErrorFormat::Flat.body(&p, Some("r1"))).unwrap();
        assert!(!body.contains("10.0.0.3"));
        assert!(body.contains("internal"));
    }

    #[test]
    fn nested_formats_carry_the_request_id_only_where_the_contract_has_room() {
        let p = transport_error(StatusCode::NOT_FOUND);
        let body = |f: ErrorFormat| -> serde_json::Value {
            serde_json::from_slice(&f.body(&p, Some("r1"))).unwrap()
        };
        let leadgen = body(ErrorFormat::NestedWithRequestId);
        assert_eq!(leadgen["error"]["requestId"], "r1");
        assert_eq!(leadgen["error"]["details"], serde_json::json!({}));
        assert!(
            body(ErrorFormat::Nested)["error"]
                .get("requestId")
                .is_none()
        );
        assert!(body(ErrorFormat::Nested)["error"].get("details").is_none());
        assert_eq!(body(ErrorFormat::Flat)["details"], serde_json::Value::Null);
    }
}
