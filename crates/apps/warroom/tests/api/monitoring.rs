//! `/api/v1/monitoring/config`: create, list, read, change, stop, restart; every validation
//! rule at its boundary; one active config per campaign (also under concurrent creates); who
//! may call what (docs/warroom.md, "Monitoring and ingestion").

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::*;

pub const CONFIGS: &str = "/api/v1/monitoring/config";

/// A campaign created by `token` with `keywords`; returns its id.
pub async fn campaign(app: &TestApp, token: &str, keywords: Value) -> Uuid {
    let r = app
        .post(
            "/api/v1/campaigns",
            Some(token),
            json!({
                "name": "Harbor County Senate",
                "startDate": "2026-01-01T00:00:00Z",
                "endDate": "2026-11-03T00:00:00Z",
                "budget": 25000,
                "targetAudience": {
                    "demographics": { "ageRange": { "min": 18, "max": 65 } },
                    "platforms": ["twitter", "facebook"]
                },
                "keywords": keywords,
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["id"].as_str().unwrap().parse().unwrap()
}

/// A valid `MonitoringConfig` for `campaign`.
pub fn config_body(campaign: Uuid) -> Value {
    json!({
        "campaignId": campaign,
        "keywords": ["Rivera", "Harbor Bridge"],
        "competitors": ["Chen"],
        "influencers": ["@harborwatch"],
        "platforms": ["twitter", "facebook", "news"],
        "alertThresholds": {
            "sentimentDrop": -0.3, "mentionSpike": 5, "crisisScore": 0.8, "engagementDrop": -0.5
        },
        "refreshInterval": 60
    })
}

/// Creates a config and returns the stored view.
pub async fn monitor(app: &TestApp, token: &str, body: Value) -> Value {
    let r = app.post(CONFIGS, Some(token), body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["configId"], r.body["config"]["id"], "{}", r.text);
    r.body["config"].clone()
}

pub fn id_of(v: &Value) -> Uuid {
    v["id"].as_str().expect("an id").parse().unwrap()
}

async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> Resp {
    app.request(Method::PUT, path, Some(token), Some(body))
        .await
}

#[track_caller]
fn expect_invalid(r: &Resp, field: &str) {
    expect_error(r, 400, "invalid_argument");
    let fields = error_fields(r);
    assert!(
        fields.iter().any(|f| f == field),
        "{field} not among {fields:?}: {}",
        r.text
    );
}

/// `body` with `path` (dot-separated) set to `value`, or removed when `value` is `None`.
fn edit(mut body: Value, path: &str, value: Option<Value>) -> Value {
    let keys: Vec<&str> = path.split('.').collect();
    let mut at = &mut body;
    for k in &keys[..keys.len() - 1] {
        at = &mut at[*k];
    }
    let last = keys[keys.len() - 1];
    match value {
        Some(v) => at[last] = v,
        None => {
            at.as_object_mut().unwrap().remove(last);
        }
    }
    body
}

// ------------------------------------------------------------------------ create and read

#[tokio::test]
async fn a_manager_starts_monitoring_a_campaign_and_everyone_signed_in_reads_it() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let viewer = app.login_as("viewer@example.com", "viewer").await;
    let campaign = campaign(&app, &manager.access, json!(["Rivera"])).await;

    let r = app
        .post(CONFIGS, Some(&manager.access), config_body(campaign))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["configId"].as_str().unwrap().to_owned();
    let config = &r.body["config"];
    assert_eq!(config["campaignId"], campaign.to_string());
    assert_eq!(config["keywords"], json!(["Rivera", "Harbor Bridge"]));
    assert_eq!(config["competitors"], json!(["Chen"]));
    assert_eq!(config["influencers"], json!(["@harborwatch"]));
    assert_eq!(config["platforms"], json!(["twitter", "facebook", "news"]));
    assert_eq!(config["alertThresholds"]["mentionSpike"], 5.0);
    assert_eq!(config["refreshInterval"], 60);
    assert_eq!(config["status"], "active");
    assert_eq!(config["createdBy"], manager.user.id.to_string());
    assert_eq!(config["mentionsIngested"], 0);
    assert!(config["nextPollAt"].is_string(), "due for its first poll");
    assert!(config["stoppedAt"].is_null() && config["lastError"].is_null());

    let got = app
        .get(&format!("{CONFIGS}/{id}"), Some(&viewer.access))
        .await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.body["id"], id);
    assert_eq!(got.body["keywords"], config["keywords"]);
}

#[tokio::test]
async fn missing_fields_take_documented_defaults_and_keywords_come_from_the_campaign() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let long = "x".repeat(101);
    let campaign = campaign(
        &app,
        &manager.access,
        json!(["Rivera", { "keyword": long, "weight": 2 }, "Harbor Bridge"]),
    )
    .await;
    let config = monitor(&app, &manager.access, json!({ "campaignId": campaign })).await;
    assert_eq!(
        config["keywords"],
        json!(["Rivera", "Harbor Bridge"]),
        "the campaign's keywords, without those over 100 characters"
    );
    assert_eq!(config["competitors"], json!([]));
    assert_eq!(config["platforms"], json!([]), "empty means every platform");
    assert_eq!(
        config["alertThresholds"],
        json!({ "sentimentDrop": -0.3, "mentionSpike": 5.0, "crisisScore": 0.8,
                "engagementDrop": -0.5 })
    );
    assert_eq!(config["refreshInterval"], 60);

    // Partial thresholds: the rest are the defaults.
    let other = campaign_with_keywords(&app, &manager.access).await;
    let config = monitor(
        &app,
        &manager.access,
        json!({ "campaignId": other, "alertThresholds": { "crisisScore": 0.6 } }),
    )
    .await;
    assert_eq!(config["alertThresholds"]["crisisScore"], 0.6);
    assert_eq!(config["alertThresholds"]["sentimentDrop"], -0.3);
}

