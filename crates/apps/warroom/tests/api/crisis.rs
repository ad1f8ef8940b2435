//! The crisis detector on scripted mention sequences (rows stored directly, then
//! `crisis::evaluate` as ingestion calls it): nothing on a quiet stream, one alert per type
//! per episode however often it runs, a second after the cool-down, each breach type alone,
//! the severity rule, resolve and dismiss against episodes, and `crisis_alert` reaching a
//! WebSocket client. Timelines are in the past: the detector reads at the newest mention.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};
use uuid::Uuid;
use warroom::{domain::monitoring::AlertThresholds, service::crisis};

use crate::{
    alerts::support::{M, campaign, hours_ago, insert_mentions, stream},
    helpers::{TestApp, spawn_app, spawn_app_with},
};

const APP_ORIGIN: &str = "https://warroom.example";

fn minutes(n: i64) -> chrono::Duration {
    chrono::Duration::minutes(n)
}

/// An ordinary hour from `t`: six mentions a minute, sentiment alternating 0.5 and 0.1.
fn ordinary(t: DateTime<Utc>, length: i64) -> Vec<M> {
    let mut ms = stream(t, length, 6, 0.3, 1000);
    for (i, m) in ms.iter_mut().enumerate() {
        m.sentiment = if i % 2 == 0 { 0.5 } else { 0.1 };
    }
    ms
}

/// Five minutes from `t` of a crisis: the ordinary stream plus 40 a minute at -0.7, reach 2000.
fn burst(t: DateTime<Utc>) -> Vec<M> {
    let mut ms = ordinary(t, 5);
    ms.extend(stream(t, 5, 40, -0.7, 2000));
    ms
}

/// Stores `ms` in time slices of `slice`, evaluating after each, as ingestion does.
async fn play(
    app: &TestApp,
    c: Uuid,
    t: &AlertThresholds,
    mut ms: Vec<M>,
    slice: chrono::Duration,
) {
    ms.sort_by_key(|m| m.at);
    let mut i = 0;
    while i < ms.len() {
        let end = ms[i].at + slice;
        let j = ms[i..]
            .iter()
            .position(|m| m.at >= end)
            .map_or(ms.len(), |p| i + p);
        insert_mentions(app, c, &ms[i..j]).await;
        crisis::evaluate(&app.ctx, c, t).await.expect("evaluated");
        i = j;
    }
}

/// Stores `ms` at once and evaluates.
async fn batch(app: &TestApp, c: Uuid, t: &AlertThresholds, ms: Vec<M>) {
    insert_mentions(app, c, &ms).await;
    crisis::evaluate(&app.ctx, c, t).await.expect("evaluated");
}

