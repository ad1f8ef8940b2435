//! The realtime hub over real sockets: an axum server on 127.0.0.1:0 with a tiny router that
//! uses the WebSocket and SSE adapters, a tokio-tungstenite client and a streaming reqwest
//! client. A connection that names a `session` holds a lease on the server's connection
//! registry. Redis tests run when `TEST_REDIS_URL` is set (each under its own key prefix). The
//! event log's tests (`log.rs`) run on SQLite, or on PostgreSQL with `TEST_DATABASE_URL`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed step is a failed test"
)]

mod access;
mod delivery;
mod log;
mod protocol;
mod redis_instances;
mod resume;
mod sessions;
mod slow;

use std::{
    collections::HashSet,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    extract::{Path, Query, State, WebSocketUpgrade},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
};
use futures_util::{SinkExt, StreamExt};
use platform::{
    bus::Bus,
    lifecycle::Background,
    realtime::{
        Connections, Gateway, Hub, HubConfig, Lease, Owner, RealtimeError, SessionCheck,
        StreamConfig, SubscribeRequest, origin_allowed,
    },
};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::{io::AsyncReadExt, net::TcpStream};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{self, Message, client::IntoClientRequest},
};

const WAIT: Duration = Duration::from_secs(5);
const ALLOWED_ORIGIN: &str = "https://app.example";

// ---------------------------------------------------------------------------------------------
// The test server

struct User(String);

/// Anyone may follow public topics; topics naming `private` are alice's only.
fn authorize(user: &User, topic: &str) -> bool {
    !topic.contains("private") || user.0 == "alice"
}

#[derive(Clone)]
struct App {
    gateway: Gateway<User>,
    cors: Arc<Vec<String>>,
    connections: Connections,
    /// The registry follows its bus until this is dropped (with the server's router).
    _background: Background,
}

#[derive(Deserialize)]
struct Who {
    user: String,
    topics: Option<String>,
    /// The session the connection belongs to (it then holds a lease), and its user's id.
    session: Option<uuid::Uuid>,
    uid: Option<uuid::Uuid>,
    /// Milliseconds until its access token expires.
    expires_ms: Option<i64>,
}

impl Who {
    /// The lease of a connection that names its session.
    async fn lease(&self, connections: &Connections) -> Option<Lease> {
        let session_id = self.session?;
        let owner = Owner {
            session_id,
            user_id: self.uid.unwrap_or_default(),
            token_expires_at: self
                .expires_ms
                .map(|ms| chrono::Utc::now() + chrono::Duration::milliseconds(ms)),
        };
        Some(connections.register(owner).await)
    }
}

/// Sessions are live until a test ends them (what identity's session table answers in a
/// product).
#[derive(Clone, Default)]
struct Sessions(Arc<Mutex<HashSet<uuid::Uuid>>>);

impl Sessions {
    fn end(&self, session: uuid::Uuid) {
        self.0.lock().unwrap().insert(session);
    }
}

#[async_trait::async_trait]
impl SessionCheck for Sessions {
    async fn live_sessions(&self, sessions: &[uuid::Uuid]) -> anyhow::Result<HashSet<uuid::Uuid>> {
        let ended = self.0.lock().unwrap();
        Ok(sessions
            .iter()
            .filter(|s| !ended.contains(s))
            .copied()
            .collect())
    }
}

async fn ws(
    State(app): State<App>,
    Query(who): Query<Who>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if !origin_allowed(&headers, &app.cors) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let lease = who.lease(&app.connections).await;
    upgrade.on_upgrade(move |socket| async move {
        app.gateway
            .run_websocket(socket, User(who.user), Vec::new(), lease)
            .await
    })
}

async fn campaign_ws(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(who): Query<Who>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let topic = format!("campaign:{id}");
    let lease = who.lease(&app.connections).await;
    let user = User(who.user);
    if !app.gateway.may_subscribe(&user, &topic).await {
        return StatusCode::FORBIDDEN.into_response();
    }
    upgrade.on_upgrade(move |socket| async move {
        let initial = vec![SubscribeRequest::live(topic)];
        app.gateway
            .run_websocket(socket, user, initial, lease)
            .await
    })
}

