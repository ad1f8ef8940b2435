//! The cookie session: the profile, refresh rotation (and reuse detection), logout by access or
//! refresh cookie, and Bearer access for API tools. Cookie attributes and the CSRF rules of
//! refresh, logout and access-cookie state changes are conformance.rs's (testkit's cookie
//! table).

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

// ---------------------------------------------------------------- profile

#[tokio::test]
async fn the_profile_needs_a_session() {
    let app = spawn_app().await;
    let r = app.get("/auth/user/profile", None).await;
    expect_error(&r, 401, "unauthenticated");
    assert!(r.error().get("details").is_none(), "{}", r.text);

    let r = app.profile("not-a-jwt").await;
    expect_error(&r, 401, "unauthenticated");
    let r = app.get("/auth/user/profile", Some("not-a-jwt")).await;
    expect_error(&r, 401, "unauthenticated");
    let r = app
        .raw_request(
            Method::GET,
            "/auth/user/profile",
            None,
            &[("authorization", "Basic Zm9vOmJhcg==")],
            None,
        )
        .await;
    expect_error(&r, 401, "unauthenticated");
}

#[tokio::test]
async fn the_profile_reads_the_access_cookie_without_csrf() {
    let app = spawn_app().await;
    let s = app.google_sign_in("prof@example.com").await;
    let r = app.profile(&s.access).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let user = &r.body["data"];
    assert_eq!(user["id"], s.data["user"]["id"]);
    assert_eq!(user["email"], "prof@example.com");
    let mut keys: Vec<_> = user.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "createdAt",
            "email",
            "emailVerified",
            "id",
            "lastLoginAt",
            "name",
            "role"
        ]
    );
    // The refresh token is not an access token.
    expect_error(&app.profile(&s.refresh).await, 401, "unauthenticated");
}

#[tokio::test]
async fn bearer_access_works_for_api_tools() {
    let app = spawn_app().await;
    let s = app.google_sign_in("tool@example.com").await;
    let r = app.get("/auth/user/profile", Some(&s.access)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["data"]["email"], "tool@example.com");

    // A bad Bearer is not rescued by a good cookie.
    let r = app
        .call(Method::GET, "/auth/user/profile")
        .bearer("garbage")
        .cookie("access_token", &s.access)
        .send()
        .await;
    expect_error(&r, 401, "unauthenticated");
}

// ---------------------------------------------------------------- refresh

#[tokio::test]
async fn refresh_rotates_the_refresh_cookie_and_renews_the_access_cookie() {
    let app = spawn_app().await;
    let s0 = app.google_sign_in("rot@example.com").await;
    let r = app
        .refresh(Some(&s0.refresh), Some(&s0.csrf), Some(&s0.csrf))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let s1 = Session::from_resp(&r);
    assert_ne!(s1.refresh, s0.refresh, "the refresh token rotates");
    assert_ne!(s1.csrf, s0.csrf, "a new CSRF token comes with it");
    assert_eq!(r.body["data"]["csrfToken"], s1.csrf.as_str());
    assert_eq!(r.body["data"]["expiresIn"], ACCESS_TTL);
    assert_eq!(r.body["data"]["user"]["email"], "rot@example.com");
    assert!(!r.text.contains(&s1.access) && !r.text.contains(&s1.refresh));
    let c = r.cookie("refresh_token").unwrap();
    assert_eq!(
        (c.path(), c.http_only(), c.max_age()),
        (Some("/auth"), true, Some(REFRESH_TTL))
    );
    assert_eq!(
        r.cookie("access_token").unwrap().max_age(),
        Some(ACCESS_TTL)
    );

    assert_eq!(app.profile(&s1.access).await.status, 200);
    // Same session: rotation is not a new sign-in.
    assert_eq!(
        app.session_of(&s1.refresh).await.id,
        app.session_of(&s0.refresh).await.id
    );
    let s2 = app.refresh_ok(&s1).await;
    assert_ne!(s2.refresh, s1.refresh);
}

// ---------------------------------------------------------------- logout

#[tokio::test]
async fn logout_answers_logged_out_and_records_why_the_session_ended() {
    let app = spawn_app().await;
    let s = app.google_sign_in("bye@example.com").await;
    let r = app.logout(&s, Some(&s.csrf)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({ "data": { "loggedOut": true } }));
    let session = app.session_of(&s.refresh).await;
    assert_eq!(session.revoke_reason.as_deref(), Some("logout"));
}
