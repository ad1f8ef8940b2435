//! The HTTP stack every product mounts: request ids, tracing, CORS, request limits (URI,
//! headers, body), timeout, panic catching, Prometheus metrics, the product's error shape,
//! JSON 404/405 fallbacks, and the security headers every response carries.

use std::{
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::{
    BoxError, Router,
    body::{Body, Bytes, HttpBody},
    extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use http_body::{Frame, SizeHint};
use http_body_util::{LengthLimitError, Limited};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sha2::Digest;
use tower_http::{
    catch_panic::CatchPanicLayer,
    cors::{AllowOrigin, CorsLayer},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::{DefaultOnResponse, TraceLayer},
};

use crate::{
    error::{ApiError, ErrorCode, ErrorFormat, ErrorShape, error_shape_layer},
    extract::TrustedProxies,
};

/// A request whose URI (path and query) is longer is answered 414 in the product's error shape.
/// hyper refuses URIs past 64 KiB itself, with an empty 414.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// A request whose header names and values add up to more is answered 431. The server sets
/// hyper's own limits above this (see `server`).
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// A request with more header fields is answered 431.
pub const MAX_HEADERS: usize = 100;

/// The Swagger UI at `/docs`: its own scripts and styles (it sets inline styles), `data:`
/// images, requests to this origin only, never framed.
pub const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/// HTML consoles (an `/admin` page gets it unless it sets its own; [`strict_csp`] for other
/// pages): this origin's own files only, no inline script or style, no plugins, never framed.
pub const STRICT_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";
/// Every other response (the API's JSON; its few HTML pages): never framed.
pub const API_CSP: &str = "frame-ancestors 'none'";
/// Sent on every response when the product is reached over HTTPS.
pub const HSTS: &str = "max-age=31536000; includeSubDomains";

/// Per-product HTTP settings.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    pub product: &'static str,
    pub error_format: ErrorFormat,
    pub request_id_header: HeaderName,
    pub cors_origins: Vec<String>,
    pub trusted_proxies: Vec<IpAddr>,
    pub body_limit: usize,
    pub request_timeout: Duration,
    /// `ETag` on JSON GET responses and `304` on a matching `If-None-Match`.
    pub etag: bool,
    /// See `ErrorShape::validation_status`.
    pub validation_status: Option<axum::http::StatusCode>,
    /// The product's public URL is `https://`: every response carries
    /// `Strict-Transport-Security` (otherwise only those a trusted proxy says came over HTTPS).
    pub public_https: bool,
}

impl HttpOptions {
    pub fn new(product: &'static str, error_format: ErrorFormat) -> Self {
        Self {
            product,
            error_format,
            request_id_header: HeaderName::from_static("x-request-id"),
            cors_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            body_limit: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            etag: false,
            validation_status: None,
            public_https: false,
        }
    }
}

/// Wraps a product's routes in the shared stack. `/metrics` is added here.
pub fn serve_stack(routes: Router, opts: &HttpOptions) -> Router {
    let shape = Arc::new(ErrorShape {
        format: opts.error_format,
        request_id_header: opts.request_id_header.clone(),
        validation_status: opts.validation_status,
    });
    let product = opts.product;
    let handle = metrics_handle();
    let trusted = TrustedProxies(opts.trusted_proxies.clone());
    let id_header = opts.request_id_header.clone();
    let span_id_header = opts.request_id_header.clone();
    let security = Arc::new(Security {
        https: opts.public_https,
        trusted: opts.trusted_proxies.clone(),
    });
    let routes = if opts.etag {
        routes.layer(middleware::from_fn(etag))
    } else {
        routes
    };
    routes
        .route("/metrics", get(move || async move { handle.render() }))
        .fallback(|| async { ApiError::not_found("no such route") })
        .layer(DefaultBodyLimit::max(opts.body_limit))
        .layer(middleware::from_fn_with_state(opts.body_limit, request_limits))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, opts.request_timeout))
        .layer(CatchPanicLayer::new())
        .layer(middleware::from_fn(move |req, next| record_metrics(product, req, next)))
        .layer(middleware::from_fn_with_state(shape, error_shape_layer))
        .layer(cors(&opts.cors_origins, &id_header))
        .layer(middleware::from_fn(move |mut req: Request, next: Next| {
            req.extensions_mut().insert(trusted.clone());
            next.run(req)
        }))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(move |req: &Request| {
                    let id = req.headers().get(&span_id_header);
                    tracing::info_span!("request", product, method = %req.method(), path = %req.uri().path(),
                        request_id = id.and_then(|v| v.to_str().ok()).unwrap_or(""))
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(opts.request_id_header.clone()))
        .layer(SetRequestIdLayer::new(opts.request_id_header.clone(), MakeRequestUuid))
        .layer(middleware::from_fn_with_state(security, security_headers))
}

