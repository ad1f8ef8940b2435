//! Mention ingestion end to end: the scheduler and `monitoring.poll` jobs, the backfill of a
//! first poll, deduplication when windows overlap, VADER for unscored mentions, `live_post`
//! and `trend_update` on a real WebSocket, the campaign's metrics; LIVE mode against a fake
//! Mentionlytics (the seed's request, an unconfigured token, a 503 retried by the queue);
//! `/monitoring/status` and `/monitoring/metrics`; a stopped config is not polled.

use std::{future::Future, time::Duration};

use chrono::{DateTime, SubsecRound, Utc};
use futures_util::StreamExt;
use platform::{
    datamode::Mode,
    jobs::{JobFilter, JobStatus, JobView},
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};
use uuid::Uuid;
use warroom::{
    db::monitoring::{config, mention},
    domain::{monitoring::ConfigId, sentiment},
    integrations::mentionlytics::{MentionQuery, MentionSource},
    service::ingest::{self, POLL_JOB, PollOutcome, Window},
};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{header, method, path},
};

use crate::{
    helpers::*,
    monitoring::{CONFIGS, campaign, config_body, id_of, monitor},
};
use platform::validate::Paging;

const WAIT: Duration = Duration::from_secs(15);
const ML_TOKEN: &str = "ml-test-token";

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// War Room in MOCK mode with `per_minute` mentions a minute per config and no bursts.
async fn mock_app(per_minute: u32) -> TestApp {
    spawn_app_with(|s| {
        s.vendors = s
            .vendors
            .clone()
            .with("MOCK_MENTIONS_PER_MINUTE", per_minute.to_string())
            .with("MOCK_BURST_EVERY_SECS", "0");
    })
    .await
}

/// War Room in LIVE mode against `server` (no token when `token` is `None`).
async fn live_app(server: &MockServer, token: Option<&str>) -> TestApp {
    let uri = server.uri();
    let token = token.map(str::to_owned);
    spawn_app_with(move |s| {
        s.data_mode = Mode::Live;
        let mut v = s.vendors.clone().with("MENTIONLYTICS_BASE_URL", uri);
        if let Some(t) = token {
            v = v.with("MENTIONLYTICS_TOKEN", t);
        }
        s.vendors = v;
    })
    .await
}

/// Waits until `check` answers `Some`, or fails naming `what`.
async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn config_row(app: &TestApp, id: Uuid) -> config::Model {
    config::Entity::find_by_id(id)
        .one(&app.ctx.db)
        .await
        .unwrap()
        .expect("the config")
}

/// Waits for a poll of `id` finished after `after` (any poll when `None`).
async fn polled(app: &TestApp, id: Uuid, after: Option<DateTime<Utc>>) -> config::Model {
    wait_for("a poll", || async {
        let row = config_row(app, id).await;
        match (row.last_polled_at, after) {
            (Some(at), Some(after)) if at > after => Some(row),
            (Some(_), None) => Some(row),
            _ => None,
        }
    })
    .await
}

async fn finished_job(app: &TestApp, id: Uuid) -> JobView {
    wait_for("the poll job to finish", || async {
        let job = app.ctx.jobs.get(id).await.unwrap().expect("the job");
        matches!(job.status, JobStatus::Succeeded | JobStatus::Dead).then_some(job)
    })
    .await
}

async fn poll_jobs(app: &TestApp) -> Vec<JobView> {
    let filter = JobFilter {
        kind: Some(POLL_JOB.into()),
        ..JobFilter::default()
    };
    app.ctx
        .jobs
        .page(&filter, Paging::new(1, 100))
        .await
        .unwrap()
        .items
}

async fn mentions_of(app: &TestApp, campaign: Uuid) -> Vec<mention::Model> {
    mention::Entity::find()
        .filter(mention::Column::CampaignId.eq(campaign))
        .all(&app.ctx.db)
        .await
        .unwrap()
}

/// Moves the config's `polled_until` back by `secs`, so the next poll overlaps the last.
async fn rewind(app: &TestApp, id: Uuid, secs: i64) {
    let until = config_row(app, id).await.polled_until.expect("polled");
    config::Entity::update_many()
        .col_expr(
            config::Column::PolledUntil,
            Expr::value(until - chrono::Duration::seconds(secs)),
        )
        .filter(config::Column::Id.eq(id))
        .exec(&app.ctx.db)
        .await
        .unwrap();
}

