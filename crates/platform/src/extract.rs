//! Request extractors whose rejections are `ApiError`s, so malformed input gets the product's
//! error shape, and `ClientInfo`, the caller's IP (proxy-aware) and user agent.
//!
//! `Json`, `Query` and `Path` also apply the one input rule (`validate::NUL_MESSAGE`): a string
//! holding NUL (U+0000), in a body value or key, a query parameter or a path parameter, is a
//! validation error naming the field, before the handler runs, so no handler can store one.

use std::net::{IpAddr, SocketAddr};

use crate::error::{ApiError, ErrorDetails};
use axum::{
    extract::{
        ConnectInfo, FromRequest, FromRequestParts, OptionalFromRequest, RawPathParams, Request,
        rejection::{JsonRejection, PathRejection, QueryRejection},
    },
    http::{header, request::Parts},
    response::{IntoResponse, Response},
};
use serde::{Serialize, de::DeserializeOwned};

/// JSON body extractor and response; rejections become `invalid_argument`. Request bodies
/// are JSON objects: a top-level array is refused even where serde would read a struct from
/// one positionally.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.map_err(|_| {
            ApiError::new(
                crate::error::ErrorCode::ResourceExhausted,
                "request body too large",
            )
            .with_status(axum::http::StatusCode::PAYLOAD_TOO_LARGE)
        })?;
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
            return Err(ApiError::invalid(
                "request body must be a JSON object, not an array",
            ));
        }
        refuse_nul_in_body(&bytes)?;
        let req = Request::from_parts(parts, axum::body::Body::from(bytes.clone()));
        match <axum::Json<T> as FromRequest<S>>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            // serde_json reports a value of the wrong kind where an enum goes (`true` for a
            // variant's name) as a syntax error; when the body is valid JSON it is that
            // field's value that is wrong, and the error says which field.
            Err(JsonRejection::JsonSyntaxError(e))
                if serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok() =>
            {
                Err(wrong_value(&e.body_text()))
            }
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// The one input rule for a JSON body: NUL can only arrive escaped (`\u0000`; a raw NUL byte
/// is not JSON), so bodies without that sequence, nearly all of them, are not parsed twice.
/// A body that is not JSON is left to the typed parse, which says why.
fn refuse_nul_in_body(bytes: &[u8]) -> Result<(), ApiError> {
    if !bytes.windows(6).any(|w| w == b"\\u0000") {
        return Ok(());
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Ok(());
    };
    refuse(crate::validate::nul_in_json(&value))
}

/// A validation error naming `found`, if there is any.
fn refuse(found: Vec<crate::validate::FieldError>) -> Result<(), ApiError> {
    if found.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(found))
    }
}

/// The one input rule for a query string: each parameter as the query deserializer decodes it
/// (percent escapes and `+`), named by the parameter's name.
pub fn refuse_nul_in_query(query: Option<&str>) -> Result<(), ApiError> {
    let Some(query) = query.filter(|q| q.contains('%')) else {
        return Ok(());
    };
    let pairs: Vec<_> = url::form_urlencoded::parse(query.as_bytes()).collect();
    refuse(crate::validate::nul_in_pairs(
        pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref())),
    ))
}

/// An `application/x-www-form-urlencoded` body's fields in order, under the one input rule:
/// a field holding NUL is a validation error naming it. For handlers that read forms.
pub fn form_pairs(body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    refuse(crate::validate::nul_in_pairs(
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    ))?;
    Ok(pairs)
}

/// The one input rule for path parameters (percent-decoded), named by the route's parameter
/// name (`id`, `campaignId`). For extractors of a product's own that read the path.
pub async fn refuse_nul_in_path<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
) -> Result<(), ApiError> {
    match RawPathParams::from_request_parts(parts, state).await {
        Ok(params) => refuse(crate::validate::nul_in_pairs(params.iter())),
        // Not UTF-8, or no route parameters: the typed extractor says so.
        Err(_) => Ok(()),
    }
}

/// `Option<Json<T>>`: `None` when the request has no body at all (War Room's
/// `verify-email` is called both with and without one).
impl<T, S> OptionalFromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        let empty_length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() == b"0");
        let has_type = req.headers().contains_key(header::CONTENT_TYPE);
        if empty_length || (!has_type && !req.headers().contains_key(header::TRANSFER_ENCODING)) {
            return Ok(None);
        }
        <Self as FromRequest<S>>::from_request(req, state)
            .await
            .map(Some)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::invalid("expected a JSON body with Content-Type: application/json")
        }
        JsonRejection::BytesRejection(e)
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
        {
            ApiError::new(
                crate::error::ErrorCode::ResourceExhausted,
                "request body too large",
            )
            .with_status(axum::http::StatusCode::PAYLOAD_TOO_LARGE)
        }
        JsonRejection::JsonDataError(e) => {
            let (field, problem) = data_error_field(&e.body_text());
            ApiError::invalid(format!("invalid request body: {field}: {problem}")).with_details(
                ErrorDetails::Fields {
                    fields: vec![crate::validate::field(field, problem)],
                },
            )
        }
        JsonRejection::JsonSyntaxError(_) => ApiError::invalid("request body is not valid JSON"),
        other => ApiError::invalid(format!("invalid request body: {}", other.body_text())),
    }
}

