//! The error contract: every failure, whether a handler's or the transport's (bad JSON,
//! unknown route, wrong method, oversized body), is `{ code, message, details }` JSON with the
//! catalogue's status, on both mounts, and nothing internal leaks.

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

const JSON: (&str, &str) = ("content-type", "application/json");

/// Words that would betray the storage layer or the code behind an error.
const INTERNALS: [&str; 8] = [
    "sqlite", "postgres", "sea_orm", "sqlx", "dberr", "panicked", "serde", "axum",
];

#[track_caller]
fn assert_no_internals(r: &Resp) {
    let text = r.text.to_lowercase();
    for word in INTERNALS {
        assert!(
            !text.contains(word),
            "error body leaks {word:?}: {}",
            r.text
        );
    }
}

#[tokio::test]
async fn malformed_json_is_400_invalid_argument_on_both_mounts() {
    // Each request from its own address: a request without an address still counts toward
    // forgot-password's per-address limit (keyed by the client instead), and this test is
    // about shapes, not limits.
    let app = spawn_app_with(|s| s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    let mut n = 0;
    for base in [WEB, MOBILE] {
        for path in ["auth/login", "auth/register", "auth/forgot-password"] {
            for body in [&b"{not json"[..], b"{\"email\": \"a@b.co\",", b"\xff\xfe"] {
                n += 1;
                let from = format!("198.51.100.{n}");
                let r = app
                    .raw_request(
                        Method::POST,
                        &format!("{base}/{path}"),
                        None,
                        &[JSON, ("x-forwarded-for", &from)],
                        Some(body.to_vec()),
                    )
                    .await;
                expect_error(&r, 400, "invalid_argument");
                assert_no_internals(&r);
            }
        }
    }
    // The optional bodies of refresh and logout are still parsed when sent.
    let r = app
        .raw_request(
            Method::POST,
            "/api/auth/refresh",
            None,
            &[JSON],
            Some(b"{oops".to_vec()),
        )
        .await;
    expect_error(&r, 400, "invalid_argument");
}

#[tokio::test]
async fn a_missing_field_is_400_invalid_argument_naming_it() {
    let app = spawn_app().await;
    for (path, body, field) in [
        (
            "/api/v1/auth/login",
            json!({ "email": "a@example.com" }),
            "password",
        ),
        (
            "/api/auth/register",
            json!({ "email": "a@example.com", "password": PASSWORD }),
            "name",
        ),
        ("/api/v1/auth/forgot-password", json!({}), "email"),
        (
            "/api/auth/reset-password",
            json!({ "password": PASSWORD }),
            "token",
        ),
    ] {
        let r = app.post(path, None, body).await;
        expect_error(&r, 400, "invalid_argument");
        assert!(
            r.body["message"].as_str().unwrap().contains(field),
            "{path}: {}",
            r.text
        );
        assert_eq!(error_fields(&r), [field], "{path}: {}", r.text);
        assert_no_internals(&r);
    }
    assert!(
        app.ctx
            .identity
            .user_by_email("a@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_wrong_field_type_is_400_invalid_argument() {
    let app = spawn_app().await;
    for (path, body) in [
        (
            "/api/v1/auth/login",
            json!({ "email": 5, "password": PASSWORD }),
        ),
        (
            "/api/auth/login",
            json!({ "email": "a@example.com", "password": ["x"] }),
        ),
        (
            "/api/v1/auth/register",
            json!({ "email": "a@example.com", "password": PASSWORD, "name": { "first": "A" } }),
        ),
        ("/api/auth/refresh", json!({ "refreshToken": 42 })),
        ("/api/v1/auth/verify-email", json!({ "token": true })),
        ("/api/auth/forgot-password", json!("a@example.com")),
        ("/api/v1/auth/login", json!(null)),
    ] {
        let r = app.post(path, None, body.clone()).await;
        assert_eq!(r.status, 400, "{path} {body}: {}", r.text);
        expect_error(&r, 400, "invalid_argument");
        assert_no_internals(&r);
    }
}

#[tokio::test]
async fn a_body_without_a_json_content_type_is_400_invalid_argument() {
    let app = spawn_app().await;
    app.create_user("ann@example.com", "user").await;
    let body = json!({ "email": "ann@example.com", "password": PASSWORD })
        .to_string()
        .into_bytes();
    for headers in [&[][..], &[("content-type", "text/plain")]] {
        let r = app
            .raw_request(
                Method::POST,
                "/api/v1/auth/login",
                None,
                headers,
                Some(body.clone()),
            )
            .await;
        expect_error(&r, 400, "invalid_argument");
        assert!(r.cookie("refresh_token").is_none());
    }
}

#[tokio::test]
async fn an_unknown_route_is_404_not_found_json() {
    let app = spawn_app().await;
    let s = app.mobile_register("ann@example.com").await;
    for (method, path, token) in [
        (Method::GET, "/nope", None),
        (Method::GET, "/api/v1/nope", None),
        (Method::GET, "/api/nope", Some(s.access.as_str())),
        (Method::POST, "/api/v1/auth/nothing", None),
        (Method::POST, "/api/auth/nothing", None),
        (Method::GET, "/api/v2/auth/me", Some(s.access.as_str())),
        (Method::GET, "/admin/api/nothing", Some(s.access.as_str())),
    ] {
        let r = app.request(method.clone(), path, token, None).await;
        assert_eq!(r.status, 404, "{method} {path}: {}", r.text);
        expect_error(&r, 404, "not_found");
    }
}

#[tokio::test]
async fn a_wrong_method_is_405_json() {
    let app = spawn_app().await;
    let s = app.web_register("ann@example.com").await;
    for (method, path) in [
        (Method::GET, "/api/v1/auth/login"),
        (Method::GET, "/api/auth/register"),
        (Method::POST, "/api/v1/auth/me"),
        (Method::DELETE, "/api/auth/me"),
        (Method::POST, "/healthz"),
        (Method::PUT, "/readyz"),
        (Method::POST, "/api/version"),
        (Method::DELETE, "/admin/api/outbox"),
    ] {
        let r = app
            .request(method.clone(), path, Some(&s.access), None)
            .await;
        assert_eq!(r.status, 405, "{method} {path}: {}", r.text);
        expect_error(&r, 405, "unimplemented");
    }
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_413_json() {
    let app = spawn_app().await;
    for path in ["/api/v1/auth/register", "/api/auth/login"] {
        let big = format!(
            r#"{{"email":"a@example.com","password":"{}","name":"A"}}"#,
            "x".repeat(1024 * 1024 + 10)
        );
        let r = app
            .raw_request(Method::POST, path, None, &[JSON], Some(big.into_bytes()))
            .await;
        expect_error(&r, 413, "resource_exhausted");
        assert!(r.header("x-correlation-id").is_some());
        assert!(r.cookie("refresh_token").is_none());
    }
    assert!(
        app.ctx
            .identity
            .user_by_email("a@example.com")
            .await
            .unwrap()
            .is_none()
    );
    // Just under the limit is read, then judged on its merits (a 1 MB password is too long).
    let fits = format!(
        r#"{{"email":"a@example.com","password":"{}","name":"A"}}"#,
        "x".repeat(1000 * 1000)
    );
    let r = app
        .raw_request(
            Method::POST,
            "/api/v1/auth/register",
            None,
            &[JSON],
            Some(fits.into_bytes()),
        )
        .await;
    expect_error(&r, 400, "invalid_argument");
    assert_eq!(error_fields(&r), ["password"], "{}", r.text);
}

#[tokio::test]
async fn handler_errors_use_the_same_shape_on_both_mounts() {
    let app = spawn_app().await;
    app.web_register("ann@example.com").await;
    let web = app.register(WEB, "ann@example.com", "Ann").await;
    let mobile = app.register(MOBILE, "ann@example.com", "Ann").await;
    expect_error(&web, 409, "already_exists");
    expect_error(&mobile, 409, "already_exists");
    assert_eq!(web.body, mobile.body);
}

#[tokio::test]
async fn a_json_array_in_place_of_the_body_object_is_400_invalid_argument() {
    // The contract's bodies are objects; positional arrays are not a second syntax for them.
    let app = spawn_app().await;
    app.create_user("ann@example.com", "user").await;
    for (path, body) in [
        ("/api/v1/auth/login", json!(["ann@example.com", PASSWORD])),
        ("/api/auth/login", json!(["ann@example.com", PASSWORD])),
        (
            "/api/v1/auth/register",
            json!(["bob@example.com", PASSWORD, "Bob"]),
        ),
        ("/api/auth/forgot-password", json!(["ann@example.com"])),
    ] {
        let r = app.post(path, None, body.clone()).await;
        assert_eq!(r.status, 400, "{path} {body}: {}", r.text);
        expect_error(&r, 400, "invalid_argument");
        assert!(r.cookie("refresh_token").is_none());
    }
    assert!(
        app.ctx
            .identity
            .user_by_email("bob@example.com")
            .await
            .unwrap()
            .is_none(),
        "an array body registered an account"
    );
}
