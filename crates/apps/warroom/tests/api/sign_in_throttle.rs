//! The sign-in throttle (docs/warroom.md "Sign-in throttling"): failures only, per account and
//! per address or device; the owner's known device or address is not blocked by other
//! addresses' failures; bursts evaluate no more than the streak allows. Tests that need a
//! delay to hold for the whole test lengthen it (`first_delay`), so nothing depends on timing.

use std::{net::IpAddr, time::Duration};

use platform::{identity::throttle::ThrottlePolicy, settings::ProductSettings};
use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

fn via_proxy(s: &mut ProductSettings) {
    s.trusted_proxies = vec!["127.0.0.1".parse::<IpAddr>().unwrap()];
}

/// Delays long enough that none elapses during a test.
fn slow(s: &mut ProductSettings) {
    via_proxy(s);
    s.sign_in.first_delay = Duration::from_secs(60);
}

/// A login from `ip` (behind the trusted proxy), with the device cookie when given.
async fn login_from(
    app: &TestApp,
    ip: &str,
    email: &str,
    password: &str,
    device: Option<&str>,
) -> Resp {
    let mut call = app
        .call(Method::POST, "/api/v1/auth/login")
        .header("x-forwarded-for", ip)
        .json(json!({ "email": email, "password": password }));
    if let Some(d) = device {
        call = call.cookie("warroom_device", d);
    }
    call.send().await
}

/// How many wrong passwords were evaluated for the user (each leaves a `login_failed`).
async fn evaluated_failures(app: &TestApp, user: uuid::Uuid) -> usize {
    let (events, _) = app.ctx.identity.security_log(user, 1, 100).await.unwrap();
    events
        .iter()
        .filter(|e| e.event_type == "login_failed")
        .count()
}

#[tokio::test]
async fn thirteen_right_passwords_in_a_row_all_sign_in() {
    let app = spawn_app().await;
    app.create_user("ann@example.com", "viewer").await;
    for n in 1..=13 {
        let r = app
            .post(
                "/api/v1/auth/login",
                None,
                json!({ "email": "ann@example.com", "password": PASSWORD }),
            )
            .await;
        assert_eq!(r.status, 200, "sign-in {n}: {}", r.text);
    }
}

