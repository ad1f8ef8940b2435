//! `/api/v1/campaigns`: create, list, read, edit, status actions, the audit trail, every
//! validation rule at its boundary, and who may call what (docs/warroom.md, "Campaigns").

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;
use warroom::service::campaigns::{CampaignId, CampaignMetrics};

use crate::helpers::*;

const CAMPAIGNS: &str = "/api/v1/campaigns";

/// A valid `CreateCampaignRequest`.
fn valid() -> Value {
    json!({
        "name": "Spring turnout",
        "description": "Get out the vote in the northern districts.",
        "startDate": "2026-03-01T00:00:00Z",
        "endDate": "2026-06-30T23:59:59Z",
        "budget": 25000.5,
        "targetAudience": {
            "demographics": {
                "ageRange": { "min": 18, "max": 65 },
                "gender": ["all"],
                "income": "middle",
                "education": "any"
            },
            "interests": ["healthcare", "schools"],
            "locations": ["Springfield"],
            "platforms": ["facebook", "instagram"]
        }
    })
}

/// `valid()` with `path` (dot-separated) set to `value`.
fn with(path: &str, value: Value) -> Value {
    let mut body = valid();
    let mut at = &mut body;
    let keys: Vec<&str> = path.split('.').collect();
    for k in &keys[..keys.len() - 1] {
        at = &mut at[*k];
    }
    at[keys[keys.len() - 1]] = value;
    body
}

async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> Resp {
    app.request(Method::PUT, path, Some(token), Some(body))
        .await
}

/// Creates a campaign as `token` and returns it.
async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let r = app.post(CAMPAIGNS, Some(token), body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

async fn act(app: &TestApp, token: &str, id: &str, body: Value) -> Resp {
    app.post(&format!("{CAMPAIGNS}/{id}/actions"), Some(token), body)
        .await
}

/// Runs `action` and asserts the campaign lands in `status`.
#[track_caller]
fn expect_status(r: &Resp, status: &str) {
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], status, "{}", r.text);
}

fn id_of(c: &Value) -> String {
    c["id"].as_str().expect("campaign id").to_owned()
}

fn names(r: &Resp) -> Vec<String> {
    r.body["campaigns"]
        .as_array()
        .unwrap_or_else(|| panic!("no campaigns in {}", r.text))
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
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

// ------------------------------------------------------------------------ create and read

#[tokio::test]
async fn a_manager_creates_a_draft_with_empty_metrics_and_anyone_signed_in_reads_it() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let viewer = app.login_as("viewer@example.com", "viewer").await;
    let mut body = valid();
    body["keywords"] = json!([" Turnout ", { "keyword": "ballot", "weight": 2.5 }, "TURNOUT"]);
    let c = create(&app, &manager.access, body).await;

    assert!(Uuid::parse_str(&id_of(&c)).is_ok(), "{c}");
    assert_eq!(c["name"], "Spring turnout");
    assert_eq!(
        c["description"],
        "Get out the vote in the northern districts."
    );
    assert_eq!(c["status"], "draft");
    assert_eq!(c["budget"], 25000.5);
    assert_eq!(c["startDate"], "2026-03-01T00:00:00Z");
    assert_eq!(c["endDate"], "2026-06-30T23:59:59Z");
    assert_eq!(c["targetAudience"], valid()["targetAudience"]);
    assert_eq!(
        c["metrics"],
        json!({ "impressions": 0, "clicks": 0, "conversions": 0, "ctr": 0.0, "cpc": 0.0,
                "roi": 0.0, "sentimentScore": 0.0, "engagementRate": 0.0 })
    );
    assert_eq!(
        c["keywords"],
        json!([{ "keyword": "Turnout", "weight": 1.0 }, { "keyword": "ballot", "weight": 2.5 }])
    );
    assert_eq!(c["createdBy"], manager.user.id.to_string());
    for t in ["createdAt", "updatedAt"] {
        let s = c[t].as_str().unwrap_or_else(|| panic!("{t} in {c}"));
        assert!(chrono::DateTime::parse_from_rfc3339(s).is_ok(), "{t}: {s}");
    }
    let mut keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "budget",
            "createdAt",
            "createdBy",
            "description",
            "endDate",
            "id",
            "keywords",
            "metrics",
            "name",
            "startDate",
            "status",
            "targetAudience",
            "updatedAt"
        ]
    );

    let r = app
        .get(&format!("{CAMPAIGNS}/{}", id_of(&c)), Some(&viewer.access))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, c, "the stored campaign reads back as created");
}

