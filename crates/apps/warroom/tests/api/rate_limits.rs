//! What the limits leave behind (docs/warroom.md "Rate limits"): refused requests send no
//! mail and change nothing; sessions record the forwarded address. Every rule of
//! service/access.rs `LIMITS` at its boundary, its keys and `X-Forwarded-For` handling are
//! conformance.rs's (testkit's table); password guessing is the sign-in throttle's.

use std::net::IpAddr;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

async fn login(app: &TestApp, email: &str, password: &str) -> Resp {
    app.post(
        "/api/v1/auth/login",
        None,
        json!({ "email": email, "password": password }),
    )
    .await
}

/// A request from behind a proxy that reports `xff` as the client.
async fn post_via(app: &TestApp, path: &str, xff: &str, body: Value) -> Resp {
    app.raw_request(
        Method::POST,
        path,
        None,
        &[
            ("content-type", "application/json"),
            ("x-forwarded-for", xff),
        ],
        Some(body.to_string().into_bytes()),
    )
    .await
}

fn localhost_trusted() -> Vec<IpAddr> {
    vec!["127.0.0.1".parse().unwrap()]
}

#[tokio::test]
async fn limited_routes_carry_rate_limit_headers_and_others_do_not() {
    let app = spawn_app().await;
    app.create_user("ann@example.com", "viewer").await;
    let r = login(&app, "ann@example.com", PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (limit, remaining, reset) = testkit::rate_headers(&r);
    assert_eq!((limit, remaining), (30, 29));
    assert!((1..=60).contains(&reset), "{reset}");
    let token = r.body["accessToken"].as_str().unwrap();
    let me = app.get("/api/v1/auth/me", Some(token)).await;
    assert!(me.header("x-ratelimit-limit").is_none());
}

#[tokio::test]
async fn reset_requests_are_limited_to_5_an_hour_per_email() {
    // Each request comes from its own address, so only the per-account rule can bite.
    let app = spawn_app_with(|s| s.trusted_proxies = localhost_trusted()).await;
    app.create_user("ann@example.com", "viewer").await;
    let mut n = 0;
    let mut reset = |email: &'static str| {
        n += 1;
        let xff = format!("198.51.100.{n}");
        let app = &app;
        async move {
            post_via(
                app,
                "/api/v1/auth/reset-password",
                &xff,
                json!({ "email": email }),
            )
            .await
        }
    };
    for email in [
        "ann@example.com",
        "ANN@example.com",
        "ann@example.com",
        "ann@example.com",
        "Ann@Example.com",
    ] {
        let r = reset(email).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body, json!({ "success": true }));
    }
    expect_limited(&reset("ann@example.com").await, 3600);
    // Unknown addresses are limited the same way (no account enumeration through 429s).
    for _ in 0..5 {
        let r = reset("ghost@example.com").await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    expect_limited(&reset("ghost@example.com").await, 3600);
    // Another address is unaffected.
    assert_eq!(reset("bob@example.com").await.status, 200);
    // Five mails reached Ann (they are sent after the response), and no more.
    assert_eq!(app.wait_for_mails("ann@example.com", 5).await.len(), 5);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(app.mails_to("ann@example.com").await.len(), 5);
}

async fn setup_2fa(app: &TestApp, token: &str) -> String {
    let r = app
        .request(Method::POST, "/api/v1/auth/2fa/setup", Some(token), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["secret"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn two_factor_verification_is_limited_to_10_per_user() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let bob = app.login_as("bob@example.com", "viewer").await;
    let secret = setup_2fa(&app, &ann.access).await;
    for _ in 0..10 {
        let r = app
            .post(
                "/api/v1/auth/2fa/verify",
                Some(&ann.access),
                json!({ "code": "12345x" }),
            )
            .await;
        expect_error(&r, 400, "invalid_argument");
    }
    let r = app
        .post(
            "/api/v1/auth/2fa/verify",
            Some(&ann.access),
            json!({ "code": totp_now(&secret) }),
        )
        .await;
    expect_limited(&r, 900);
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&ann.access)).await.body["twoFactorEnabled"],
        false
    );
    // Bob has his own allowance.
    let bob_secret = setup_2fa(&app, &bob.access).await;
    let r = app
        .post(
            "/api/v1/auth/2fa/verify",
            Some(&bob.access),
            json!({ "code": totp_now(&bob_secret) }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn mock_sign_in_mails_are_limited_to_5_an_hour_per_address() {
    let app = spawn_app().await;
    let body = |email: &str| json!({ "provider": "google", "email": email, "redirectUri": "http://app.test/cb" });
    for email in [
        "ann@example.com",
        "ANN@example.com",
        "ann@example.com",
        "ann@example.com",
        "ann@example.com",
    ] {
        let r = app
            .post("/api/v1/auth/oauth/mock/authorize", None, body(email))
            .await;
        assert_eq!(r.status, 202, "{}", r.text);
    }
    let r = app
        .post(
            "/api/v1/auth/oauth/mock/authorize",
            None,
            body("ann@example.com"),
        )
        .await;
    expect_limited(&r, 3600);
    assert_eq!(app.mails_to("ann@example.com").await.len(), 5);
    let r = app
        .post(
            "/api/v1/auth/oauth/mock/authorize",
            None,
            body("bob@example.com"),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
}

#[tokio::test]
async fn the_forwarded_address_is_what_sessions_record_behind_a_trusted_proxy() {
    let app = spawn_app_with(|s| s.trusted_proxies = localhost_trusted()).await;
    app.create_user("ann@example.com", "viewer").await;
    let body = json!({ "email": "ann@example.com", "password": PASSWORD });
    let r = post_via(&app, "/api/v1/auth/login", "192.0.2.44", body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let s = app
        .get("/api/v1/auth/sessions", r.body["accessToken"].as_str())
        .await;
    assert_eq!(s.body["sessions"][0]["ip"], "192.0.2.44", "{}", s.text);
}