async fn set_next_poll(app: &TestApp, id: Uuid, at: DateTime<Utc>) {
    config::Entity::update_many()
        .col_expr(config::Column::NextPollAt, Expr::value(at))
        .filter(config::Column::Id.eq(id))
        .exec(&app.ctx.db)
        .await
        .unwrap();
}

/// A WebSocket on one campaign's stream, subscribed.
async fn follow(app: &TestApp, campaign: Uuid, token: &str) -> Ws {
    let url = format!("ws://{}/ws/campaigns/{campaign}/stream", app.addr);
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("upgrade");
    let first = next_message(&mut ws).await;
    assert_eq!(first["type"], "subscribed", "{first}");
    ws
}

async fn next_message(ws: &mut Ws) -> Value {
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

/// The `live_post`s before the next `trend_update`, and that update.
async fn posts_until_trend(ws: &mut Ws) -> (Vec<Value>, Value) {
    let mut posts = Vec::new();
    loop {
        let m = next_message(ws).await;
        match m["type"].as_str() {
            Some("live_post") => posts.push(m),
            Some("trend_update") => return (posts, m),
            _ => panic!("unexpected message {m}"),
        }
    }
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

// ------------------------------------------------------------------------------ MOCK mode

#[tokio::test]
async fn a_new_config_backfills_the_last_hour_and_publishes_a_summary_not_each_mention() {
    let app = mock_app(60).await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let campaign = campaign(&app, &manager.access, json!(["Rivera"])).await;
    let mut ws = follow(&app, campaign, &manager.access).await;
    let started = Utc::now();
    let config = monitor(&app, &manager.access, config_body(campaign)).await;
    let id = id_of(&config);

    // The first event is the backfill's summary: no live_post per mention.
    let (posts, trend) = posts_until_trend(&mut ws).await;
    assert!(posts.is_empty(), "a backfill streams no live_post");
    let data = &trend["data"];
    assert_eq!(data["type"], "SENTIMENT");
    assert_eq!(data["campaignId"], campaign.to_string());
    assert_eq!(data["priority"], "low");
    let summary = &data["data"];
    assert_eq!(summary["backfill"], true);
    assert_eq!(summary["configId"], id.to_string());

    let stored = mentions_of(&app, campaign).await;
    assert!(
        stored.len() > 100,
        "about an hour at 60 a minute: {}",
        stored.len()
    );
    assert_eq!(summary["mentions"], stored.len());
    let hour_ago = started - chrono::Duration::minutes(61);
    assert!(
        stored
            .iter()
            .all(|m| m.timestamp > hour_ago && m.timestamp <= Utc::now())
    );
    assert!(stored.iter().all(|m| m.config_id == Some(id)));
    assert!(
        stored
            .iter()
            .all(|m| ["twitter", "facebook", "news"].contains(&m.platform.as_str())),
        "only the config's platforms"
    );
    let by_label: usize = ["positive", "neutral", "negative"]
        .iter()
        .map(|k| summary[k].as_u64().unwrap() as usize)
        .sum();
    assert_eq!(by_label, stored.len());

    let row = polled(&app, id, None).await;
    assert_eq!(row.mentions_ingested, stored.len() as i64);
    assert!(row.last_error.is_none());
    let until = row.polled_until.expect("polled_until moved");
    assert!(until >= started);

    // The campaign's metrics come from its last 24 hours of mentions.
    let avg = stored.iter().map(|m| m.sentiment).sum::<f64>() / stored.len() as f64;
    let reach: i64 = stored.iter().map(|m| m.reach).sum();
    let engagement: i64 = stored.iter().map(|m| m.engagement).sum();
    let metrics = wait_for("campaign metrics", || async {
        let r = app
            .get(
                &format!("/api/v1/campaigns/{campaign}"),
                Some(&manager.access),
            )
            .await;
        let m = r.body["metrics"].clone();
        (m["sentimentScore"].as_f64() != Some(0.0)).then_some(m)
    })
    .await;
    assert_eq!(metrics["sentimentScore"], round4(avg));
    assert_eq!(
        metrics["engagementRate"],
        round4(engagement as f64 / reach as f64)
    );
    assert_eq!(metrics["impressions"], 0, "other metrics stay");
}

#[tokio::test]
async fn new_mentions_stream_as_live_posts_with_the_seed_fields() {
    let app = mock_app(600).await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let campaign = campaign(&app, &manager.access, json!(["Rivera"])).await;
    let mut body = config_body(campaign);
    body["refreshInterval"] = json!(3600);
    let id = id_of(&monitor(&app, &manager.access, body).await);
    // The backfill's job done, so its trend_update is not mistaken for this poll's.
    let backfill = wait_for("the backfill", || async {
        poll_jobs(&app).await.into_iter().next()
    })
    .await;
    finished_job(&app, backfill.id).await;
    let before = mentions_of(&app, campaign).await.len();

    let mut ws = follow(&app, campaign, &manager.access).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let job = ingest::poll_now(&app.ctx, ConfigId(id))
        .await
        .unwrap()
        .expect("an active config");
    let (posts, trend) = posts_until_trend(&mut ws).await;
    assert_eq!(finished_job(&app, job).await.status, JobStatus::Succeeded);

    assert!(
        !posts.is_empty(),
        "1.5 s at 10 a second brings new mentions"
    );
    let stored = mentions_of(&app, campaign).await;
    assert_eq!(
        stored.len(),
        before + posts.len(),
        "one live_post per new mention"
    );
    assert_eq!(trend["data"]["data"]["mentions"], posts.len());
    assert_eq!(trend["data"]["data"]["backfill"], false);
    let mut last: Option<DateTime<Utc>> = None;
    for p in &posts {
        let data = &p["data"];
        assert_eq!(data["type"], "MENTION", "{p}");
        assert_eq!(data["campaignId"], campaign.to_string());
        assert!(
            ["low", "medium", "high", "critical"].contains(&data["priority"].as_str().unwrap())
        );
        let m = &data["data"];
        for key in [
            "id",
            "text",
            "author",
            "platform",
            "url",
            "sentiment",
            "reach",
            "engagement",
            "timestamp",
            "location",
            "language",
            "campaignId",
            "sentimentLabel",
            "sentimentSource",
            "matched",
            "sourceId",
        ] {
            assert!(m.get(key).is_some(), "{key} missing from {m}");
        }
        assert_eq!(m["campaignId"], campaign.to_string());
        assert_eq!(data["timestamp"], m["timestamp"]);
        let at: DateTime<Utc> = m["timestamp"].as_str().unwrap().parse().unwrap();
        assert!(last.is_none_or(|l| l <= at), "oldest first");
        last = Some(at);
        let id: Uuid = m["id"].as_str().unwrap().parse().unwrap();
        let row = stored.iter().find(|r| r.id == id).expect("stored");
        assert_eq!(m["text"], row.text);
        assert_eq!(m["sentiment"], row.sentiment);
        assert_eq!(m["sentimentLabel"], json!(sentiment::label(row.sentiment)));
    }
}

#[tokio::test]
async fn overlapping_windows_and_repeated_batches_store_each_mention_once() {
    let app = mock_app(120).await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let campaign = campaign(&app, &manager.access, json!(["Rivera"])).await;
    let mut body = config_body(campaign);
    body["refreshInterval"] = json!(3600);
    let id = id_of(&monitor(&app, &manager.access, body).await);
    let first = polled(&app, id, None).await;
    let before = mentions_of(&app, campaign).await.len();

    // A poll whose window reaches ten minutes into the last one.
    rewind(&app, id, 600).await;
    let PollOutcome::Polled(report) = ingest::poll(&app.ctx, ConfigId(id)).await.unwrap() else {
        panic!("polled");
    };
    assert!(!report.backfill);
    assert!(report.fetched > report.stored, "{report:?}");
    let after = mentions_of(&app, campaign).await;
    assert_eq!(after.len(), before + report.stored);
    let mut ids: Vec<&str> = after.iter().map(|m| m.source_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), after.len(), "no source id twice");
    let row = config_row(&app, id).await;
    assert_eq!(
        row.mentions_ingested,
        after.len() as i64,
        "duplicates not counted"
    );
    assert!(row.polled_until > first.polled_until);

    // The same batch ingested twice: the second time nothing is new.
    let view = app
        .ctx
        .monitoring()
        .find(ConfigId(id))
        .await
        .unwrap()
        .unwrap();
    let now = Utc::now();
    let window = Window {
        since: now - chrono::Duration::hours(3),
        until: now - chrono::Duration::hours(2),
        backfill: true,
    };
    let query = MentionQuery {
        config_id: id,
        campaign_id: campaign,
        keywords: view.keywords.clone(),
        competitors: view.competitors.clone(),
        influencers: view.influencers.clone(),
        platforms: view.platforms.clone(),
        since: window.since,
        until: window.until,
        limit: 1000,
    };
    let batch = app.ctx.vendors.mentionlytics.fetch(&query).await.unwrap();
    assert!(!batch.is_empty());
    let once = ingest::ingest(&app.ctx, &view, batch.clone(), window)
        .await
        .unwrap();
    assert_eq!(once.stored, batch.len());
    let twice = ingest::ingest(&app.ctx, &view, batch.clone(), window)
        .await
        .unwrap();
    assert_eq!((twice.fetched, twice.stored), (batch.len(), 0));
    assert_eq!(
        mentions_of(&app, campaign).await.len(),
        after.len() + batch.len()
    );
    assert_eq!(
        config_row(&app, id).await.polled_until,
        row.polled_until,
        "an older window never moves polled_until back"
    );
}

#[tokio::test]
async fn vader_scores_the_mentions_the_source_left_unscored() {
    let app = mock_app(60).await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let campaign = campaign(&app, &manager.access, json!(["Rivera"])).await;
    let id = id_of(&monitor(&app, &manager.access, config_body(campaign)).await);
    polled(&app, id, None).await;
    let stored = mentions_of(&app, campaign).await;
    let (vader, source): (Vec<_>, Vec<_>) =
        stored.iter().partition(|m| m.sentiment_source == "vader");
    assert!(
        !vader.is_empty() && !source.is_empty(),
        "both kinds in an hour"
    );
    assert!(source.iter().all(|m| m.sentiment_source == "source"));
    for m in &vader {
        assert_eq!(m.sentiment, sentiment::score(&m.text), "{}", m.text);
    }
    assert!(stored.iter().all(|m| (-1.0..=1.0).contains(&m.sentiment)));
}

#[tokio::test]
async fn the_scheduler_polls_a_due_config_and_concurrent_schedulers_make_one_job() {
    let app = mock_app(60).await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let campaign = campaign(&app, &manager.access, json!(["Rivera"])).await;
    let mut body = config_body(campaign);
    body["refreshInterval"] = json!(3600);
    let id = id_of(&monitor(&app, &manager.access, body).await);
    let first = polled(&app, id, None).await;
    assert!(
        first.next_poll_at > Utc::now() + chrono::Duration::minutes(59),
        "the next poll is an interval later"
    );

    // Due again: the background scheduler polls it within a tick or two.
    set_next_poll(&app, id, Utc::now() - chrono::Duration::seconds(1)).await;
    polled(&app, id, first.last_polled_at).await;

    // Two schedulers seeing the same due poll enqueue one job and move the time once.
    let due = (Utc::now() - chrono::Duration::seconds(10)).trunc_subsecs(6);
    set_next_poll(&app, id, due).await;
    let (a, b) = tokio::join!(ingest::enqueue_due(&app.ctx), ingest::enqueue_due(&app.ctx));
    let key = format!(
        "poll:{id}:{}",
        due.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    );
    let job = app
        .ctx
        .jobs
        .get_by_key(&key)
        .await
        .unwrap()
        .expect("one job");
    for (config, job_id) in a.unwrap().into_iter().chain(b.unwrap()) {
        if config == id {
            assert_eq!(job_id, job.id);
        }
    }
    let next = config_row(&app, id).await.next_poll_at;
    assert!(next > Utc::now() + chrono::Duration::minutes(59), "{next}");
    assert_eq!(job.payload, json!({ "configId": id }));
    assert_eq!(job.max_attempts, ingest::POLL_ATTEMPTS);
}

#[tokio::test]
async fn a_stopped_config_is_not_polled_until_it_is_started_again() {
    let app = mock_app(60).await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let campaign = campaign(&app, &manager.access, json!(["Rivera"])).await;
    let mut body = config_body(campaign);
    body["refreshInterval"] = json!(10);
    let id = id_of(&monitor(&app, &manager.access, body).await);
    let first = polled(&app, id, None).await;
    let stored = mentions_of(&app, campaign).await.len();
    let r = app
        .post(
            &format!("{CONFIGS}/{id}/stop"),
            Some(&manager.access),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    assert_eq!(
        ingest::poll_now(&app.ctx, ConfigId(id)).await.unwrap(),
        None
    );
    assert_eq!(
        ingest::poll(&app.ctx, ConfigId(id)).await.unwrap(),
        PollOutcome::Skipped
    );
    set_next_poll(&app, id, Utc::now() - chrono::Duration::seconds(30)).await;
    let jobs = poll_jobs(&app).await.len();
    let due = ingest::enqueue_due(&app.ctx).await.unwrap();
    assert!(
        due.iter().all(|(c, _)| *c != id),
        "a stopped config is never due"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        poll_jobs(&app).await.len(),
        jobs,
        "the scheduler enqueued nothing"
    );
    let row = config_row(&app, id).await;
    assert_eq!(row.last_polled_at, first.last_polled_at);
    assert_eq!(
        mentions_of(&app, campaign).await.len(),
        stored,
        "mentions are kept"
    );

    let r = app
        .post(
            &format!("{CONFIGS}/{id}/start"),
            Some(&manager.access),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    polled(&app, id, first.last_polled_at).await;
}

#[tokio::test]
async fn status_and_metrics_report_polling_and_ingestion() {
    let app = mock_app(60).await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let viewer = app.login_as("viewer@example.com", "viewer").await;
    let r = app
        .get("/api/v1/monitoring/status", Some(&viewer.access))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "idle");
    assert_eq!(r.body["activeConfigs"], 0);
    assert_eq!(r.body["dataMode"], "MOCK");
    assert_eq!(r.body["mentionlytics"]["state"], "mock");

    let campaign = campaign(&app, &manager.access, json!(["Rivera"])).await;
    let id = id_of(&monitor(&app, &manager.access, config_body(campaign)).await);
    let row = polled(&app, id, None).await;
    let stored = mentions_of(&app, campaign).await;
    // The job is marked succeeded just after the poll records itself.
    wait_for("the poll job to succeed", || async {
        let done = poll_jobs(&app)
            .await
            .iter()
            .any(|j| j.status == JobStatus::Succeeded);
        done.then_some(())
    })
    .await;

    let r = app
        .get("/api/v1/monitoring/status", Some(&viewer.access))
        .await;
    assert_eq!(r.body["status"], "running", "{}", r.text);
    assert_eq!(r.body["activeConfigs"], 1);
    let c = &r.body["configs"][0];
    assert_eq!(c["configId"], id.to_string());
    assert_eq!(c["campaignId"], campaign.to_string());
    assert_eq!(c["mentionsIngested"], stored.len());
    assert!(c["lastPolledAt"].is_string() && c["nextPollAt"].is_string());
    assert!(c["lastError"].is_null());
    assert!(r.body["streams"]["feedEvents"].as_u64().unwrap() >= 1);
    assert_eq!(r.body["streams"]["heartbeatIntervalMs"], 30000);

    let m = app
        .get("/api/v1/monitoring/metrics", Some(&viewer.access))
        .await;
    assert_eq!(m.status, 200, "{}", m.text);
    assert_eq!(m.body["activeConfigs"], 1);
    let mentions = &m.body["mentions"];
    assert_eq!(mentions["lastHour"], stored.len());
    assert_eq!(mentions["last24Hours"], stored.len());
    assert_eq!(
        mentions["perMinuteLast15Minutes"],
        (stored.len() as f64 / 15.0 * 100.0).round() / 100.0
    );
    let avg = stored.iter().map(|m| m.sentiment).sum::<f64>() / stored.len() as f64;
    assert!((mentions["averageSentiment24Hours"].as_f64().unwrap() - avg).abs() < 1e-3);
    let polls = &m.body["polls"];
    assert!(polls["succeeded"].as_u64().unwrap() >= 1, "{polls}");
    assert_eq!(polls["dead"], 0);
    assert!(polls["lastPollLatencyMs"].as_i64().unwrap() >= 0);
    let last: DateTime<Utc> = polls["lastPollAt"].as_str().unwrap().parse().unwrap();
    assert!(last >= row.last_polled_at.unwrap());
}

// ------------------------------------------------------------------------------ LIVE mode

#[tokio::test]
async fn a_live_poll_sends_the_seeds_request_and_stores_what_mentionlytics_answers() {
    let server = MockServer::start().await;
    let now = Utc::now();
    let ago = |mins: i64| (now - chrono::Duration::minutes(mins)).to_rfc3339();
    let answer = json!({ "mentions": [
        { "id": "ml-1", "text": "Rivera's bridge plan is a disaster and a waste",
          "author": { "name": "Ana" }, "platform": "Twitter", "url": "https://x.test/1",
          "reach": 1200, "engagement": 30, "timestamp": ago(5), "language": "en" },
        { "id": "ml-2", "text": "Rivera rally tonight", "sentiment": 0.42,
          "author": "Ben", "platform": "facebook", "url": "https://fb.test/2", "reach": 50,
          "engagement": 2, "timestamp": ago(10), "location": "Austin, TX", "language": "en" },
        { "id": "ml-3", "text": "Rivera, long ago", "platform": "twitter",
          "timestamp": ago(180) },
    ]});
    Mock::given(method("POST"))
        .and(path("/mentions"))
        .and(header(
            "authorization",
            format!("Bearer {ML_TOKEN}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .mount(&server)
        .await;
    let app = live_app(&server, Some(ML_TOKEN)).await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let campaign = campaign(&app, &manager.access, json!(["Rivera"])).await;
    let mut body = config_body(campaign);
    body["refreshInterval"] = json!(3600);
    let id = id_of(&monitor(&app, &manager.access, body).await);
    let row = polled(&app, id, None).await;
    assert!(row.last_error.is_none(), "{:?}", row.last_error);

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert_eq!(req.headers["content-type"], "application/json");
    let sent: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(sent["keywords"], json!(["Rivera", "Harbor Bridge"]));
    assert_eq!(sent["limit"], 1000);
    assert_eq!(sent["sort"], "date_desc");
    assert_eq!(sent["competitors"], json!(["Chen"]));
    let since: DateTime<Utc> = sent["since"].as_str().unwrap().parse().unwrap();
    let until: DateTime<Utc> = sent["until"].as_str().unwrap().parse().unwrap();
    let span = (until - since).num_seconds();
    assert!(
        (3599..=3601).contains(&span),
        "a first poll asks for the last hour: {span}"
    );

    let mut stored = mentions_of(&app, campaign).await;
    stored.sort_by(|a, b| a.source_id.cmp(&b.source_id));
    assert_eq!(
        stored
            .iter()
            .map(|m| m.source_id.as_str())
            .collect::<Vec<_>>(),
        ["ml-1", "ml-2"],
        "the one outside the window is not stored"
    );
    let (scored, given) = (&stored[0], &stored[1]);
    assert_eq!(scored.sentiment_source, "vader");
    assert_eq!(scored.sentiment, sentiment::score(&scored.text));
    assert!(scored.sentiment < 0.0);
    assert_eq!(
        (scored.author.as_str(), scored.platform.as_str()),
        ("Ana", "twitter")
    );
    assert_eq!((scored.reach, scored.engagement), (1200, 30));
    assert_eq!(given.sentiment_source, "source");
    assert_eq!(given.sentiment, 0.42);
    assert_eq!(given.location.as_deref(), Some("Austin, TX"));
    assert_eq!(row.mentions_ingested, 2);

    // The next poll starts where this one ended and stores nothing twice.
    let PollOutcome::Polled(report) = ingest::poll(&app.ctx, ConfigId(id)).await.unwrap() else {
        panic!("polled");
    };
    assert_eq!((report.fetched, report.stored), (0, 0), "{report:?}");
    assert_eq!(report.since, row.polled_until.unwrap());
    let requests = server.received_requests().await.unwrap();
    let sent: Value = serde_json::from_slice(&requests[1].body).unwrap();
    let since: DateTime<Utc> = sent["since"].as_str().unwrap().parse().unwrap();
    assert_eq!(since.timestamp(), row.polled_until.unwrap().timestamp());
}

#[tokio::test]
async fn an_unconfigured_live_source_is_reported_without_crashing_or_retrying() {
    let server = MockServer::start().await;
    let app = live_app(&server, None).await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let campaign = campaign(&app, &manager.access, json!(["Rivera"])).await;
    let id = id_of(&monitor(&app, &manager.access, config_body(campaign)).await);
    let row = polled(&app, id, None).await;
    let error = row.last_error.expect("the poll failed");
    assert!(error.contains("MENTIONLYTICS_TOKEN"), "{error}");
    assert_eq!(row.mentions_ingested, 0);
    assert!(
        row.polled_until.is_none(),
        "the window is fetched again next time"
    );
    assert!(server.received_requests().await.unwrap().is_empty());

    let job = wait_for("the job to finish", || async {
        poll_jobs(&app)
            .await
            .into_iter()
            .find(|j| j.status == JobStatus::Succeeded)
    })
    .await;
    assert_eq!(job.attempts, 1, "not retried: the next poll tries again");

    let view = app
        .get(&format!("{CONFIGS}/{id}"), Some(&manager.access))
        .await;
    assert!(
        view.body["lastError"]
            .as_str()
            .unwrap()
            .contains("MENTIONLYTICS_TOKEN")
    );
    let status = app
        .get("/api/v1/monitoring/status", Some(&manager.access))
        .await;
    assert_eq!(status.body["status"], "degraded", "{}", status.text);
    assert_eq!(status.body["mentionlytics"]["state"], "unconfigured");
    assert_eq!(
        status.body["mentionlytics"]["missingSetting"],
        "MENTIONLYTICS_TOKEN"
    );
    let health = app.get("/api/v1/health", None).await;
    assert_eq!(health.status, 200);
}

#[tokio::test]
async fn an_unavailable_vendor_makes_the_poll_job_retry_until_it_answers() {
    let server = MockServer::start().await;
    // Three 503s: the adapter's own attempts (1 + 2 retries) for the job's first run.
    Mock::given(method("POST"))
        .and(path("/mentions"))
        .respond_with(ResponseTemplate::new(503).set_body_json(json!({ "message": "down" })))
        .up_to_n_times(3)
        .with_priority(1)
        .mount(&server)
        .await;
    let fresh = (Utc::now() - chrono::Duration::minutes(2)).to_rfc3339();
    Mock::given(method("POST"))
        .and(path("/mentions"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "mentions": [
                { "id": "ml-9", "text": "Rivera at the docks", "platform": "twitter",
                  "timestamp": fresh }
            ]})),
        )
        .mount(&server)
        .await;
    let app = live_app(&server, Some(ML_TOKEN)).await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let campaign = campaign(&app, &manager.access, json!(["Rivera"])).await;
    let mut body = config_body(campaign);
    body["refreshInterval"] = json!(3600);
    let id = id_of(&monitor(&app, &manager.access, body).await);

    let failed = polled(&app, id, None).await;
    let error = failed.last_error.expect("the first run failed");
    assert!(error.starts_with("Mentionlytics is unavailable"), "{error}");

    let job = wait_for("the retried job to succeed", || async {
        poll_jobs(&app)
            .await
            .into_iter()
            .find(|j| j.status == JobStatus::Succeeded)
    })
    .await;
    assert_eq!(job.attempts, 2, "{job:?}");
    let attempts = app.ctx.jobs.attempts(job.id).await.unwrap();
    assert_eq!(
        attempts
            .iter()
            .map(|a| a.outcome.map(|o| o.as_str()))
            .collect::<Vec<_>>(),
        [Some("retrying"), Some("succeeded")]
    );
    let row = config_row(&app, id).await;
    assert!(row.last_error.is_none(), "cleared by the poll that worked");
    assert_eq!(row.mentions_ingested, 1);
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test]
async fn a_token_mentionlytics_refuses_is_reported_and_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/mentions"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({ "message": "invalid token" })),
        )
        .mount(&server)
        .await;
    let app = live_app(&server, Some(ML_TOKEN)).await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let campaign = campaign(&app, &manager.access, json!(["Rivera"])).await;
    let mut body = config_body(campaign);
    body["refreshInterval"] = json!(3600);
    let id = id_of(&monitor(&app, &manager.access, body).await);

    let row = polled(&app, id, None).await;
    let error = row.last_error.expect("the poll failed");
    assert!(error.contains("refused the request (401)"), "{error}");
    let job = wait_for("the job to finish", || async {
        poll_jobs(&app)
            .await
            .into_iter()
            .find(|j| j.status == JobStatus::Succeeded)
    })
    .await;
    assert_eq!(job.attempts, 1, "a refused token is not retried");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}
