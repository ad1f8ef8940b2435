//! The web mount (`/api/v1`): the refresh token lives only in the httpOnly `refresh_token`
//! cookie, cookie-authenticated requests need the CSRF token the server made for the session
//! (the `csrf_token` cookie, or `csrfToken` of the body for a page that cannot read the API
//! host's cookies), refresh rotates the cookie, and a rotated cookie replayed after the grace
//! window ends the session. Cookie attributes and the CSRF refusals (missing, another
//! session's, planted) are conformance.rs's (testkit's cookie table).

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

/// Asserts the two session cookies of a web sign-in: names, flags, scope and life.
#[track_caller]
fn assert_session_cookies(r: &Resp, secure: bool) {
    let refresh = r
        .cookie("refresh_token")
        .unwrap_or_else(|| panic!("no refresh_token cookie: {:?}", r.headers));
    assert!(
        refresh.http_only(),
        "refresh cookie not HttpOnly: {}",
        refresh.raw
    );
    assert_eq!(
        refresh.same_site().map(str::to_ascii_lowercase).as_deref(),
        Some("strict"),
        "{}",
        refresh.raw
    );
    assert_eq!(refresh.path(), Some("/api/v1/auth"), "{}", refresh.raw);
    assert_eq!(refresh.secure(), secure, "Secure flag: {}", refresh.raw);
    assert_eq!(
        refresh.max_age(),
        Some(REFRESH_TTL_SECS),
        "the refresh cookie lives as long as the token (30 days): {}",
        refresh.raw
    );
    assert!(refresh.value.len() >= 32, "{}", refresh.raw);

    let csrf = r
        .cookie("csrf_token")
        .unwrap_or_else(|| panic!("no csrf_token cookie: {:?}", r.headers));
    assert!(
        !csrf.http_only(),
        "the page must read the CSRF cookie: {}",
        csrf.raw
    );
    assert_eq!(csrf.path(), Some("/"), "{}", csrf.raw);
    assert_eq!(
        csrf.same_site().map(str::to_ascii_lowercase).as_deref(),
        Some("strict"),
        "{}",
        csrf.raw
    );
    assert_eq!(csrf.secure(), secure, "Secure flag: {}", csrf.raw);
    assert!(csrf.value.len() >= 32, "guessable CSRF token: {}", csrf.raw);
    assert_ne!(csrf.value, refresh.value);
    assert_eq!(
        r.body["csrfToken"].as_str(),
        Some(csrf.value.as_str()),
        "the body carries the cookie's CSRF token: {}",
        r.text
    );
}

#[tokio::test]
async fn web_register_sets_the_refresh_and_csrf_cookies_and_keeps_the_refresh_token_out_of_the_body()
 {
    let app = spawn_app().await;
    let r = app.register(WEB, "ann@example.com", "Ann").await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_session_cookies(&r, false);
    assert!(
        r.body.get("refreshToken").is_none(),
        "refreshToken in a web body: {}",
        r.text
    );
    let refresh = r.cookie_value("refresh_token");
    assert!(
        !r.text.contains(&refresh),
        "the refresh token leaks into the body: {}",
        r.text
    );
    assert_eq!(r.body["user"]["email"], "ann@example.com");
    let access = r.body["accessToken"].as_str().unwrap();
    let me = app.me(access).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["email"], "ann@example.com");
    // The cookie is a live refresh token of the new account's session.
    let s = app.session_of(&refresh).await;
    assert_eq!(
        s.user_id.to_string(),
        r.body["user"]["id"].as_str().unwrap()
    );
    assert!(s.revoked_at.is_none());
}

#[tokio::test]
async fn web_login_sets_the_refresh_and_csrf_cookies_and_no_refresh_token_in_the_body() {
    let app = spawn_app().await;
    app.create_user("ann@example.com", "user").await;
    let r = app.login(WEB, "ann@example.com", PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_session_cookies(&r, false);
    assert!(r.body.get("refreshToken").is_none(), "{}", r.text);
    assert!(!r.text.contains(&r.cookie_value("refresh_token")));
    assert_eq!(r.body["expiresIn"], ACCESS_TTL_SECS);
    let access = r.body["accessToken"].as_str().unwrap();
    assert_eq!(app.me(access).await.status, 200);
}

#[tokio::test]
async fn refresh_with_the_cookie_and_a_matching_csrf_header_rotates_both_cookies() {
    let app = spawn_app().await;
    let first = app.web_register("ann@example.com").await;
    let r = app
        .web_refresh(Some(&first.refresh), Some(&first.csrf), Some(&first.csrf))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_session_cookies(&r, false);
    assert!(r.body.get("refreshToken").is_none(), "{}", r.text);
    assert_eq!(r.body["expiresIn"], ACCESS_TTL_SECS);
    let second = WebSession::from_resp(&r);
    assert!(!r.text.contains(&second.refresh));
    assert_ne!(second.refresh, first.refresh, "refresh cookie not rotated");
    assert_ne!(second.csrf, first.csrf, "CSRF cookie not renewed");
    // The new access token works and names the same user.
    let me = app.me(&second.access).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["email"], "ann@example.com");
    // The old token is marked rotated; the new one belongs to the same session.
    assert!(app.refresh_row(&first.refresh).await.rotated_at.is_some());
    assert_eq!(
        app.session_of(&first.refresh).await.id,
        app.session_of(&second.refresh).await.id
    );
    // And the new cookie pair refreshes again.
    let third = app.web_refresh_ok(&second).await;
    assert_ne!(third.refresh, second.refresh);
}

