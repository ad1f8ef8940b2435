//! `VendorClient` against a local fake vendor (wiremock): retries, `Retry-After`, the
//! breaker, and what is passed back to the adapter.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed step is a failed test"
)]

use std::time::{Duration, Instant};

use platform::vendor::{
    BreakerPolicy, BreakerState, RetryPolicy, VendorClient, VendorError, VendorPolicy,
};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

fn policy(failure_threshold: u32, cool_down_ms: u64) -> VendorPolicy {
    VendorPolicy {
        connect_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_millis(500),
        retry: RetryPolicy {
            max_retries: 2,
            base: Duration::from_millis(10),
            max: Duration::from_millis(40),
            jitter: 0.5,
            max_retry_after: Duration::from_secs(2),
        },
        breaker: BreakerPolicy {
            failure_threshold,
            cool_down: Duration::from_millis(cool_down_ms),
        },
    }
}

fn client(failure_threshold: u32, cool_down_ms: u64) -> VendorClient {
    VendorClient::new("Fake", policy(failure_threshold, cool_down_ms)).unwrap()
}

async fn received(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

#[tokio::test]
async fn transient_failures_are_retried_through_to_success() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/x"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/x"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let c = client(5, 1000);
    let url = format!("{}/x", server.uri());
    let res = c.send(|http| http.post(&url)).await.unwrap();
    assert_eq!(res.text().await.unwrap(), "ok");
    assert_eq!(received(&server).await, 3);
    assert_eq!(c.breaker().state(), BreakerState::Closed);
}

#[tokio::test]
async fn retries_give_up_after_max_retries_with_the_last_status() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let c = client(5, 1000);
    let err = c.send(|http| http.get(server.uri())).await.unwrap_err();
    assert!(
        matches!(&err, VendorError::Unavailable { message, retry_after: None, .. } if message.contains("502")),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(received(&server).await, 3, "one attempt and two retries");
}

#[tokio::test]
async fn retry_after_is_honoured_instead_of_the_backoff() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let c = client(5, 1000);
    let start = Instant::now();
    c.send(|http| http.get(server.uri())).await.unwrap();
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "waited {:?}, not the 1 s asked",
        start.elapsed()
    );
    assert_eq!(received(&server).await, 2);
}

#[tokio::test]
async fn a_retry_after_longer_than_the_cap_ends_the_call_and_carries_the_wait() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", "120"))
        .mount(&server)
        .await;
    let c = client(5, 1000);
    let err = c.send(|http| http.get(server.uri())).await.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    assert_eq!(received(&server).await, 1, "no retry inside the call");
}

#[tokio::test]
async fn the_breaker_opens_sends_nothing_while_open_and_a_good_trial_closes_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(6)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let c = client(2, 300);
    for _ in 0..2 {
        c.send(|http| http.get(server.uri())).await.unwrap_err();
    }
    assert_eq!(received(&server).await, 6, "two calls of three attempts");
    assert!(matches!(c.breaker().state(), BreakerState::Open { .. }));
    for _ in 0..5 {
        let err = c.send(|http| http.get(server.uri())).await.unwrap_err();
        assert!(
            matches!(err, VendorError::CircuitOpen { vendor: "Fake", retry_after } if retry_after <= Duration::from_millis(300)),
            "{err:?}"
        );
    }
    assert_eq!(
        received(&server).await,
        6,
        "no call while the circuit is open"
    );
    // A clone shares the breaker.
    assert!(c.clone().breaker().is_open());

    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(c.breaker().state(), BreakerState::HalfOpen);
    c.send(|http| http.get(server.uri())).await.unwrap();
    assert_eq!(c.breaker().state(), BreakerState::Closed);
    assert_eq!(received(&server).await, 7, "exactly one trial");
}

#[tokio::test]
async fn a_failed_trial_reopens_the_circuit() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let c = client(1, 200);
    c.send(|http| http.get(server.uri())).await.unwrap_err();
    tokio::time::sleep(Duration::from_millis(250)).await;
    c.send(|http| http.get(server.uri())).await.unwrap_err();
    assert!(c.breaker().is_open());
    assert_eq!(received(&server).await, 6);
}

#[tokio::test]
async fn a_refusal_is_passed_back_and_does_not_count_against_the_breaker() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(serde_json::json!({ "code": 21211, "message": "bad number" })),
        )
        .mount(&server)
        .await;
    let c = client(1, 1000);
    for _ in 0..3 {
        let res = c.send_once(|http| http.post(server.uri())).await.unwrap();
        assert_eq!(res.status(), 400);
        let err = c
            .rejected(res, |body| {
                serde_json::from_str::<serde_json::Value>(body).ok()?["message"]
                    .as_str()
                    .map(str::to_owned)
            })
            .await;
        assert!(
            matches!(&err, VendorError::Rejected { status: 400, message, .. } if message == "bad number"),
            "{err:?}"
        );
    }
    assert_eq!(received(&server).await, 3, "no retries for a refusal");
    assert_eq!(c.breaker().state(), BreakerState::Closed);
}

#[tokio::test]
async fn a_call_that_must_not_repeat_is_not_retried_after_a_500_or_a_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/500"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(2)))
        .mount(&server)
        .await;
    let c = client(10, 1000);
    let err = c
        .send_once(|http| http.post(format!("{}/500", server.uri())))
        .await
        .unwrap_err();
    assert!(matches!(err, VendorError::Unavailable { .. }), "{err:?}");
    let err = c
        .send_once(|http| http.post(format!("{}/slow", server.uri())))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, VendorError::Unavailable { message, .. } if message == "timed out"),
        "{err:?}"
    );
    assert_eq!(received(&server).await, 2, "each sent once");
}

#[tokio::test]
async fn an_idempotent_call_is_retried_after_a_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(2)))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let c = client(10, 1000);
    c.send(|http| http.get(server.uri())).await.unwrap();
    assert_eq!(received(&server).await, 2);
}

#[tokio::test]
async fn an_unreachable_vendor_is_unavailable_and_the_error_shows_no_url() {
    // A port nothing listens on: bind, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = client(10, 1000);
    let url = format!("http://127.0.0.1:{port}/services/T000/B000/secret-token");
    let err = c.send_once(|http| http.post(&url)).await.unwrap_err();
    assert!(
        matches!(&err, VendorError::Unavailable { message, .. } if message.starts_with("could not connect")),
        "{err:?}"
    );
    assert!(!err.to_string().contains("secret-token"), "{err}");
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("Location", "http://elsewhere.test/"),
        )
        .mount(&server)
        .await;
    let c = client(10, 1000);
    let err = c.send(|http| http.get(server.uri())).await.unwrap_err();
    assert!(matches!(err, VendorError::BadResponse { .. }), "{err:?}");
    assert_eq!(received(&server).await, 1);
}