/// A valid JSON body with a value its field does not take, naming the field.
fn wrong_value(text: &str) -> ApiError {
    let (field, problem) = data_error_field(text);
    let problem = if problem.starts_with("expected value") {
        "not a value this field takes".to_owned()
    } else {
        problem
    };
    ApiError::invalid(format!("invalid request body: {field}: {problem}")).with_details(
        ErrorDetails::Fields {
            fields: vec![crate::validate::field(field, problem)],
        },
    )
}

/// Splits axum's "Failed to deserialize …: `path`: `problem` at line L column C" into the
/// offending field (the missing one, for "missing field `x`") and the problem.
fn data_error_field(text: &str) -> (String, String) {
    let detail = text
        .split_once("target type: ")
        .or_else(|| text.split_once("as JSON: "))
        .map_or(text, |(_, d)| d);
    let detail = detail.rsplit_once(" at line ").map_or(detail, |(d, _)| d);
    let (path, problem) = match detail.split_once(": ") {
        Some((path, problem)) if !path.contains(' ') => (path, problem),
        _ => (".", detail),
    };
    let missing = problem
        .strip_prefix("missing field `")
        .and_then(|r| r.split('`').next());
    let field = match (path, missing) {
        (".", Some(m)) => m.to_owned(),
        (p, Some(m)) => format!("{p}.{m}"),
        (".", None) => "body".to_owned(),
        (p, None) => p.to_owned(),
    };
    (field, problem.to_owned())
}

trait BodyTextCause {
    fn body_text_cause(&self) -> String;
}

impl<E: std::error::Error> BodyTextCause for E {
    fn body_text_cause(&self) -> String {
        let mut source: &dyn std::error::Error = self;
        while let Some(next) = source.source() {
            source = next;
        }
        source.to_string()
    }
}

/// Query-string extractor; rejections become `invalid_argument`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        refuse_nul_in_query(parts.uri.query())?;
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e: QueryRejection| match e {
                QueryRejection::FailedToDeserializeQueryString(e) => {
                    ApiError::invalid(format!("invalid query string: {}", e.body_text_cause()))
                }
                other => ApiError::invalid(other.body_text()),
            })
    }
}

/// Path-parameter extractor; rejections become `invalid_argument` naming the parameter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        refuse_nul_in_path(parts, state).await?;
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e: PathRejection| match e {
                PathRejection::FailedToDeserializePathParams(e) => {
                    ApiError::invalid(format!("invalid path parameter: {}", e.body_text_cause()))
                        .with_details(ErrorDetails::Fields {
                            fields: vec![crate::validate::field("path", e.body_text())],
                        })
                }
                other => ApiError::internal(other.body_text()),
            })
    }
}

/// The route's one id segment as `T` (a UUID, or a product's id type made from one). Ids are
/// UUIDs, so a segment that is not one names no resource and the route does not exist: 404 "no
/// such route", the answer any unknown path gets; a fixed word beside an `{id}`
/// (`/campaigns/recommendations`) is thus never read as an unknown id. A segment holding NUL is
/// refused like any input with NUL. Put it first among a handler's extractors, so an unknown
/// route is 404 whoever asks.
#[derive(Clone, Copy, Debug)]
pub struct Id<T = uuid::Uuid>(pub T);

impl<S: Send + Sync, T: From<uuid::Uuid>> FromRequestParts<S> for Id<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        refuse_nul_in_path(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::internal(format!("path parameters: {e}")))?;
        let mut values = params.iter().map(|(_, v)| v);
        match (values.next(), values.next()) {
            (Some(raw), None) => uuid::Uuid::parse_str(raw)
                .map(|id| Self(T::from(id)))
                .map_err(|_| ApiError::not_found("no such route")),
            _ => Err(ApiError::internal("Id wants a route with one parameter")),
        }
    }
}

/// Addresses whose `X-Forwarded-For` is believed (configured per product).
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(pub std::sync::Arc<[IpAddr]>);

/// Who is calling, for rate limits, sessions and the security log.
#[derive(Clone, Debug)]
pub struct ClientInfo {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl ClientInfo {
    pub fn ip_string(&self) -> Option<String> {
        self.ip.map(|ip| ip.to_string())
    }

