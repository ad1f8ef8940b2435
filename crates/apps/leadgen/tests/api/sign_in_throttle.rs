//! The sign-in throttle on LeadGen (docs/leadgen.md "Sign-in throttling"): the per-account
//! protection LeadGen lacked (150 wrong passwords from 150 addresses, then the right one, all
//! went through), without a lockout the owner's known device or address would suffer.

use std::{net::IpAddr, time::Duration};

use platform::settings::ProductSettings;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

fn via_proxy(s: &mut ProductSettings) {
    s.trusted_proxies = vec!["127.0.0.1".parse::<IpAddr>().unwrap()];
}

async fn login_from(app: &TestApp, ip: &str, password: &str, device: Option<&str>) -> Resp {
    let mut call = app
        .call(Method::POST, "/api/auth/login")
        .header("x-forwarded-for", ip)
        .json(json!({ "email": "ann@example.com", "password": password }));
    if let Some(d) = device {
        call = call.cookie("leadgen_device", d);
    }
    call.send().await
}

#[tokio::test]
async fn wrong_passwords_from_150_addresses_are_cut_off_at_ten_and_the_owners_device_still_works() {
    // No delays before the cool-down, so the ten failures come at once.
    let app = spawn_app_with(|s| {
        via_proxy(s);
        s.sign_in.free_failures = 10;
    })
    .await;
    app.create_user("ann@example.com", "user", true).await;
    let home = login_from(&app, "192.0.2.10", PASSWORD, None).await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.text);
    let device = home.cookie_value("leadgen_device");
    let mut answered_401 = 0;
    for i in 0..150 {
        let ip = format!("198.51.100.{}", i + 1);
        let r = login_from(&app, &ip, "wrong password", None).await;
        match r.status.as_u16() {
            401 => answered_401 += 1,
            429 => expect_limited(&r, 15 * 60),
            other => panic!("attempt {i}: {other} {}", r.text),
        }
    }
    assert_eq!(answered_401, 10, "ten passwords evaluated, no more");
    let r = login_from(&app, "203.0.113.1", PASSWORD, None).await;
    expect_limited(&r, 15 * 60);
    let r = login_from(&app, "203.0.113.2", PASSWORD, Some(&device)).await;
    assert_eq!(r.status, StatusCode::OK, "the owner's device: {}", r.text);
    let r = login_from(&app, "192.0.2.10", PASSWORD, None).await;
    assert_eq!(r.status, StatusCode::OK, "the owner's address: {}", r.text);
}

#[tokio::test]
async fn an_unverified_accounts_right_password_counts_nothing() {
    let app = spawn_app_with(|s| {
        via_proxy(s);
        s.sign_in.first_delay = Duration::from_secs(60);
    })
    .await;
    app.create_user("ann@example.com", "user", false).await;
    for _ in 0..2 {
        let r = login_from(&app, "198.51.100.1", "wrong password", None).await;
        expect_error(&r, 401, "unauthenticated");
    }
    // Neither a failure nor a sign-in: the streak stays at two, and no device cookie.
    for _ in 0..3 {
        let r = login_from(&app, "198.51.100.1", PASSWORD, None).await;
        expect_error(&r, 403, "permission_denied");
        assert!(r.cookie("leadgen_device").is_none());
    }
    let r = login_from(&app, "198.51.100.1", "wrong password", None).await;
    expect_error(&r, 401, "unauthenticated");
    expect_limited(&login_from(&app, "198.51.100.1", PASSWORD, None).await, 60);
}

#[tokio::test]
async fn thirteen_right_passwords_in_a_row_all_sign_in() {
    let app = spawn_app().await;
    app.create_user("ann@example.com", "user", true).await;
    for n in 1..=13 {
        let r = app.login("ann@example.com", PASSWORD).await;
        assert_eq!(r.status, StatusCode::OK, "sign-in {n}: {}", r.text);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_of_fifty_wrong_then_fifty_right_passwords() {
    let app = spawn_app_with(via_proxy).await;
    let (ann, _) = app.create_user("ann@example.com", "user", true).await;
    let wrong = futures_util::future::join_all((0..50).map(|i| {
        let ip = format!("198.51.100.{}", i + 1);
        let app = &app;
        async move { login_from(app, &ip, "wrong password", None).await }
    }))
    .await;
    let evaluated = wrong.iter().filter(|r| r.status == 401).count();
    assert_eq!(
        evaluated + wrong.iter().filter(|r| r.status == 429).count(),
        50
    );
    let (events, _) = app.ctx.identity.security_log(ann.id, 1, 100).await.unwrap();
    let failed = events
        .iter()
        .filter(|e| e.event_type == "login_failed")
        .count();
    assert_eq!(failed, evaluated);
    assert!((3..=10).contains(&evaluated), "{evaluated} evaluated");

    let bob = app.create_user("bob@example.com", "user", true).await.0;
    let right = futures_util::future::join_all((0..50).map(|i| {
        let ip = format!("203.0.113.{}", i + 1);
        let app = &app;
        async move {
            app.call(Method::POST, "/api/auth/login")
                .header("x-forwarded-for", &ip)
                .json(json!({ "email": "bob@example.com", "password": PASSWORD }))
                .send()
                .await
        }
    }))
    .await;
    for (i, r) in right.iter().enumerate() {
        assert_eq!(r.status, StatusCode::OK, "sign-in {i}: {}", r.text);
    }
    assert_eq!(app.sessions_of(bob.id).await.len(), 50);
}
