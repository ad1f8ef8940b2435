//! Helpers the alerting, crisis, delivery and notification tests share: scripted mentions
//! stored as ingestion would, campaigns, outbox readers, raising a crisis alert, and a bounded
//! poll for what the background worker does.

use std::{future::Future, time::Duration};

use chrono::{DateTime, Utc};
use platform::outbox::OutboxMessage;
use reqwest::{Method, StatusCode};
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};
use uuid::Uuid;
use warroom::db::monitoring::mention;

use crate::helpers::{Resp, TestApp};
use platform::validate::Paging;

/// Polls `check` until it answers `Some` (every 50 ms, up to 10 s): jobs run in the
/// background worker.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A valid campaign: a `CreateCampaignRequest`.
pub fn campaign_body() -> Value {
    json!({
        "name": "Harbor County Senate",
        "description": "General election",
        "startDate": "2026-01-01T00:00:00Z",
        "endDate": "2026-11-03T00:00:00Z",
        "budget": 25000,
        "targetAudience": {
            "demographics": { "ageRange": { "min": 18, "max": 65 } },
            "platforms": ["twitter"]
        }
    })
}

/// A campaign created by `manager` over the API.
pub async fn campaign(app: &TestApp, token: &str) -> Uuid {
    let r = app
        .post("/api/v1/campaigns", Some(token), campaign_body())
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_str().unwrap().parse().unwrap()
}

/// One scripted mention.
#[derive(Clone, Copy, Debug)]
pub struct M {
    pub at: DateTime<Utc>,
    pub sentiment: f64,
    pub reach: i64,
    pub engagement: i64,
}

/// `per_minute` mentions a minute for `minutes` from `from`, alternating sentiment
/// `sentiment ± spread`.
pub fn stream(
    from: DateTime<Utc>,
    minutes: i64,
    per_minute: i64,
    sentiment: f64,
    reach: i64,
) -> Vec<M> {
    let step = 60_000 / per_minute;
    (0..minutes * per_minute)
        .map(|i| M {
            at: from + chrono::Duration::milliseconds(step * i + 1),
            sentiment,
            reach,
            engagement: 40,
        })
        .collect()
}

/// Stores mentions directly, as ingestion would.
pub async fn insert_mentions(app: &TestApp, campaign: Uuid, ms: &[M]) {
    for chunk in ms.chunks(200) {
        let rows = chunk.iter().map(|m| {
            let id = Uuid::now_v7();
            mention::ActiveModel {
                id: Set(id),
                campaign_id: Set(campaign),
                config_id: Set(None),
                source_id: Set(id.to_string()),
                text: Set("Scripted mention".into()),
                author: Set("@tester".into()),
                platform: Set("twitter".into()),
                url: Set(format!("https://x.example/{id}")),
                sentiment: Set(m.sentiment),
                sentiment_source: Set("source".into()),
                reach: Set(m.reach),
                engagement: Set(m.engagement),
                timestamp: Set(m.at),
                location: Set(None),
                language: Set("en".into()),
                matched: Set(None),
                ingested_at: Set(Utc::now()),
            }
        });
        mention::Entity::insert_many(rows)
            .exec_without_returning(&app.ctx.db)
            .await
            .expect("mentions stored");
    }
}

/// A start time on the whole minute, `hours` ago: scripted timelines run from there.
pub fn hours_ago(hours: i64) -> DateTime<Utc> {
    let t = Utc::now() - chrono::Duration::hours(hours);
    DateTime::from_timestamp(t.timestamp() - t.timestamp() % 60, 0).unwrap()
}

pub async fn outbox(app: &TestApp) -> Vec<OutboxMessage> {
    app.ctx
        .outbox
        .page(Paging::new(1, 1000))
        .await
        .unwrap()
        .items
}

/// The outbox messages on `channel` to `recipient`.
pub async fn sent_to(app: &TestApp, channel: &str, recipient: &str) -> Vec<OutboxMessage> {
    outbox(app)
        .await
        .into_iter()
        .filter(|m| m.channel == channel && m.recipient == recipient)
        .collect()
}

/// `POST /alerting/crisis` as `token`; the alert id.
pub async fn raise_crisis(app: &TestApp, token: &str, campaign: Uuid, score: f64) -> Uuid {
    let r = app
        .post(
            "/api/v1/alerting/crisis",
            Some(token),
            crisis_body(campaign, score),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["alertId"].as_str().unwrap().parse().unwrap()
}

pub fn crisis_body(campaign: Uuid, score: f64) -> Value {
    json!({
        "campaignId": campaign,
        "crisisScore": score,
        "triggers": ["Negative surge", "Mention spike"],
        "affectedPlatforms": ["twitter", "facebook"],
        "estimatedReach": 125000,
        "sentimentImpact": -0.45,
        "recommendedActions": ["Hold a press briefing", "Prepare a statement"]
    })
}

pub async fn alert(app: &TestApp, token: &str, id: Uuid) -> Value {
    let r = app.get(&format!("/api/v1/alerts/{id}"), Some(token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

/// Waits until the alert's delivery status is final; answers the alert with deliveries.
pub async fn settled(app: &TestApp, token: &str, id: Uuid) -> Value {
    eventually("the alert's deliveries to finish", || async {
        let a = alert(app, token, id).await;
        (!["pending", "processing"].contains(&a["status"].as_str().unwrap())).then_some(a)
    })
    .await
}

/// The deliveries of `alert` on `channel` (`SMS`, ...).
pub fn deliveries<'a>(alert: &'a Value, channel: &str) -> Vec<&'a Value> {
    alert["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["channel"] == channel)
        .collect()
}

pub async fn put_contacts(app: &TestApp, token: &str, campaign: Uuid, contacts: Value) -> Resp {
    app.request(
        Method::PUT,
        &format!("/api/v1/campaigns/{campaign}/crisis-contacts"),
        Some(token),
        Some(json!({ "contacts": contacts })),
    )
    .await
}