async fn campaign_with_keywords(app: &TestApp, token: &str) -> Uuid {
    campaign(app, token, json!(["Rivera"])).await
}

#[tokio::test]
async fn a_campaign_without_keywords_needs_them_in_the_request() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let campaign = campaign(&app, &manager.access, json!([])).await;
    let r = app
        .post(
            CONFIGS,
            Some(&manager.access),
            json!({ "campaignId": campaign }),
        )
        .await;
    expect_invalid(&r, "keywords");
    let r = app
        .post(
            CONFIGS,
            Some(&manager.access),
            json!({ "campaignId": campaign, "keywords": [] }),
        )
        .await;
    expect_invalid(&r, "keywords");
    let r = app
        .post(
            CONFIGS,
            Some(&manager.access),
            json!({ "campaignId": campaign, "keywords": ["Rivera"] }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
}

#[tokio::test]
async fn an_unknown_campaign_is_not_found_and_a_malformed_one_is_invalid() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let r = app
        .post(CONFIGS, Some(&manager.access), config_body(Uuid::now_v7()))
        .await;
    expect_error(&r, 404, "not_found");
    assert_eq!(r.body["message"], "Campaign not found");
    let r = app
        .post(
            CONFIGS,
            Some(&manager.access),
            edit(config_body(Uuid::nil()), "campaignId", Some(json!("nope"))),
        )
        .await;
    expect_invalid(&r, "campaignId");
    let r = app
        .post(
            CONFIGS,
            Some(&manager.access),
            edit(config_body(Uuid::nil()), "campaignId", None),
        )
        .await;
    expect_invalid(&r, "campaignId");
}