/// The campaign's alerts, newest first.
async fn alerts_of(app: &TestApp, token: &str, c: Uuid) -> Vec<Value> {
    let r = app
        .get(
            &format!("/api/v1/alerts?campaignId={c}&limit=100"),
            Some(token),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["alerts"].as_array().unwrap().clone()
}

fn count(alerts: &[Value], kind: &str) -> usize {
    alerts.iter().filter(|a| a["type"] == kind).count()
}

/// Types, sorted, for comparing sets.
fn types(alerts: &[Value]) -> Vec<String> {
    let mut t: Vec<String> = alerts
        .iter()
        .map(|a| a["type"].as_str().unwrap().to_owned())
        .collect();
    t.sort();
    t
}

#[tokio::test]
async fn a_quiet_stream_never_alerts() {
    let app = spawn_app().await;
    let m = app.login_as("m@example.com", "manager").await;
    let c = campaign(&app, &m.access).await;
    let t0 = hours_ago(3);
    let thresholds = AlertThresholds::default();
    batch(&app, c, &thresholds, ordinary(t0, 60)).await;
    play(
        &app,
        c,
        &thresholds,
        ordinary(t0 + minutes(60), 40),
        minutes(1),
    )
    .await;
    assert!(alerts_of(&app, &m.access, c).await.is_empty());

    // A campaign too quiet to judge: one mention a minute, then five awful ones.
    let quiet = campaign(&app, &m.access).await;
    batch(&app, quiet, &thresholds, stream(t0, 60, 1, 0.3, 1000)).await;
    play(
        &app,
        quiet,
        &thresholds,
        stream(t0 + minutes(60), 5, 1, -0.9, 50_000),
        minutes(1),
    )
    .await;
    assert!(alerts_of(&app, &m.access, quiet).await.is_empty());
}

#[tokio::test]
async fn one_alert_per_type_per_episode_and_another_after_the_cool_down() {
    let app = spawn_app().await;
    let m = app.login_as("m@example.com", "manager").await;
    let c = campaign(&app, &m.access).await;
    let t0 = hours_ago(3);
    let thresholds = AlertThresholds::default();
    let slice = chrono::Duration::seconds(10);
    batch(&app, c, &thresholds, ordinary(t0, 60)).await;

    play(&app, c, &thresholds, burst(t0 + minutes(60)), slice).await;
    play(
        &app,
        c,
        &thresholds,
        ordinary(t0 + minutes(65), 20),
        minutes(1),
    )
    .await;
    let first = alerts_of(&app, &m.access, c).await;
    assert_eq!(
        types(&first),
        ["CRISIS", "MENTION_SPIKE", "SENTIMENT"],
        "30 evaluations in the burst, one alert each"
    );
    let episodes = warroom::db::alerts::episodes_of(&app.ctx.db, c)
        .await
        .unwrap();
    assert_eq!(episodes.len(), 3);
    assert!(
        episodes
            .iter()
            .all(|e| e.open_key.is_none() && e.closed_at.is_some()),
        "quiet for the cool-down: {episodes:?}"
    );

    play(&app, c, &thresholds, burst(t0 + minutes(85)), slice).await;
    let all = alerts_of(&app, &m.access, c).await;
    for kind in ["CRISIS", "MENTION_SPIKE", "SENTIMENT"] {
        assert_eq!(count(&all, kind), 2, "{kind}: {all:#?}");
    }
    assert_eq!(count(&all, "ENGAGEMENT_DROP"), 0);
    let crisis = all.iter().find(|a| a["type"] == "CRISIS").unwrap();
    assert_eq!(crisis["source"], "detector");
    assert!(
        crisis["title"]
            .as_str()
            .unwrap()
            .starts_with("🚨 CRISIS ALERT: "),
        "{crisis}"
    );
    let data = &crisis["data"];
    assert_eq!(data["campaignId"], c.to_string());
    assert_eq!(data["affectedPlatforms"], json!(["twitter"]));
    assert!(data["crisisScore"].as_f64().unwrap() >= 0.8);
    assert!(data["detection"]["volumeRatio"].as_f64().unwrap() > 1.0);
}

#[tokio::test]
async fn concurrent_evaluations_of_one_burst_raise_each_alert_once() {
    let app = spawn_app().await;
    let m = app.login_as("m@example.com", "manager").await;
    let c = campaign(&app, &m.access).await;
    let t0 = hours_ago(3);
    let thresholds = AlertThresholds::default();
    insert_mentions(&app, c, &ordinary(t0, 60)).await;
    insert_mentions(&app, c, &burst(t0 + minutes(60))).await;
    let runs = (0..8).map(|_| crisis::evaluate(&app.ctx, c, &thresholds));
    for r in futures_util::future::join_all(runs).await {
        r.expect("evaluated");
    }
    for _ in 0..3 {
        crisis::evaluate(&app.ctx, c, &thresholds).await.unwrap();
    }
    let all = alerts_of(&app, &m.access, c).await;
    assert_eq!(types(&all), ["CRISIS", "MENTION_SPIKE", "SENTIMENT"]);
}

#[tokio::test]
async fn each_threshold_alerts_alone() {
    let app = spawn_app().await;
    let m = app.login_as("m@example.com", "manager").await;
    let t0 = hours_ago(3);
    let thresholds = AlertThresholds::default();

    // Volume alone: seven times the mentions, the usual tone.
    let spike = campaign(&app, &m.access).await;
    batch(&app, spike, &thresholds, ordinary(t0, 60)).await;
    let mut loud = ordinary(t0 + minutes(60), 5);
    loud.extend(ordinary(t0 + minutes(60) + chrono::Duration::seconds(1), 5).repeat(6));
    batch(&app, spike, &thresholds, loud).await;
    let a = alerts_of(&app, &m.access, spike).await;
    assert_eq!(types(&a), ["MENTION_SPIKE"]);
    assert_eq!(a[0]["severity"], "MEDIUM", "7x is under twice 5x");
    assert!(
        a[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("210 mentions in the last 5 minutes, 7.0x")
    );

    // Tone alone: the usual volume, sentiment 0.5 below the usual.
    let tone = campaign(&app, &m.access).await;
    batch(&app, tone, &thresholds, ordinary(t0, 60)).await;
    batch(
        &app,
        tone,
        &thresholds,
        stream(t0 + minutes(60), 5, 6, -0.2, 1000),
    )
    .await;
    let a = alerts_of(&app, &m.access, tone).await;
    assert_eq!(types(&a), ["SENTIMENT"]);
    assert_eq!(a[0]["severity"], "MEDIUM");
    let reading = &a[0]["data"];
    assert!((reading["sentimentChange"].as_f64().unwrap() + 0.5).abs() < 1e-9);
    assert_eq!(reading["negativeShare"], 1.0);

    // Engagement alone: a quarter of the usual per mention for fifteen minutes.
    let quiet = campaign(&app, &m.access).await;
    batch(&app, quiet, &thresholds, ordinary(t0, 60)).await;
    let mut flat = ordinary(t0 + minutes(60), 15);
    for x in &mut flat {
        x.engagement = 10;
    }
    batch(&app, quiet, &thresholds, flat).await;
    let a = alerts_of(&app, &m.access, quiet).await;
    assert_eq!(types(&a), ["ENGAGEMENT_DROP"]);
    assert_eq!(a[0]["severity"], "HIGH", "-75% is halfway to -100%");
    assert!(
        a[0]["message"]
            .as_str()
            .unwrap()
            .contains("fell 75% (from 40 to 10)")
    );
}

#[tokio::test]
async fn a_detected_crisis_takes_the_seeds_severity() {
    let app = spawn_app().await;
    let m = app.login_as("m@example.com", "manager").await;
    let t0 = hours_ago(3);

    let strong = campaign(&app, &m.access).await;
    batch(&app, strong, &AlertThresholds::default(), ordinary(t0, 60)).await;
    batch(
        &app,
        strong,
        &AlertThresholds::default(),
        burst(t0 + minutes(60)),
    )
    .await;
    let a = alerts_of(&app, &m.access, strong).await;
    let c = a.iter().find(|x| x["type"] == "CRISIS").unwrap();
    assert!(c["data"]["crisisScore"].as_f64().unwrap() > 0.8);
    assert_eq!(c["severity"], "CRITICAL");

    // Negative in tone but not loud: a score near 0.55, a crisis only with a lower threshold.
    let moderate = campaign(&app, &m.access).await;
    let low = AlertThresholds {
        crisis_score: 0.5,
        ..AlertThresholds::default()
    };
    batch(&app, moderate, &low, ordinary(t0, 60)).await;
    batch(
        &app,
        moderate,
        &low,
        stream(t0 + minutes(60), 5, 6, -0.2, 1000),
    )
    .await;
    let a = alerts_of(&app, &m.access, moderate).await;
    let c = a.iter().find(|x| x["type"] == "CRISIS").expect("a crisis");
    let score = c["data"]["crisisScore"].as_f64().unwrap();
    assert!((0.5..=0.8).contains(&score), "{score}");
    assert_eq!(c["severity"], "HIGH");
    assert_eq!(c["data"]["detection"]["crisisScore"].as_f64(), Some(score));
}

#[tokio::test]
async fn resolving_closes_the_episode_and_dismissing_keeps_it_quiet() {
    let app = spawn_app().await;
    let m = app.login_as("m@example.com", "manager").await;
    let c = campaign(&app, &m.access).await;
    let t0 = hours_ago(3);
    let t = AlertThresholds::default();
    batch(&app, c, &t, ordinary(t0, 60)).await;
    batch(&app, c, &t, burst(t0 + minutes(60))).await;
    let first = alerts_of(&app, &m.access, c).await;
    let crisis_alert = first.iter().find(|a| a["type"] == "CRISIS").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let act = |id: String, action: &'static str| {
        let app = &app;
        let token = m.access.clone();
        async move {
            let r = app
                .post(
                    &format!("/api/v1/alerts/{id}/actions"),
                    Some(&token),
                    json!({ "action": action }),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        }
    };
    act(crisis_alert, "resolve").await;
    // The burst goes on: a resolved episode is over, so this is a new one.
    batch(&app, c, &t, stream(t0 + minutes(65), 1, 40, -0.7, 2000)).await;
    let after = alerts_of(&app, &m.access, c).await;
    assert_eq!(count(&after, "CRISIS"), 2);
    assert_eq!(
        count(&after, "SENTIMENT"),
        1,
        "its episode was not resolved"
    );

    let second = after.iter().find(|a| a["type"] == "CRISIS").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    act(second, "dismiss").await;
    batch(&app, c, &t, stream(t0 + minutes(66), 1, 40, -0.7, 2000)).await;
    assert_eq!(count(&alerts_of(&app, &m.access, c).await, "CRISIS"), 2);
}

async fn viewer_socket(
    app: &TestApp,
    c: Uuid,
    token: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let url = format!("ws://{}/ws/campaigns/{c}/stream", app.addr);
    let mut req = url.into_client_request().unwrap();
    let protocols = HeaderValue::from_str(&format!("bearer, {token}")).unwrap();
    req.headers_mut()
        .insert("sec-websocket-protocol", protocols);
    req.headers_mut()
        .insert("origin", HeaderValue::from_static(APP_ORIGIN));
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("upgrade");
    let hello = next_event(&mut ws).await;
    assert_eq!(hello["type"], "subscribed");
    ws
}

async fn next_event<S>(ws: &mut S) -> Value
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("an event in time")
            .expect("open")
            .expect("frame");
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] != "HEARTBEAT" {
                return v;
            }
        }
    }
}