#[tokio::test]
async fn after_three_wrong_passwords_the_next_attempt_waits_and_is_not_evaluated() {
    let app = spawn_app_with(slow).await;
    let ann = app.create_user("ann@example.com", "viewer").await;
    for _ in 0..3 {
        let r = login_from(
            &app,
            "198.51.100.1",
            "ann@example.com",
            "wrong password",
            None,
        )
        .await;
        expect_error(&r, 401, "unauthenticated");
    }
    // Even the right password waits: the answer does not tell a guesser anything.
    let r = login_from(&app, "198.51.100.1", "ann@example.com", PASSWORD, None).await;
    expect_limited(&r, 60);
    assert!(r.body.get("accessToken").is_none());
    assert_eq!(evaluated_failures(&app, ann.id).await, 3);
    // Another account from the same address is not slowed.
    app.create_user("bob@example.com", "viewer").await;
    let r = login_from(&app, "198.51.100.1", "bob@example.com", PASSWORD, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn unknown_addresses_are_throttled_alike_so_429s_reveal_no_account() {
    let app = spawn_app_with(slow).await;
    for _ in 0..3 {
        let r = login_from(
            &app,
            "198.51.100.1",
            "ghost@example.com",
            "wrong password",
            None,
        )
        .await;
        expect_error(&r, 401, "unauthenticated");
    }
    let r = login_from(
        &app,
        "198.51.100.1",
        "ghost@example.com",
        "wrong password",
        None,
    )
    .await;
    expect_limited(&r, 60);
}

#[tokio::test]
async fn failures_from_150_addresses_do_not_lock_the_owner_out_of_a_known_device_or_address() {
    // No delays before the cool-down, so the ten failures come at once.
    let app = spawn_app_with(|s| {
        via_proxy(s);
        s.sign_in.free_failures = 10;
    })
    .await;
    let ann = app.create_user("ann@example.com", "viewer").await;
    let home = login_from(&app, "192.0.2.10", "ann@example.com", PASSWORD, None).await;
    assert_eq!(home.status, 200, "{}", home.text);
    let device = home.cookie_value("warroom_device");
    for i in 0..150 {
        let ip = format!("198.51.{}.{}", 100 + i / 200, i % 200 + 1);
        let r = login_from(&app, &ip, "ann@example.com", "wrong password", None).await;
        let expected = if i < 10 { 401 } else { 429 };
        assert_eq!(r.status, expected, "attempt {i}: {}", r.text);
    }
    assert_eq!(
        evaluated_failures(&app, ann.id).await,
        10,
        "ten evaluated, no more"
    );
    // Anyone new must wait out the cool-down, the right password included.
    let r = login_from(&app, "203.0.113.5", "ann@example.com", PASSWORD, None).await;
    expect_limited(&r, 15 * 60);
    // The owner is not: from the address she signed in from, or with her device cookie.
    let r = login_from(&app, "192.0.2.10", "ann@example.com", PASSWORD, None).await;
    assert_eq!(r.status, 200, "known address: {}", r.text);
    let r = login_from(
        &app,
        "203.0.113.6",
        "ann@example.com",
        PASSWORD,
        Some(&device),
    )
    .await;
    assert_eq!(r.status, 200, "known device: {}", r.text);
    // Her device cookie vouches for her account only.
    app.create_user("bob@example.com", "viewer").await;
    for _ in 0..10 {
        login_from(
            &app,
            "198.51.100.77",
            "bob@example.com",
            "wrong password",
            None,
        )
        .await;
    }
    let r = login_from(
        &app,
        "203.0.113.7",
        "bob@example.com",
        PASSWORD,
        Some(&device),
    )
    .await;
    expect_limited(&r, 15 * 60);
}

#[tokio::test]
async fn a_sign_in_ends_the_streak_of_its_address() {
    let app = spawn_app_with(slow).await;
    app.create_user("ann@example.com", "viewer").await;
    let ip = "198.51.100.1";
    for password in ["wrong password", "wrong password", PASSWORD] {
        login_from(&app, ip, "ann@example.com", password, None).await;
    }
    for _ in 0..3 {
        let r = login_from(&app, ip, "ann@example.com", "wrong password", None).await;
        expect_error(&r, 401, "unauthenticated");
    }
    expect_limited(
        &login_from(&app, ip, "ann@example.com", PASSWORD, None).await,
        60,
    );
}

#[tokio::test]
async fn the_device_cookie_is_httponly_strict_and_secure() {
    let app = spawn_app().await;
    app.create_user("ann@example.com", "viewer").await;
    let r = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({ "email": "ann@example.com", "password": PASSWORD }),
        )
        .await;
    let c = r.cookie("warroom_device").expect("a device cookie");
    assert!(c.http_only() && c.secure(), "{}", c.raw);
    assert_eq!(c.same_site(), Some("Strict"));
    assert_eq!(c.path(), Some("/"));
    assert_eq!(c.max_age(), Some(90 * 24 * 3600));
    assert!(
        !c.value.contains("ann"),
        "names the account only through its MAC"
    );
    // Failed sign-ins get none.
    let r = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({ "email": "ann@example.com", "password": "wrong password" }),
        )
        .await;
    assert!(r.cookie("warroom_device").is_none());
}

