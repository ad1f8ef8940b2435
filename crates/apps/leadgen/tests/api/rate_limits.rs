//! Rate limits (service/access.rs `LIMITS`) beyond their boundaries, which conformance.rs
//! checks for every rule (testkit's table): verify counted per token, keyless requests, the
//! routes' counts apart, what refused requests leave behind (no mail), CORS exposure, and two
//! instances sharing one count in Redis.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const HOUR: u64 = 3600;
const MINUTE: u64 = 60;

/// Asserts the headers of the `n`-th (1-based) permitted request of a `limit` rule.
#[track_caller]
fn assert_counting(r: &Resp, limit: u64, n: u64, window: u64) {
    let (l, remaining, reset) = rate_headers(r);
    assert_eq!(l, limit, "X-RateLimit-Limit on request {n}: {}", r.text);
    assert_eq!(remaining, limit - n, "X-RateLimit-Remaining on request {n}");
    assert!(
        (1..=window).contains(&reset),
        "X-RateLimit-Reset {reset} outside 1..={window}"
    );
}

#[tokio::test]
async fn a_successful_login_carries_the_headers() {
    let app = spawn_app().await;
    app.create_user("hdr@example.com", "user", true).await;
    let r = app.login("hdr@example.com", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_counting(&r, 20, 1, MINUTE);
}

#[tokio::test]
async fn the_limits_of_different_routes_are_counted_apart() {
    let app = spawn_app().await;
    for _ in 0..20 {
        app.login("x@example.com", PASSWORD).await;
    }
    assert_limited(&app.login("x@example.com", PASSWORD).await, 20, MINUTE);
    let reg = app.register("apart@example.com", "Apart", None).await;
    assert_eq!(reg.status, StatusCode::ACCEPTED, "{}", reg.text);
    assert_counting(&reg, 10, 1, HOUR);
}

#[tokio::test]
async fn a_refused_resend_mails_nothing() {
    let app = spawn_app().await;
    app.create_user("unv@example.com", "user", false).await;
    for _ in 0..10 {
        let r = app.verify(json!({ "email": "unv@example.com" })).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    assert_eq!(app.wait_for_mails("unv@example.com", 10).await.len(), 10);
    let r = app.verify(json!({ "email": "unv@example.com" })).await;
    assert_limited(&r, 10, HOUR);
    assert_eq!(app.settled_mails("unv@example.com").await.len(), 10);
}

#[tokio::test]
async fn verify_by_token_is_counted_per_token() {
    let app = spawn_app().await;
    for n in 1..=10u64 {
        let r = app.verify(json!({ "token": "guessed-token-1" })).await;
        expect_error(&r, 400, "invalid_argument");
        assert_counting(&r, 10, n, HOUR);
    }
    let r = app.verify(json!({ "token": "guessed-token-1" })).await;
    assert_limited(&r, 10, HOUR);

    let other = app.verify(json!({ "token": "guessed-token-2" })).await;
    expect_error(&other, 400, "invalid_argument");
    assert_counting(&other, 10, 1, HOUR);
    let by_email = app.verify(json!({ "email": "t@example.com" })).await;
    assert_eq!(by_email.status, StatusCode::OK, "{}", by_email.text);
    assert_counting(&by_email, 10, 1, HOUR);
}

#[tokio::test]
async fn reset_password_allows_five_per_hour_per_email_then_answers_429() {
    let app = spawn_app().await;
    app.create_user("rp@example.com", "user", true).await;
    for n in 1..=5u64 {
        let r = app.reset(json!({ "email": "rp@example.com" })).await;
        assert_eq!(r.status, StatusCode::OK, "request {n}: {}", r.text);
        assert_counting(&r, 5, n, HOUR);
    }
    assert_eq!(app.wait_for_mails("rp@example.com", 5).await.len(), 5);
    let r = app.reset(json!({ "email": "RP@example.com" })).await;
    assert_limited(&r, 5, HOUR);
    assert_eq!(
        app.settled_mails("rp@example.com").await.len(),
        5,
        "the refused request mails nothing"
    );

    let other = app.reset(json!({ "email": "other@example.com" })).await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.text);
    assert_counting(&other, 5, 1, HOUR);
}

/// The contract: EVERY response of a limited route carries the headers, keyless ones too.
#[tokio::test]
async fn keyless_requests_to_email_limited_routes_still_carry_the_headers() {
    let app = spawn_app().await;
    for (path, body) in [
        ("/api/auth/verify", json!({})),
        ("/api/auth/reset-password", json!({})),
    ] {
        let r = app.post(path, None, body).await;
        expect_error(&r, 400, "invalid_argument");
        let (limit, _, _) = rate_headers(&r);
        assert!(limit > 0, "{path}");
    }
}

/// A browser frontend on another origin can only read headers the CORS answer exposes.
#[tokio::test]
async fn a_cross_origin_client_may_read_the_rate_limit_and_request_id_headers() {
    let app = spawn_app_with(|s| s.cors_origins = vec!["http://app.test".into()]).await;
    let r = app
        .post_with(
            "/api/auth/login",
            &[("origin", "http://app.test")],
            json!({ "email": "x@example.com", "password": PASSWORD }),
        )
        .await;
    expect_error(&r, 401, "unauthenticated");
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://app.test")
    );
    rate_headers(&r);
    let exposed = r
        .header("access-control-expose-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    for h in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "retry-after",
        "x-request-id",
    ] {
        assert!(
            exposed.contains(h),
            "{h} not exposed to browsers: {exposed:?}"
        );
    }
}

#[tokio::test]
async fn unlimited_routes_answer_without_rate_limit_headers() {
    let app = spawn_app().await;
    let s = app.login_as("free@example.com", "user").await;
    for _ in 0..25 {
        let r = app.me(&s.access).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert!(r.header("x-ratelimit-limit").is_none());
    }
}

/// Needs Redis; runs when `TEST_REDIS_URL` is set.
#[tokio::test]
async fn two_instances_on_one_redis_share_one_count() {
    let Some(redis) = testkit::SharedRedis::from_env() else {
        return;
    };
    let a = spawn_app_with(|s| redis.apply(s)).await;
    let b = spawn_app_with(|s| redis.apply(s)).await;
    let email = unique_email("redis");
    let body: Value = json!({ "email": email });
    for n in 1..=10u64 {
        let app = if n % 2 == 0 { &a } else { &b };
        let r = app.verify(body.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "request {n}: {}", r.text);
        assert_counting(&r, 10, n, HOUR);
    }
    assert_limited(&a.verify(body.clone()).await, 10, HOUR);
    assert_limited(&b.verify(body).await, 10, HOUR);

    let fresh = a.verify(json!({ "email": unique_email("redis") })).await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.text);
    assert_counting(&fresh, 10, 1, HOUR);
}
