//! The contract's conventions: 422 naming the field, the request id, health, the admin
//! console's access rules, the mock mail limit's effect, the OpenAPI document and CORS. Bad
//! input on every endpoint (404, 405, 400, 413 in the nested shape) and every limit at its
//! boundary are conformance.rs's (testkit's tables).

use platform::datamode::Mode;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

// ---------------------------------------------------------------- error shapes

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
    // Every instance loses its database (with one instance, that instance).
    for ctx in app.contexts() {
        ctx.db.clone().close().await.expect("close the pool");
    }
    // Health answers from memory: the database status is the last ping's, at most a second
    // old, refreshed in the background (docs/observability.md), by each instance for itself:
    // wait until as many answers in a row as there are instances say so.
    let mut r = app.get("/api/health", None).await;
    let mut in_a_row = 0;
    for _ in 0..50 {
        in_a_row = if r.status == 503 { in_a_row + 1 } else { 0 };
        if in_a_row == app.instance_count() {
            break;
        }
        if in_a_row == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        r = app.get("/api/health", None).await;
    }
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
    // 422 where the operation reads input (a body or parameters), and only there.
    for (path, method, reads_input) in [
        ("/auth/google/login", "post", true),
        ("/auth/google/mock/authorize", "post", true),
        ("/auth/google/mock/token", "post", true),
        ("/auth/saml/login", "get", true),
        ("/auth/saml/login", "post", true),
        ("/auth/saml/metadata", "get", false),
        ("/auth/saml/mock/sso", "get", true),
        ("/auth/saml/mock/sso", "post", true),
        ("/auth/saml/mock/continue", "get", true),
        ("/auth/user/profile", "get", false),
        ("/auth/refresh", "post", false),
        ("/auth/logout", "post", false),
        ("/api/health", "get", false),
        ("/admin/api/outbox", "get", true),
    ] {
        let op = paths
            .get(path)
            .and_then(|p| p.get(method))
            .unwrap_or_else(|| panic!("{method} {path} missing from /openapi.json"));
        assert_eq!(
            op["responses"].get("422").is_some(),
            reads_input,
            "{method} {path}: documents 422 exactly when it reads input"
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