#[tokio::test]
async fn every_rule_is_checked_at_its_boundary_and_all_broken_fields_are_reported() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let campaign = campaign_with_keywords(&app, &manager.access).await;
    let base = config_body(campaign);
    let terms = |n: usize| json!((0..n).map(|i| format!("term {i}")).collect::<Vec<_>>());
    let refused: Vec<(&str, Value, &str)> = vec![
        ("keywords", json!([]), "keywords"),
        ("keywords", terms(51), "keywords"),
        ("keywords", json!(["ok", "   "]), "keywords[1]"),
        ("keywords", json!(["x".repeat(101)]), "keywords[0]"),
        ("competitors", terms(51), "competitors"),
        ("competitors", json!([""]), "competitors[0]"),
        ("influencers", terms(51), "influencers"),
        ("influencers", json!(["y".repeat(101)]), "influencers[0]"),
        ("platforms", json!(["twitter", "myspace"]), "platforms[1]"),
        (
            "alertThresholds.sentimentDrop",
            json!(0),
            "alertThresholds.sentimentDrop",
        ),
        (
            "alertThresholds.sentimentDrop",
            json!(-1.01),
            "alertThresholds.sentimentDrop",
        ),
        (
            "alertThresholds.mentionSpike",
            json!(1),
            "alertThresholds.mentionSpike",
        ),
        (
            "alertThresholds.mentionSpike",
            json!(100.5),
            "alertThresholds.mentionSpike",
        ),
        (
            "alertThresholds.crisisScore",
            json!(0),
            "alertThresholds.crisisScore",
        ),
        (
            "alertThresholds.crisisScore",
            json!(1.01),
            "alertThresholds.crisisScore",
        ),
        (
            "alertThresholds.engagementDrop",
            json!(0),
            "alertThresholds.engagementDrop",
        ),
        (
            "alertThresholds.engagementDrop",
            json!(-1.5),
            "alertThresholds.engagementDrop",
        ),
        ("refreshInterval", json!(9), "refreshInterval"),
        ("refreshInterval", json!(86401), "refreshInterval"),
        ("refreshInterval", json!(30.5), "refreshInterval"),
    ];
    for (path, value, field) in &refused {
        let r = app
            .post(
                CONFIGS,
                Some(&manager.access),
                edit(base.clone(), path, Some(value.clone())),
            )
            .await;
        expect_invalid(&r, field);
    }
    // Wrong types, nulls and unknown fields are refused in War Room's shape too.
    for body in [
        edit(base.clone(), "keywords", Some(json!("Rivera"))),
        edit(base.clone(), "refreshInterval", Some(Value::Null)),
        edit(base.clone(), "surprise", Some(json!(1))),
        edit(base.clone(), "alertThresholds.other", Some(json!(1))),
    ] {
        let r = app.post(CONFIGS, Some(&manager.access), body).await;
        expect_error(&r, 400, "invalid_argument");
    }
    // All at once: every field named.
    let r = app
        .post(
            CONFIGS,
            Some(&manager.access),
            json!({
                "campaignId": campaign, "keywords": [], "platforms": ["fax"],
                "alertThresholds": { "crisisScore": 2 }, "refreshInterval": 1
            }),
        )
        .await;
    let mut fields = error_fields(&r);
    fields.sort();
    assert_eq!(
        fields,
        [
            "alertThresholds.crisisScore",
            "keywords",
            "platforms[0]",
            "refreshInterval"
        ]
    );
    let r = app.get(CONFIGS, Some(&manager.access)).await;
    assert_eq!(r.body["total"], 0, "nothing was stored: {}", r.text);

    // The boundaries themselves are accepted (checked through PUT on one config).
    let config = monitor(&app, &manager.access, base.clone()).await;
    let one = format!("{CONFIGS}/{}", id_of(&config));
    let accepted: Vec<(&str, Value)> = vec![
        ("keywords", terms(50)),
        ("keywords", json!(["x".repeat(100)])),
        ("competitors", terms(50)),
        ("influencers", json!([])),
        ("platforms", json!(PLATFORMS)),
        ("alertThresholds.sentimentDrop", json!(-1)),
        ("alertThresholds.sentimentDrop", json!(-0.0001)),
        ("alertThresholds.mentionSpike", json!(1.0001)),
        ("alertThresholds.mentionSpike", json!(100)),
        ("alertThresholds.crisisScore", json!(0.0001)),
        ("alertThresholds.crisisScore", json!(1)),
        ("alertThresholds.engagementDrop", json!(-1)),
        ("refreshInterval", json!(10)),
        ("refreshInterval", json!(86400)),
    ];
    for (path, value) in &accepted {
        let r = put(
            &app,
            &one,
            &manager.access,
            edit(base.clone(), path, Some(value.clone())),
        )
        .await;
        assert_eq!(r.status, 200, "{path} = {value}: {}", r.text);
    }
}

const PLATFORMS: [&str; 8] = [
    "twitter",
    "facebook",
    "instagram",
    "tiktok",
    "youtube",
    "reddit",
    "news",
    "google",
];