async fn enable_2fa(app: &TestApp, access: &str) -> String {
    let r = app
        .request(Method::POST, "/api/v1/auth/2fa/setup", Some(access), None)
        .await;
    let secret = r.body["secret"].as_str().unwrap().to_owned();
    let r = app
        .post(
            "/api/v1/auth/2fa/verify",
            Some(access),
            json!({ "code": totp_now(&secret) }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    secret
}

#[tokio::test]
async fn wrong_second_factors_count_as_failures_and_a_missing_one_counts_nothing() {
    let app = spawn_app_with(slow).await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let secret = enable_2fa(&app, &ann.access).await;
    let with_code =
        |code: &str| json!({ "email": "ann@example.com", "password": PASSWORD, "totpCode": code });
    let from = [("x-forwarded-for", "198.51.100.9")];
    for _ in 0..5 {
        let r = app
            .post_with(
                "/api/v1/auth/login",
                &from,
                json!({ "email": "ann@example.com", "password": PASSWORD }),
            )
            .await;
        expect_error(&r, 401, "unauthenticated");
        assert_eq!(r.body["details"]["twoFactorRequired"], true);
    }
    for _ in 0..3 {
        let r = app
            .post_with("/api/v1/auth/login", &from, with_code("000000"))
            .await;
        expect_error(&r, 401, "unauthenticated");
    }
    let r = app
        .post_with("/api/v1/auth/login", &from, with_code(&totp_now(&secret)))
        .await;
    expect_limited(&r, 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_fifty_wrong_passwords_evaluates_no_more_than_the_limit() {
    let app = spawn_app_with(via_proxy).await;
    let ann = app.create_user("ann@example.com", "viewer").await;
    let attempts = (0..50).map(|i| {
        let ip = format!("198.51.100.{}", i + 1);
        let app = &app;
        async move { login_from(app, &ip, "ann@example.com", "wrong password", None).await }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let refused = answers.iter().filter(|r| r.status == 429).count();
    let wrong = answers.iter().filter(|r| r.status == 401).count();
    assert_eq!(refused + wrong, 50, "only 401s and 429s");
    let evaluated = evaluated_failures(&app, ann.id).await;
    assert_eq!(evaluated, wrong, "every 401 was one evaluation");
    let limit = ThrottlePolicy::default().cooldown_after as usize;
    assert!(
        (3..=limit).contains(&evaluated),
        "{evaluated} passwords evaluated"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_fifty_right_passwords_is_all_accepted() {
    let app = spawn_app_with(via_proxy).await;
    app.create_user("ann@example.com", "viewer").await;
    let attempts = (0..50).map(|i| {
        let ip = format!("203.0.113.{}", i + 1);
        let app = &app;
        async move { login_from(app, &ip, "ann@example.com", PASSWORD, None).await }
    });
    for (i, r) in futures_util::future::join_all(attempts)
        .await
        .iter()
        .enumerate()
    {
        assert_eq!(r.status, 200, "sign-in {i}: {}", r.text);
    }
}

/// Needs Redis; runs when `TEST_REDIS_URL` is set.
#[tokio::test]
async fn two_instances_on_one_redis_share_the_streaks() {
    let Some(redis) = testkit::SharedRedis::from_env() else {
        return;
    };
    let shared = |s: &mut ProductSettings| {
        slow(s);
        redis.apply(s);
    };
    let a = spawn_app_with(shared).await;
    let b = spawn_app_with(shared).await;
    a.create_user("ann@example.com", "viewer").await;
    b.create_user("ann@example.com", "viewer").await;
    for app in [&a, &b, &a] {
        let r = login_from(
            app,
            "198.51.100.1",
            "ann@example.com",
            "wrong password",
            None,
        )
        .await;
        expect_error(&r, 401, "unauthenticated");
    }
    let r = login_from(&b, "198.51.100.2", "ann@example.com", PASSWORD, None).await;
    expect_limited(&r, 60);
    // A device cookie from one instance is honoured by the other (same secret).
    let c = spawn_app_with(|s| {
        via_proxy(s);
        testkit::SharedRedis {
            prefix: format!("{}-c", redis.prefix),
            ..redis.clone()
        }
        .apply(s);
    })
    .await;
    c.create_user("ann@example.com", "viewer").await;
    let ok = login_from(&c, "192.0.2.1", "ann@example.com", PASSWORD, None).await;
    let device = ok.cookie_value("warroom_device");
    let r = login_from(
        &a,
        "198.51.100.3",
        "ann@example.com",
        PASSWORD,
        Some(&device),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
}