#[tokio::test]
async fn lists_are_newest_first_paginated_and_filtered_by_status() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let analyst = app.login_as("analyst@example.com", "analyst").await;
    let mut ids = Vec::new();
    for name in ["First", "Second", "Third"] {
        ids.push(id_of(
            &create(&app, &manager.access, with("name", json!(name))).await,
        ));
    }
    expect_status(
        &act(
            &app,
            &manager.access,
            &ids[1],
            json!({ "action": "activate" }),
        )
        .await,
        "active",
    );

    let r = app.get(CAMPAIGNS, Some(&analyst.access)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(names(&r), ["Third", "Second", "First"]);
    assert_eq!(
        (r.body["total"].as_u64(), r.body["page"].as_u64()),
        (Some(3), Some(1))
    );
    assert_eq!(r.body["limit"], 20, "the default page size");
    assert!(r.body["campaigns"][0]["keywords"].is_array());

    let r = app
        .get(
            &format!("{CAMPAIGNS}?page=2&limit=2"),
            Some(&analyst.access),
        )
        .await;
    assert_eq!(names(&r), ["First"]);
    assert_eq!(
        (r.body["total"].as_u64(), r.body["limit"].as_u64()),
        (Some(3), Some(2))
    );
    let r = app
        .get(
            &format!("{CAMPAIGNS}?page=3&limit=2"),
            Some(&analyst.access),
        )
        .await;
    assert_eq!(names(&r), Vec::<String>::new());

    let r = app
        .get(&format!("{CAMPAIGNS}?status=active"), Some(&analyst.access))
        .await;
    assert_eq!(
        (names(&r), r.body["total"].as_u64()),
        (vec!["Second".to_owned()], Some(1))
    );
    let r = app
        .get(
            &format!("{CAMPAIGNS}?status=draft&limit=1"),
            Some(&analyst.access),
        )
        .await;
    assert_eq!(
        (names(&r), r.body["total"].as_u64()),
        (vec!["Third".to_owned()], Some(2))
    );
    let r = app
        .get(&format!("{CAMPAIGNS}?status=paused"), Some(&analyst.access))
        .await;
    assert_eq!((names(&r), r.body["total"].as_u64()), (vec![], Some(0)));

    let r = app
        .get(&format!("{CAMPAIGNS}?limit=100"), Some(&analyst.access))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    for (query, field) in [
        ("limit=101", "limit"),
        ("limit=0", "limit"),
        ("page=0", "page"),
        ("status=archived", "status"),
        ("status=", "status"),
    ] {
        let r = app
            .get(&format!("{CAMPAIGNS}?{query}"), Some(&analyst.access))
            .await;
        expect_invalid(&r, field);
    }
    let r = app
        .get(&format!("{CAMPAIGNS}?limit=many"), Some(&analyst.access))
        .await;
    expect_error(&r, 400, "invalid_argument");
}

// ------------------------------------------------------------------------------ validation

