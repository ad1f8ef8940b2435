//! The one input rule (docs/leadgen.md, "Conventions"): a string holding NUL (U+0000), which
//! PostgreSQL's `text` cannot store, is a 400 `invalid_argument` naming the field wherever it
//! arrives (a body value or key, a query parameter, a path segment), and nothing is stored.
//! Run with `TEST_DATABASE_URL` too: there, before the rule, each was a 500.

use serde_json::json;

use crate::helpers::*;

/// A 400 `invalid_argument` in LeadGen's shape naming exactly `fields`.
#[track_caller]
fn expect_refused(r: &Resp, fields: &[&str]) {
    testkit::expect_nul_refused(r, 400, fields);
}

#[tokio::test]
async fn nul_in_sign_in_and_registration_is_refused_naming_the_field() {
    let app = spawn_app().await;
    app.create_user("owner@example.com", "user", true).await;
    let users = app.user_count().await;
    let orgs = app.organizations().await.len();

    let r = app.login("owner@example.com\u{0}", PASSWORD).await;
    expect_refused(&r, &["email"]);
    let r = app.register("new@example.com", "Ne\u{0}w", None).await;
    expect_refused(&r, &["name"]);
    let r = app
        .register("new@example.com", "New", Some("Acme\u{0} Ltd"))
        .await;
    expect_refused(&r, &["organizationName"]);
    let r = app
        .post(
            "/api/auth/google/mock/authorize",
            None,
            json!({ "email": "g@example.com", "name": "\u{0}", "redirectUri": "http://app.test/cb" }),
        )
        .await;
    expect_refused(&r, &["name"]);
    let r = app
        .reset(json!({ "email": "owner@example.com", "tok\u{0}en": "x" }))
        .await;
    expect_refused(&r, &["tok\\u0000en"]);

    assert_eq!(app.user_count().await, users, "no user stored");
    assert_eq!(
        app.organizations().await.len(),
        orgs,
        "no organization stored"
    );
    // The same registration without the NUL goes through: the refusals left nothing behind.
    app.register_ok("new@example.com", "New", Some("Acme Ltd"))
        .await;
}

#[tokio::test]
async fn nul_in_a_query_parameter_or_a_path_segment_is_refused_naming_it() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    for (path, field) in [
        ("/admin/api/users?email=a%00%40example.com", "email"),
        ("/admin/api/logs?level=%00", "level"),
        ("/admin/api/jobs?queue=q%00&limit=5", "queue"),
        ("/admin/api/users/%00", "id"),
        ("/admin/api/jobs/x%00/retry", "id"),
    ] {
        let r = if path.ends_with("/retry") {
            app.post(path, Some(&admin.access), json!({})).await
        } else {
            app.get(path, Some(&admin.access)).await
        };
        expect_refused(&r, &[field]);
    }
}
