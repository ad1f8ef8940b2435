//! Live streams follow their session: logout, a revoke (the user's own or an admin's in the
//! console), a password change or reset, a role change and deleting the user close the
//! affected WebSocket (a `closed` message, then close code 4001 with the reason) and SSE
//! streams (a last `closed` event, then the end) within a second, on every instance.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use testkit::jwt_claims;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::{
    helpers::{PASSWORD, TestApp, expect_error, spawn_app_with},
    streams::{APP_ORIGIN, WAIT, Ws, app_with_origin, connect, next_json},
};

/// What closing a stream may take after the revoking request answered.
const WITHIN: Duration = Duration::from_secs(1);

const FEED: &str = "/api/monitoring/stream";

/// A second session of a signed-in user: its access token.
async fn sign_in_again(app: &TestApp, email: &str) -> String {
    let r = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({ "email": email, "password": PASSWORD }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["accessToken"].as_str().unwrap().to_owned()
}

/// The session an access token belongs to.
fn session_of(access: &str) -> String {
    jwt_claims(access)["sid"].as_str().unwrap().to_owned()
}

/// The feed's WebSocket, once subscribed.
async fn feed(app: &TestApp, access: &str) -> Ws {
    let mut ws = connect(app, FEED, access).await;
    assert_eq!(next_json(&mut ws).await["type"], "subscribed");
    ws
}

/// Waits (at most [`WITHIN`]) for the server to close: the `closed` message, then the close
/// frame's code and reason.
async fn closes(ws: &mut Ws) -> (Value, u16, String) {
    let closing = async {
        let closed = next_json(ws).await;
        loop {
            match ws.next().await.expect("a close frame").expect("a frame") {
                Message::Close(Some(frame)) => {
                    return (closed, u16::from(frame.code), frame.reason.to_string());
                }
                Message::Ping(_) | Message::Pong(_) => {}
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    };
    tokio::time::timeout(WITHIN, closing)
        .await
        .expect("the stream closes within a second")
}

/// Asserts the WebSocket was closed because its session ended.
async fn closed_as_revoked(ws: &mut Ws) {
    let (closed, code, reason) = closes(ws).await;
    assert_eq!(
        closed,
        json!({ "type": "closed", "reason": "session_revoked" })
    );
    assert_eq!((code, reason.as_str()), (4001, "session_revoked"));
}

/// Asserts the WebSocket still answers.
async fn stays_open(ws: &mut Ws) {
    ws.send(Message::Text(r#"{"type":"PING"}"#.into()))
        .await
        .unwrap();
    assert_eq!(next_json(ws).await["type"], "PONG");
}

/// The feed as SSE, read event by event.
struct Sse {
    res: reqwest::Response,
    buf: String,
}

impl Sse {
    /// Opens the feed with the token as a parameter (as `EventSource` must) and reads up to
    /// `subscribed`.
    async fn open(app: &TestApp, access: &str) -> Self {
        let url = app.url(&format!("/api/v1/monitoring/stream?access_token={access}"));
        let res = app.client.get(&url).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let mut sse = Self {
            res,
            buf: String::new(),
        };
        let (event, _) = sse.event().await.expect("a first event");
        assert_eq!(event, "subscribed");
        sse
    }

    /// The next event other than a heartbeat, `None` once the stream has ended.
    async fn event(&mut self) -> Option<(String, Value)> {
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut event, mut data) = (String::new(), None);
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data = Some(serde_json::from_str::<Value>(v.trim()).unwrap());
                    }
                }
                if let Some(data) = data
                    && event != "HEARTBEAT"
                {
                    return Some((event, data));
                }
            }
            let chunk = tokio::time::timeout(WAIT, self.res.chunk())
                .await
                .expect("an SSE chunk in time")
                .expect("a readable stream")?;
            self.buf.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// Asserts (within [`WITHIN`]) a last `closed` event naming why, then the end.
    async fn closes(&mut self, reason: &str) {
        let ending = async {
            let (event, data) = self.event().await.expect("a closed event");
            assert_eq!(event, "closed");
            assert_eq!(data, json!({ "type": "closed", "reason": reason }));
            assert!(self.event().await.is_none(), "the stream ends");
        };
        tokio::time::timeout(WITHIN, ending)
            .await
            .expect("the stream ends within a second");
    }
}

#[tokio::test]
async fn logout_closes_the_sessions_websocket_and_sse_stream_within_a_second() {
    let app = app_with_origin().await;
    let viewer = app.login_as("v@example.com", "viewer").await;
    let mut ws = feed(&app, &viewer.access).await;
    let mut sse = Sse::open(&app, &viewer.access).await;

    let r = app
        .post("/api/v1/auth/logout", Some(&viewer.access), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let answered = Instant::now();
    closed_as_revoked(&mut ws).await;
    sse.closes("session_revoked").await;
    assert!(answered.elapsed() < WITHIN, "took {:?}", answered.elapsed());

    // EventSource's automatic reconnect is refused, which stops it.
    let url = app.url(&format!(
        "/api/v1/monitoring/stream?access_token={}",
        viewer.access
    ));
    let r = app.read(app.client.get(&url).send().await.unwrap()).await;
    expect_error(&r, 401, "unauthenticated");
}

#[tokio::test]
async fn revoking_another_session_closes_only_that_sessions_streams() {
    let app = app_with_origin().await;
    let laptop = app.login_as("ann@example.com", "analyst").await.access;
    let phone = sign_in_again(&app, "ann@example.com").await;
    let mut on_laptop = feed(&app, &laptop).await;
    let mut on_phone = feed(&app, &phone).await;
    let mut phone_sse = Sse::open(&app, &phone).await;

    let path = format!("/api/v1/auth/sessions/{}", session_of(&phone));
    let r = app.delete(&path, Some(&laptop)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    closed_as_revoked(&mut on_phone).await;
    phone_sse.closes("session_revoked").await;
    stays_open(&mut on_laptop).await;
}

#[tokio::test]
async fn a_password_change_closes_the_other_sessions_streams_and_keeps_the_current_ones() {
    let app = app_with_origin().await;
    let current = app.login_as("ann@example.com", "analyst").await.access;
    let other = sign_in_again(&app, "ann@example.com").await;
    let mut on_current = feed(&app, &current).await;
    let mut on_other = feed(&app, &other).await;
    let mut other_sse = Sse::open(&app, &other).await;

    let r = app
        .post(
            "/api/v1/auth/change-password",
            Some(&current),
            json!({ "currentPassword": PASSWORD, "newPassword": "another long password" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    closed_as_revoked(&mut on_other).await;
    other_sse.closes("session_revoked").await;
    stays_open(&mut on_current).await;
}

#[tokio::test]
async fn a_password_reset_closes_every_stream_of_the_user() {
    let app = app_with_origin().await;
    let ann = app.login_as("ann@example.com", "analyst").await.access;
    let bob = app.login_as("bob@example.com", "analyst").await.access;
    let mut on_ann = feed(&app, &ann).await;
    let mut on_bob = feed(&app, &bob).await;

    let reset = "/api/v1/auth/reset-password";
    let r = app
        .post(reset, None, json!({ "email": "ann@example.com" }))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let token = reset_token(&app, "ann@example.com").await;
    let r = app
        .post(
            reset,
            None,
            json!({ "token": token, "password": "a fresh password" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    closed_as_revoked(&mut on_ann).await;
    stays_open(&mut on_bob).await;
}

/// The token of the reset mail to `email`, which is sent after the response.
async fn reset_token(app: &TestApp, email: &str) -> String {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        let mails = app.mails_to(email).await;
        if mails.iter().any(|(subject, _)| subject.contains("Reset")) {
            return app.token_from_mail(email, "Reset").await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no reset mail to {email}");
}

#[tokio::test]
async fn an_admins_console_revoke_closes_the_sessions_streams() {
    let app = app_with_origin().await;
    let admin = app.login_as("admin@example.com", "admin").await.access;
    let viewer = app.login_as("v@example.com", "viewer").await.access;
    let mut on_admin = feed(&app, &admin).await;
    let mut ws = feed(&app, &viewer).await;
    let mut sse = Sse::open(&app, &viewer).await;

    let path = format!("/admin/api/sessions/{}", session_of(&viewer));
    let r = app.delete(&path, Some(&admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    closed_as_revoked(&mut ws).await;
    sse.closes("session_revoked").await;
    stays_open(&mut on_admin).await;
}

#[tokio::test]
async fn a_role_change_closes_the_users_streams() {
    let app = app_with_origin().await;
    let admin = app.login_as("admin@example.com", "admin").await.access;
    let analyst = app.login_as("ann@example.com", "analyst").await;
    let mut on_admin = feed(&app, &admin).await;
    let mut ws = feed(&app, &analyst.access).await;

    let path = format!("/api/v1/users/{}", analyst.user.id);
    let body = json!({ "role": "viewer" });
    let r = app
        .request(Method::PUT, &path, Some(&admin), Some(body))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    closed_as_revoked(&mut ws).await;
    stays_open(&mut on_admin).await;

    // A name change is no reason to end anything.
    let viewer = app.login_as("v@example.com", "viewer").await;
    let mut on_viewer = feed(&app, &viewer.access).await;
    let path = format!("/api/v1/users/{}", viewer.user.id);
    let body = json!({ "name": "Vic" });
    let r = app
        .request(Method::PUT, &path, Some(&admin), Some(body))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    stays_open(&mut on_viewer).await;
}

#[tokio::test]
async fn deleting_a_user_closes_their_streams() {
    let app = app_with_origin().await;
    let admin = app.login_as("admin@example.com", "admin").await.access;
    let viewer = app.login_as("v@example.com", "viewer").await;
    let mut ws = feed(&app, &viewer.access).await;
    let mut sse = Sse::open(&app, &viewer.access).await;

    let path = format!("/api/v1/users/{}", viewer.user.id);
    let r = app.delete(&path, Some(&admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    closed_as_revoked(&mut ws).await;
    sse.closes("session_revoked").await;
}

#[tokio::test]
async fn a_stream_on_one_instance_closes_when_its_session_is_revoked_through_another() {
    let Some(redis) = testkit::SharedRedis::from_env() else {
        return;
    };
    let on_redis = |s: &mut platform::settings::ProductSettings| {
        redis.apply(s);
        s.cors_origins = vec![APP_ORIGIN.to_owned()];
    };
    let a = spawn_app_with(on_redis).await;
    // Instance B shares A's database and Redis, as two instances of one deployment do.
    let b = spawn_app_with(|s| {
        on_redis(s);
        s.database_url = a.settings.database_url.clone();
        s.jwt_secret = a.settings.jwt_secret.clone();
    })
    .await;
    tokio::time::timeout(WAIT, b.ctx.bus.ready())
        .await
        .expect("instance B listens to the bus");
    let phone = a.login_as("ann@example.com", "analyst").await.access;
    let laptop = sign_in_again(&a, "ann@example.com").await;
    let mut ws = feed(&b, &phone).await;
    let mut sse = Sse::open(&b, &phone).await;
    let mut on_laptop = feed(&b, &laptop).await;

    let r = a.post("/api/v1/auth/logout", Some(&phone), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    closed_as_revoked(&mut ws).await;
    sse.closes("session_revoked").await;
    stays_open(&mut on_laptop).await;
}