#[tokio::test]
async fn a_page_on_another_host_refreshes_and_logs_out_with_the_csrf_token_of_the_body() {
    // The web app runs on app.pawfectmatch.com, the API on api.pawfectmatch.com: the page
    // cannot read the API host's csrf_token cookie, so it keeps the body's csrfToken. The
    // browser still sends the API's cookies; this client sends the refresh cookie only.
    let app = spawn_app().await;
    let r = app.register(WEB, "ann@example.com", "Ann").await;
    assert_eq!(r.status, 201, "{}", r.text);
    let mut refresh = r.cookie_value("refresh_token");
    let mut csrf = r.body["csrfToken"].as_str().expect("csrfToken").to_owned();
    for round in 0..2 {
        let r = app.web_refresh(Some(&refresh), None, Some(&csrf)).await;
        assert_eq!(r.status, 200, "refresh {round}: {}", r.text);
        assert!(r.body.get("refreshToken").is_none(), "{}", r.text);
        let next = r.body["csrfToken"].as_str().expect("a fresh csrfToken");
        assert_ne!(next, csrf, "a new token with every refresh");
        assert_eq!(r.cookie_value("csrf_token"), next);
        (refresh, csrf) = (r.cookie_value("refresh_token"), next.to_owned());
    }
    let login = app.login(WEB, "ann@example.com", PASSWORD).await;
    assert!(login.body["csrfToken"].as_str().is_some(), "{}", login.text);
    let r = app
        .call(Method::POST, "/api/v1/auth/logout")
        .refresh_cookie(Some(&refresh))
        .header("x-csrf-token", &csrf)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(app.session_of(&refresh).await.revoked_at.is_some());
}

#[tokio::test]
async fn an_earlier_csrf_token_of_the_session_still_works_for_a_parallel_tab() {
    // Tokens are bound to the session, not to one refresh: a tab that kept the token of the
    // sign-in refreshes after another tab's refresh rotated the cookie.
    let app = spawn_app().await;
    let first = app.web_register("ann@example.com").await;
    let second = app.web_refresh_ok(&first).await;
    let r = app
        .web_refresh(Some(&second.refresh), None, Some(&first.csrf))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn mobile_answers_carry_no_csrf_token() {
    let app = spawn_app().await;
    let r = app.register(MOBILE, "ann@example.com", "Ann").await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.body.get("csrfToken").is_none(), "{}", r.text);
    assert!(r.cookie("csrf_token").is_none());
    let refreshed = app
        .mobile_refresh(r.body["refreshToken"].as_str().unwrap())
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    assert!(
        refreshed.body.get("csrfToken").is_none(),
        "{}",
        refreshed.text
    );
}

#[tokio::test]
async fn the_web_refresh_ignores_a_refresh_token_in_the_body() {
    let app = spawn_app().await;
    let mobile = app.mobile_register("ann@example.com").await;
    let r = app
        .call(Method::POST, "/api/v1/auth/refresh")
        .csrf(Some("abc"), Some("abc"))
        .json(json!({ "refreshToken": mobile.refresh }))
        .send()
        .await;
    expect_error(&r, 401, "unauthenticated");
    // Not spent either: the mobile client can still use it.
    assert!(app.refresh_row(&mobile.refresh).await.rotated_at.is_none());
    let r = app.mobile_refresh(&mobile.refresh).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// Asserts that `r` tells the browser to delete both session cookies, each on its own path.
#[track_caller]
fn assert_cookies_cleared(r: &Resp) {
    let refresh = r
        .cookie("refresh_token")
        .unwrap_or_else(|| panic!("refresh_token not cleared: {:?}", r.headers));
    assert!(refresh.is_cleared(), "{}", refresh.raw);
    assert!(refresh.value.is_empty(), "{}", refresh.raw);
    assert_eq!(
        refresh.path(),
        Some("/api/v1/auth"),
        "a removal on another path deletes nothing: {}",
        refresh.raw
    );
    let csrf = r
        .cookie("csrf_token")
        .unwrap_or_else(|| panic!("csrf_token not cleared: {:?}", r.headers));
    assert!(csrf.is_cleared(), "{}", csrf.raw);
    assert_eq!(csrf.path(), Some("/"), "{}", csrf.raw);
}

#[tokio::test]
async fn logout_by_cookie_with_csrf_answers_success_and_revokes_the_session() {
    let app = spawn_app().await;
    let s = app.web_register("ann@example.com").await;
    let r = app
        .call(Method::POST, "/api/v1/auth/logout")
        .refresh_cookie(Some(&s.refresh))
        .csrf(Some(&s.csrf), Some(&s.csrf))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({ "success": true }));
    let stored = app.session_of(&s.refresh).await;
    assert!(stored.revoked_at.is_some(), "{stored:?}");
}

#[tokio::test]
async fn logout_with_a_bearer_token_needs_no_csrf_and_clears_the_cookies_sent() {
    let app = spawn_app().await;
    let s = app.web_register("ann@example.com").await;
    let other = app.web_login("ann@example.com").await;
    // The browser sends its cookies along; no X-CSRF-Token.
    let r = app
        .call(Method::POST, "/api/v1/auth/logout")
        .bearer(&s.access)
        .refresh_cookie(Some(&s.refresh))
        .csrf(Some(&s.csrf), None)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({ "success": true }));
    assert_cookies_cleared(&r);
    expect_error(&app.me(&s.access).await, 401, "unauthenticated");
    let r = app
        .web_refresh(Some(&s.refresh), Some(&s.csrf), Some(&s.csrf))
        .await;
    expect_error(&r, 401, "unauthenticated");
    // Only that session ended: the user's other sign-in lives on.
    assert_eq!(app.me(&other.access).await.status, 200);
    app.web_refresh_ok(&other).await;
}
