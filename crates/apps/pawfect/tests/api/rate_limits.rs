//! What the limits leave behind (docs/pawfect.md "Rate limits"): a refused reset request mails
//! nothing; and the sign-in throttle, which counts failures per account. Every rule at its
//! boundary, over both mounts (they share each count), is conformance.rs's (testkit's table).

use std::net::IpAddr;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

/// A request from behind a proxy that reports `xff` as the client.
async fn post_via(app: &TestApp, path: &str, xff: &str, body: Value) -> Resp {
    app.call(Method::POST, path)
        .header("x-forwarded-for", xff)
        .json(body)
        .send()
        .await
}

fn localhost_trusted() -> Vec<IpAddr> {
    vec!["127.0.0.1".parse().unwrap()]
}

fn mount(i: usize) -> &'static str {
    if i.is_multiple_of(2) { WEB } else { MOBILE }
}

#[tokio::test]
async fn failed_sign_ins_slow_the_account_across_both_mounts_but_not_its_owners_address() {
    // The sign-in throttle (docs/pawfect.md "Sign-in throttling"), with its first delay
    // lengthened so that it holds for the whole test.
    let app = spawn_app_with(|s| {
        s.trusted_proxies = localhost_trusted();
        s.sign_in.first_delay = std::time::Duration::from_secs(60);
    })
    .await;
    app.create_user("ann@example.com", "user").await;
    app.create_user("bob@example.com", "user").await;
    let body = json!({ "email": "ann@example.com", "password": PASSWORD });
    let home = post_via(&app, "/api/v1/auth/login", "192.0.2.1", body.clone()).await;
    assert_eq!(home.status, 200, "{}", home.text);
    // Three wrong passwords, each from its own address, spelled and mounted differently.
    let spellings = ["ann@example.com", "ANN@example.com", " Ann@Example.com "];
    for (i, email) in spellings.iter().enumerate() {
        let wrong = json!({ "email": email, "password": "wrong password" });
        let path = format!("{}/auth/login", mount(i));
        let r = post_via(&app, &path, &format!("198.51.100.{i}"), wrong).await;
        expect_error(&r, 401, "unauthenticated");
    }
    // A new address must now wait, whatever the mount and even with the right password.
    let r = post_via(&app, "/api/auth/login", "198.51.100.101", body.clone()).await;
    expect_limited(&r, 60);
    assert!(r.body.get("accessToken").is_none());
    // The owner's address, and another account, are not slowed.
    let r = post_via(&app, "/api/auth/login", "192.0.2.1", body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        app.login(WEB, "bob@example.com", PASSWORD).await.status,
        200
    );
}

#[tokio::test]
async fn a_web_sign_in_sets_the_device_cookie_and_a_mobile_one_sets_none() {
    let app = spawn_app().await;
    app.create_user("ann@example.com", "user").await;
    let r = app.login(WEB, "ann@example.com", PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let c = r.cookie("pawfect_device").expect("device cookie");
    assert!(c.http_only(), "{}", c.raw);
    assert_eq!(c.same_site(), Some("Strict"));
    let r = app.login(MOBILE, "ann@example.com", PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.cookie("pawfect_device").is_none(), "mobile: no cookies");
    let r = app.login(WEB, "ann@example.com", "wrong password").await;
    assert!(r.cookie("pawfect_device").is_none());
}

async fn forgot(app: &TestApp, base: &str, xff: &str, email: &str) -> Resp {
    post_via(
        app,
        &format!("{base}/auth/forgot-password"),
        xff,
        json!({ "email": email }),
    )
    .await
}

#[tokio::test]
async fn forgot_password_allows_5_requests_an_hour_per_email() {
    let app = spawn_app_with(|s| s.trusted_proxies = localhost_trusted()).await;
    app.create_user("ann@example.com", "user").await;
    app.create_user("bob@example.com", "user").await;
    let spellings = ["ann@example.com", "ANN@example.com", " ann@EXAMPLE.com"];
    for i in 0..5 {
        let r = forgot(&app, mount(i), &format!("198.51.100.{i}"), spellings[i % 3]).await;
        assert_eq!(r.status, 200, "request {}: {}", i + 1, r.text);
    }
    let mails = app.wait_for_mails("ann@example.com", 5).await;
    assert_eq!(mails.len(), 5);
    let r = forgot(&app, WEB, "198.51.100.50", "Ann@Example.com").await;
    expect_limited(&r, 3600);
    // The refused request sends nothing.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.mails_now("ann@example.com").await.len(), 5);
    // Another account is unaffected.
    let r = forgot(&app, MOBILE, "198.51.100.51", "bob@example.com").await;
    assert_eq!(r.status, 200, "{}", r.text);
}
