//! The console's outbox (`GET /admin/api/outbox`) as admins read it; a refusal leaks nothing
//! of it. (Who may call the console: tests/api/access_matrix.rs.)

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn an_admin_reads_the_outbox_with_the_verification_mail_in_it() {
    let app = spawn_app().await;
    let admin = app.login_as("root@example.com", "admin").await;
    app.register_ok("new@example.com", "New", None).await;
    let r = app.get("/admin/api/outbox", Some(&admin.access)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let messages = r.body["messages"].as_array().expect("messages");
    assert_eq!(r.body["total"], 1, "{}", r.text);
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["recipient"], "new@example.com");
    assert_eq!(messages[0]["channel"], "email");
    assert!(
        messages[0]["body"]
            .as_str()
            .is_some_and(|b| b.contains("token=")),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn the_outbox_pages() {
    let app = spawn_app().await;
    let admin = app.login_as("root@example.com", "admin").await;
    for n in 0..3 {
        app.register_ok(&format!("p{n}@example.com"), "P", None)
            .await;
    }
    let r = app
        .get("/admin/api/outbox?page=2&limit=2", Some(&admin.access))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["total"], 3);
    assert_eq!(r.body["page"], 2);
    assert_eq!(r.body["messages"].as_array().unwrap().len(), 1);
    assert_eq!(
        r.body["messages"][0]["recipient"], "p0@example.com",
        "newest first"
    );
}

#[tokio::test]
async fn the_outbox_is_403_for_the_user_role() {
    let app = spawn_app().await;
    let user = app.login_as("plain@example.com", "user").await;
    app.register_ok("secret@example.com", "S", None).await;
    let r = app.get("/admin/api/outbox", Some(&user.access)).await;
    expect_error(&r, 403, "permission_denied");
    assert!(
        !r.text.contains("token="),
        "no mail content leaks: {}",
        r.text
    );
}

#[tokio::test]
async fn an_admin_token_stops_working_on_the_outbox_after_logout() {
    let app = spawn_app().await;
    let admin = app.login_as("root@example.com", "admin").await;
    let out = app
        .post("/api/auth/logout", Some(&admin.access), json!({}))
        .await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.text);
    let r = app.get("/admin/api/outbox", Some(&admin.access)).await;
    expect_error(&r, 401, "unauthenticated");
}
