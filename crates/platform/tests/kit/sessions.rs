//! Requests are admitted from an in-memory session cache, and revocation still takes effect:
//! at once on the instance that revoked, at once on the others when Redis carries the notice,
//! and within the cache's lifetime when nothing does.

use std::time::Duration;

use platform::identity::cache::SESSION_CACHE_TTL;

use crate::{App, another_instance, eventually, spawn, spawn_with};

async fn signed_in(app: &App, email: &str) -> (String, uuid::Uuid) {
    app.create_user(email, "member").await;
    let t = app.ctx.operator_session(email).await.unwrap();
    (t.access_token, t.session_id)
}

async fn status(url: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{url}/api/things"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_revoked_session_is_refused_at_once_on_the_instance_that_revoked_it() {
    let app = spawn().await;
    let (token, session) = signed_in(&app, "a@example.com").await;
    // The second request is answered from the cache.
    for _ in 0..2 {
        assert_eq!(app.get("/api/things", Some(&token)).await.status, 200);
    }
    app.ctx
        .identity
        .revoke_any_session(session, "logout")
        .await
        .unwrap();
    assert_eq!(app.get("/api/things", Some(&token)).await.status, 401);

    // Every session of a user at once (a password change, a reset, a role change).
    let (token, _) = signed_in(&app, "b@example.com").await;
    assert_eq!(app.get("/api/things", Some(&token)).await.status, 200);
    let user = app
        .ctx
        .identity
        .user_by_email("b@example.com")
        .await
        .unwrap()
        .unwrap();
    app.ctx
        .identity
        .revoke_all_sessions(user.id, None, "password_changed")
        .await
        .unwrap();
    assert_eq!(app.get("/api/things", Some(&token)).await.status, 401);
}

#[tokio::test]
async fn a_deleted_user_is_refused_at_once() {
    let app = spawn().await;
    let (token, _) = signed_in(&app, "a@example.com").await;
    assert_eq!(app.get("/api/things", Some(&token)).await.status, 200);
    let user = app
        .ctx
        .identity
        .user_by_email("a@example.com")
        .await
        .unwrap()
        .unwrap();
    app.ctx.identity.delete_user(user.id).await.unwrap();
    assert_eq!(app.get("/api/things", Some(&token)).await.status, 401);
}

/// Through Redis the other instance hears the revocation well within the cache's lifetime.
#[tokio::test]
async fn another_instance_refuses_a_revoked_session_as_soon_as_redis_tells_it() {
    let Some(redis) = testkit::SharedRedis::from_env() else {
        return;
    };
    let app = spawn_with(|s| redis.apply(s)).await;
    let (other, url) = another_instance(&app).await;
    other.bus.ready().await;
    let (token, session) = signed_in(&app, "a@example.com").await;
    assert_eq!(status(&url, &token).await, 200);
    app.ctx
        .identity
        .revoke_any_session(session, "logout")
        .await
        .unwrap();
    let refused = eventually(Duration::from_millis(1500), async || {
        status(&url, &token).await == 401
    })
    .await;
    assert!(
        refused,
        "the other instance still admits the revoked session"
    );
}

/// Without a bus between them, the other instance re-reads the session once its cached copy
/// is older than the cache's lifetime.
#[tokio::test]
async fn without_redis_another_instance_refuses_within_the_cache_lifetime() {
    let app = spawn().await;
    let (_other, url) = another_instance(&app).await;
    let (token, session) = signed_in(&app, "a@example.com").await;
    assert_eq!(status(&url, &token).await, 200);
    app.ctx
        .identity
        .revoke_any_session(session, "logout")
        .await
        .unwrap();
    let refused = eventually(SESSION_CACHE_TTL + Duration::from_secs(2), async || {
        status(&url, &token).await == 401
    })
    .await;
    assert!(
        refused,
        "the other instance admitted the revoked session past the TTL"
    );
}
