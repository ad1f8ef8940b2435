//! The HTTP stack every product mounts: request ids, tracing, CORS, body limit, timeout,
//! panic catching, Prometheus metrics, the product's error shape, and JSON 404/405 fallbacks.

use std::{net::IpAddr, sync::Arc, sync::OnceLock, time::Duration, time::Instant};

use axum::{
    Router,
    extract::{DefaultBodyLimit, MatchedPath, Request},
    http::{HeaderName, HeaderValue, Method, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sha2::Digest;
use tower_http::{
    catch_panic::CatchPanicLayer,
    cors::{AllowOrigin, CorsLayer},
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::{DefaultOnResponse, TraceLayer},
};

use crate::{
    error::{ApiError, ErrorFormat, ErrorShape, error_shape_layer},
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
    let routes = if opts.etag {
        routes.layer(middleware::from_fn(etag))
    } else {
        routes
    };
    routes
        .route("/metrics", get(move || async move { handle.render() }))
        .fallback(|| async { ApiError::not_found("no such route") })
        .layer(DefaultBodyLimit::max(opts.body_limit))
        .layer(RequestBodyLimitLayer::new(opts.body_limit))
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
    parts.headers.insert(
        header::ETAG,
        HeaderValue::from_str(&tag).expect("hex is a valid header value"),
    );
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
