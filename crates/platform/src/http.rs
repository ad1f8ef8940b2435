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
};
use http_body::{Frame, SizeHint};
use http_body_util::{LengthLimitError, Limited};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sha2::Digest;
use tower_http::{
    catch_panic::CatchPanicLayer,
    cors::{AllowOrigin, CorsLayer},
    timeout::TimeoutLayer,
};

use tracing::Instrument;

use crate::{
    error::{ApiError, ErrorCode, ErrorFormat, ErrorShape, error_shape_layer},
    extract::TrustedProxies,
    telemetry::ProductMetrics,
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

/// Wraps a product's routes in the shared stack, outermost first: [`front`] (request id,
/// request span, access log, metrics, security headers), CORS, the error shape, panic
/// catching, the timeout, and the request limits.
///
/// Every request pays for this stack, so it is kept short: one middleware does the small
/// per-request chores that used to be six layers, header values are static, nothing is
/// formatted unless a log line is written, and the stack wraps the router once rather than
/// each route (see [`RouteSlot`] for how the metrics still learn the route template).
pub fn serve_stack(routes: Router, opts: &HttpOptions, metrics: Arc<ProductMetrics>) -> Router {
    let shape = Arc::new(ErrorShape {
        format: opts.error_format,
        request_id_header: opts.request_id_header.clone(),
        validation_status: opts.validation_status,
    });
    let front_state = Arc::new(Front {
        product: opts.product,
        id_header: opts.request_id_header.clone(),
        trusted: TrustedProxies(opts.trusted_proxies.iter().copied().collect()),
        https: opts.public_https,
        access_log: AccessLog::from_env(),
        metrics,
    });
    let routes = if opts.etag {
        routes.layer(middleware::from_fn(etag))
    } else {
        routes
    };
    let routes = routes
        .fallback(|| async { ApiError::not_found("no such route") })
        .layer(RecordRouteLayer);
    // The stack wraps the router once, from outside. Applied with `Router::layer` it would be
    // applied to every route separately, and each request would clone its route's whole
    // stack, each `from_fn` layer then cloning everything beneath it again.
    let stack = tower::ServiceBuilder::new()
        .layer(middleware::from_fn_with_state(front_state, front))
        .layer(cors(&opts.cors_origins, &opts.request_id_header))
        .layer(middleware::from_fn_with_state(shape, error_shape_layer))
        .layer(CatchPanicLayer::new())
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            opts.request_timeout,
        ))
        .layer(middleware::from_fn_with_state(
            opts.body_limit,
            request_limits,
        ))
        .layer(DefaultBodyLimit::max(opts.body_limit))
        .service(routes);
    Router::new().fallback_service(stack)
}

/// Where [`front`] learns the route template a request matched (for its metrics): routing
/// happens inside the stack, and the answer may come from outside the route (a timeout, a
/// panic, a body over the limit), so the route fills this in on the way in.
#[derive(Clone, Default)]
struct RouteSlot(Arc<OnceLock<MatchedPath>>);

/// Fills in [`RouteSlot`] from the matched route; applied to every route by `Router::layer`,
/// so it is a plain service that neither boxes nor clones anything but the route's path.
#[derive(Clone, Copy)]
struct RecordRouteLayer;

impl<S> tower::Layer<S> for RecordRouteLayer {
    type Service = RecordRoute<S>;

    fn layer(&self, inner: S) -> RecordRoute<S> {
        RecordRoute(inner)
    }
}

#[derive(Clone)]
struct RecordRoute<S>(S);

impl<S: tower::Service<Request>> tower::Service<Request> for RecordRoute<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> S::Future {
        if let (Some(slot), Some(path)) = (
            req.extensions().get::<RouteSlot>(),
            req.extensions().get::<MatchedPath>(),
        ) {
            let _ = slot.0.set(path.clone());
        }
        self.0.call(req)
    }
}

/// Where the per-request access line goes (`ACCESS_LOG`): `info` writes one line per request
/// at INFO; anything else (the default) writes it at DEBUG, so it costs nothing unless
/// `RUST_LOG` asks for it (`RUST_LOG=info,access=debug`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessLog {
    Info,
    Debug,
}

impl AccessLog {
    pub fn from_env() -> Self {
        match std::env::var("ACCESS_LOG") {
            Ok(v) if v.eq_ignore_ascii_case("info") => Self::Info,
            _ => Self::Debug,
        }
    }
}

/// What [`front`] needs to know about the product.
struct Front {
    product: &'static str,
    id_header: HeaderName,
    trusted: TrustedProxies,
    https: bool,
    access_log: AccessLog,
    metrics: Arc<ProductMetrics>,
}

