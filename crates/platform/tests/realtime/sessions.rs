//! Connections follow their session: when a connection's lease ends, a WebSocket gets a last
//! `closed` message and a close frame 4001 with the reason; an SSE stream gets a last `closed`
//! event and ends.

use std::time::Instant;

use platform::identity::{SESSION_REVOKED, USER_SESSIONS_REVOKED};
use uuid::Uuid;

use super::*;

/// What a revocation may take to close a connection.
const WITHIN: Duration = Duration::from_secs(1);

/// A server whose registry follows `bus` and asks `sessions` which sessions live.
async fn server() -> (Bus, Sessions, SocketAddr) {
    let (bus, sessions) = (Bus::local(), Sessions::default());
    let gateway = gateway(Hub::memory(HubConfig::default()), StreamConfig::default());
    let addr = serve_with(gateway, &bus, sessions.clone()).await;
    (bus, sessions, addr)
}

fn ws_path(user: Uuid, session: Uuid) -> String {
    format!("/ws?user=bob&uid={user}&session={session}")
}

impl WsClient {
    /// Reads until the server closes: the `closed` message, then the close frame's code and
    /// reason.
    async fn closed(&mut self) -> (Value, u16, String) {
        let closed = self.next().await;
        loop {
            match self.frame().await.expect("a close frame before the end") {
                Message::Close(Some(frame)) => {
                    return (closed, u16::from(frame.code), frame.reason.to_string());
                }
                Message::Ping(_) | Message::Pong(_) => {}
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    }

    async fn answers_ping(&mut self) {
        self.send(json!({ "type": "PING" })).await;
        assert_eq!(self.next().await, json!({ "type": "PONG" }));
    }
}

impl SseClient {
    /// The stream has ended: no more bytes.
    async fn ends(&mut self) {
        let chunk = tokio::time::timeout(WAIT, self.response.chunk())
            .await
            .expect("the stream ends within 5 s")
            .unwrap();
        assert!(chunk.is_none(), "more after the end: {chunk:?}");
    }
}

#[tokio::test]
async fn a_revoked_session_closes_its_websockets_within_a_second_and_no_other() {
    let (bus, sessions, addr) = server().await;
    let (user, revoked, kept) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let mut first = WsClient::connect(addr, &ws_path(user, revoked)).await;
    let campaign = format!("/ws/campaigns/7/stream?user=bob&uid={user}&session={revoked}");
    let mut second = WsClient::connect(addr, &campaign).await;
    assert_eq!(second.next().await["type"], "subscribed");
    let mut other = WsClient::connect(addr, &ws_path(user, kept)).await;

    let started = Instant::now();
    sessions.end(revoked);
    bus.announce(SESSION_REVOKED, revoked.to_string()).await;
    for ws in [&mut first, &mut second] {
        let (closed, code, reason) = ws.closed().await;
        assert_eq!(
            closed,
            json!({ "type": "closed", "reason": "session_revoked" })
        );
        assert_eq!((code, reason.as_str()), (4001, "session_revoked"));
    }
    assert!(started.elapsed() < WITHIN, "took {:?}", started.elapsed());
    other.answers_ping().await;
}

#[tokio::test]
async fn a_revoked_session_ends_its_sse_stream_with_a_closed_event() {
    let (bus, sessions, addr) = server().await;
    let (user, revoked, kept) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let query = |s: Uuid| format!("user=bob&topics=a&uid={user}&session={s}");
    let mut sse = SseClient::connect(addr, &query(revoked), None).await;
    let mut other = SseClient::connect(addr, &query(kept), None).await;
    assert_eq!(sse.next().await.event, "subscribed");
    assert_eq!(other.next().await.event, "subscribed");

    let started = Instant::now();
    sessions.end(revoked);
    bus.announce(SESSION_REVOKED, revoked.to_string()).await;
    let closed = sse.next().await;
    assert_eq!(closed.event, "closed");
    assert_eq!(
        closed.id, None,
        "a reconnect resumes from the last event's id"
    );
    assert_eq!(
        closed.data,
        json!({ "type": "closed", "reason": "session_revoked" })
    );
    sse.ends().await;
    assert!(started.elapsed() < WITHIN, "took {:?}", started.elapsed());

    // The other session's stream goes on.
    let beat = tokio::time::timeout(Duration::from_millis(300), other.next()).await;
    assert!(beat.is_err(), "the kept stream received {beat:?}");
}

#[tokio::test]
async fn a_user_notice_closes_the_sessions_that_ended_and_keeps_the_current_one() {
    let (bus, sessions, addr) = server().await;
    let (user, ended, current) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let mut on_ended = WsClient::connect(addr, &ws_path(user, ended)).await;
    let mut on_current = WsClient::connect(addr, &ws_path(user, current)).await;

    // A password change: every session but the current one ends, and the notice names the
    // user only.
    sessions.end(ended);
    bus.announce(USER_SESSIONS_REVOKED, user.to_string()).await;
    let (closed, code, _) = on_ended.closed().await;
    assert_eq!(
        (closed["reason"].as_str(), code),
        (Some("session_revoked"), 4001)
    );
    on_current.answers_ping().await;
}

#[tokio::test]
async fn a_connection_of_a_session_that_already_ended_is_closed_at_once() {
    let (_bus, sessions, addr) = server().await;
    let session = Uuid::now_v7();
    // Ended before the connection registered: its notice found nobody to close.
    sessions.end(session);
    let mut ws = WsClient::connect(addr, &ws_path(Uuid::now_v7(), session)).await;
    let (closed, code, reason) = ws.closed().await;
    assert_eq!(closed["reason"], "session_revoked");
    assert_eq!((code, reason.as_str()), (4001, "session_revoked"));
}

#[tokio::test]
async fn an_expiring_access_token_closes_both_transports_with_token_expired() {
    let (_bus, _sessions, addr) = server().await;
    let session = Uuid::now_v7();
    let started = Instant::now();
    let mut ws = WsClient::connect(
        addr,
        &format!("/ws?user=bob&session={session}&expires_ms=600"),
    )
    .await;
    let mut sse = SseClient::connect(
        addr,
        &format!("user=bob&topics=a&session={session}&expires_ms=600"),
        None,
    )
    .await;
    assert_eq!(sse.next().await.event, "subscribed");

    let (closed, code, reason) = ws.closed().await;
    assert_eq!(
        closed,
        json!({ "type": "closed", "reason": "token_expired" })
    );
    assert_eq!((code, reason.as_str()), (4001, "token_expired"));
    let closed = sse.next().await;
    assert_eq!(
        (closed.event.as_str(), &closed.data["reason"]),
        ("closed", &json!("token_expired"))
    );
    sse.ends().await;
    // The server counted the 600 ms from after `started`: never sooner.
    assert!(started.elapsed() >= Duration::from_millis(600));
}

#[tokio::test]
async fn connections_without_a_session_are_not_affected() {
    let (bus, _sessions, addr) = server().await;
    let mut ws = WsClient::connect(addr, "/ws?user=bob").await;
    bus.announce(SESSION_REVOKED, Uuid::default().to_string())
        .await;
    bus.announce(USER_SESSIONS_REVOKED, Uuid::default().to_string())
        .await;
    ws.answers_ping().await;
}