#[tokio::test]
async fn terms_are_trimmed_and_repeats_dropped() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let campaign = campaign_with_keywords(&app, &manager.access).await;
    let body = json!({
        "campaignId": campaign,
        "keywords": ["  Rivera ", "RIVERA", "Harbor Bridge"],
        "competitors": ["Chen", "chen "],
        "platforms": ["Twitter", "twitter", "NEWS"],
    });
    let config = monitor(&app, &manager.access, body).await;
    assert_eq!(config["keywords"], json!(["Rivera", "Harbor Bridge"]));
    assert_eq!(config["competitors"], json!(["Chen"]));
    assert_eq!(config["platforms"], json!(["twitter", "news"]));
}

// --------------------------------------------------------------- one active per campaign

#[tokio::test]
async fn a_campaign_has_one_active_config_and_a_second_is_a_conflict_naming_the_first() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let campaign = campaign_with_keywords(&app, &manager.access).await;
    let first = monitor(&app, &manager.access, config_body(campaign)).await;
    let r = app
        .post(CONFIGS, Some(&manager.access), config_body(campaign))
        .await;
    expect_error(&r, 409, "already_exists");
    assert_eq!(r.body["details"]["configId"], first["id"], "{}", r.text);
    assert_eq!(r.body["details"]["campaignId"], campaign.to_string());

    // Once the first is stopped, a new one may start; the first cannot restart beside it.
    let stop = app
        .post(
            &format!("{CONFIGS}/{}/stop", id_of(&first)),
            Some(&manager.access),
            json!({}),
        )
        .await;
    assert_eq!(stop.status, 200, "{}", stop.text);
    let second = monitor(&app, &manager.access, config_body(campaign)).await;
    let r = app
        .post(
            &format!("{CONFIGS}/{}/start", id_of(&first)),
            Some(&manager.access),
            json!({}),
        )
        .await;
    expect_error(&r, 409, "already_exists");
    assert_eq!(r.body["details"]["configId"], second["id"], "{}", r.text);

    // Another campaign is independent.
    let other = campaign_with_keywords(&app, &manager.access).await;
    monitor(&app, &manager.access, config_body(other)).await;
}

#[tokio::test]
async fn of_concurrent_creates_for_one_campaign_exactly_one_wins() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let campaign = campaign_with_keywords(&app, &manager.access).await;
    let attempts = (0..6).map(|_| app.post(CONFIGS, Some(&manager.access), config_body(campaign)));
    let results = futures_util::future::join_all(attempts).await;
    let created = results.iter().filter(|r| r.status == 201).count();
    let conflicts = results.iter().filter(|r| r.status == 409).count();
    assert_eq!(
        (created, conflicts),
        (1, 5),
        "{:?}",
        results.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
    let list = app
        .get(
            &format!("{CONFIGS}?campaignId={campaign}"),
            Some(&manager.access),
        )
        .await;
    assert_eq!(list.body["total"], 1, "{}", list.text);
}

// ------------------------------------------------------------------ change, stop, restart

#[tokio::test]
async fn an_update_replaces_terms_thresholds_and_interval_but_never_the_campaign() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let campaign = campaign_with_keywords(&app, &manager.access).await;
    let config = monitor(&app, &manager.access, config_body(campaign)).await;
    let one = format!("{CONFIGS}/{}", id_of(&config));
    let body = json!({
        "campaignId": campaign,
        "keywords": ["Rivera for Senate"],
        "platforms": ["reddit"],
        "alertThresholds": { "sentimentDrop": -0.5, "mentionSpike": 3, "crisisScore": 0.9,
                             "engagementDrop": -0.2 },
        "refreshInterval": 300
    });
    let r = put(&app, &one, &manager.access, body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["keywords"], json!(["Rivera for Senate"]));
    assert_eq!(
        r.body["competitors"],
        json!([]),
        "PUT replaces: missing is none"
    );
    assert_eq!(r.body["platforms"], json!(["reddit"]));
    assert_eq!(r.body["alertThresholds"]["crisisScore"], 0.9);
    assert_eq!(r.body["refreshInterval"], 300);
    assert_eq!(r.body["createdAt"], config["createdAt"]);
    assert_ne!(r.body["updatedAt"], config["updatedAt"]);

    // A fetched config can be sent back whole.
    let fetched = app.get(&one, Some(&manager.access)).await.body;
    let r = put(&app, &one, &manager.access, fetched.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["keywords"], fetched["keywords"]);

    // The campaign cannot change.
    let other = campaign_with_keywords(&app, &manager.access).await;
    let r = put(&app, &one, &manager.access, config_body(other)).await;
    expect_invalid(&r, "campaignId");
    let r = put(
        &app,
        &one,
        &manager.access,
        edit(config_body(campaign), "refreshInterval", Some(json!(5))),
    )
    .await;
    expect_invalid(&r, "refreshInterval");
}