/// Refuses in the product's error shape what hyper would refuse with an empty body further
/// up (a URI or headers over our limits, which sit below hyper's), refuses a declared body over
/// `body_limit`, and makes a body that turns out larger answer 413 whoever was reading it (an
/// extractor, a rate limiter peeking at it) and whatever they made of the failure.
async fn request_limits(State(body_limit): State<usize>, req: Request, next: Next) -> Response {
    let uri_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri_len > MAX_URI_BYTES {
        return too_large(
            StatusCode::URI_TOO_LONG,
            format!("request URI too long (at most {MAX_URI_BYTES} bytes)"),
        );
    }
    if headers_too_large(req.headers()) {
        return too_large(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!(
                "request headers too large (at most {MAX_HEADERS} fields, {MAX_HEADER_BYTES} bytes)"
            ),
        );
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > body_limit as u64) {
        return body_too_large(body_limit);
    }
    let tripped = Arc::new(AtomicBool::new(false));
    let watched = tripped.clone();
    let req = req.map(move |body| {
        Body::new(CappedBody {
            inner: Limited::new(body, body_limit),
            tripped: watched,
        })
    });
    let res = next.run(req).await;
    let status = res.status();
    if tripped.load(Ordering::Acquire)
        && (status.is_client_error() || status.is_server_error())
        && status != StatusCode::PAYLOAD_TOO_LARGE
    {
        return body_too_large(body_limit);
    }
    res
}

fn headers_too_large(headers: &HeaderMap) -> bool {
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    headers.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES
}

fn too_large(status: StatusCode, message: String) -> Response {
    ApiError::new(ErrorCode::ResourceExhausted, message)
        .with_status(status)
        .into_response()
}

fn body_too_large(limit: usize) -> Response {
    too_large(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("request body too large (at most {limit} bytes)"),
    )
}

/// A request body cut off at the limit, remembering that it was.
struct CappedBody {
    inner: Limited<Body>,
    tripped: Arc<AtomicBool>,
}

impl HttpBody for CappedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Err(e))) = &polled
            && e.downcast_ref::<LengthLimitError>().is_some()
        {
            this.tripped.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// What [`security_headers`] needs to know about the product.
struct Security {
    https: bool,
    trusted: Vec<IpAddr>,
}

/// Which rules of [`security_headers`] a path gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Surface {
    /// `/docs` and `/openapi.json`: static, public, cacheable; Swagger UI's CSP.
    Docs,
    /// `/healthz`, `/readyz`, `/metrics`: public, nothing personal.
    Public,
    /// `/admin/…`: the console; its HTML pages get the strict CSP.
    Console,
    /// Everything else: the product's API.
    Api,
}

impl Surface {
    fn of(path: &str) -> Self {
        match path {
            "/docs" | "/openapi.json" => Self::Docs,
            p if p.starts_with("/docs/") => Self::Docs,
            "/healthz" | "/readyz" | "/metrics" => Self::Public,
            "/admin" => Self::Console,
            p if p.starts_with("/admin/") => Self::Console,
            _ => Self::Api,
        }
    }
}

/// The headers every response of every product carries: `X-Content-Type-Options: nosniff`,
/// `Referrer-Policy: no-referrer`, `X-Frame-Options: DENY`, a `Content-Security-Policy`
/// (Swagger UI's on `/docs`, the strict one on console HTML, `frame-ancestors 'none'` on the
/// rest unless a handler set its own), `Cache-Control: no-store` on everything but the docs
/// and the public health and metrics endpoints (unless a handler set its own), and
/// `Strict-Transport-Security` when the request came over HTTPS.
async fn security_headers(State(sec): State<Arc<Security>>, req: Request, next: Next) -> Response {
    let surface = Surface::of(req.uri().path());
    let https = sec.https || forwarded_https(&req, &sec.trusted);
    let mut res = next.run(req).await;
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    let csp = match surface {
        Surface::Docs => Some(DOCS_CSP),
        _ if h.contains_key(header::CONTENT_SECURITY_POLICY) => None,
        Surface::Console if html => Some(STRICT_CSP),
        _ => Some(API_CSP),
    };
    if let Some(csp) = csp {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(csp),
        );
    }
    if matches!(surface, Surface::Api | Surface::Console) && !h.contains_key(header::CACHE_CONTROL)
    {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    res
}