#[tokio::test]
async fn every_rule_of_create_campaign_request_is_checked_at_its_boundary() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let long = |n: usize| json!("x".repeat(n));
    let keywords = |n: usize| json!((0..n).map(|i| format!("kw{i}")).collect::<Vec<_>>());
    // (what, body, the offending field or None when the body is valid)
    let cases: Vec<(&str, Value, Option<&str>)> = vec![
        ("name of 2", with("name", long(2)), Some("name")),
        ("name of 3", with("name", long(3)), None),
        ("name of 100", with("name", long(100)), None),
        ("name of 101", with("name", long(101)), Some("name")),
        ("blank name", with("name", json!("     ")), Some("name")),
        (
            "name of 3 multibyte chars",
            with("name", json!("ééé")),
            None,
        ),
        ("empty description", with("description", json!("")), None),
        ("description of 1000", with("description", long(1000)), None),
        (
            "description of 1001",
            with("description", long(1001)),
            Some("description"),
        ),
        ("budget 99.99", with("budget", json!(99.99)), Some("budget")),
        ("budget 100", with("budget", json!(100)), None),
        ("budget 1,000,000", with("budget", json!(1_000_000)), None),
        (
            "budget 1,000,000.01",
            with("budget", json!(1_000_000.01)),
            Some("budget"),
        ),
        (
            "end == start",
            with("endDate", json!("2026-03-01T00:00:00Z")),
            Some("endDate"),
        ),
        (
            "end before start",
            with("endDate", json!("2026-02-01T00:00:00Z")),
            Some("endDate"),
        ),
        (
            "end 1s after start",
            with("endDate", json!("2026-03-01T00:00:01Z")),
            None,
        ),
        ("bare dates", with("endDate", json!("2026-03-02")), None),
        (
            "not a date",
            with("startDate", json!("next tuesday")),
            Some("startDate"),
        ),
        (
            "bad platform",
            with("targetAudience.platforms", json!(["facebook", "myspace"])),
            Some("targetAudience.platforms[1]"),
        ),
        (
            "no platform",
            with("targetAudience.platforms", json!([])),
            Some("targetAudience.platforms"),
        ),
        (
            "every platform",
            with(
                "targetAudience.platforms",
                json!(["facebook", "instagram", "twitter", "tiktok", "google"]),
            ),
            None,
        ),
        (
            "bad gender",
            with(
                "targetAudience.demographics.gender",
                json!(["male", "robot"]),
            ),
            Some("targetAudience.demographics.gender[1]"),
        ),
        (
            "every gender",
            with(
                "targetAudience.demographics.gender",
                json!(["male", "female", "all"]),
            ),
            None,
        ),
        (
            "age 12",
            with(
                "targetAudience.demographics.ageRange",
                json!({ "min": 12, "max": 30 }),
            ),
            Some("targetAudience.demographics.ageRange.min"),
        ),
        (
            "ages 13 to 120",
            with(
                "targetAudience.demographics.ageRange",
                json!({ "min": 13, "max": 120 }),
            ),
            None,
        ),
        (
            "age 121",
            with(
                "targetAudience.demographics.ageRange",
                json!({ "min": 20, "max": 121 }),
            ),
            Some("targetAudience.demographics.ageRange.max"),
        ),
        (
            "min over max",
            with(
                "targetAudience.demographics.ageRange",
                json!({ "min": 40, "max": 30 }),
            ),
            Some("targetAudience.demographics.ageRange"),
        ),
        (
            "min == max",
            with(
                "targetAudience.demographics.ageRange",
                json!({ "min": 30, "max": 30 }),
            ),
            None,
        ),
        (
            "blank interest",
            with("targetAudience.interests", json!(["ok", " "])),
            Some("targetAudience.interests[1]"),
        ),
        (
            "keyword of 255",
            with("keywords", json!(["k".repeat(255)])),
            None,
        ),
        (
            "keyword of 256",
            with("keywords", json!(["k".repeat(256)])),
            Some("keywords[0]"),
        ),
        (
            "blank keyword",
            with("keywords", json!(["ok", "  "])),
            Some("keywords[1]"),
        ),
        (
            "weight 9.99",
            with("keywords", json!([{ "keyword": "a", "weight": 9.99 }])),
            None,
        ),
        (
            "weight 0",
            with("keywords", json!([{ "keyword": "a", "weight": 0 }])),
            None,
        ),
        (
            "weight 10",
            with("keywords", json!([{ "keyword": "a", "weight": 10 }])),
            Some("keywords[0].weight"),
        ),
        (
            "weight -0.01",
            with("keywords", json!([{ "keyword": "a", "weight": -0.01 }])),
            Some("keywords[0].weight"),
        ),
        ("100 keywords", with("keywords", keywords(100)), None),
        (
            "101 keywords",
            with("keywords", keywords(101)),
            Some("keywords"),
        ),
        ("status draft", with("status", json!("draft")), None),
        (
            "status active",
            with("status", json!("active")),
            Some("status"),
        ),
    ];
    for (what, body, field) in cases {
        let r = app.post(CAMPAIGNS, Some(&manager.access), body).await;
        match field {
            None => assert_eq!(r.status, 201, "{what}: {}", r.text),
            Some(f) => {
                assert_eq!(r.status, 400, "{what}: {}", r.text);
                expect_invalid(&r, f);
            }
        }
    }
}

