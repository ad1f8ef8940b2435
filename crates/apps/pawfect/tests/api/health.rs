//! Health, readiness and version at the root, `X-Correlation-ID` on every response, and
//! `ETag` / `304 Not Modified` on GET JSON responses.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use reqwest::Method;
use serde_json::json;
use tokio::{net::TcpListener, task::JoinHandle};

use crate::helpers::*;

#[tokio::test]
async fn healthz_answers_ok() {
    let app = spawn_app().await;
    let r = app.get("/healthz", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({ "status": "ok" }));
    assert!(
        r.header("content-type")
            .is_some_and(|v| v.starts_with("application/json"))
    );
}

#[tokio::test]
async fn readyz_is_ready_with_the_database_up_and_no_redis_check_without_redis() {
    // Without Redis even when the multi-instance harness would give it one.
    let app = spawn_app_with(|s| s.redis_url = None).await;
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body,
        json!({ "status": "ready", "checks": { "database": "up" } })
    );
}

#[tokio::test]
async fn readyz_is_503_when_the_database_is_gone_while_healthz_stays_ok() {
    let app = spawn_app().await;
    assert_eq!(app.get("/readyz", None).await.status, 200);
    // Every instance loses its database (with one instance, that instance).
    for ctx in app.contexts() {
        ctx.db.clone().close().await.expect("close the pool");
    }
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.body["status"], "unavailable", "{}", r.text);
    assert_eq!(r.body["checks"]["database"], "down", "{}", r.text);
    assert!(r.header("x-correlation-id").is_some());
    // Liveness does not depend on the database.
    let r = app.get("/healthz", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn with_an_unreachable_redis_the_app_starts_and_readyz_reports_redis_down() {
    // REDIS_URL set but Redis not answering: readiness must say so (503, redis "down");
    // the process itself must still start and serve (rate limits count in memory meanwhile).
    let app = try_spawn_app_with(|s| {
        s.redis_url = Some(platform::secrets::Secret::new("redis://127.0.0.1:1"))
    })
    .await
    .unwrap_or_else(|e| {
        panic!("the app does not start when REDIS_URL does not answer, so /readyz cannot report it: {e:#}")
    });
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(
        r.body,
        json!({ "status": "unavailable", "checks": { "database": "up", "redis": "down" } })
    );
    assert_eq!(app.get("/healthz", None).await.status, 200);
    app.create_user("ann@example.com", "user").await;
    assert_eq!(
        app.login(WEB, "ann@example.com", PASSWORD).await.status,
        200
    );
}

/// A TCP relay to `target` that can be cut: new connections are refused and open ones dropped.
struct Relay {
    addr: SocketAddr,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Relay {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let tasks: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let inner = tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                let conn = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                inner.lock().unwrap().push(conn);
            }
        });
        tasks.lock().unwrap().push(accept);
        Self { addr, tasks }
    }

    async fn cut(&self) {
        for t in self.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
        // Let the aborted tasks drop their sockets.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Needs Redis; runs when `TEST_REDIS_URL` is set.
#[tokio::test]
async fn with_redis_readyz_reports_it_up_and_then_down_when_it_goes_away() {
    let Some(redis) = testkit::redis_url() else {
        return;
    };
    let mut url = url::Url::parse(&redis).expect("TEST_REDIS_URL is a URL");
    let target = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(6379));
    let relay = Relay::start(target).await;
    url.set_host(Some("127.0.0.1")).unwrap();
    url.set_port(Some(relay.addr.port())).unwrap();
    let app =
        spawn_app_with(|s| s.redis_url = Some(platform::secrets::Secret::new(url.to_string())))
            .await;
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body,
        json!({ "status": "ready", "checks": { "database": "up", "redis": "up" } })
    );
    relay.cut().await;
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(
        r.body,
        json!({ "status": "unavailable", "checks": { "database": "up", "redis": "down" } })
    );
    assert_eq!(app.get("/healthz", None).await.status, 200);
}

#[tokio::test]
async fn the_version_endpoint_names_the_product_and_its_version() {
    let app = spawn_app().await;
    let r = app.get("/api/version", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body,
        json!({ "name": "pawfect", "version": env!("CARGO_PKG_VERSION") })
    );
}

#[tokio::test]
async fn every_response_carries_a_fresh_correlation_id() {
    let app = spawn_app().await;
    let s = app.web_register("ann@example.com").await;
    let big = vec![b'x'; 1024 * 1024 + 10];
    let responses = [
        app.get("/healthz", None).await,
        app.get("/readyz", None).await,
        app.get("/api/version", None).await,
        app.me(&s.access).await,
        app.get("/api/v1/auth/me", None).await,
        app.get("/api/nope", None).await,
        app.get("/api/v1/auth/login", None).await,
        app.post("/api/auth/login", None, json!({})).await,
        app.raw_request(
            Method::POST,
            "/api/v1/auth/login",
            None,
            &[("content-type", "application/json")],
            Some(big),
        )
        .await,
        app.web_refresh(Some(&s.refresh), Some(&s.csrf), None).await,
    ];
    let mut seen = std::collections::HashSet::new();
    for r in &responses {
        let id = r
            .header("x-correlation-id")
            .unwrap_or_else(|| panic!("no X-Correlation-ID on {} {}", r.status, r.text));
        assert!(
            uuid::Uuid::parse_str(id).is_ok(),
            "generated correlation id is not a UUID: {id}"
        );
        assert!(seen.insert(id.to_owned()), "correlation id {id} reused");
    }
}

