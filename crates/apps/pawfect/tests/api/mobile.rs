//! The mobile mount (`/api`): tokens travel in JSON bodies and no cookie is ever set or read;
//! refresh rotates, a replay after the grace window ends the session, and the two mounts
//! share one user base.

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

#[track_caller]
fn assert_no_cookies(r: &Resp) {
    assert!(
        r.headers.get("set-cookie").is_none(),
        "the mobile mount set a cookie: {:?}",
        r.headers.get_all("set-cookie")
    );
}

#[tokio::test]
async fn mobile_register_returns_the_refresh_token_in_the_body_and_sets_no_cookie() {
    let app = spawn_app().await;
    let r = app.register(MOBILE, "ann@example.com", "Ann").await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_no_cookies(&r);
    let s = MobileSession::from_resp(&r);
    assert!(s.refresh.len() >= 32, "{}", r.text);
    assert_ne!(s.refresh, s.access);
    assert_eq!(r.body["expiresIn"], ACCESS_TTL_SECS);
    assert_eq!(r.body["user"]["email"], "ann@example.com");
    assert_eq!(r.body["user"]["role"], "user");
    // The body token is a live refresh token of the new user's session.
    let stored = app.session_of(&s.refresh).await;
    assert_eq!(stored.user_id.to_string(), s.user["id"].as_str().unwrap());
    assert!(stored.revoked_at.is_none());
    let me = app.get("/api/auth/me", Some(&s.access)).await;
    assert_eq!(me.status, 200, "{}", me.text);
}

#[tokio::test]
async fn mobile_login_returns_both_tokens_in_the_body_and_sets_no_cookie() {
    let app = spawn_app().await;
    app.create_user("ann@example.com", "user").await;
    let r = app.login(MOBILE, "ann@example.com", PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_no_cookies(&r);
    let s = MobileSession::from_resp(&r);
    assert_eq!(r.body["expiresIn"], ACCESS_TTL_SECS);
    let claims = jwt_claims(&s.access);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        ACCESS_TTL_SECS,
        "access tokens live 15 minutes: {claims}"
    );
    assert_eq!(claims["sub"], s.user["id"]);
    // Refresh tokens live 30 days.
    let row = app.refresh_row(&s.refresh).await;
    let days = (row.expires_at - row.created_at).num_seconds();
    assert!(
        (REFRESH_TTL_SECS - 5..=REFRESH_TTL_SECS + 5).contains(&days),
        "refresh token lives {days}s, not 30 days"
    );
}