/// True when a trusted proxy says the request reached it over HTTPS (`X-Forwarded-Proto`,
/// the client-side entry first).
fn forwarded_https(req: &Request, trusted: &[IpAddr]) -> bool {
    let from_proxy = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|c| trusted.contains(&c.0.ip().to_canonical()));
    from_proxy
        && req
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
}

/// Middleware giving a router's responses the strict [`STRICT_CSP`] (an HTML console outside
/// `/admin`, a page that must never run inline script): `.layer(middleware::from_fn(strict_csp))`.
pub async fn strict_csp(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(STRICT_CSP),
    );
    res
}

fn cors(origins: &[String], id_header: &HeaderName) -> CorsLayer {
    let allowed: Vec<HeaderValue> = origins.iter().filter_map(|o| o.parse().ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_NONE_MATCH,
            id_header.clone(),
            HeaderName::from_static(crate::cookies::CSRF_HEADER),
        ])
        .expose_headers([
            id_header.clone(),
            header::RETRY_AFTER,
            header::ETAG,
            HeaderName::from_static("x-ratelimit-limit"),
            HeaderName::from_static("x-ratelimit-remaining"),
            HeaderName::from_static("x-ratelimit-reset"),
        ])
        .allow_credentials(true)
        .max_age(Duration::from_secs(600))
}

/// The process-wide Prometheus recorder (installed once, shared by every product).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder is installed; then ours simply records nothing.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

async fn record_metrics(product: &'static str, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().to_string();
    let res = next.run(req).await;
    let labels = [
        ("product", product.to_owned()),
        ("route", route),
        ("method", method),
        ("status", res.status().as_u16().to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels[..3])
        .record(start.elapsed().as_secs_f64());
    res
}

/// Adds a strong `ETag` (SHA-256 of the body) to 200 JSON answers to GET, and answers
/// `304 Not Modified` when the request's `If-None-Match` already names it.
pub async fn etag(req: Request, next: Next) -> Response {
    if req.method() != Method::GET {
        return next.run(req).await;
    }
    let if_none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let res = next.run(req).await;
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if res.status() != axum::http::StatusCode::OK
        || !is_json
        || res.headers().contains_key(header::ETAG)
    {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 16 * 1024 * 1024).await else {
        return ApiError::internal("response body unreadable for ETag").into_response();
    };
    let tag = format!("\"{}\"", &hex::encode(sha2::Sha256::digest(&bytes))[..32]);
    if let Ok(tag) = HeaderValue::from_str(&tag) {
        parts.headers.insert(header::ETAG, tag);
    }
    let matches = if_none_match.is_some_and(|v| {
        v.split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == tag || t == "*")
    });
    if matches {
        parts.status = axum::http::StatusCode::NOT_MODIFIED;
        parts.headers.remove(header::CONTENT_LENGTH);
        parts.headers.remove(header::CONTENT_TYPE);
        return Response::from_parts(parts, axum::body::Body::empty());
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{body::Body, http::StatusCode};
    use tower::ServiceExt;

    fn app() -> Router {
        Router::new()
            .route(
                "/x",
                get(|| async { crate::extract::Json(serde_json::json!({ "n": 1 })) })
                    .post(|| async { "posted" }),
            )
            .layer(middleware::from_fn(etag))
    }

    async fn call(method: &str, inm: Option<&str>) -> Response {
        let mut req = Request::builder().method(method).uri("/x");
        if let Some(v) = inm {
            req = req.header(header::IF_NONE_MATCH, v);
        }
        app()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn get_gets_an_etag_and_a_matching_if_none_match_gets_304() {
        let first = call("GET", None).await;
        assert_eq!(first.status(), StatusCode::OK);
        let tag = first.headers()[header::ETAG].to_str().unwrap().to_owned();
        let again = call("GET", Some(&tag)).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(again.headers()[header::ETAG], tag.as_str());
        assert!(
            axum::body::to_bytes(again.into_body(), 1024)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            call("GET", Some("\"other\"")).await.status(),
            StatusCode::OK
        );
        assert_eq!(
            call("GET", Some(&format!("W/{tag}, \"x\""))).await.status(),
            StatusCode::NOT_MODIFIED
        );
    }

    #[tokio::test]
    async fn other_methods_are_left_alone() {
        let res = call("POST", Some("*")).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers().get(header::ETAG).is_none());
    }
}
