//! Live streams over real sockets: WebSocket (`/api/monitoring/stream`,
//! `/ws/campaigns/{id}/stream`) and SSE (`/api/v1/monitoring/stream`), their authentication,
//! origin check, heartbeats, PING/PONG, resume after a reconnect, and two instances on Redis.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{
        Message,
        client::IntoClientRequest,
        http::{HeaderName, HeaderValue},
    },
};
use uuid::Uuid;
use warroom::domain::stream::{EventType, Priority, StreamingData, StreamingKind};

use crate::helpers::{TestApp, expect_error, spawn_app, spawn_app_with};

pub(super) const WAIT: Duration = Duration::from_secs(5);
pub(super) const APP_ORIGIN: &str = "https://warroom.example";

pub(super) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A campaign created by a manager over the API; returns its id.
async fn campaign(app: &TestApp, token: &str) -> Uuid {
    let r = app
        .post(
            "/api/v1/campaigns",
            Some(token),
            json!({
                "name": "Harbor County Senate",
                "description": "General election",
                "startDate": "2026-01-01T00:00:00Z",
                "endDate": "2026-11-03T00:00:00Z",
                "budget": 25000,
                "targetAudience": {
                    "demographics": {
                        "ageRange": { "min": 18, "max": 65 },
                        "gender": ["all"],
                        "income": "any",
                        "education": "any"
                    },
                    "interests": ["economy"],
                    "locations": ["Harbor County"],
                    "platforms": ["twitter", "facebook"]
                }
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_str().unwrap().parse().unwrap()
}

/// Publishes a `live_post` for `campaign` the way ingestion does.
async fn publish_mention(app: &TestApp, campaign: Uuid, text: &str) -> u64 {
    let message = StreamingData {
        kind: StreamingKind::Mention,
        campaign_id: campaign,
        timestamp: chrono::Utc::now(),
        data: json!({ "text": text }),
        priority: Priority::Low,
    };
    app.ctx
        .streams
        .publish(EventType::LivePost, &message)
        .await
        .expect("published")
}

fn ws_url(app: &TestApp, path: &str) -> String {
    format!("ws://{}{path}", app.addr)
}

/// Opens a WebSocket with the token as the `bearer` subprotocol, as a browser would.
pub(super) async fn connect(app: &TestApp, path: &str, token: &str) -> Ws {
    let mut req = ws_url(app, path).into_client_request().unwrap();
    let protocols = HeaderValue::from_str(&format!("bearer, {token}")).unwrap();
    req.headers_mut()
        .insert("sec-websocket-protocol", protocols);
    req.headers_mut()
        .insert("origin", HeaderValue::from_static(APP_ORIGIN));
    let (ws, res) = tokio_tungstenite::connect_async(req)
        .await
        .expect("upgrade");
    assert_eq!(
        res.headers()["sec-websocket-protocol"],
        "bearer",
        "the upgrade selects the bearer subprotocol"
    );
    ws
}

/// The next JSON text message, skipping heartbeats unless asked for.
pub(super) async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a message in time")
            .expect("stream open")
            .expect("frame");
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] != "HEARTBEAT" {
                return v;
            }
        }
    }
}

/// A failed upgrade: the HTTP status and War Room's error body.
async fn refused(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut req = ws_url(app, path).into_client_request().unwrap();
    for (k, v) in headers {
        let name = HeaderName::from_bytes(k.as_bytes()).unwrap();
        req.headers_mut()
            .insert(name, HeaderValue::from_str(v).unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            let status = StatusCode::from_u16(res.status().as_u16()).unwrap();
            let body = res.body().as_deref().unwrap_or_default();
            (status, serde_json::from_slice(body).unwrap_or(Value::Null))
        }
        other => panic!("expected an HTTP refusal, got {other:?}"),
    }
}

pub(super) async fn app_with_origin() -> TestApp {
    spawn_app_with(|s| s.cors_origins = vec![APP_ORIGIN.to_owned()]).await
}