    /// Resolves the client IP: the socket peer, unless the peer is a trusted proxy, in which
    /// case the right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
    pub fn from_parts(parts: &Parts) -> Self {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let trusted = parts.extensions.get::<TrustedProxies>();
        let ip = match (peer, trusted) {
            (Some(peer), Some(trusted)) if trusted.0.contains(&peer) => parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|s| s.trim().parse::<IpAddr>().ok())
                .rev()
                .find(|ip| !trusted.0.contains(ip))
                .or(Some(peer)),
            (peer, _) => peer,
        };
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(512).collect());
        Self { ip, user_agent }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_parts(parts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(peer: &str, xff: Option<&str>, trusted: &[&str]) -> Parts {
        let mut b = Request::builder().uri("/");
        if let Some(x) = xff {
            b = b.header("x-forwarded-for", x);
        }
        let (mut parts, ()) = b.body(()).unwrap().into_parts();
        parts
            .extensions
            .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        parts.extensions.insert(TrustedProxies(
            trusted.iter().map(|s| s.parse().unwrap()).collect(),
        ));
        parts
    }

    #[test]
    fn body_errors_name_the_offending_field() {
        let t = "Failed to deserialize the JSON body into the target type: missing field `name` at line 1 column 40";
        assert_eq!(data_error_field(t).0, "name");
        let t = "Failed to deserialize the JSON body into the target type: email: invalid type: integer `1`, expected a string at line 1 column 10";
        assert_eq!(
            data_error_field(t),
            (
                "email".into(),
                "invalid type: integer `1`, expected a string".into()
            )
        );
        let t = "Failed to deserialize the JSON body into the target type: user: missing field `id` at line 1 column 9";
        assert_eq!(data_error_field(t).0, "user.id");
        // Request bodies refuse fields they do not define; the path names the stranger.
        let t = "Failed to deserialize the JSON body into the target type: role: unknown field `role`, expected one of `email`, `password`, `name` at line 1 column 60";
        assert_eq!(data_error_field(t).0, "role");
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    enum Level {
        Low,
        High,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Prefs {
        min_level: Option<Level>,
    }

    async fn extract(body: &str) -> Result<Json<Prefs>, ApiError> {
        let req = axum::http::Request::builder()
            .header(header::CONTENT_TYPE, "application/json")
            .body(axum::body::Body::from(body.to_owned()))
            .unwrap();
        <Json<Prefs> as FromRequest<()>>::from_request(req, &()).await
    }

    #[tokio::test]
    async fn a_value_of_the_wrong_kind_for_an_enum_names_the_field() {
        for body in [
            r#"{"minLevel": true}"#,
            r#"{"minLevel": 5}"#,
            r#"{"minLevel": []}"#,
        ] {
            let err = extract(body).await.unwrap_err();
            assert!(err.message.contains("minLevel"), "{body}: {}", err.message);
            let Some(ErrorDetails::Fields { fields }) = &err.details else {
                panic!("{body}: no fields in {:?}", err.details);
            };
            assert_eq!(fields[0].field, "minLevel", "{body}");
        }
        // A body that is not JSON at all stays a syntax error, naming no field.
        let err = extract(r#"{"minLevel": tru"#).await.unwrap_err();
        assert_eq!(err.message, "request body is not valid JSON");
        assert!(extract(r#"{"minLevel": "High"}"#).await.is_ok());
    }

    #[test]
    fn nul_in_a_body_or_query_is_a_validation_error_naming_the_field() {
        let e = refuse_nul_in_body(br#"{"name":"a\u0000","items":[{},{"title":"\u0000"}]}"#)
            .unwrap_err();
        assert_eq!(e.field_names(), ["items[1].title", "name"]);
        // An escaped backslash followed by `u0000` is six ordinary characters.
        assert!(refuse_nul_in_body(br#"{"name":"a\\u0000"}"#).is_ok());
        // Not JSON: left to the typed parse.
        assert!(refuse_nul_in_body(br#"{"name":"\u0000"#).is_ok());
        let e = refuse_nul_in_query(Some("page=1&q=a%00b")).unwrap_err();
        assert_eq!(e.field_names(), ["q"]);
        assert!(refuse_nul_in_query(Some("q=a%2500")).is_ok());
        assert!(refuse_nul_in_query(None).is_ok());
    }

    #[test]
    fn forwarded_for_is_ignored_from_untrusted_peers() {
        let p = parts("203.0.113.9:5000", Some("1.2.3.4"), &[]);
        assert_eq!(
            ClientInfo::from_parts(&p).ip_string().unwrap(),
            "203.0.113.9"
        );
    }

    #[test]
    fn trusted_proxy_yields_the_nearest_untrusted_forwarded_address() {
        let p = parts(
            "10.0.0.1:5000",
            Some("6.6.6.6, 1.2.3.4, 10.0.0.2"),
            &["10.0.0.1", "10.0.0.2"],
        );
        assert_eq!(ClientInfo::from_parts(&p).ip_string().unwrap(), "1.2.3.4");
    }
}
