//! The mention read endpoints (`/mentionlytics/*`, `/monitoring/{sentiment,mentions,trending,
//! trends}`, `/integrations/mentionlytics/{campaignId}`, docs/warroom.md "Analytics
//! (mentions)") on a scripted set of stored mentions in two campaigns: lists, filters and
//! windows in `mentions`, aggregates in `figures`, the feed in `feed`, parameter checks and
//! access in `validation`.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};
use uuid::Uuid;
use warroom::db::monitoring::{config, mention};

use crate::helpers::*;

mod feed;
mod figures;
mod mentions;
mod validation;

/// A mention to store: what the figures are computed from.
#[derive(Clone, Debug)]
pub struct Scripted {
    pub text: &'static str,
    pub platform: &'static str,
    pub sentiment: f64,
    pub reach: i64,
    pub engagement: i64,
    /// Minutes before now of the mention's timestamp.
    pub ago: i64,
    /// Minutes before now it was stored (default: a minute after its timestamp).
    pub arrived: Option<i64>,
    pub location: Option<&'static str>,
    pub author: &'static str,
    pub matched: Option<&'static str>,
}

impl Default for Scripted {
    fn default() -> Self {
        Self {
            text: "A mention",
            platform: "twitter",
            sentiment: 0.0,
            reach: 0,
            engagement: 0,
            ago: 60,
            arrived: None,
            location: None,
            author: "@someone",
            matched: None,
        }
    }
}

/// Stores `mentions` for `campaign` directly (ingestion is not under test here); their ids in
/// order.
pub async fn insert_mentions(app: &TestApp, campaign: &str, mentions: &[Scripted]) -> Vec<Uuid> {
    let campaign = Uuid::parse_str(campaign).unwrap();
    let now = Utc::now();
    let mut ids = Vec::new();
    for m in mentions {
        let id = Uuid::now_v7();
        let arrived = m.arrived.unwrap_or(m.ago - 1);
        mention::ActiveModel {
            id: Set(id),
            campaign_id: Set(campaign),
            config_id: Set(None),
            source_id: Set(id.to_string()),
            text: Set(m.text.into()),
            author: Set(m.author.into()),
            platform: Set(m.platform.into()),
            url: Set(format!("https://example.test/{id}")),
            sentiment: Set(m.sentiment),
            sentiment_source: Set("source".into()),
            reach: Set(m.reach),
            engagement: Set(m.engagement),
            timestamp: Set(now - Duration::minutes(m.ago)),
            location: Set(m.location.map(str::to_owned)),
            language: Set("en".into()),
            matched: Set(m.matched.map(str::to_owned)),
            ingested_at: Set(now - Duration::minutes(arrived)),
        }
        .insert(&app.ctx.db)
        .await
        .expect("insert mention");
        ids.push(id);
    }
    ids
}

/// Stores a stopped monitoring configuration (so no scheduler polls it) with these terms.
pub async fn insert_config(app: &TestApp, campaign: &str, keywords: &[&str], competitors: &[&str]) {
    let now = Utc::now();
    config::ActiveModel {
        id: Set(Uuid::now_v7()),
        campaign_id: Set(Uuid::parse_str(campaign).unwrap()),
        keywords: Set(json!(keywords)),
        competitors: Set(json!(competitors)),
        influencers: Set(json!([])),
        platforms: Set(json!(["twitter", "facebook"])),
        alert_thresholds: Set(json!({})),
        refresh_interval: Set(300),
        status: Set("stopped".into()),
        created_by: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        stopped_at: Set(Some(now)),
        polled_until: Set(None),
        next_poll_at: Set(now + Duration::days(365)),
        last_polled_at: Set(None),
        last_error: Set(None),
        mentions_ingested: Set(0),
    }
    .insert(&app.ctx.db)
    .await
    .expect("insert config");
}

