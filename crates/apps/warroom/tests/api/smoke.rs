//! The harness itself: the app starts, answers, and a user can sign in.

use crate::helpers::*;

#[tokio::test]
async fn a_fresh_app_is_healthy_and_a_user_can_sign_in() {
    let app = spawn_app().await;
    let h = app.get("/api/v1/health", None).await;
    assert_eq!(h.status, 200);
    assert_eq!(h.body["data_mode"], "MOCK");
    let me = app.login_as("ann@example.com", "viewer").await;
    let r = app.get("/api/v1/auth/me", Some(&me.access)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["email"], "ann@example.com");
}