#[tokio::test]
async fn mobile_refresh_with_the_body_token_rotates_it() {
    let app = spawn_app().await;
    let first = app.mobile_register("ann@example.com").await;
    let r = app.mobile_refresh(&first.refresh).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_no_cookies(&r);
    assert_eq!(r.body["expiresIn"], ACCESS_TTL_SECS);
    let access = r.body["accessToken"].as_str().unwrap().to_owned();
    let refresh = r.body["refreshToken"].as_str().unwrap().to_owned();
    assert_ne!(refresh, first.refresh, "refresh token not rotated");
    let me = app.get("/api/auth/me", Some(&access)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["email"], "ann@example.com");
    assert!(app.refresh_row(&first.refresh).await.rotated_at.is_some());
    assert_eq!(
        app.session_of(&first.refresh).await.id,
        app.session_of(&refresh).await.id
    );
    // The new token refreshes in turn.
    let r = app.mobile_refresh(&refresh).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn mobile_refresh_ignores_cookies() {
    let app = spawn_app().await;
    let web = app.web_register("ann@example.com").await;
    // A valid web refresh cookie with a matching CSRF pair, and no body.
    let r = app
        .call(Method::POST, "/api/auth/refresh")
        .refresh_cookie(Some(&web.refresh))
        .csrf(Some(&web.csrf), Some(&web.csrf))
        .send()
        .await;
    expect_error(&r, 401, "unauthenticated");
    assert_no_cookies(&r);
    // With an empty JSON body as well.
    let r = app
        .call(Method::POST, "/api/auth/refresh")
        .refresh_cookie(Some(&web.refresh))
        .json(json!({}))
        .send()
        .await;
    expect_error(&r, 401, "unauthenticated");
    // The cookie's token was not spent.
    assert!(app.refresh_row(&web.refresh).await.rotated_at.is_none());
    app.web_refresh_ok(&web).await;
}

#[tokio::test]
async fn mobile_refresh_with_an_unknown_token_is_401() {
    let app = spawn_app().await;
    let s = app.mobile_register("ann@example.com").await;
    for token in ["nope", "", &s.access] {
        let r = app.mobile_refresh(token).await;
        expect_error(&r, 401, "unauthenticated");
        assert!(r.body.get("accessToken").is_none());
    }
}

#[tokio::test]
async fn a_rotated_mobile_token_replayed_after_the_grace_window_revokes_that_session_only() {
    let app = spawn_app().await;
    let first = app.mobile_register("ann@example.com").await;
    let phone_two = app.mobile_login("ann@example.com").await;
    let r = app.mobile_refresh(&first.refresh).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let second_refresh = r.body["refreshToken"].as_str().unwrap().to_owned();
    let second_access = r.body["accessToken"].as_str().unwrap().to_owned();
    app.age_rotated_refresh_tokens(60).await;

    let r = app.mobile_refresh(&first.refresh).await;
    expect_error(&r, 401, "unauthenticated");
    let stored = app.session_of(&first.refresh).await;
    assert!(stored.revoked_at.is_some(), "{stored:?}");
    // Every token of the family is dead.
    expect_error(
        &app.mobile_refresh(&second_refresh).await,
        401,
        "unauthenticated",
    );
    expect_error(&app.me(&second_access).await, 401, "unauthenticated");
    expect_error(&app.me(&first.access).await, 401, "unauthenticated");
    // The user's other device keeps its session.
    assert_eq!(app.me(&phone_two.access).await.status, 200);
    let r = app.mobile_refresh(&phone_two.refresh).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn a_rotated_mobile_token_replayed_within_the_grace_window_is_honoured() {
    let app = spawn_app().await;
    let first = app.mobile_register("ann@example.com").await;
    let a = app.mobile_refresh(&first.refresh).await;
    let b = app.mobile_refresh(&first.refresh).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(b.status, 200, "{}", b.text);
    assert_eq!(
        a.body["refreshToken"], b.body["refreshToken"],
        "the one successor: no second branch"
    );
    assert!(app.session_of(&first.refresh).await.revoked_at.is_none());
}

#[tokio::test]
async fn mobile_logout_with_a_bearer_token_ends_the_session() {
    let app = spawn_app().await;
    let s = app.mobile_register("ann@example.com").await;
    let other = app.mobile_login("ann@example.com").await;
    let r = app
        .call(Method::POST, "/api/auth/logout")
        .bearer(&s.access)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({ "success": true }));
    assert_no_cookies(&r);
    expect_error(&app.me(&s.access).await, 401, "unauthenticated");
    expect_error(
        &app.mobile_refresh(&s.refresh).await,
        401,
        "unauthenticated",
    );
    assert!(app.session_of(&s.refresh).await.revoked_at.is_some());
    assert_eq!(app.me(&other.access).await.status, 200);
}

#[tokio::test]
async fn mobile_logout_with_the_refresh_token_in_the_body_and_no_bearer_ends_the_session() {
    let app = spawn_app().await;
    let s = app.mobile_register("ann@example.com").await;
    let r = app
        .post(
            "/api/auth/logout",
            None,
            json!({ "refreshToken": s.refresh }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["success"], true);
    assert_no_cookies(&r);
    assert!(app.session_of(&s.refresh).await.revoked_at.is_some());
    expect_error(&app.me(&s.access).await, 401, "unauthenticated");
    expect_error(
        &app.mobile_refresh(&s.refresh).await,
        401,
        "unauthenticated",
    );
}

#[tokio::test]
async fn mobile_logout_without_credentials_or_with_only_a_cookie_is_401() {
    let app = spawn_app().await;
    let web = app.web_register("ann@example.com").await;
    let r = app.call(Method::POST, "/api/auth/logout").send().await;
    expect_error(&r, 401, "unauthenticated");
    let r = app
        .post("/api/auth/logout", None, json!({ "refreshToken": "nope" }))
        .await;
    expect_error(&r, 401, "unauthenticated");
    // The web cookie means nothing here.
    let r = app
        .call(Method::POST, "/api/auth/logout")
        .refresh_cookie(Some(&web.refresh))
        .csrf(Some(&web.csrf), Some(&web.csrf))
        .send()
        .await;
    expect_error(&r, 401, "unauthenticated");
    assert!(app.session_of(&web.refresh).await.revoked_at.is_none());
}

#[tokio::test]
async fn tokens_from_one_mount_work_on_the_other() {
    let app = spawn_app().await;
    let web = app.web_register("ann@example.com").await;
    let r = app.get("/api/auth/me", Some(&web.access)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["email"], "ann@example.com");
    // The same account signs in on the mobile mount.
    let mobile = app.mobile_login("ann@example.com").await;
    assert_eq!(mobile.user["id"], web.user["id"]);
    let r = app.get("/api/v1/auth/me", Some(&mobile.access)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["id"], web.user["id"]);
    // A mobile account exists for the web mount too.
    app.mobile_register("bob@example.com").await;
    let r = app.login(WEB, "bob@example.com", PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.register(WEB, "bob@example.com", "Bob").await;
    expect_error(&r, 409, "already_exists");
}
