//! The error contract: every failure is Encore's `{ code, message, details }` JSON with the
//! catalogue's status, every response carries `X-Request-Id`, and nothing internal leaks.
//! Malformed bodies, content types, unknown routes and methods, oversized bodies and bad ids
//! on every endpoint are conformance.rs's (testkit's error-shape table); here: what is War
//! Room's own.

use platform::datamode::Mode;
use reqwest::Method;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::*;

const JSON: (&str, &str) = ("content-type", "application/json");

/// `r` is 400 `invalid_argument` and its message names `field`.
#[track_caller]
fn refused_naming(r: &Resp, field: &str) {
    expect_error(r, 400, "invalid_argument");
    assert!(
        r.body["message"].as_str().unwrap().contains(field),
        "the message should name {field}: {}",
        r.text
    );
}

async fn no_account(app: &TestApp, email: &str) -> bool {
    app.ctx
        .identity
        .user_by_email(email)
        .await
        .unwrap()
        .is_none()
}

#[tokio::test]
async fn a_missing_field_is_invalid_argument_naming_it() {
    let app = spawn_app().await;
    let login = json!({ "email": "a@example.com" });
    refused_naming(
        &app.post("/api/v1/auth/login", None, login).await,
        "password",
    );
    let register = json!({ "email": "a@example.com", "password": PASSWORD });
    refused_naming(
        &app.post("/api/v1/auth/register", None, register).await,
        "name",
    );
    assert!(no_account(&app, "a@example.com").await);
}

/// One rule for every body: a field the endpoint does not define is refused, naming it, and
/// nothing is stored (registration used to ignore one). The conformance table probes every
/// operation with an unknown field; this is what it cannot see: that nothing was stored.
#[tokio::test]
async fn an_unknown_body_field_is_invalid_argument_naming_it() {
    let app = spawn_app().await;
    let register =
        json!({ "email": "a@example.com", "password": PASSWORD, "name": "A", "role": "admin" });
    refused_naming(
        &app.post("/api/v1/auth/register", None, register).await,
        "role",
    );
    assert!(no_account(&app, "a@example.com").await);
    let login = json!({ "email": "a@example.com", "password": PASSWORD, "rememberMe": true });
    refused_naming(
        &app.post("/api/v1/auth/login", None, login).await,
        "rememberMe",
    );
}

#[tokio::test]
async fn validation_failures_list_the_fields() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({ "email": "nope", "password": "short", "name": "" }),
        )
        .await;
    expect_error(&r, 400, "invalid_argument");
    let fields: Vec<&str> = r.body["details"]["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", r.text))
        .iter()
        .map(|f| {
            assert!(f["message"].as_str().is_some_and(|m| !m.is_empty()), "{f}");
            f["field"].as_str().unwrap()
        })
        .collect();
    for f in ["email", "password", "name"] {
        assert!(fields.contains(&f), "{f} missing from {}", r.text);
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let viewer = app.login_as("viewer@example.com", "viewer").await;
    let big = vec![b'x'; 1024 * 1024 + 1];
    let responses = vec![
        app.get("/api/v1/health", None).await,
        app.get("/api/v1/auth/me", Some(&viewer.access)).await,
        app.get("/api/v1/auth/me", None).await,
        app.get("/api/v1/users", Some(&viewer.access)).await,
        app.get("/api/v1/nope", None).await,
        app.request(Method::DELETE, "/api/v1/health", None, None)
            .await,
        app.raw_request(
            Method::POST,
            "/api/v1/auth/login",
            None,
            &[JSON],
            Some(b"{".to_vec()),
        )
        .await,
        app.raw_request(Method::POST, "/api/v1/auth/login", None, &[JSON], Some(big))
            .await,
        app.get("/openapi.json", None).await,
        app.get("/metrics", None).await,
    ];
    let mut seen = std::collections::HashSet::new();
    for r in &responses {
        let id = r
            .header("x-request-id")
            .unwrap_or_else(|| panic!("no X-Request-Id on {} {}", r.status, r.text));
        assert!(
            uuid::Uuid::parse_str(id).is_ok(),
            "generated id is not a UUID: {id}"
        );
        assert!(seen.insert(id.to_owned()), "request id {id} reused");
    }
}

#[tokio::test]
async fn a_client_request_id_is_echoed_back() {
    let app = spawn_app().await;
    for (method, path) in [
        (Method::GET, "/api/v1/health"),
        (Method::GET, "/api/v1/auth/me"),
        (Method::GET, "/api/v1/does-not-exist"),
        (Method::PUT, "/api/v1/health"),
    ] {
        let id = format!("client-{}", uuid::Uuid::new_v4());
        let r = app
            .raw_request(method.clone(), path, None, &[("x-request-id", &id)], None)
            .await;
        assert_eq!(
            r.header("x-request-id"),
            Some(id.as_str()),
            "{method} {path}: {:?}",
            r.headers
        );
    }
}

#[tokio::test]
async fn a_database_failure_is_an_opaque_500() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    app.ctx
        .db
        .execute_unprepared("DROP TABLE outbox")
        .await
        .expect("drop table");
    let r = app.get("/admin/api/outbox", Some(&admin.access)).await;
    expect_error(&r, 500, "internal");
    assert_eq!(r.body["message"], "internal error");
    assert_eq!(r.body["details"], Value::Null);
    expect_no_internals(&r);
    assert!(!r.text.contains("outbox"), "{}", r.text);
    assert!(r.header("x-request-id").is_some());
}