async fn next_crisis<S>(ws: &mut S) -> Value
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let e = next_event(ws).await;
        if e["type"] == "crisis_alert" && e["data"]["data"]["type"] == "CRISIS" {
            return e;
        }
    }
}

#[tokio::test]
async fn a_detected_crisis_reaches_a_websocket_client_as_crisis_alert() {
    let app = spawn_app_with(|s| s.cors_origins = vec![APP_ORIGIN.to_owned()]).await;
    let m = app.login_as("m@example.com", "manager").await;
    let v = app.login_as("v@example.com", "viewer").await;
    let c = campaign(&app, &m.access).await;
    let t0 = hours_ago(3);
    let t = AlertThresholds::default();
    batch(&app, c, &t, ordinary(t0, 60)).await;
    let mut ws = viewer_socket(&app, c, &v.access).await;

    batch(&app, c, &t, burst(t0 + minutes(60))).await;
    let event = next_crisis(&mut ws).await;
    assert_eq!(event["topic"], format!("campaign:{c}"));
    let data = &event["data"];
    assert_eq!(data["type"], "CRISIS", "StreamingData.type");
    assert_eq!(data["campaignId"], c.to_string());
    assert_eq!(data["priority"], "critical");
    let alert = &data["data"];
    assert_eq!(alert["severity"], "CRITICAL");
    let stored = alerts_of(&app, &v.access, c).await;
    let crisis = stored.iter().find(|a| a["type"] == "CRISIS").unwrap();
    assert_eq!(alert["id"], crisis["id"]);
    assert_eq!(alert["title"], crisis["title"]);
}
