//! The cookie session: the profile, CSRF tokens bound to the session on cookie-authenticated
//! state changes,
//! refresh rotation (and reuse detection), logout by access or refresh cookie, and Bearer
//! access for API tools.

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

#[tokio::test]
async fn a_rotated_refresh_token_reused_after_the_grace_ends_the_session() {
    let app = spawn_app().await;
    let s0 = app.google_sign_in("reuse@example.com").await;
    let s1 = app.refresh_ok(&s0).await;
    app.age_rotation(&s0.refresh, 11).await;

    let r = app
        .refresh(Some(&s0.refresh), Some(&s0.csrf), Some(&s0.csrf))
        .await;
    expect_error(&r, 401, "unauthenticated");
    let session = app.session_of(&s0.refresh).await;
    assert!(session.revoked_at.is_some(), "the session is revoked");
    assert_eq!(
        session.revoke_reason.as_deref(),
        Some("refresh_token_reuse")
    );

    // Everything of that session is dead, the newest tokens included.
    let r = app
        .refresh(Some(&s1.refresh), Some(&s1.csrf), Some(&s1.csrf))
        .await;
    expect_error(&r, 401, "unauthenticated");
    expect_error(&app.profile(&s1.access).await, 401, "unauthenticated");
    expect_error(&app.profile(&s0.access).await, 401, "unauthenticated");
}

#[tokio::test]
async fn a_rotated_refresh_token_within_the_grace_still_refreshes() {
    // Two tabs refreshing together: the slower one presents the token just rotated.
    let app = spawn_app().await;
    let s0 = app.google_sign_in("tabs@example.com").await;
    let s1 = app.refresh_ok(&s0).await;
    let sibling = app.refresh_ok(&s0).await;
    assert_eq!(
        sibling.refresh, s1.refresh,
        "the same successor: no second branch"
    );
    assert_eq!(app.profile(&s1.access).await.status, 200);
    assert_eq!(app.profile(&sibling.access).await.status, 200);
    assert!(app.session_of(&s0.refresh).await.revoked_at.is_none());
}

#[tokio::test]
async fn refresh_needs_the_csrf_token_of_its_session() {
    let app = spawn_app().await;
    let s = app.google_sign_in("csrf@example.com").await;
    let other = app.google_sign_in("other@example.com").await;
    let planted = "cGxhbnRlZC1ieS1hbi1hdHRhY2tlcg.aW52ZW50ZWQtbWFjLW9mLTMyLWJ5dGVzLXh4eHh4eHh4";
    let cases = [
        ("no header", Some(s.csrf.as_str()), None),
        ("wrong header", Some(s.csrf.as_str()), Some("forged")),
        ("neither", None, None),
        ("both empty", Some(""), Some("")),
        ("a planted pair", Some("forged"), Some("forged")),
        ("a planted token-shaped pair", Some(planted), Some(planted)),
        (
            "another session's pair",
            Some(other.csrf.as_str()),
            Some(other.csrf.as_str()),
        ),
    ];
    for (case, cookie, header) in cases {
        let r = app.refresh(Some(&s.refresh), cookie, header).await;
        assert_eq!(r.status, 403, "{case}: {}", r.text);
        expect_error(&r, 403, "permission_denied");
        assert!(r.cookie("refresh_token").is_none(), "{case}");
    }
    // None of them spent the token; the session's own token in the header is what counts
    // (the cookie only delivers it), e.g. `data.csrfToken` kept by a page on another host.
    assert_eq!(s.data["csrfToken"].as_str(), Some(s.csrf.as_str()));
    let r = app.refresh(Some(&s.refresh), None, Some(&s.csrf)).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn a_state_change_by_access_cookie_needs_the_csrf_token_of_its_session() {
    let app = spawn_app().await;
    let s = app.google_sign_in("mine@example.com").await;
    let mine_elsewhere = app.google_sign_in("mine@example.com").await;
    for (case, token) in [
        ("a planted pair", "forged"),
        ("another session's token", mine_elsewhere.csrf.as_str()),
    ] {
        let r = app
            .call(Method::POST, "/auth/logout")
            .cookie("access_token", &s.access)
            .csrf(Some(token), Some(token))
            .send()
            .await;
        expect_error(&r, 403, "permission_denied");
        assert!(
            r.cookie("access_token").is_none(),
            "{case}: nothing cleared"
        );
    }
    assert_eq!(app.profile(&s.access).await.status, 200, "still signed in");
    assert!(app.session_of(&s.refresh).await.revoked_at.is_none());
    // The session's own token passes the same check, and the other session lives on.
    let r = app
        .call(Method::POST, "/auth/logout")
        .cookie("access_token", &s.access)
        .header("x-csrf-token", &s.csrf)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.profile(&mine_elsewhere.access).await.status, 200);
}

#[tokio::test]
async fn refresh_without_or_with_an_unknown_cookie_is_unauthenticated() {
    let app = spawn_app().await;
    let s = app.google_sign_in("nocookie@example.com").await;
    let r = app.refresh(None, Some(&s.csrf), Some(&s.csrf)).await;
    expect_error(&r, 401, "unauthenticated");
    let r = app
        .refresh(Some("made-up"), Some(&s.csrf), Some(&s.csrf))
        .await;
    expect_error(&r, 401, "unauthenticated");
    // An access token is not a refresh token.
    let r = app
        .refresh(Some(&s.access), Some(&s.csrf), Some(&s.csrf))
        .await;
    expect_error(&r, 401, "unauthenticated");
}

