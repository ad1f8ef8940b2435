//! The error contract of handlers: a missing field is named, and both mounts answer in one
//! shape. The transport's refusals on every endpoint of both mounts (bad JSON, content types,
//! unknown routes, wrong methods, oversized bodies) are conformance.rs's (testkit's table).

use serde_json::json;

use crate::helpers::*;

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
        expect_no_internals(&r);
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
async fn handler_errors_use_the_same_shape_on_both_mounts() {
    let app = spawn_app().await;
    app.web_register("ann@example.com").await;
    let web = app.register(WEB, "ann@example.com", "Ann").await;
    let mobile = app.register(MOBILE, "ann@example.com", "Ann").await;
    expect_error(&web, 409, "already_exists");
    expect_error(&mobile, 409, "already_exists");
    assert_eq!(web.body, mobile.body);
}