#[tokio::test]
async fn one_bad_request_names_every_offending_field() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let body = json!({
        "name": "ab",
        "startDate": "2026-05-01T00:00:00Z",
        "endDate": "2026-04-01T00:00:00Z",
        "budget": 50,
        "targetAudience": {
            "demographics": { "ageRange": { "min": 10 }, "gender": ["everyone"] },
            "platforms": ["myspace"]
        },
        "keywords": [{ "keyword": "x", "weight": 12 }]
    });
    let r = app.post(CAMPAIGNS, Some(&manager.access), body).await;
    expect_error(&r, 400, "invalid_argument");
    let mut fields = error_fields(&r);
    fields.sort();
    assert_eq!(
        fields,
        [
            "budget",
            "endDate",
            "keywords[0].weight",
            "name",
            "targetAudience.demographics.ageRange.max",
            "targetAudience.demographics.ageRange.min",
            "targetAudience.demographics.gender[0]",
            "targetAudience.platforms[0]",
        ]
    );

    let r = app.post(CAMPAIGNS, Some(&manager.access), json!({})).await;
    expect_error(&r, 400, "invalid_argument");
    assert_eq!(
        error_fields(&r),
        ["name", "startDate", "endDate", "budget", "targetAudience"]
    );
    let r = app.get(CAMPAIGNS, Some(&manager.access)).await;
    assert_eq!(r.body["total"], 0, "nothing was stored: {}", r.text);
}

#[tokio::test]
async fn malformed_bodies_get_war_rooms_error_shape() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let id = id_of(&create(&app, &manager.access, valid()).await);
    let json = [("content-type", "application/json")];
    let targets = [
        (Method::POST, CAMPAIGNS.to_owned()),
        (Method::PUT, format!("{CAMPAIGNS}/{id}")),
        (Method::POST, format!("{CAMPAIGNS}/{id}/actions")),
    ];
    for (method, path) in &targets {
        for raw in [&b"{not json"[..], b"", b"[1, 2]", b"\"text\""] {
            let r = app
                .raw_request(
                    method.clone(),
                    path,
                    Some(&manager.access),
                    &json,
                    Some(raw.to_vec()),
                )
                .await;
            expect_error(&r, 400, "invalid_argument");
        }
        let r = app
            .raw_request(
                method.clone(),
                path,
                Some(&manager.access),
                &[],
                Some(b"{}".to_vec()),
            )
            .await;
        expect_error(&r, 400, "invalid_argument");
    }
    for (body, field) in [
        (with("budget", json!("lots")), "budget"),
        (with("name", json!(null)), "name"),
        (with("keywords", json!(null)), "keywords"),
        (
            with("targetAudience.platforms", json!("facebook")),
            "targetAudience.platforms",
        ),
        (with("owner", json!("me")), "owner"),
    ] {
        let r = app
            .post(CAMPAIGNS, Some(&manager.access), body.clone())
            .await;
        expect_invalid(&r, field);
        let r = put(&app, &format!("{CAMPAIGNS}/{id}"), &manager.access, body).await;
        expect_invalid(&r, field);
    }
    for body in [
        json!({}),
        json!({ "action": "explode" }),
        json!({ "action": "pause", "extra": 1 }),
        json!({ "action": "budget", "budget": "more" }),
    ] {
        expect_error(
            &act(&app, &manager.access, &id, body).await,
            400,
            "invalid_argument",
        );
    }
}

// ---------------------------------------------------------------------------------- update

#[tokio::test]
async fn an_update_replaces_the_fields_and_keeps_or_replaces_the_keywords() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let c = create(
        &app,
        &manager.access,
        with("keywords", json!(["turnout", "ballot"])),
    )
    .await;
    let path = format!("{CAMPAIGNS}/{}", id_of(&c));

    let mut body = with("name", json!("Summer turnout"));
    body["budget"] = json!(30000);
    body["description"] = json!("");
    body["targetAudience"]["platforms"] = json!(["tiktok"]);
    let r = put(&app, &path, &admin.access, body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let u = &r.body;
    assert_eq!(
        (u["name"].as_str(), u["budget"].as_f64()),
        (Some("Summer turnout"), Some(30000.0))
    );
    assert_eq!(u["description"], "");
    assert_eq!(u["targetAudience"]["platforms"], json!(["tiktok"]));
    assert_eq!(
        u["keywords"], c["keywords"],
        "no keywords given: the old ones stay"
    );
    assert_eq!(
        (&u["id"], &u["createdAt"], &u["createdBy"]),
        (&c["id"], &c["createdAt"], &c["createdBy"])
    );
    assert_eq!(u["status"], "draft");
    assert!(u["updatedAt"].as_str() >= c["updatedAt"].as_str());

    let r = put(
        &app,
        &path,
        &manager.access,
        with("keywords", json!([{ "keyword": "polls", "weight": 0.5 }])),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["keywords"],
        json!([{ "keyword": "polls", "weight": 0.5 }])
    );
    let r = put(&app, &path, &manager.access, with("keywords", json!([]))).await;
    assert_eq!(r.body["keywords"], json!([]));
    assert_eq!(app.get(&path, Some(&manager.access)).await.body, r.body);

    // The same rules as on create.
    expect_invalid(
        &put(&app, &path, &manager.access, with("name", json!("ab"))).await,
        "name",
    );
    expect_invalid(
        &put(
            &app,
            &path,
            &manager.access,
            with("budget", json!(1_000_000.01)),
        )
        .await,
        "budget",
    );
    expect_invalid(
        &put(
            &app,
            &path,
            &manager.access,
            with("endDate", json!("2026-03-01T00:00:00Z")),
        )
        .await,
        "endDate",
    );
    assert_eq!(
        app.get(&path, Some(&manager.access)).await.body["name"],
        "Spring turnout"
    );
}