#[tokio::test]
async fn a_campaign_websocket_delivers_live_posts_in_the_seed_shape() {
    let app = app_with_origin().await;
    let manager = app.login_as("m@example.com", "manager").await;
    let viewer = app.login_as("v@example.com", "viewer").await;
    let id = campaign(&app, &manager.access).await;

    let mut ws = connect(&app, &format!("/ws/campaigns/{id}/stream"), &viewer.access).await;
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["type"], "subscribed");
    assert_eq!(hello["topic"], format!("campaign:{id}"));

    let seq = publish_mention(&app, id, "Great rally tonight").await;
    let event = next_json(&mut ws).await;
    assert_eq!(event["type"], "live_post");
    assert_eq!(event["seq"], seq);
    assert_eq!(event["data"]["type"], "MENTION");
    assert_eq!(event["data"]["campaignId"], id.to_string());
    assert_eq!(event["data"]["priority"], "low");
    assert_eq!(event["data"]["data"]["text"], "Great rally tonight");
    assert!(event["data"]["timestamp"].is_string());
}

#[tokio::test]
async fn the_monitoring_websocket_carries_every_campaign_and_answers_ping() {
    let app = app_with_origin().await;
    let manager = app.login_as("m@example.com", "manager").await;
    let a = campaign(&app, &manager.access).await;
    let b = campaign(&app, &manager.access).await;

    let mut ws = connect(&app, "/api/monitoring/stream", &manager.access).await;
    assert_eq!(next_json(&mut ws).await["topic"], "monitoring");
    publish_mention(&app, a, "first").await;
    publish_mention(&app, b, "second").await;
    assert_eq!(
        next_json(&mut ws).await["data"]["campaignId"],
        a.to_string()
    );
    assert_eq!(
        next_json(&mut ws).await["data"]["campaignId"],
        b.to_string()
    );

    ws.send(Message::Text(r#"{"type":"PING"}"#.into()))
        .await
        .unwrap();
    assert_eq!(next_json(&mut ws).await["type"], "PONG");
}

#[tokio::test]
async fn heartbeats_arrive_at_the_configured_interval() {
    let app = spawn_app_with(|s| {
        s.stream_heartbeat = Duration::from_secs(1);
        s.cors_origins = vec![APP_ORIGIN.to_owned()];
    })
    .await;
    let viewer = app.login_as("v@example.com", "viewer").await;
    let mut ws = connect(&app, "/api/monitoring/stream", &viewer.access).await;
    let started = std::time::Instant::now();
    let beat = loop {
        let msg = tokio::time::timeout(WAIT, ws.next()).await.unwrap();
        if let Some(Ok(Message::Text(t))) = msg {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] == "HEARTBEAT" {
                break v;
            }
        }
    };
    assert!(beat["at"].is_string());
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_websocket_resumes_from_a_sequence_id_without_loss() {
    let app = app_with_origin().await;
    let manager = app.login_as("m@example.com", "manager").await;
    let id = campaign(&app, &manager.access).await;
    let path = format!("/ws/campaigns/{id}/stream");

    let mut ws = connect(&app, &path, &manager.access).await;
    next_json(&mut ws).await;
    let first = publish_mention(&app, id, "one").await;
    assert_eq!(next_json(&mut ws).await["seq"], first);
    drop(ws);

    // Events published while the client is away are replayed when it comes back.
    publish_mention(&app, id, "two").await;
    publish_mention(&app, id, "three").await;
    let mut ws = connect(&app, &format!("{path}?since={first}"), &manager.access).await;
    next_json(&mut ws).await;
    assert_eq!(next_json(&mut ws).await["data"]["data"]["text"], "two");
    assert_eq!(next_json(&mut ws).await["data"]["data"]["text"], "three");
}

#[tokio::test]
async fn upgrades_are_refused_in_war_rooms_error_shape() {
    let app = app_with_origin().await;
    let manager = app.login_as("m@example.com", "manager").await;
    let id = campaign(&app, &manager.access).await;
    let path = format!("/ws/campaigns/{id}/stream");
    let bearer = format!("Bearer {}", manager.access);

    let (status, body) = refused(&app, &path, &[("origin", APP_ORIGIN)]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "unauthenticated");

    let (status, body) = refused(
        &app,
        &path,
        &[
            ("origin", "https://evil.example"),
            ("authorization", &bearer),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "permission_denied");

    let unknown = format!("/ws/campaigns/{}/stream", Uuid::now_v7());
    let (status, body) = refused(&app, &unknown, &[("authorization", &bearer)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "not_found");

    // A plain GET (no upgrade) is told what the endpoint expects.
    let r = app.get(&path, Some(&manager.access)).await;
    expect_error(&r, 400, "invalid_argument");
    let r = app
        .get(&format!("{path}?access_token=not-a-token"), None)
        .await;
    expect_error(&r, 401, "unauthenticated");
}

/// Reads SSE events from a streaming response until `n` events with an id were seen.
async fn sse_events(mut res: reqwest::Response, n: usize) -> Vec<(Option<String>, Value)> {
    let mut buf = String::new();
    let mut out = Vec::new();
    while out.len() < n {
        let chunk = tokio::time::timeout(WAIT, res.chunk())
            .await
            .expect("an SSE chunk in time")
            .unwrap()
            .expect("stream open");
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let mut id = None;
            let mut data = None;
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = Some(v.trim().to_owned());
                } else if let Some(v) = line.strip_prefix("data:") {
                    data = Some(serde_json::from_str::<Value>(v.trim()).unwrap());
                }
            }
            if let Some(data) = data
                && data["type"] != "HEARTBEAT"
            {
                out.push((id, data));
            }
        }
    }
    out
}

#[tokio::test]
async fn sse_takes_the_token_as_a_parameter_and_resumes_with_last_event_id() {
    let app = spawn_app().await;
    let manager = app.login_as("m@example.com", "manager").await;
    let id = campaign(&app, &manager.access).await;
    let url = app.url(&format!(
        "/api/v1/monitoring/stream?campaignId={id}&access_token={}",
        manager.access
    ));

    let res = app.client.get(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let publisher = {
        let ctx = app.ctx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let message = StreamingData {
                kind: StreamingKind::Mention,
                campaign_id: id,
                timestamp: chrono::Utc::now(),
                data: json!({ "text": "one" }),
                priority: Priority::Low,
            };
            ctx.streams.publish(EventType::LivePost, &message).await
        })
    };
    let events = sse_events(res, 2).await;
    publisher.await.unwrap();
    assert_eq!(events[0].1["type"], "subscribed");
    assert_eq!(events[1].1["type"], "live_post");
    let last_id = events[1].0.clone().expect("events carry an id");

    // Missed while disconnected; the reconnect names the last id it saw.
    publish_mention(&app, id, "two").await;
    publish_mention(&app, id, "three").await;
    let res = app
        .client
        .get(&url)
        .header("last-event-id", &last_id)
        .send()
        .await
        .unwrap();
    let events = sse_events(res, 3).await;
    assert_eq!(events[1].1["data"]["data"]["text"], "two");
    assert_eq!(events[2].1["data"]["data"]["text"], "three");
}