#[tokio::test]
async fn a_lost_database_pool_is_an_opaque_error_on_every_endpoint() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    // Every instance loses its pool (with one instance, that instance).
    for ctx in app.contexts() {
        ctx.db.clone().close().await.expect("close pool");
    }
    let cases = [
        app.post(
            "/api/v1/auth/login",
            None,
            json!({ "email": "admin@example.com", "password": PASSWORD }),
        )
        .await,
        app.get("/api/v1/auth/me", Some(&admin.access)).await,
        app.post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refreshToken": admin.refresh }),
        )
        .await,
        app.post(
            "/api/v1/auth/register",
            None,
            json!({ "email": "n@example.com", "password": PASSWORD, "name": "N" }),
        )
        .await,
    ];
    for r in &cases {
        assert!(r.status.is_server_error(), "{} {}", r.status, r.text);
        assert!(
            ["internal", "unavailable"].contains(&r.code()),
            "{}",
            r.text
        );
        assert!(r.body["message"].is_string(), "{}", r.text);
        expect_no_internals(r);
        assert!(!r.text.to_lowercase().contains("pool"), "{}", r.text);
    }
}

/// One trigger per code of the catalogue, each checked for its status and shape.
#[tokio::test]
async fn every_code_of_the_catalogue_has_its_status_and_shape() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let viewer = app.login_as("viewer@example.com", "viewer").await;

    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({ "email": "x@example.com", "password": "1", "name": "X" }),
        )
        .await;
    expect_error(&r, 400, "invalid_argument");
    let r = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({ "email": "viewer@example.com", "password": "wrong password" }),
        )
        .await;
    expect_error(&r, 401, "unauthenticated");
    assert_eq!(r.body["message"], "Invalid credentials");
    expect_error(
        &app.get("/api/v1/users", Some(&viewer.access)).await,
        403,
        "permission_denied",
    );
    let r = app
        .get(
            &format!("/api/v1/users/{}", uuid::Uuid::new_v4()),
            Some(&admin.access),
        )
        .await;
    expect_error(&r, 404, "not_found");
    let r = app
        .post(
            "/api/v1/users",
            Some(&admin.access),
            json!({ "email": "viewer@example.com", "password": PASSWORD, "name": "V" }),
        )
        .await;
    expect_error(&r, 409, "already_exists");
    let r = app
        .post(
            "/api/v1/auth/2fa/verify",
            Some(&admin.access),
            json!({ "code": "123456" }),
        )
        .await;
    expect_error(&r, 400, "failed_precondition");
    let mut last = None;
    for _ in 0..6 {
        last = Some(
            app.post(
                "/api/v1/auth/reset-password",
                None,
                json!({ "email": "nobody@example.com" }),
            )
            .await,
        );
    }
    let r = last.unwrap();
    expect_error(&r, 429, "resource_exhausted");
    assert!(r.header("retry-after").is_some());
    let r = app
        .request(Method::DELETE, "/api/v1/auth/login", None, None)
        .await;
    expect_error(&r, 405, "unimplemented");
    let big = vec![b' '; 2 * 1024 * 1024];
    let r = app
        .raw_request(Method::POST, "/api/v1/auth/login", None, &[JSON], Some(big))
        .await;
    expect_error(&r, 413, "resource_exhausted");
    let r = app
        .request(
            Method::POST,
            "/admin/toggle-mode",
            Some(&admin.access),
            Some(json!({ "mode": "LIVE" })),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = app
        .post(
            "/api/v1/auth/reset-password",
            None,
            json!({ "email": "viewer@example.com" }),
        )
        .await;
    expect_error(&r, 503, "unavailable");
    app.ctx
        .db
        .execute_unprepared("DROP TABLE outbox")
        .await
        .unwrap();
    let r = app.get("/admin/api/outbox", Some(&admin.access)).await;
    expect_error(&r, 500, "internal");
}

#[tokio::test]
async fn live_mode_errors_name_the_missing_setting_without_leaking_secrets() {
    let app = spawn_app_with(|s| {
        s.data_mode = Mode::Live;
        s.google.client_id = Some("only-the-id".into());
    })
    .await;
    let r = app
        .post("/api/v1/auth/oauth/google", None, json!({ "code": "abc" }))
        .await;
    expect_error(&r, 503, "unavailable");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("GOOGLE_CLIENT_SECRET"),
        "{}",
        r.text
    );
    expect_no_internals(&r);
}

#[tokio::test]
async fn a_json_content_type_with_a_charset_is_accepted() {
    let app = spawn_app().await;
    app.create_user("ann@example.com", "viewer").await;
    let body = json!({ "email": "ann@example.com", "password": PASSWORD })
        .to_string()
        .into_bytes();
    let r = app
        .raw_request(
            Method::POST,
            "/api/v1/auth/login",
            None,
            &[("content-type", "application/json; charset=utf-8")],
            Some(body),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["accessToken"].is_string());
}