#[tokio::test]
async fn a_fetched_campaign_can_be_sent_back_whole_but_put_never_changes_the_status() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let c = create(&app, &manager.access, valid()).await;
    let id = id_of(&c);
    let path = format!("{CAMPAIGNS}/{id}");
    expect_status(
        &act(&app, &manager.access, &id, json!({ "action": "activate" })).await,
        "active",
    );
    let mut whole = app.get(&path, Some(&manager.access)).await.body;
    whole["name"] = json!("Renamed");
    let r = put(&app, &path, &manager.access, whole.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (r.body["name"].as_str(), r.body["status"].as_str()),
        (Some("Renamed"), Some("active"))
    );

    whole["status"] = json!("paused");
    let r = put(&app, &path, &manager.access, whole.clone()).await;
    expect_invalid(&r, "status");
    assert_eq!(
        app.get(&path, Some(&manager.access)).await.body["status"],
        "active"
    );

    expect_status(
        &act(&app, &manager.access, &id, json!({ "action": "complete" })).await,
        "completed",
    );
    whole["status"] = json!("completed");
    let r = put(&app, &path, &manager.access, whole).await;
    expect_error(&r, 400, "failed_precondition");
    assert!(
        r.body["message"].as_str().unwrap().contains("completed"),
        "{}",
        r.text
    );
    assert_eq!(
        app.get(&path, Some(&manager.access)).await.body["name"],
        "Renamed"
    );
}

// --------------------------------------------------------------------------------- actions

#[tokio::test]
async fn actions_move_a_campaign_through_the_allowed_statuses_only() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let id = id_of(&create(&app, &manager.access, valid()).await);
    let step = |action: &'static str| json!({ "action": action });

    // Refused from draft: pause and complete.
    for action in ["pause", "complete"] {
        let r = act(&app, &manager.access, &id, step(action)).await;
        expect_error(&r, 400, "failed_precondition");
        assert!(
            r.body["message"].as_str().unwrap().contains("draft"),
            "{}",
            r.text
        );
        assert_eq!(r.body["details"]["status"], "draft");
    }
    expect_status(
        &act(&app, &manager.access, &id, step("activate")).await,
        "active",
    );
    for action in ["activate", "resume"] {
        let r = act(&app, &manager.access, &id, step(action)).await;
        expect_error(&r, 400, "failed_precondition");
        assert!(
            r.body["message"].as_str().unwrap().contains("active"),
            "{}",
            r.text
        );
    }
    expect_status(
        &act(&app, &manager.access, &id, step("pause")).await,
        "paused",
    );
    expect_error(
        &act(&app, &manager.access, &id, step("pause")).await,
        400,
        "failed_precondition",
    );
    expect_status(
        &act(&app, &manager.access, &id, step("resume")).await,
        "active",
    );
    expect_status(
        &act(&app, &manager.access, &id, step("pause")).await,
        "paused",
    );
    expect_status(
        &act(&app, &manager.access, &id, step("activate")).await,
        "active",
    );
    expect_status(
        &act(&app, &manager.access, &id, step("complete")).await,
        "completed",
    );
    for action in ["activate", "resume", "pause", "complete"] {
        let r = act(&app, &manager.access, &id, step(action)).await;
        expect_error(&r, 400, "failed_precondition");
        assert!(
            r.body["message"].as_str().unwrap().contains("completed"),
            "{}",
            r.text
        );
    }
    let r = act(
        &app,
        &manager.access,
        &id,
        json!({ "action": "budget", "budget": 500 }),
    )
    .await;
    expect_error(&r, 400, "failed_precondition");

    // `resume` launches a draft too; a paused campaign completes.
    let other = id_of(&create(&app, &manager.access, valid()).await);
    expect_status(
        &act(&app, &manager.access, &other, step("resume")).await,
        "active",
    );
    expect_status(
        &act(&app, &manager.access, &other, step("pause")).await,
        "paused",
    );
    expect_status(
        &act(&app, &manager.access, &other, step("complete")).await,
        "completed",
    );
}