// ---------------------------------------------------------------- logout

#[tokio::test]
async fn logout_ends_the_session_and_clears_the_cookies() {
    let app = spawn_app().await;
    let s = app.google_sign_in("bye@example.com").await;
    let r = app.logout(&s, Some(&s.csrf)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({ "data": { "loggedOut": true } }));
    for (name, path) in [
        ("access_token", "/"),
        ("refresh_token", "/auth"),
        ("csrf_token", "/"),
    ] {
        let c = r
            .cookie(name)
            .unwrap_or_else(|| panic!("{name} not cleared"));
        assert!(c.is_cleared(), "{}", c.raw);
        // A removal only works with the path the cookie was set with.
        assert_eq!(c.path(), Some(path), "{}", c.raw);
    }
    expect_error(&app.profile(&s.access).await, 401, "unauthenticated");
    let r = app
        .refresh(Some(&s.refresh), Some(&s.csrf), Some(&s.csrf))
        .await;
    expect_error(&r, 401, "unauthenticated");
    let session = app.session_of(&s.refresh).await;
    assert_eq!(session.revoke_reason.as_deref(), Some("logout"));
}

#[tokio::test]
async fn logout_without_csrf_is_refused_and_the_session_lives_on() {
    let app = spawn_app().await;
    let s = app.google_sign_in("stay@example.com").await;
    let r = app.logout(&s, None).await;
    expect_error(&r, 403, "permission_denied");
    assert!(r.cookie("access_token").is_none(), "nothing cleared");
    let r = app.logout(&s, Some("forged")).await;
    expect_error(&r, 403, "permission_denied");

    assert_eq!(app.profile(&s.access).await.status, 200);
    assert!(app.session_of(&s.refresh).await.revoked_at.is_none());
    app.refresh_ok(&s).await;
}

#[tokio::test]
async fn logout_with_the_access_cookie_alone_and_no_csrf_is_forbidden() {
    let app = spawn_app().await;
    let s = app.google_sign_in("alone@example.com").await;
    let r = app
        .call(Method::POST, "/auth/logout")
        .cookie("access_token", &s.access)
        .cookie("csrf_token", &s.csrf)
        .send()
        .await;
    expect_error(&r, 403, "permission_denied");
    assert_eq!(app.profile(&s.access).await.status, 200);
}

#[tokio::test]
async fn logout_with_the_access_cookie_alone_and_csrf_works() {
    let app = spawn_app().await;
    let s = app.google_sign_in("acc@example.com").await;
    let r = app
        .call(Method::POST, "/auth/logout")
        .cookie("access_token", &s.access)
        .csrf(Some(&s.csrf), Some(&s.csrf))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    expect_error(&app.profile(&s.access).await, 401, "unauthenticated");
}

#[tokio::test]
async fn logout_with_only_the_refresh_cookie_works_once_the_access_cookie_is_gone() {
    let app = spawn_app().await;
    let s = app.google_sign_in("late@example.com").await;
    let r = app
        .call(Method::POST, "/auth/logout")
        .refresh_cookie(Some(&s.refresh))
        .csrf(Some(&s.csrf), Some(&s.csrf))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.cookie("refresh_token").unwrap().is_cleared());
    expect_error(&app.profile(&s.access).await, 401, "unauthenticated");
    assert!(app.session_of(&s.refresh).await.revoked_at.is_some());

    // A second logout with the spent cookie has no session to end.
    let r = app
        .call(Method::POST, "/auth/logout")
        .refresh_cookie(Some(&s.refresh))
        .csrf(Some(&s.csrf), Some(&s.csrf))
        .send()
        .await;
    expect_error(&r, 401, "unauthenticated");
}

#[tokio::test]
async fn logout_with_only_the_refresh_cookie_needs_csrf() {
    let app = spawn_app().await;
    let s = app.google_sign_in("rcsrf@example.com").await;
    let r = app
        .call(Method::POST, "/auth/logout")
        .refresh_cookie(Some(&s.refresh))
        .csrf(Some(&s.csrf), None)
        .send()
        .await;
    expect_error(&r, 403, "permission_denied");
    assert!(app.session_of(&s.refresh).await.revoked_at.is_none());
}

#[tokio::test]
async fn logout_with_nothing_is_unauthenticated() {
    let app = spawn_app().await;
    let r = app.post("/auth/logout", None, json!({})).await;
    expect_error(&r, 401, "unauthenticated");
}

#[tokio::test]
async fn bearer_logout_needs_no_csrf() {
    let app = spawn_app().await;
    let s = app.google_sign_in("bearer@example.com").await;
    let other = app.google_sign_in("bearer@example.com").await;
    let r = app
        .call(Method::POST, "/auth/logout")
        .bearer(&s.access)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    expect_error(
        &app.get("/auth/user/profile", Some(&s.access)).await,
        401,
        "unauthenticated",
    );
    // Only that session ended.
    assert_eq!(app.profile(&other.access).await.status, 200);
}
