//! Every product as the server mounts it: the security headers on its API, console, docs and
//! health responses, HSTS behind a trusted HTTPS proxy or on an `https://` public URL, and the
//! protocol-level refusals (414, 431, 413, a chunked body included) in its own error shape.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed step is a failed test"
)]

use std::time::Duration;

use platform::{
    http::{API_CSP, DOCS_CSP, HSTS, MAX_HEADER_BYTES, MAX_HEADERS, MAX_URI_BYTES},
    product::Product,
};
use reqwest::Method;
use testkit::{ErrorShape, Resp, TestServer, expect_error};

/// What differs between the products for these checks.
struct Row {
    errors: ErrorShape,
    /// A path under the product's API that does not exist.
    api_missing: &'static str,
    /// A route that reads a request body, and the content type it reads.
    post: (&'static str, &'static str),
}

const WARROOM: Row = Row {
    errors: ErrorShape::Flat,
    api_missing: "/api/v1/no-such-thing",
    post: ("/api/v1/auth/login", "application/json"),
};
const PAWFECT: Row = Row {
    errors: ErrorShape::Flat,
    api_missing: "/api/v1/no-such-thing",
    post: ("/api/v1/auth/login", "application/json"),
};
const CRENOIR: Row = Row {
    errors: ErrorShape::Nested {
        always_details: false,
        request_id: None,
    },
    api_missing: "/api/no-such-thing",
    // The SAML assertion consumer reads its form body itself.
    post: ("/auth/saml/login", "application/x-www-form-urlencoded"),
};
const LEADGEN: Row = Row {
    errors: ErrorShape::Nested {
        always_details: true,
        request_id: Some("x-request-id"),
    },
    api_missing: "/api/no-such-thing",
    // Rate limited by email: the limiter reads the body before the handler does.
    post: ("/api/auth/login", "application/json"),
};

#[tokio::test]
async fn war_room_sends_the_security_headers_and_refuses_in_its_error_shape() {
    check::<warroom::WarRoom>(WARROOM).await;
}

#[tokio::test]
async fn pawfect_sends_the_security_headers_and_refuses_in_its_error_shape() {
    check::<pawfect::Pawfect>(PAWFECT).await;
}

#[tokio::test]
async fn crenoir_sends_the_security_headers_and_refuses_in_its_error_shape() {
    check::<crenoir::Crenoir>(CRENOIR).await;
}

#[tokio::test]
async fn leadgen_sends_the_security_headers_and_refuses_in_its_error_shape() {
    check::<leadgen::LeadGen>(LEADGEN).await;
}

#[tokio::test]
async fn an_https_public_url_puts_hsts_on_every_response() {
    let app = testkit::spawn_product::<warroom::WarRoom>(WARROOM.errors, |s| {
        s.public_url = "https://api.example.test".into();
    })
    .await
    .unwrap();
    for path in ["/healthz", "/docs/", WARROOM.api_missing] {
        let r = app.get(path, None).await;
        assert_eq!(r.header("strict-transport-security"), Some(HSTS), "{path}");
    }
}

async fn check<P: Product>(row: Row) {
    // The test client is the trusted proxy, so it can say the request came over HTTPS.
    let app = testkit::spawn_product::<P>(row.errors, |s| {
        s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await
    .unwrap();
    security_headers(&app, &row).await;
    refusals(&app, &row).await;
}

#[track_caller]
fn common_headers(r: &Resp, what: &str) {
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{what}");
    assert_eq!(r.header("x-frame-options"), Some("DENY"), "{what}");
    assert!(
        r.header("content-security-policy").is_some(),
        "{what}: no CSP"
    );
    assert_eq!(
        r.header("strict-transport-security"),
        None,
        "{what}: HSTS over plain HTTP"
    );
}

async fn security_headers<C>(app: &TestServer<C>, row: &Row) {
    let api = app.get(row.api_missing, None).await;
    expect_error(&api, 404, "not_found");
    let console = app.get("/admin/api/users", None).await;
    expect_error(&console, 401, "unauthenticated");
    for (r, what) in [(&api, "API"), (&console, "console API")] {
        common_headers(r, what);
        assert_eq!(r.header("content-security-policy"), Some(API_CSP), "{what}");
        assert_eq!(r.header("cache-control"), Some("no-store"), "{what}");
    }
    let health = app.get("/healthz", None).await;
    assert_eq!(health.status, 200);
    common_headers(&health, "/healthz");
    assert_eq!(health.header("cache-control"), None, "/healthz is public");

    let docs = app.get("/docs/", None).await;
    assert_eq!(docs.status, 200);
    common_headers(&docs, "/docs/");
    assert_eq!(docs.header("content-security-policy"), Some(DOCS_CSP));
    assert_eq!(
        docs.header("cache-control"),
        None,
        "the docs are public and cacheable"
    );

    let proxied = app
        .call(Method::GET, "/healthz")
        .header("x-forwarded-proto", "https")
        .send()
        .await;
    assert_eq!(proxied.header("strict-transport-security"), Some(HSTS));
}

async fn refusals<C>(app: &TestServer<C>, row: &Row) {
    let long_query = format!("/healthz?q={}", "a".repeat(MAX_URI_BYTES));
    let r = app.get(&long_query, None).await;
    expect_error(&r, 414, "resource_exhausted");
    common_headers(&r, "414");

    let pad = "p".repeat(MAX_HEADER_BYTES / 4);
    let big: Vec<(String, &str)> = (0..5)
        .map(|i| (format!("x-pad-{i}"), pad.as_str()))
        .collect();
    let mut call = app.call(Method::GET, row.api_missing);
    for (k, v) in &big {
        call = call.header(k, v);
    }
    expect_error(&call.send().await, 431, "resource_exhausted");

    let mut many = app.call(Method::GET, row.api_missing);
    for i in 0..MAX_HEADERS + 10 {
        many = many.header(&format!("x-h-{i}"), "1");
    }
    expect_error(&many.send().await, 431, "resource_exhausted");

    let (path, content_type) = row.post;
    let oversized = vec![b'a'; 1024 * 1024 + 4096];
    let declared = app
        .call(Method::POST, path)
        .header("content-type", content_type)
        .raw(oversized.clone())
        .send()
        .await;
    expect_error(&declared, 413, "resource_exhausted");

    // No Content-Length: the limit trips while the body is read.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = oversized
        .chunks(64 * 1024)
        .map(|c| Ok(c.to_vec()))
        .collect();
    let res = app
        .client
        .post(app.url(path))
        .header("content-type", content_type)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("an answer to the chunked body");
    let chunked = app.read(res).await;
    expect_error(&chunked, 413, "resource_exhausted");
}