#[tokio::test]
async fn a_budget_change_keeps_the_status_and_the_seed_bounds() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let id = id_of(&create(&app, &manager.access, valid()).await);
    let budget = |action: &str, amount: Value| json!({ "action": action, "budget": amount });

    let r = act(&app, &manager.access, &id, budget("budget", json!(100))).await;
    expect_status(&r, "draft");
    assert_eq!(r.body["budget"], 100.0);
    expect_status(
        &act(&app, &manager.access, &id, json!({ "action": "activate" })).await,
        "active",
    );
    let r = act(
        &app,
        &manager.access,
        &id,
        budget("budget_change", json!(1_000_000)),
    )
    .await;
    expect_status(&r, "active");
    assert_eq!(r.body["budget"], 1_000_000.0);
    expect_status(
        &act(&app, &manager.access, &id, json!({ "action": "pause" })).await,
        "paused",
    );
    let r = act(
        &app,
        &manager.access,
        &id,
        budget("updateBudget", json!(1234.56)),
    )
    .await;
    expect_status(&r, "paused");
    assert_eq!(r.body["budget"], 1234.56);

    for amount in [json!(99.99), json!(1_000_000.01), json!(0)] {
        expect_invalid(
            &act(&app, &manager.access, &id, budget("budget", amount)).await,
            "budget",
        );
    }
    expect_invalid(
        &act(&app, &manager.access, &id, json!({ "action": "budget" })).await,
        "budget",
    );
    expect_invalid(
        &act(
            &app,
            &manager.access,
            &id,
            json!({ "action": "resume", "budget": 500 }),
        )
        .await,
        "budget",
    );
    expect_invalid(
        &act(
            &app,
            &manager.access,
            &id,
            json!({ "action": "resume", "reason": "r".repeat(501) }),
        )
        .await,
        "reason",
    );
    let r = app
        .get(&format!("{CAMPAIGNS}/{id}"), Some(&manager.access))
        .await;
    assert_eq!(
        (r.body["budget"].as_f64(), r.body["status"].as_str()),
        (Some(1234.56), Some("paused"))
    );
}

// ----------------------------------------------------------------------------------- audit

#[tokio::test]
async fn every_change_leaves_an_audit_entry_naming_actor_action_and_statuses() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let id = id_of(&create(&app, &manager.access, valid()).await);
    let path = format!("{CAMPAIGNS}/{id}");
    let r = put(&app, &path, &admin.access, with("name", json!("Renamed"))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    expect_status(
        &act(&app, &manager.access, &id, json!({ "action": "activate" })).await,
        "active",
    );
    let r = act(
        &app,
        &admin.access,
        &id,
        json!({ "action": "budget", "budget": 40000, "reason": " more ads " }),
    )
    .await;
    expect_status(&r, "active");
    expect_status(
        &act(
            &app,
            &manager.access,
            &id,
            json!({ "action": "pause", "reason": "scandal" }),
        )
        .await,
        "paused",
    );
    // A refused action writes nothing.
    expect_error(
        &act(&app, &manager.access, &id, json!({ "action": "pause" })).await,
        400,
        "failed_precondition",
    );

    let r = app
        .get(&format!("{path}/audit"), Some(&manager.access))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["total"], 5, "{}", r.text);
    let entries = r.body["entries"].as_array().unwrap();
    let summary: Vec<(&str, &str, Value, Value)> = entries
        .iter()
        .map(|e| {
            assert_eq!(e["campaignId"], id.as_str());
            assert!(e["createdAt"].is_string() && e["id"].is_string(), "{e}");
            (
                e["action"].as_str().unwrap(),
                e["actorId"].as_str().unwrap(),
                e["fromStatus"].clone(),
                e["toStatus"].clone(),
            )
        })
        .collect();
    let (m, a) = (manager.user.id.to_string(), admin.user.id.to_string());
    assert_eq!(
        summary,
        [
            ("pause", m.as_str(), json!("active"), json!("paused")),
            ("budget", a.as_str(), json!("active"), json!("active")),
            ("activate", m.as_str(), json!("draft"), json!("active")),
            ("update", a.as_str(), json!("draft"), json!("draft")),
            ("create", m.as_str(), Value::Null, json!("draft")),
        ],
        "newest first"
    );
    assert_eq!(entries[0]["details"], json!({ "reason": "scandal" }));
    assert_eq!(
        entries[1]["details"],
        json!({ "oldBudget": 25000.5, "newBudget": 40000.0, "reason": "more ads" })
    );
    assert_eq!(entries[2]["details"], Value::Null);
    assert_eq!(entries[3]["details"], json!({ "changed": ["name"] }));

    let r = app
        .get(&format!("{path}/audit?page=2&limit=2"), Some(&admin.access))
        .await;
    let actions: Vec<&str> = r.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        (actions, r.body["total"].as_u64()),
        (vec!["activate", "update"], Some(5))
    );
    expect_invalid(
        &app.get(&format!("{path}/audit?limit=101"), Some(&admin.access))
            .await,
        "limit",
    );
}

