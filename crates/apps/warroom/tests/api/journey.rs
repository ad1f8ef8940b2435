//! The "done when", end to end in MOCK mode: a manager creates a campaign and names its
//! crisis contact, starts monitoring it, an analyst watches the campaign's WebSocket, mentions
//! arrive (the mock stream's backfill, then a crisis-like batch stored as a poll stores it),
//! and the crisis alert reaches the analyst's screen and the contact's phone (the outbox).

use std::time::Duration;

use chrono::Utc;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};
use uuid::Uuid;
use warroom::{
    domain::monitoring::ConfigId,
    integrations::mentionlytics::SourceMention,
    service::ingest::{self, Window},
};

use crate::{
    alerts::support::{eventually, put_contacts, sent_to},
    helpers::spawn_app_with,
};

const CONTACT_PHONE: &str = "+15550104477";

/// `n` mentions of "Rivera", one every `60 / per_minute` seconds, ending at `until`.
fn mentions(
    tag: &str,
    until: chrono::DateTime<Utc>,
    per_minute: i64,
    minutes: i64,
    sentiment: f64,
    text: &str,
) -> Vec<SourceMention> {
    let n = per_minute * minutes;
    (0..n)
        .map(|i| SourceMention {
            source_id: format!("{tag}-{i}"),
            text: text.to_owned(),
            author: format!("voter{i}"),
            platform: "twitter".into(),
            url: format!("https://twitter.com/voter{i}/status/{i}"),
            sentiment: Some(sentiment),
            reach: 2000,
            engagement: 40,
            timestamp: until - chrono::Duration::seconds(i * 60 / per_minute),
            location: Some("Harbor County".into()),
            language: "en".into(),
            matched: Some("Rivera".into()),
        })
        .collect()
}

#[tokio::test]
async fn a_crisis_in_the_mentions_reaches_the_analysts_screen_and_the_contacts_phone() {
    // A quiet mock stream (no bursts of its own): the crisis below is the only one.
    let app = spawn_app_with(|s| {
        s.vendors = s
            .vendors
            .clone()
            .with("MOCK_MENTIONS_PER_MINUTE", "6")
            .with("MOCK_BURST_EVERY_SECS", "0");
    })
    .await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let analyst = app.login_as("analyst@example.com", "analyst").await;

    let campaign = crate::alerts::support::campaign(&app, &manager.access).await;
    let contacts = json!([{
        "name": "Dana Ortiz", "phone": CONTACT_PHONE, "email": "dana@example.com",
        "channels": ["SMS"]
    }]);
    let r = put_contacts(&app, &manager.access, campaign, contacts).await;
    assert_eq!(r.status, 200, "{}", r.text);

    let mut req = format!("ws://{}/ws/campaigns/{campaign}/stream", app.addr)
        .into_client_request()
        .unwrap();
    let protocol = HeaderValue::from_str(&format!("bearer, {}", analyst.access)).unwrap();
    req.headers_mut().insert("sec-websocket-protocol", protocol);
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();

    let r = app
        .post(
            "/api/v1/monitoring/config",
            Some(&manager.access),
            json!({ "campaignId": campaign, "keywords": ["Rivera"], "refreshInterval": 3600 }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let config: Uuid = r.body["configId"].as_str().unwrap().parse().unwrap();

    // The first poll backfills the mock's last hour and says so with a trend update.
    let mut seen = Vec::new();
    let trend = next_of(&mut ws, "trend_update", &mut seen).await;
    assert_eq!(trend["data"]["campaignId"], campaign.to_string());
    let listed = app
        .get(
            &format!("/api/v1/mentionlytics/mentions?campaignId={campaign}&hours=2"),
            Some(&analyst.access),
        )
        .await;
    assert!(
        listed.body["total"].as_u64().unwrap() > 100,
        "{}",
        listed.text
    );

    // Then a crisis: five minutes of angry mentions, stored as a poll stores a batch.
    let view = app
        .ctx
        .monitoring()
        .find(ConfigId(config))
        .await
        .unwrap()
        .unwrap();
    let now = Utc::now();
    let burst = mentions("burst", now, 40, 5, -0.8, "Rivera lied to us, resign now!");
    let window = Window {
        since: now - chrono::Duration::minutes(5),
        until: now,
        backfill: false,
    };
    let report = ingest::ingest(&app.ctx, &view, burst, window)
        .await
        .unwrap();
    assert_eq!(report.stored, 200, "{report:?}");

    // Everything the batch caused, in the campaign topic's order: the batch's live posts and
    // trend update (logged with the mentions), then the CRISIS alert the detector raised
    // once they were stored.
    let mut events: Vec<Value> = Vec::new();
    let is_crisis =
        |e: &Value| e["type"] == "crisis_alert" && e["data"]["data"]["type"] == "CRISIS";
    while !events.iter().any(is_crisis) {
        events.push(next_event(&mut ws).await);
    }
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    let posts = kinds.iter().filter(|k| **k == "live_post").count();
    assert_eq!(posts, 200, "{kinds:?}");
    let trend = kinds.iter().position(|k| *k == "trend_update").unwrap();
    let crisis = events.iter().position(is_crisis).unwrap();
    assert!(trend < crisis, "the poll's events come first: {kinds:?}");
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    let alert = &events[crisis];
    assert_eq!(alert["data"]["type"], "CRISIS");
    assert_eq!(alert["data"]["priority"], "critical");
    assert_eq!(alert["data"]["campaignId"], campaign.to_string());
    assert_eq!(alert["data"]["data"]["severity"], "CRITICAL");
    let alert_id = alert["data"]["data"]["id"].as_str().unwrap().to_owned();

    // The alert center lists it, and the contact's SMS is in the outbox.
    let r = app
        .get(
            &format!("/api/v1/alerts?campaignId={campaign}"),
            Some(&analyst.access),
        )
        .await;
    let listed: Vec<&Value> = r.body["alerts"].as_array().unwrap().iter().collect();
    assert!(
        listed.iter().any(|a| a["id"] == alert_id.as_str()),
        "{}",
        r.text
    );
    // The batch breached more than one threshold (sentiment too), so more than one alert
    // went out; the crisis one is among the contact's messages.
    let sms = eventually("the crisis SMS", || async {
        let sent = sent_to(&app, "sms", CONTACT_PHONE).await;
        sent.into_iter().find(|m| m.body.contains("CRISIS ALERT"))
    })
    .await;
    assert!(sms.body.contains("Crisis score"), "{}", sms.body);
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next JSON message.
async fn next_event(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("an event within 10 s")
            .expect("stream open")
            .expect("frame");
        if let Message::Text(t) = msg {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

/// The next event of type `kind`, keeping the types seen on the way for the failure message.
async fn next_of(ws: &mut Ws, kind: &str, seen: &mut Vec<String>) -> Value {
    loop {
        let v = next_event(ws).await;
        let t = v["type"].as_str().unwrap_or_default().to_owned();
        if t == kind {
            return v;
        }
        seen.push(t);
    }
}