/// Creates a campaign over the API as `token` and returns its id.
pub async fn create_campaign(app: &TestApp, token: &str, name: &str) -> String {
    let r = app
        .post(
            "/api/v1/campaigns",
            Some(token),
            json!({
                "name": name,
                "startDate": "2026-01-01",
                "endDate": "2026-12-31",
                "budget": 1000,
                "targetAudience": {
                    "demographics": { "ageRange": { "min": 18, "max": 99 } },
                    "platforms": ["twitter", "facebook"]
                }
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["id"].as_str().unwrap().to_owned()
}

/// Campaign A's mentions in the last 24 hours: 3 positive, 2 negative, 1 neutral, on two
/// platforms (one spelt `Twitter`); then one 30 hours old (the previous day) and one 10 days
/// old.
pub fn campaign_a() -> Vec<Scripted> {
    vec![
        Scripted {
            text: "Great jobs plan for #Springfield, proud to support",
            sentiment: 0.8,
            reach: 1000,
            engagement: 50,
            ago: 60,
            location: Some("Austin, TX"),
            author: "@alice",
            matched: Some("jobs plan"),
            ..Scripted::default()
        },
        Scripted {
            text: "Love the new jobs plan #springfield",
            platform: "facebook",
            sentiment: 0.6,
            reach: 500,
            engagement: 20,
            ago: 120,
            location: Some("Austin, TX"),
            author: "Bob Smith",
            matched: Some("jobs plan"),
            ..Scripted::default()
        },
        Scripted {
            text: "Jobs plan sounds good, 100% real",
            sentiment: 0.3,
            reach: 200,
            engagement: 5,
            ago: 170,
            location: Some("Dallas, TX"),
            author: "@alice",
            matched: Some("jobs plan"),
            ..Scripted::default()
        },
        Scripted {
            text: "Terrible scandal, rival_corp wins",
            sentiment: -0.7,
            reach: 3000,
            engagement: 100,
            ago: 230,
            author: "@carol",
            matched: Some("Rival Corp"),
            ..Scripted::default()
        },
        Scripted {
            text: "Awful taxes under_score plan",
            platform: "facebook",
            sentiment: -0.4,
            reach: 100,
            engagement: 2,
            ago: 290,
            location: Some("Dallas, TX"),
            author: "Dan",
            ..Scripted::default()
        },
        Scripted {
            text: "Town hall at noon",
            platform: "Twitter",
            sentiment: 0.0,
            reach: 50,
            engagement: 1,
            ago: 350,
            location: Some("Austin, TX"),
            author: "@alice",
            matched: Some("jobs plan"),
            ..Scripted::default()
        },
        Scripted {
            text: "Jobs plan announced",
            sentiment: 0.1,
            reach: 10,
            ago: 30 * 60,
            author: "@alice",
            matched: Some("jobs plan"),
            ..Scripted::default()
        },
        Scripted {
            text: "#Springfield ancient history",
            sentiment: 0.9,
            reach: 99_999,
            ago: 10 * 24 * 60,
            author: "@old",
            ..Scripted::default()
        },
    ]
}

/// Campaign B: one positive mention an hour and a half ago.
pub fn campaign_b() -> Vec<Scripted> {
    vec![Scripted {
        text: "Springfield parade great",
        sentiment: 0.9,
        reach: 700,
        engagement: 7,
        ago: 90,
        location: Some("Austin, TX"),
        author: "@erin",
        matched: Some("parade"),
        ..Scripted::default()
    }]
}

/// Two campaigns with their mentions, campaign A's monitoring terms, and a viewer.
pub struct World {
    pub app: TestApp,
    pub a: String,
    pub b: String,
    /// Campaign A's mention ids, in `campaign_a()` order.
    pub a_ids: Vec<Uuid>,
    pub b_ids: Vec<Uuid>,
    pub viewer: String,
    pub manager: String,
}

pub async fn world() -> World {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await.access;
    let viewer = app.login_as("viewer@example.com", "viewer").await.access;
    let a = create_campaign(&app, &manager, "Campaign A").await;
    let b = create_campaign(&app, &manager, "Campaign B").await;
    let a_ids = insert_mentions(&app, &a, &campaign_a()).await;
    let b_ids = insert_mentions(&app, &b, &campaign_b()).await;
    insert_config(&app, &a, &["Jobs Plan", "Town Hall"], &["Rival Corp"]).await;
    World {
        app,
        a,
        b,
        a_ids,
        b_ids,
        viewer,
        manager,
    }
}

/// `path?k=v&…`, the values form-encoded.
pub fn with_query(path: &str, query: &[(&str, &str)]) -> String {
    if query.is_empty() {
        return path.to_owned();
    }
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in query {
        s.append_pair(k, v);
    }
    format!("{path}?{}", s.finish())
}

impl World {
    /// GET as the viewer, expecting 200.
    pub async fn ok(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let r = self
            .app
            .get(&with_query(path, query), Some(&self.viewer))
            .await;
        assert_eq!(r.status, 200, "{path} {query:?}: {}", r.text);
        r.body
    }
}

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[track_caller]
pub fn approx(v: &Value, expected: f64) {
    let got = v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
    assert!((got - expected).abs() < 1e-6, "{got} != {expected}");
}

pub fn texts(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect()
}

pub const MENTIONS: &str = "/api/v1/mentionlytics/mentions";