async fn sse(State(app): State<App>, Query(who): Query<Who>, headers: HeaderMap) -> Response {
    let lease = who.lease(&app.connections).await;
    let topics: Vec<String> = who
        .topics
        .unwrap_or_default()
        .split(',')
        .map(str::to_owned)
        .collect();
    let last = headers.get("last-event-id").and_then(|v| v.to_str().ok());
    match app.gateway.sse(&User(who.user), &topics, last, lease).await {
        Ok(stream) => stream.into_response(),
        Err(RealtimeError::Forbidden { .. }) => StatusCode::FORBIDDEN.into_response(),
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

fn gateway(hub: Hub, config: StreamConfig) -> Gateway<User> {
    Gateway::new(hub, authorize, config)
}

async fn serve(gateway: Gateway<User>) -> SocketAddr {
    serve_with(gateway, &Bus::local(), Sessions::default()).await
}

/// A server whose connection registry follows `bus` and asks `sessions` which sessions live.
async fn serve_with(gateway: Gateway<User>, bus: &Bus, sessions: Sessions) -> SocketAddr {
    let background = Background::new();
    let app = App {
        gateway,
        cors: Arc::new(vec![ALLOWED_ORIGIN.to_owned()]),
        connections: Connections::new(sessions, bus, &background),
        _background: background,
    };
    let router = Router::new()
        .route("/ws", get(ws))
        .route("/ws/campaigns/{id}/stream", get(campaign_ws))
        .route("/sse", get(sse))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// A memory hub behind a server with the default (30 s) heartbeat, which no test waits for.
async fn start(hub_config: HubConfig) -> (Hub, SocketAddr) {
    let hub = Hub::memory(hub_config);
    let addr = serve(gateway(hub.clone(), StreamConfig::default())).await;
    (hub, addr)
}

// ---------------------------------------------------------------------------------------------
// Clients

struct WsClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl WsClient {
    async fn connect(addr: SocketAddr, path: &str) -> Self {
        Self::try_connect(addr, path, None).await.unwrap()
    }

    async fn try_connect(
        addr: SocketAddr,
        path: &str,
        origin: Option<&str>,
    ) -> Result<Self, tungstenite::Error> {
        let mut request = format!("ws://{addr}{path}").into_client_request().unwrap();
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("origin", origin.parse().unwrap());
        }
        let (ws, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(Self { ws })
    }

    async fn send(&mut self, msg: Value) {
        self.ws.send(Message::text(msg.to_string())).await.unwrap();
    }

    /// The next frame, whatever it is; `None` once the connection has ended.
    async fn frame(&mut self) -> Option<Message> {
        match tokio::time::timeout(WAIT, self.ws.next())
            .await
            .expect("a frame within 5 s")
        {
            Some(Ok(msg)) => Some(msg),
            Some(Err(_)) | None => None,
        }
    }

    /// The next JSON message, heartbeats included.
    async fn any(&mut self) -> Value {
        loop {
            match self.frame().await.expect("connection open") {
                Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
                Message::Ping(_) | Message::Pong(_) => {}
                other => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// The next JSON message that is not a heartbeat.
    async fn next(&mut self) -> Value {
        loop {
            let msg = self.any().await;
            if msg["type"] != "HEARTBEAT" {
                return msg;
            }
        }
    }

    async fn subscribe(&mut self, topic: &str, since: Option<u64>) -> Value {
        let mut msg = json!({ "type": "subscribe", "topic": topic });
        if let Some(since) = since {
            msg["since"] = json!(since);
        }
        self.send(msg).await;
        self.next().await
    }

    /// The sequence ids of the next `n` events, checking their topic.
    async fn seqs(&mut self, topic: &str, n: usize) -> Vec<u64> {
        let mut seqs = Vec::new();
        for _ in 0..n {
            let e = self.next().await;
            assert_eq!(e["topic"], topic, "{e}");
            seqs.push(
                e["seq"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("an event, got {e}")),
            );
        }
        seqs
    }
}

#[derive(Debug)]
struct SseMessage {
    event: String,
    id: Option<String>,
    data: Value,
}

struct SseClient {
    response: reqwest::Response,
    buffer: String,
}

impl SseClient {
    async fn connect(addr: SocketAddr, query: &str, last_event_id: Option<&str>) -> Self {
        let response = Self::request(addr, query, last_event_id).await;
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"].to_str().unwrap();
        assert!(content_type.starts_with("text/event-stream"));
        Self {
            response,
            buffer: String::new(),
        }
    }

    async fn request(
        addr: SocketAddr,
        query: &str,
        last_event_id: Option<&str>,
    ) -> reqwest::Response {
        let mut request = reqwest::Client::new().get(format!("http://{addr}/sse?{query}"));
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        request.send().await.unwrap()
    }

    /// The next event, heartbeats included (comment-only blocks are skipped).
    async fn any(&mut self) -> SseMessage {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut event, mut id, mut data) = (String::new(), None, String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim_start().to_owned();
                    } else if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim_start().to_owned());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() {
                    continue;
                }
                let data = serde_json::from_str(&data).unwrap();
                return SseMessage { event, id, data };
            }
            let chunk = tokio::time::timeout(WAIT, self.response.chunk())
                .await
                .expect("an SSE chunk within 5 s")
                .unwrap()
                .expect("stream open");
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    async fn next(&mut self) -> SseMessage {
        loop {
            let msg = self.any().await;
            if msg.event != "HEARTBEAT" {
                return msg;
            }
        }
    }
}
