//! The one input rule (docs/crenoir.md, "Conventions"): a string holding NUL (U+0000), which
//! PostgreSQL's `text` cannot store, is a validation error (422 naming the field) wherever it
//! arrives (a JSON value or key, a form field, a query parameter, a path segment), and nothing
//! is stored. Run with `TEST_DATABASE_URL` too: there, before the rule, each was a 500.

use platform::identity::entities::{one_time_token, user};
use reqwest::Method;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;

use crate::helpers::*;

async fn rows(app: &TestApp) -> (u64, u64) {
    (
        user::Entity::find().count(&app.ctx.db).await.unwrap(),
        one_time_token::Entity::find()
            .count(&app.ctx.db)
            .await
            .unwrap(),
    )
}

/// Crenoir's validation error (422 `invalid_argument`) naming exactly `fields`.
#[track_caller]
fn expect_refused(r: &Resp, fields: &[&str]) {
    testkit::expect_nul_refused(r, 422, fields);
}

#[tokio::test]
async fn nul_in_a_sign_in_request_is_refused_naming_the_field() {
    let app = spawn_app().await;
    let before = rows(&app).await;
    let r = app
        .mock_authorize(json!({ "email": "gina\u{0}@example.com", "redirectUri": REDIRECT }))
        .await;
    expect_refused(&r, &["email"]);
    let r = app
        .mock_authorize(
            json!({ "email": "gina@example.com", "name": "Gi\u{0}na", "redirectUri": REDIRECT }),
        )
        .await;
    expect_refused(&r, &["name"]);
    let r = app
        .google_login(json!({ "code": "\u{0}", "redirectUri": REDIRECT }))
        .await;
    expect_refused(&r, &["code"]);
    let r = app.acs_json("PHNhbWw+\u{0}").await;
    expect_refused(&r, &["samlResponse"]);
    // Forms: the consumer and the mock IdP's page.
    let r = app
        .post_form("/auth/saml/login", &[("SAMLResponse", "PHNhbWw+\0")])
        .await;
    expect_refused(&r, &["SAMLResponse"]);
    let r = app
        .post_form(
            "/auth/saml/mock/sso",
            &[
                ("SAMLRequest", "x"),
                ("email", "sam@example.com"),
                ("name", "S\0am"),
            ],
        )
        .await;
    expect_refused(&r, &["name"]);
    assert_eq!(rows(&app).await, before, "nothing stored");
    assert!(app.mails_now("sam@example.com").await.is_empty());

    // Without the NUL the same person signs in, under the name sent.
    let s = app.saml_sign_in("sam@example.com", Some("Sam")).await;
    let r = app.profile(&s.access).await;
    assert_eq!(r.body["data"]["name"], "Sam", "{}", r.text);
}

#[tokio::test]
async fn nul_in_a_query_parameter_or_a_path_segment_is_refused_naming_it() {
    let app = spawn_app().await;
    app.existing_user("admin@example.com", "admin", true).await;
    let admin = app.google_sign_in("admin@example.com").await;
    for path in [
        "/auth/saml/mock/continue?token=%00",
        "/auth/saml/login?redirectTo=/a%00b",
    ] {
        let r = app.get(path, None).await;
        let field = if path.contains("token") {
            "token"
        } else {
            "redirectTo"
        };
        expect_refused(&r, &[field]);
    }
    for (path, field) in [
        ("/admin/api/users?email=a%00%40example.com", "email"),
        ("/admin/api/users/%00", "id"),
    ] {
        let r = app
            .call(Method::GET, path)
            .cookie("access_token", &admin.access)
            .send()
            .await;
        expect_refused(&r, &[field]);
    }
}