#[tokio::test]
async fn stop_and_delete_stop_polling_keep_the_config_and_start_resumes_it() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let campaign = campaign_with_keywords(&app, &manager.access).await;
    let config = monitor(&app, &manager.access, config_body(campaign)).await;
    let one = format!("{CONFIGS}/{}", id_of(&config));

    let stopped = app
        .post(&format!("{one}/stop"), Some(&manager.access), json!({}))
        .await;
    assert_eq!(stopped.status, 200, "{}", stopped.text);
    assert_eq!(stopped.body["status"], "stopped");
    assert!(stopped.body["stoppedAt"].is_string());
    assert!(stopped.body["nextPollAt"].is_null());
    // Stopping again changes nothing.
    let again = app
        .post(&format!("{one}/stop"), Some(&manager.access), json!({}))
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["stoppedAt"], stopped.body["stoppedAt"]);

    let started = app
        .post(&format!("{one}/start"), Some(&manager.access), json!({}))
        .await;
    assert_eq!(started.status, 200, "{}", started.text);
    assert_eq!(started.body["status"], "active");
    assert!(started.body["stoppedAt"].is_null());
    assert!(started.body["nextPollAt"].is_string());
    // Starting an active config changes nothing either.
    let again = app
        .post(&format!("{one}/start"), Some(&manager.access), json!({}))
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["status"], "active");

    let deleted = app.delete(&one, Some(&manager.access)).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert_eq!(deleted.body["status"], "stopped");
    let kept = app.get(&one, Some(&manager.access)).await;
    assert_eq!(kept.status, 200, "DELETE keeps the config");
    assert_eq!(kept.body["status"], "stopped");
}

#[tokio::test]
async fn lists_are_newest_first_paginated_and_filtered() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let mut ids = Vec::new();
    let mut campaigns = Vec::new();
    for _ in 0..3 {
        let c = campaign_with_keywords(&app, &manager.access).await;
        campaigns.push(c);
        ids.push(id_of(&monitor(&app, &manager.access, config_body(c)).await));
    }
    app.post(
        &format!("{CONFIGS}/{}/stop", ids[0]),
        Some(&manager.access),
        json!({}),
    )
    .await;
    let listed = |r: &Resp| -> Vec<String> {
        r.body["configs"]
            .as_array()
            .unwrap_or_else(|| panic!("{}", r.text))
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = app.get(CONFIGS, Some(&manager.access)).await;
    assert_eq!(all.body["total"], 3);
    assert_eq!(
        listed(&all),
        ids.iter().rev().map(Uuid::to_string).collect::<Vec<_>>()
    );
    let page = app
        .get(&format!("{CONFIGS}?page=2&limit=2"), Some(&manager.access))
        .await;
    assert_eq!(listed(&page), [ids[0].to_string()]);
    assert_eq!(
        (page.body["page"].clone(), page.body["limit"].clone()),
        (json!(2), json!(2))
    );
    let active = app
        .get(&format!("{CONFIGS}?status=active"), Some(&manager.access))
        .await;
    assert_eq!(active.body["total"], 2);
    let stopped = app
        .get(&format!("{CONFIGS}?status=stopped"), Some(&manager.access))
        .await;
    assert_eq!(listed(&stopped), [ids[0].to_string()]);
    let one = app
        .get(
            &format!("{CONFIGS}?campaignId={}", campaigns[1]),
            Some(&manager.access),
        )
        .await;
    assert_eq!(listed(&one), [ids[1].to_string()]);
    for (query, field) in [
        ("status=paused", "status"),
        ("campaignId=nope", "campaignId"),
        ("limit=101", "limit"),
        ("page=0", "page"),
    ] {
        let r = app
            .get(&format!("{CONFIGS}?{query}"), Some(&manager.access))
            .await;
        expect_invalid(&r, field);
    }
}

// ------------------------------------------------------------------------- who may do what

