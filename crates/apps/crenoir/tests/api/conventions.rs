//! The contract's conventions: the nested error shape (404, 405, 400, 422 with fields), the
//! request id, health, the admin console's access rules, rate limits, and the OpenAPI document.

use platform::datamode::Mode;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

// ---------------------------------------------------------------- error shapes

#[tokio::test]
async fn an_unknown_route_is_a_nested_404() {
    let app = spawn_app().await;
    for path in ["/api/nope", "/auth/nope", "/"] {
        let r = app.get(path, None).await;
        expect_error(&r, 404, "not_found");
        assert!(r.error().get("details").is_none(), "{}", r.text);
    }
}

#[tokio::test]
async fn a_wrong_method_is_a_nested_405() {
    let app = spawn_app().await;
    for (method, path) in [
        (Method::GET, "/auth/google/login"),
        (Method::DELETE, "/auth/user/profile"),
        (Method::GET, "/auth/refresh"),
        (Method::PUT, "/auth/saml/login"),
    ] {
        let r = app.call(method.clone(), path).send().await;
        assert_eq!(r.status, 405, "{method} {path}: {}", r.text);
        expect_error(&r, 405, "unimplemented");
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_is_400() {
    let app = spawn_app().await;
    let json_type = [("content-type", "application/json")];
    for (case, headers, body) in [
        ("syntax", &json_type[..], &b"{\"credential\": "[..]),
        ("array", &json_type[..], &b"[\"a\"]"[..]),
        ("no content type", &[][..], &b"{\"credential\":\"x\"}"[..]),
    ] {
        let r = app
            .raw_request(
                Method::POST,
                "/auth/google/login",
                None,
                headers,
                Some(body.to_vec()),
            )
            .await;
        assert_eq!(r.status, 400, "{case}: {}", r.text);
        expect_error(&r, 400, "invalid_argument");
        assert!(r.error().get("details").is_none(), "{case}: {}", r.text);
    }
}

#[tokio::test]
async fn a_missing_or_mistyped_field_is_422_naming_it() {
    let app = spawn_app().await;
    let cases: [(&str, Value, &str); 4] = [
        (
            "/auth/google/login",
            json!({ "credential": 5 }),
            "credential",
        ),
        ("/auth/google/login", json!({ "code": ["c"] }), "code"),
        (
            "/auth/google/mock/authorize",
            json!({ "email": "x@example.com" }),
            "redirectUri",
        ),
        (
            "/auth/google/mock/token",
            json!({ "code": "c", "codeVerifier": 7 }),
            "codeVerifier",
        ),
    ];
    for (path, body, field) in cases {
        let r = app.post(path, None, body.clone()).await;
        expect_error(&r, 422, "invalid_argument");
        assert_eq!(error_fields(&r), [field], "{path} {body}: {}", r.text);
        let f = &r.error()["details"]["fields"][0];
        assert!(
            f["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{}",
            r.text
        );
    }
}

#[tokio::test]
async fn out_of_range_paging_is_422_naming_the_field() {
    let app = spawn_app().await;
    app.existing_user("pager@example.com", "admin", true).await;
    let s = app.google_sign_in("pager@example.com").await;
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("page=0", "page"),
    ] {
        let r = app
            .get(&format!("/admin/api/outbox?{query}"), Some(&s.access))
            .await;
        expect_error(&r, 422, "invalid_argument");
        assert_eq!(error_fields(&r), [field], "{query}: {}", r.text);
    }
    let r = app
        .get("/admin/api/outbox?limit=ten", Some(&s.access))
        .await;
    assert!(
        r.status == 400 || r.status == 422,
        "a non-number is refused: {}",
        r.text
    );
    expect_error(&r, r.status.as_u16(), "invalid_argument");
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let r = app.get("/api/health", None).await;
    assert!(r.header("x-request-id").is_some_and(|v| !v.is_empty()));
    let r = app.get("/api/nope", None).await;
    assert!(r.header("x-request-id").is_some_and(|v| !v.is_empty()));
    let r = app
        .raw_request(
            Method::GET,
            "/auth/user/profile",
            None,
            &[("x-request-id", "trace-42")],
            None,
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("x-request-id"), Some("trace-42"));
    // The nested shape keeps the id in the header only.
    expect_error(&r, 401, "unauthenticated");
}

// ---------------------------------------------------------------- health

#[tokio::test]
async fn health_reports_the_database_mode_and_providers() {
    let app = spawn_app().await;
    let r = app.get("/api/health", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let d = &r.body["data"];
    assert_eq!(d["status"], "ok");
    assert_eq!(d["database"], "up");
    assert_eq!(d["dataMode"], "MOCK");
    assert_eq!(d["google"], "mock");
    assert_eq!(d["saml"], "mock");
    assert!(d["version"].as_str().is_some_and(|v| !v.is_empty()));
    assert!(r.body.get("meta").is_none());

    let app = spawn_app_with(|s| s.data_mode = Mode::Live).await;
    let d = app.get("/api/health", None).await.body["data"].clone();
    assert_eq!(
        (&d["dataMode"], &d["google"], &d["saml"]),
        (
            &json!("LIVE"),
            &json!("unconfigured"),
            &json!("unconfigured")
        )
    );

    let fake = FakeGoogle::start().await;
    let app = spawn_app_with(|s| {
        fake.configure(s);
        live_saml(s);
    })
    .await;
    let d = app.get("/api/health", None).await.body["data"].clone();
    assert_eq!(
        (&d["dataMode"], &d["google"], &d["saml"]),
        (&json!("LIVE"), &json!("live"), &json!("live"))
    );
}

#[tokio::test]
async fn health_is_503_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.ctx.db.clone().close().await.expect("close the pool");
    let r = app.get("/api/health", None).await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.body["data"]["status"], "unavailable");
    assert_eq!(r.body["data"]["database"], "down");
}

// ---------------------------------------------------------------- the console

/// The console API is the platform's, the same for every product: `{ messages, total, page,
/// limit }`, not Crenoir's `{ data, meta }` (docs/crenoir.md, "Operators").
#[tokio::test]
async fn the_outbox_lists_the_sign_in_mails_newest_first() {
    let app = spawn_app().await;
    app.existing_user("root@example.com", "admin", true).await;
    let admin = app.google_sign_in("root@example.com").await;
    app.mock_code("someone@example.com", None).await;

    let r = app.get("/admin/api/outbox", Some(&admin.access)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let list = r.body["messages"].as_array().expect("messages is a list");
    assert_eq!(list.len(), 2, "{}", r.text);
    assert_eq!(
        (&r.body["total"], &r.body["page"], &r.body["limit"]),
        (&json!(2), &json!(1), &json!(20))
    );
    assert_eq!(list[0]["recipient"], "someone@example.com");
    assert_eq!(list[1]["recipient"], "root@example.com");
    assert!(
        list[0]["body"]
            .as_str()
            .unwrap()
            .contains(&format!("{REDIRECT}?code="))
    );

    let r = app
        .get("/admin/api/outbox?page=2&limit=1", Some(&admin.access))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!((&r.body["total"], &r.body["page"]), (&json!(2), &json!(2)));
    assert_eq!(r.body["messages"][0]["recipient"], "root@example.com");
}

// ---------------------------------------------------------------- rate limits

#[tokio::test]
async fn sign_in_attempts_are_limited_per_client() {
    let app = spawn_app().await;
    for i in 0..30 {
        let r = app.google_login(json!({ "credential": "x" })).await;
        assert_eq!(r.status, 401, "attempt {i}: {}", r.text);
    }
    let r = app.google_login(json!({ "credential": "x" })).await;
    expect_limited(&r, 60);
    // The limit is shared by every sign-in endpoint.
    expect_limited(&app.get("/auth/saml/login", None).await, 60);
}

#[tokio::test]
async fn mock_mails_are_limited_per_address() {
    let app = spawn_app().await;
    for _ in 0..5 {
        app.mock_code("flood@example.com", None).await;
    }
    let r = app
        .mock_authorize(json!({ "email": "Flood@Example.com", "redirectUri": REDIRECT }))
        .await;
    expect_limited(&r, 900);
    assert_eq!(app.mails_now("flood@example.com").await.len(), 5);
    // Another address is not affected.
    let r = app
        .mock_authorize(json!({ "email": "other@example.com", "redirectUri": REDIRECT }))
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
}

// ---------------------------------------------------------------- OpenAPI

#[tokio::test]
async fn the_openapi_document_lists_the_endpoints_and_their_422() {
    let app = spawn_app().await;
    let r = app.get("/openapi.json", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let paths = r.body["paths"].as_object().expect("paths");
    for (path, method) in [
        ("/auth/google/login", "post"),
        ("/auth/google/mock/authorize", "post"),
        ("/auth/google/mock/token", "post"),
        ("/auth/saml/login", "get"),
        ("/auth/saml/login", "post"),
        ("/auth/saml/metadata", "get"),
        ("/auth/saml/mock/sso", "get"),
        ("/auth/saml/mock/sso", "post"),
        ("/auth/saml/mock/continue", "get"),
        ("/auth/user/profile", "get"),
        ("/auth/refresh", "post"),
        ("/auth/logout", "post"),
        ("/api/health", "get"),
        ("/admin/api/outbox", "get"),
    ] {
        let op = paths
            .get(path)
            .and_then(|p| p.get(method))
            .unwrap_or_else(|| panic!("{method} {path} missing from /openapi.json"));
        assert!(
            op["responses"].get("422").is_some(),
            "{method} {path} does not document 422"
        );
    }
    let schemes = &r.body["components"]["securitySchemes"];
    assert_eq!(schemes["cookie"]["in"], "cookie");
    assert_eq!(schemes["cookie"]["name"], "access_token");
    assert!(
        r.body["components"]["schemas"]["Error"].is_object(),
        "the error schema is published"
    );
}

#[tokio::test]
async fn cors_lets_the_allowed_origin_send_cookies_and_the_csrf_header() {
    let app = spawn_app_with(|s| s.cors_origins = vec!["http://localhost:5173".into()]).await;
    let preflight = |origin: &'static str| {
        app.call(Method::OPTIONS, "/auth/refresh")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "x-csrf-token")
            .send()
    };
    let r = preflight("http://localhost:5173").await;
    assert!(r.status.is_success(), "{} {}", r.status, r.text);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert!(
        r.header("access-control-allow-headers")
            .is_some_and(|h| h.to_ascii_lowercase().contains("x-csrf-token")),
        "{:?}",
        r.headers
    );
    let r = preflight("https://evil.example").await;
    assert_eq!(r.header("access-control-allow-origin"), None);
}
