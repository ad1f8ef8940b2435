//! The one input rule (docs/pawfect.md, "Conventions"): a string holding NUL (U+0000), which
//! PostgreSQL's `text` cannot store, is a 400 `invalid_argument` naming the field wherever it
//! arrives (a body value or key, a query parameter, a path segment), and nothing is stored.
//! Run with `TEST_DATABASE_URL` too: there, before the rule, each was a 500.

use platform::identity::entities::user;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;

use crate::helpers::*;

async fn users(app: &TestApp) -> u64 {
    user::Entity::find().count(&app.ctx.db).await.unwrap()
}

/// A 400 `invalid_argument` in PawfectMatch's shape naming exactly `fields`.
#[track_caller]
fn expect_refused(r: &Resp, fields: &[&str]) {
    testkit::expect_nul_refused(r, 400, fields);
}

#[tokio::test]
async fn nul_in_sign_in_registration_and_recovery_is_refused_naming_the_field() {
    let app = spawn_app().await;
    app.create_user("owner@example.com", "user").await;
    let before = users(&app).await;
    for base in [WEB, MOBILE] {
        let r = app.login(base, "owner@example.com\u{0}", PASSWORD).await;
        expect_refused(&r, &["email"]);
        let r = app.register(base, "new@example.com", "Ne\u{0}w").await;
        expect_refused(&r, &["name"]);
        let r = app
            .post(
                &format!("{base}/auth/forgot-password"),
                None,
                json!({ "email": "\u{0}owner@example.com" }),
            )
            .await;
        expect_refused(&r, &["email"]);
    }
    let r = app
        .post(
            &format!("{WEB}/auth/register"),
            None,
            json!({ "email": "new@example.com", "password": PASSWORD, "name": "New", "ni\u{0}ck": "x" }),
        )
        .await;
    expect_refused(&r, &["ni\\u0000ck"]);
    assert_eq!(users(&app).await, before, "nothing stored");
    assert!(
        app.mails_now("new@example.com").await.is_empty(),
        "nothing mailed"
    );
    // The same address without the NUL registers: the refusals left nothing behind.
    app.web_register("new@example.com").await;
}

#[tokio::test]
async fn nul_in_a_query_parameter_or_a_path_segment_is_refused_naming_it() {
    let app = spawn_app().await;
    app.create_user("admin@example.com", "admin").await;
    let admin = app.web_login("admin@example.com").await;
    for (path, field) in [
        ("/admin/api/users?email=a%00%40example.com", "email"),
        ("/admin/api/users?role=ad%00min&page=1", "role"),
        ("/admin/api/jobs?kind=%00", "kind"),
        ("/admin/api/users/%00", "id"),
        ("/admin/api/jobs/0000%00", "id"),
    ] {
        let r = app.get(path, Some(&admin.access)).await;
        expect_refused(&r, &[field]);
    }
}
