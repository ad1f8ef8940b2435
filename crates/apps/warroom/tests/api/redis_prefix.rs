//! Two deployments sharing one Redis under different prefixes (issue 21, finding 2): every key
//! and channel of each is under its own prefix, so neither sees the other's rate limits,
//! sign-in streaks, stream sequences or bus notices. Needs Redis (`TEST_REDIS_URL`).

use std::{net::IpAddr, time::Duration};

use platform::settings::ProductSettings;
use reqwest::Method;
use serde_json::json;
use testkit::SharedRedis;
use warroom::domain::stream::{EventType, Priority, StreamingData, StreamingKind};

use crate::helpers::*;

/// The Redis database these tests list keys in: one no other test writes to, so that every
/// key found there was made by the deployments started here.
const DB: u32 = 13;

/// A deployment on `redis`, behind a trusted proxy (so that tests can name the client's
/// address) and with a sign-in delay that does not run out during the test.
async fn deployment(redis: &SharedRedis) -> TestApp {
    spawn_app_with(|s: &mut ProductSettings| {
        s.trusted_proxies = vec!["127.0.0.1".parse::<IpAddr>().unwrap()];
        s.sign_in.first_delay = Duration::from_secs(60);
        redis.apply(s);
    })
    .await
}

async fn login_from(app: &TestApp, ip: &str, email: &str, password: &str) -> Resp {
    app.call(Method::POST, "/api/v1/auth/login")
        .header("x-forwarded-for", ip)
        .json(json!({ "email": email, "password": password }))
        .send()
        .await
}

async fn register_from(app: &TestApp, ip: &str) -> Resp {
    app.call(Method::POST, "/api/v1/auth/register")
        .header("x-forwarded-for", ip)
        .json(json!({}))
        .send()
        .await
}

/// Publishes a mention event on a campaign stream, as ingestion does.
async fn publish(app: &TestApp) {
    let message = StreamingData {
        kind: StreamingKind::Mention,
        campaign_id: uuid::Uuid::now_v7(),
        timestamp: chrono::Utc::now(),
        data: json!({ "text": "hello" }),
        priority: Priority::Low,
    };
    app.ctx
        .streams
        .publish(EventType::LivePost, &message)
        .await
        .expect("published");
}

#[tokio::test]
async fn two_deployments_with_different_prefixes_on_one_redis_are_independent() {
    let (Some(one), Some(two)) = (SharedRedis::from_env(), SharedRedis::from_env()) else {
        return;
    };
    let (one, two) = (one.in_database(DB), two.in_database(DB));
    let a = deployment(&one).await;
    let b = deployment(&two).await;
    a.create_user("ann@example.com", "viewer").await;
    b.create_user("ann@example.com", "viewer").await;

    // A route limit reached on A (10 registrations an hour per address) …
    for i in 0..10 {
        let r = register_from(&a, "203.0.113.7").await;
        assert_ne!(r.status, 429, "registration {i} on A: {}", r.text);
    }
    expect_limited(&register_from(&a, "203.0.113.7").await, 3600);
    // … is not reached on B.
    let r = register_from(&b, "203.0.113.7").await;
    assert_ne!(r.status, 429, "B counted A's registrations: {}", r.text);

    // An account throttled on A after wrong passwords …
    for _ in 0..3 {
        let r = login_from(&a, "198.51.100.1", "ann@example.com", "wrong password").await;
        expect_error(&r, 401, "unauthenticated");
    }
    let r = login_from(&a, "198.51.100.2", "ann@example.com", PASSWORD).await;
    expect_limited(&r, 60);
    // … signs in on B.
    let r = login_from(&b, "198.51.100.2", "ann@example.com", PASSWORD).await;
    assert_eq!(r.status, 200, "B shares A's sign-in streaks: {}", r.text);

    // Stream events make sequence and replay keys.
    publish(&a).await;
    publish(&b).await;

    // Every key either made is under its prefix, and each made some of each kind.
    let keys = one.keys().await;
    let stray: Vec<&String> = keys.iter().filter(|k| !k.starts_with("test-")).collect();
    assert!(stray.is_empty(), "keys outside any prefix: {stray:?}");
    for (redis, name) in [(&one, "A"), (&two, "B")] {
        let own = format!("{}:", redis.prefix);
        for kind in [":rl:", ":signin:", ":rt:"] {
            assert!(
                keys.iter()
                    .any(|k| k.starts_with(&own) && k[own.len() - 1..].starts_with(kind)),
                "no {kind} key of {name} under {own}: {keys:?}"
            );
        }
    }
    // The bus each listens on is under its prefix too (pub/sub channels are not keys).
    for (redis, name) in [(&one, "A"), (&two, "B")] {
        let bus = format!("{}:bus", redis.prefix);
        let mut listening = false;
        for _ in 0..50 {
            if redis.channels().await.contains(&bus) {
                listening = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(listening, "{name} does not listen on {bus}");
    }
}