#[tokio::test]
async fn concurrent_actions_on_one_campaign_take_turns() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let id = id_of(&create(&app, &manager.access, valid()).await);
    let url = app.url(&format!("{CAMPAIGNS}/{id}/actions"));
    let attempts: Vec<_> = (0..32)
        .map(|_| {
            let req = app
                .client
                .post(&url)
                .bearer_auth(&manager.access)
                .header("content-type", "application/json")
                .body(json!({ "action": "activate" }).to_string());
            tokio::spawn(async move { read(req.send().await.expect("sent")).await })
        })
        .collect();
    let mut won = 0;
    for attempt in attempts {
        let r = attempt.await.expect("request task");
        if r.status == 200 {
            won += 1;
        } else {
            expect_error(&r, 400, "failed_precondition");
        }
    }
    assert_eq!(won, 1, "exactly one activation wins");
    let r = app
        .get(&format!("{CAMPAIGNS}/{id}/audit"), Some(&manager.access))
        .await;
    assert_eq!(r.body["total"], 2, "create and one activate: {}", r.text);
}

#[tokio::test]
async fn changes_made_under_impersonation_name_the_admin_behind_them() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let r = app
        .post(
            "/api/v1/auth/impersonate",
            Some(&admin.access),
            json!({ "userId": manager.user.id }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let token = r.body["accessToken"].as_str().unwrap().to_owned();
    let c = create(&app, &token, valid()).await;
    assert_eq!(c["createdBy"], manager.user.id.to_string());
    let r = app
        .get(
            &format!("{CAMPAIGNS}/{}/audit", id_of(&c)),
            Some(&admin.access),
        )
        .await;
    let entry = &r.body["entries"][0];
    assert_eq!(entry["actorId"], manager.user.id.to_string());
    assert_eq!(
        entry["details"]["impersonatorId"],
        admin.user.id.to_string()
    );
}

// ---------------------------------------------------------------------------- access rules

#[tokio::test]
async fn every_campaign_endpoint_answers_each_role_as_the_roles_table_says() {
    let app = spawn_app().await;
    let mut tokens = vec![("anonymous", None)];
    for role in ["viewer", "analyst", "manager", "admin"] {
        let login = app.login_as(&format!("{role}@example.com"), role).await;
        tokens.push((role, Some(login.access)));
    }
    let manager = tokens[3].1.clone().unwrap();
    let id = id_of(&create(&app, &manager, valid()).await);
    let one = format!("{CAMPAIGNS}/{id}");
    // (method, path, body, status for a reader who may not write, for a writer);
    // readers: viewer, analyst; writers: manager, admin. Anonymous is always 401.
    let rows: Vec<(Method, String, Option<Value>, u16, u16)> = vec![
        (Method::GET, CAMPAIGNS.into(), None, 200, 200),
        (
            Method::GET,
            format!("{CAMPAIGNS}?status=draft"),
            None,
            200,
            200,
        ),
        (Method::GET, one.clone(), None, 200, 200),
        (Method::POST, CAMPAIGNS.into(), Some(valid()), 403, 201),
        (Method::PUT, one.clone(), Some(valid()), 403, 200),
        (
            Method::POST,
            format!("{one}/actions"),
            Some(json!({ "action": "budget", "budget": 500 })),
            403,
            200,
        ),
        (Method::GET, format!("{one}/audit"), None, 403, 200),
    ];
    for (method, path, body, reader, writer) in &rows {
        for (role, token) in &tokens {
            let want = match *role {
                "anonymous" => 401,
                "viewer" | "analyst" => *reader,
                _ => *writer,
            };
            let r = app
                .request(method.clone(), path, token.as_deref(), body.clone())
                .await;
            match want {
                401 => expect_error(&r, 401, "unauthenticated"),
                403 => expect_error(&r, 403, "permission_denied"),
                s => assert_eq!(r.status, s, "{role} {method} {path}: {}", r.text),
            }
        }
    }
    // A write refused for the role left nothing behind: one campaign from the setup and
    // one from each writer.
    let r = app.get(CAMPAIGNS, Some(&manager)).await;
    assert_eq!(r.body["total"], 3, "{}", r.text);
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_campaign_not_found() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    create(&app, &manager.access, valid()).await;
    for id in [Uuid::now_v7().to_string(), "not-a-uuid".into(), "42".into()] {
        let one = format!("{CAMPAIGNS}/{id}");
        for r in [
            app.get(&one, Some(&manager.access)).await,
            put(&app, &one, &manager.access, valid()).await,
            act(&app, &manager.access, &id, json!({ "action": "pause" })).await,
            app.get(&format!("{one}/audit"), Some(&manager.access))
                .await,
        ] {
            expect_error(&r, 404, "not_found");
            assert_eq!(r.body["message"], "Campaign not found", "{}", r.text);
        }
    }
}

// ------------------------------------------------------------------- the service and docs

#[tokio::test]
async fn the_service_gives_monitoring_keywords_active_ids_and_a_place_for_metrics() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let svc = app.ctx.campaigns();
    let draft = create(
        &app,
        &manager.access,
        with("keywords", json!(["a", { "keyword": "b", "weight": 3 }])),
    )
    .await;
    let live = create(&app, &manager.access, valid()).await;
    let activated = act(
        &app,
        &manager.access,
        &id_of(&live),
        json!({ "action": "activate" }),
    )
    .await;
    expect_status(&activated, "active");
    let draft_id = CampaignId(Uuid::parse_str(&id_of(&draft)).unwrap());
    let live_id = CampaignId(Uuid::parse_str(&id_of(&live)).unwrap());
    let nobody = CampaignId(Uuid::now_v7());

    assert_eq!(svc.active_ids().await.unwrap(), [live_id]);
    assert!(svc.exists(draft_id).await.unwrap());
    assert!(!svc.exists(nobody).await.unwrap());
    assert!(svc.get(nobody).await.unwrap().is_none());
    let kw: Vec<(String, f64)> = svc
        .keywords(draft_id)
        .await
        .unwrap()
        .into_iter()
        .map(|k| (k.keyword, k.weight))
        .collect();
    assert_eq!(kw, [("a".to_owned(), 1.0), ("b".to_owned(), 3.0)]);

    let metrics = CampaignMetrics {
        impressions: 1200,
        sentiment_score: -0.25,
        engagement_rate: 0.042,
        ..CampaignMetrics::default()
    };
    assert!(svc.update_metrics(live_id, &metrics).await.unwrap());
    assert!(!svc.update_metrics(nobody, &metrics).await.unwrap());
    assert_eq!(svc.get(live_id).await.unwrap().unwrap().metrics, metrics);
    let r = app
        .get(
            &format!("{CAMPAIGNS}/{}", id_of(&live)),
            Some(&manager.access),
        )
        .await;
    assert_eq!(r.body["metrics"]["sentimentScore"], -0.25);
    assert_eq!(r.body["metrics"]["impressions"], 1200);
    assert_eq!(
        r.body["updatedAt"], activated.body["updatedAt"],
        "metrics are not an edit"
    );
}

#[tokio::test]
async fn the_openapi_document_describes_the_campaign_endpoints() {
    let app = spawn_app().await;
    let r = app.get("/openapi.json", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let paths = &r.body["paths"];
    for (m, p, status) in [
        ("get", "/api/v1/campaigns", "200"),
        ("post", "/api/v1/campaigns", "201"),
        ("get", "/api/v1/campaigns/{id}", "200"),
        ("put", "/api/v1/campaigns/{id}", "200"),
        ("post", "/api/v1/campaigns/{id}/actions", "200"),
        ("get", "/api/v1/campaigns/{id}/audit", "200"),
    ] {
        assert!(
            paths[p][m]["responses"].get(status).is_some(),
            "{m} {p} does not document {status}: {}",
            paths[p]
        );
    }
    let req = &r.body["components"]["schemas"]["CreateCampaignRequest"];
    assert_eq!(
        req["required"],
        json!(["name", "startDate", "endDate", "budget", "targetAudience"])
    );
    assert_eq!(req["properties"]["budget"]["minimum"], 100);
    assert_eq!(req["properties"]["name"]["maxLength"], 100);
}
