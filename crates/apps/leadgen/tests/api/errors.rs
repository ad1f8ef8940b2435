//! The error contract: every error is `{ "error": { code, message, details, requestId } }`,
//! JSON, with `requestId` equal to the `X-Request-Id` header (the client's own id echoed).

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_client_request_id_is_echoed_in_the_header_and_the_error_body() {
    let app = spawn_app().await;
    let r = app
        .post_with(
            "/api/auth/login",
            &[("x-request-id", "client-req-42")],
            json!({ "email": "nobody@example.com", "password": PASSWORD }),
        )
        .await;
    expect_error(&r, 401, "unauthenticated");
    assert_eq!(r.header("x-request-id"), Some("client-req-42"));
    assert_eq!(r.body["error"]["requestId"], "client-req-42");
}

#[tokio::test]
async fn without_a_client_id_each_response_gets_its_own_generated_id() {
    let app = spawn_app().await;
    let a = app.get("/api/auth/me", None).await;
    let b = app.get("/api/auth/me", None).await;
    expect_error(&a, 401, "unauthenticated");
    expect_error(&b, 401, "unauthenticated");
    assert_ne!(
        a.header("x-request-id"),
        b.header("x-request-id"),
        "ids are per request"
    );
}

#[tokio::test]
async fn successful_responses_carry_a_request_id_too() {
    let app = spawn_app().await;
    let r = app
        .post_with(
            "/api/auth/register",
            &[("x-request-id", "reg-1")],
            json!({ "email": "ok@example.com", "password": PASSWORD, "name": "Ok" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.header("x-request-id"), Some("reg-1"));
}

#[tokio::test]
async fn validation_errors_list_fields_with_messages() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/auth/register",
            None,
            json!({ "email": "x@y", "password": PASSWORD, "name": "N" }),
        )
        .await;
    expect_error(&r, 400, "invalid_argument");
    let fields = r.body["error"]["details"]["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("no details.fields in {}", r.text));
    assert!(
        fields
            .iter()
            .any(|f| f["field"] == "email" && f["message"].as_str().is_some_and(|m| !m.is_empty())),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn the_rate_limit_429_is_in_the_nested_shape_with_the_echoed_id() {
    let app = spawn_app().await;
    for _ in 0..5 {
        app.reset(json!({ "email": "shape@example.com" })).await;
    }
    let r = app
        .post_with(
            "/api/auth/reset-password",
            &[("x-request-id", "limited-1")],
            json!({ "email": "shape@example.com" }),
        )
        .await;
    expect_error(&r, 429, "resource_exhausted");
    assert_eq!(r.body["error"]["requestId"], "limited-1");
    assert!(r.header("retry-after").is_some());
}

#[tokio::test]
async fn an_internal_failure_is_an_opaque_500_in_the_nested_shape() {
    let app = spawn_app().await;
    // A verified user whose organization is gone: `me` cannot answer.
    let s = app.login_as("orphan@example.com", "user").await;
    use sea_orm::EntityTrait;
    leadgen::db::organizations::profile::Entity::delete_by_id(s.user.id)
        .exec(&app.ctx.db)
        .await
        .unwrap();
    let r = app.me(&s.access).await;
    expect_error(&r, 500, "internal");
    assert!(
        !r.text.contains(&s.user.id.to_string()) && !r.text.contains("organization"),
        "internal details leak: {}",
        r.text
    );
}