#[tokio::test]
async fn a_correlation_id_sent_by_the_client_is_echoed() {
    let app = spawn_app().await;
    let s = app.mobile_register("ann@example.com").await;
    for (method, path, token) in [
        (Method::GET, "/healthz", None),
        (Method::GET, "/api/auth/me", Some(s.access.as_str())),
        (Method::GET, "/api/auth/me", None),
        (Method::GET, "/nope", None),
        (Method::DELETE, "/api/auth/login", None),
    ] {
        let id = format!("client-trace-{}", uuid::Uuid::new_v4().simple());
        let mut c = app
            .call(method.clone(), path)
            .header("x-correlation-id", &id);
        if let Some(t) = token {
            c = c.bearer(t);
        }
        let r = c.send().await;
        assert_eq!(
            r.header("x-correlation-id"),
            Some(id.as_str()),
            "{method} {path}: {} {:?}",
            r.status,
            r.headers
        );
    }
}

#[tokio::test]
async fn get_me_carries_an_etag_and_a_matching_if_none_match_gets_304() {
    let app = spawn_app().await;
    let s = app.web_register("ann@example.com").await;
    let first = app.me(&s.access).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let tag = first
        .header("etag")
        .unwrap_or_else(|| panic!("no ETag: {:?}", first.headers))
        .to_owned();
    assert!(
        tag.starts_with('"') && tag.ends_with('"') && tag.len() > 2,
        "{tag}"
    );
    // Stable while nothing changes.
    assert_eq!(app.me(&s.access).await.header("etag"), Some(tag.as_str()));

    let id = "etag-check-1";
    let r = app
        .call(Method::GET, "/api/v1/auth/me")
        .bearer(&s.access)
        .header("if-none-match", &tag)
        .header("x-correlation-id", id)
        .send()
        .await;
    assert_eq!(r.status, 304, "{}", r.text);
    assert!(r.text.is_empty(), "a 304 has no body: {}", r.text);
    assert_eq!(r.header("etag"), Some(tag.as_str()));
    assert_eq!(r.header("x-correlation-id"), Some(id));

    let r = app
        .call(Method::GET, "/api/v1/auth/me")
        .bearer(&s.access)
        .header("if-none-match", "\"something-else\"")
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["email"], "ann@example.com");
}

#[tokio::test]
async fn a_matching_if_none_match_without_credentials_is_still_401() {
    let app = spawn_app().await;
    let s = app.web_register("ann@example.com").await;
    let tag = app.me(&s.access).await.header("etag").unwrap().to_owned();
    let r = app
        .call(Method::GET, "/api/v1/auth/me")
        .header("if-none-match", &tag)
        .send()
        .await;
    expect_error(&r, 401, "unauthenticated");
    // Nor does another user's token turn it into a 304.
    let bob = app.web_register("bob@example.com").await;
    let r = app
        .call(Method::GET, "/api/v1/auth/me")
        .bearer(&bob.access)
        .header("if-none-match", &tag)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["email"], "bob@example.com");
    assert_ne!(r.header("etag"), Some(tag.as_str()));
}

#[tokio::test]
async fn a_changed_resource_gets_a_new_etag_and_the_old_one_no_longer_matches() {
    let app = spawn_app().await;
    let s = app.mobile_register("ann@example.com").await;
    let before = app.get("/api/auth/me", Some(&s.access)).await;
    let old = before.header("etag").expect("ETag").to_owned();
    let token = app.token_from_mail("ann@example.com", "Confirm").await;
    let r = app
        .post("/api/auth/verify-email", None, json!({ "token": token }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .call(Method::GET, "/api/auth/me")
        .bearer(&s.access)
        .header("if-none-match", &old)
        .send()
        .await;
    assert_eq!(r.status, 200, "a stale ETag must not get a 304: {}", r.text);
    assert_eq!(r.body["emailVerified"], true);
    let new = r.header("etag").expect("ETag").to_owned();
    assert_ne!(new, old);
    let r = app
        .call(Method::GET, "/api/auth/me")
        .bearer(&s.access)
        .header("if-none-match", &new)
        .send()
        .await;
    assert_eq!(r.status, 304);
}

#[tokio::test]
async fn other_get_json_endpoints_carry_an_etag_too() {
    let app = spawn_app().await;
    for path in ["/healthz", "/api/version", "/readyz"] {
        let r = app.get(path, None).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        let tag = r
            .header("etag")
            .unwrap_or_else(|| panic!("{path}: no ETag"))
            .to_owned();
        let r = app
            .call(Method::GET, path)
            .header("if-none-match", &tag)
            .send()
            .await;
        assert_eq!(r.status, 304, "{path}");
    }
    // POST answers are not cached.
    let r = app.register(WEB, "ann@example.com", "Ann").await;
    assert!(r.header("etag").is_none(), "{:?}", r.headers);
}