/// The outermost middleware: gives the request an id (`X-Request-Id` unless the client sent
/// one) and echoes it, runs it in a `request` span (product, method, path, request id: what
/// every log line written meanwhile carries), counts it in the product's metrics by route
/// template, writes the access line (status and `latency_ms` as numbers; see [`AccessLog`]),
/// and adds the security headers ([`security_headers`]).
async fn front(State(f): State<Arc<Front>>, mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let surface = Surface::of(req.uri().path());
    let https = f.https || forwarded_https(&req, &f.trusted.0);
    let id = match req.headers().get(&f.id_header) {
        Some(id) => id.clone(),
        None => {
            let id = new_request_id();
            req.headers_mut().insert(f.id_header.clone(), id.clone());
            id
        }
    };
    req.extensions_mut().insert(f.trusted.clone());
    let route = RouteSlot::default();
    req.extensions_mut().insert(route.clone());
    let method = req.method().clone();
    let span = tracing::info_span!(
        "request",
        product = f.product,
        method = method.as_str(),
        path = req.uri().path(),
        request_id = id.to_str().unwrap_or(""),
    );
    let mut res = next.run(req).instrument(span.clone()).await;
    let took = start.elapsed();
    let status = res.status();
    f.metrics.record(
        route.0.get().map(MatchedPath::as_str),
        &method,
        status,
        took,
    );
    let latency_ms = took.as_secs_f64() * 1000.0;
    span.in_scope(|| match f.access_log {
        AccessLog::Info => tracing::info!(
            target: "access", status = status.as_u16(), latency_ms, "finished processing request"
        ),
        AccessLog::Debug => tracing::debug!(
            target: "access", status = status.as_u16(), latency_ms, "finished processing request"
        ),
    });
    if !res.headers().contains_key(&f.id_header) {
        res.headers_mut().insert(f.id_header.clone(), id);
    }
    security_headers(surface, https, &mut res);
    res
}

/// A random request id (a UUID v4), formatted without a heap string. Its bytes come from the
/// thread's cryptographically seeded generator rather than `Uuid::new_v4`, which asks the
/// kernel (a `getrandom` system call) for every id.
fn new_request_id() -> HeaderValue {
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let id = uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .hyphenated()
        .encode_lower(&mut buf);
    HeaderValue::from_str(id).unwrap_or_else(|_| HeaderValue::from_static("-"))
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
fn security_headers(surface: Surface, https: bool, res: &mut Response) {
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

/// The process-wide Prometheus recorder, for the series recorded through the `metrics` macros
/// (connections, realtime, jobs, vendor failures); each product's HTTP series are its own
/// (`telemetry::ProductMetrics`).
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
    use axum::{body::Body, http::StatusCode, routing::get};
    use tower::ServiceExt;

    /// What the shared stack costs per request, beside the same route bare (in-process calls,
    /// no socket): `cargo test -p platform --release --lib stack_cost -- --ignored --nocapture`
    /// (`ACCESS_LOG=info` to include the access line).
    #[tokio::test]
    #[ignore = "a measurement, not a check"]
    async fn stack_cost() {
        crate::observability::init_logging();
        let bare = Router::new().route(
            "/h",
            get(|| async { crate::extract::Json(serde_json::json!({ "status": "ok" })) }),
        );
        let opts = HttpOptions::new("demo", ErrorFormat::Flat);
        let stacked = serve_stack(bare.clone(), &opts, ProductMetrics::new("demo"));
        for (name, app) in [("bare", bare), ("stack", stacked)] {
            let n = 20_000u32;
            let start = Instant::now();
            for _ in 0..n {
                let req = Request::get("/h").body(Body::empty()).unwrap();
                let res = app.clone().oneshot(req).await.unwrap();
                assert_eq!(res.status(), StatusCode::OK);
                axum::body::to_bytes(res.into_body(), 1024).await.unwrap();
            }
            let per = start.elapsed().as_secs_f64() * 1e6 / f64::from(n);
            eprintln!("{name}: {per:.2} µs per request");
        }
    }

    /// The stack wraps the router from outside, yet the metrics still count each answer by
    /// its route template: a handler's, a timeout's, a body found over the limit while read.
    /// A path no route matches, and a request refused before routing (a declared body over
    /// the limit), count as `unmatched`.
    #[tokio::test]
    async fn metrics_count_answers_by_route_template_even_when_the_stack_answers() {
        let routes = Router::new()
            .route("/items/{id}", get(|| async { "item" }))
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            )
            .route(
                "/upload",
                axum::routing::post(|body: Bytes| async move { body.len().to_string() }),
            );
        let mut opts = HttpOptions::new("demo", ErrorFormat::Flat);
        opts.request_timeout = Duration::from_millis(50);
        opts.body_limit = 16;
        let metrics = ProductMetrics::new("demo");
        let app = serve_stack(routes, &opts, metrics.clone());
        let send = |req: Request| {
            let app = app.clone();
            async move { app.oneshot(req).await.unwrap() }
        };
        let res = send(Request::get("/items/7").body(Body::empty()).unwrap()).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers().contains_key("x-request-id"));
        assert_eq!(res.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        let res = send(Request::get("/slow").body(Body::empty()).unwrap()).await;
        assert_eq!(res.status(), StatusCode::REQUEST_TIMEOUT);
        let res = send(
            Request::post("/upload")
                .body(Body::from(vec![b'x'; 64]))
                .unwrap(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let res = send(
            Request::put("/upload")
                .header(header::CONTENT_LENGTH, "64")
                .body(Body::from(vec![b'x'; 64]))
                .unwrap(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let res = send(Request::get("/nowhere").body(Body::empty()).unwrap()).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);

        let text = metrics.render();
        let counted = |route: &str, status: u16| {
            text.lines().any(|l| {
                l.starts_with("http_requests_total{")
                    && l.contains(&format!("route=\"{route}\""))
                    && l.contains(&format!("status=\"{status}\""))
            })
        };
        assert!(counted("/items/{id}", 200), "{text}");
        assert!(counted("/slow", 408), "{text}");
        // Read past the limit by the handler's extractor: after routing.
        assert!(counted("/upload", 413), "{text}");
        // Declared over the limit: refused before routing.
        assert!(
            text.lines().any(|l| l.starts_with("http_requests_total{")
                && l.contains("route=\"unmatched\"")
                && l.contains("method=\"PUT\"")
                && l.contains("status=\"413\"")),
            "{text}"
        );
        assert!(counted("unmatched", 404), "{text}");
    }

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