/// Who may call each endpoint is the access matrix's (tests/api/access_matrix.rs); here, that
/// a write refused for the role changes nothing.
#[tokio::test]
async fn writes_refused_for_the_role_leave_nothing_behind() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let analyst = app.login_as("analyst@example.com", "analyst").await;
    let campaign = campaign_with_keywords(&app, &manager.access).await;
    let config = monitor(&app, &manager.access, config_body(campaign)).await;
    let one = format!("{CONFIGS}/{}", id_of(&config));
    let other = campaign_with_keywords(&app, &manager.access).await;
    let mut changed = config_body(campaign);
    changed["refreshInterval"] = json!(3600);
    let refused = [
        app.post(CONFIGS, Some(&analyst.access), config_body(other))
            .await,
        put(&app, &one, &analyst.access, changed).await,
        app.post(&format!("{one}/stop"), Some(&analyst.access), json!({}))
            .await,
        app.delete(&one, Some(&analyst.access)).await,
    ];
    for r in refused {
        expect_error(&r, 403, "permission_denied");
    }
    let r = app.get(CONFIGS, Some(&manager.access)).await;
    assert_eq!(r.body["total"], 1, "{}", r.text);
    let now = app.get(&one, Some(&manager.access)).await.body;
    assert_eq!(now["status"], "active");
    assert_eq!(now["refreshInterval"], 60);
}

#[tokio::test]
async fn an_unknown_config_id_is_not_found_and_a_malformed_one_no_such_route() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let campaign = campaign_with_keywords(&app, &manager.access).await;
    monitor(&app, &manager.access, config_body(campaign)).await;
    let cases = [
        (Uuid::now_v7().to_string(), "Monitoring config not found"),
        ("not-a-uuid".into(), "no such route"),
    ];
    for (id, message) in cases {
        let one = format!("{CONFIGS}/{id}");
        for r in [
            app.get(&one, Some(&manager.access)).await,
            put(&app, &one, &manager.access, config_body(campaign)).await,
            app.delete(&one, Some(&manager.access)).await,
            app.post(&format!("{one}/stop"), Some(&manager.access), json!({}))
                .await,
            app.post(&format!("{one}/start"), Some(&manager.access), json!({}))
                .await,
        ] {
            expect_error(&r, 404, "not_found");
            assert_eq!(r.body["message"], message, "{id}: {}", r.text);
        }
    }
}

#[tokio::test]
async fn the_openapi_document_describes_the_monitoring_endpoints() {
    let app = spawn_app().await;
    let r = app.get("/openapi.json", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let paths = &r.body["paths"];
    for (m, p, status) in [
        ("get", "/api/v1/monitoring/config", "200"),
        ("post", "/api/v1/monitoring/config", "201"),
        ("get", "/api/v1/monitoring/config/{configId}", "200"),
        ("put", "/api/v1/monitoring/config/{configId}", "200"),
        ("delete", "/api/v1/monitoring/config/{configId}", "200"),
        ("post", "/api/v1/monitoring/config/{configId}/stop", "200"),
        ("post", "/api/v1/monitoring/config/{configId}/start", "200"),
        ("get", "/api/v1/monitoring/status", "200"),
        ("get", "/api/v1/monitoring/metrics", "200"),
    ] {
        assert!(
            paths[p][m]["responses"].get(status).is_some(),
            "{m} {p} does not document {status}: {}",
            paths[p]
        );
    }
    // A read whose query names a campaign answers 404 for an unknown one, and says so; a list
    // filtered by plain values does not.
    for p in ["/api/v1/monitoring/mentions", "/api/v1/mentionlytics/feed"] {
        assert!(
            paths[p]["get"]["responses"].get("404").is_some(),
            "{p} does not document 404: {}",
            paths[p]
        );
    }
    assert!(
        paths["/api/v1/campaigns"]["get"]["responses"]
            .get("404")
            .is_none()
    );
    let viewer = app.login_as("viewer@example.com", "viewer").await;
    let unknown = app
        .get(
            &format!("/api/v1/monitoring/mentions?campaignId={}", Uuid::nil()),
            Some(&viewer.access),
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    let req = &r.body["components"]["schemas"]["MonitoringConfigRequest"];
    assert_eq!(req["required"], json!(["campaignId"]), "{req}");
    assert_eq!(req["properties"]["refreshInterval"]["minimum"], 10);
    assert_eq!(req["properties"]["keywords"]["maxItems"], 50);
}