#[tokio::test]
async fn stream_info_names_the_campaigns_endpoints() {
    let app = spawn_app_with(|s| s.stream_heartbeat = Duration::from_secs(30)).await;
    let manager = app.login_as("m@example.com", "manager").await;
    let viewer = app.login_as("v@example.com", "viewer").await;
    let id = campaign(&app, &manager.access).await;

    let r = app
        .get(
            &format!("/api/v1/monitoring/stream/{id}"),
            Some(&viewer.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body["streamEndpoint"],
        format!("/ws/campaigns/{id}/stream")
    );
    assert_eq!(r.body["heartbeatInterval"], 30000);

    let r = app
        .get(&format!("/api/v1/monitoring/stream/{id}"), None)
        .await;
    expect_error(&r, 401, "unauthenticated");
    let r = app
        .get(
            &format!("/api/v1/monitoring/stream/{}", Uuid::now_v7()),
            Some(&viewer.access),
        )
        .await;
    expect_error(&r, 404, "not_found");
}

#[tokio::test]
async fn two_instances_on_one_redis_deliver_each_others_events() {
    let Some(redis) = testkit::SharedRedis::from_env() else {
        return;
    };
    let on_redis = |s: &mut platform::settings::ProductSettings| {
        redis.apply(s);
        s.cors_origins = vec![APP_ORIGIN.to_owned()];
    };
    let a = spawn_app_with(on_redis).await;
    // Instance B shares A's database, as two instances of one deployment do.
    let b = spawn_app_with(|s| {
        on_redis(s);
        s.database_url = a.settings.database_url.clone();
        s.jwt_secret = a.settings.jwt_secret.clone();
    })
    .await;
    let manager = a.login_as("m@example.com", "manager").await;
    let id = campaign(&a, &manager.access).await;

    let mut on_b = connect(&b, &format!("/ws/campaigns/{id}/stream"), &manager.access).await;
    next_json(&mut on_b).await;
    let seq = publish_mention(&a, id, "from A").await;
    let event = next_json(&mut on_b).await;
    assert_eq!(event["seq"], seq);
    assert_eq!(event["data"]["data"]["text"], "from A");
}
