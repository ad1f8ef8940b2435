//! `/api/v1/campaigns`: create, list, read, edit, status actions, the audit trail, every
//! validation rule at its boundary, and who may call what (docs/warroom.md, "Campaigns").

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;
use warroom::domain::campaigns::{CampaignId, CampaignMetrics};

use crate::helpers::*;

mod actions;
mod pages;
mod validation;

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

// ---------------------------------------------------------------------------- access rules

/// Who may call each endpoint is the access matrix's (tests/api/access_matrix.rs); here, that
/// a write refused for the role changes nothing.
#[tokio::test]
async fn writes_refused_for_the_role_leave_nothing_behind() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let analyst = app.login_as("analyst@example.com", "analyst").await;
    let campaign = create(&app, &manager.access, valid()).await;
    let one = format!("{CAMPAIGNS}/{}", id_of(&campaign));
    let refused = [
        app.post(CAMPAIGNS, Some(&analyst.access), valid()).await,
        put(
            &app,
            &one,
            &analyst.access,
            with("name", json!("Taken over")),
        )
        .await,
        act(
            &app,
            &analyst.access,
            &id_of(&campaign),
            json!({ "action": "activate" }),
        )
        .await,
    ];
    for r in refused {
        expect_error(&r, 403, "permission_denied");
    }
    let r = app.get(CAMPAIGNS, Some(&manager.access)).await;
    assert_eq!(r.body["total"], 1, "{}", r.text);
    assert_eq!(app.get(&one, Some(&manager.access)).await.body, campaign);
    let audit = app
        .get(&format!("{one}/audit"), Some(&manager.access))
        .await;
    assert_eq!(audit.body["total"], 1, "only the creation: {}", audit.text);
}

#[tokio::test]
async fn an_unknown_id_is_campaign_not_found_and_a_malformed_one_no_such_route() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    create(&app, &manager.access, valid()).await;
    let cases = [
        (Uuid::now_v7().to_string(), "Campaign not found"),
        ("not-a-uuid".into(), "no such route"),
        ("42".into(), "no such route"),
    ];
    for (id, message) in cases {
        let one = format!("{CAMPAIGNS}/{id}");
        for r in [
            app.get(&one, Some(&manager.access)).await,
            put(&app, &one, &manager.access, valid()).await,
            act(&app, &manager.access, &id, json!({ "action": "pause" })).await,
            app.get(&format!("{one}/audit"), Some(&manager.access))
                .await,
            app.get(&format!("{one}/crisis-contacts"), Some(&manager.access))
                .await,
        ] {
            expect_error(&r, 404, "not_found");
            assert_eq!(r.body["message"], message, "{id}: {}", r.text);
        }
    }
}

/// Seed 000's campaign routes that share `/campaigns/` with `{id}` are words, not ids: until
/// they are served they are unknown routes, for every caller, never "Campaign not found".
#[tokio::test]
async fn the_seeds_fixed_campaign_paths_are_not_read_as_campaign_ids() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    for word in [
        "recommendations",
        "performance",
        "meta",
        "insights",
        "google",
    ] {
        let path = format!("{CAMPAIGNS}/{word}");
        for token in [Some(manager.access.as_str()), None] {
            let r = app.get(&path, token).await;
            expect_error(&r, 404, "not_found");
            assert_eq!(r.body["message"], "no such route", "{path}: {}", r.text);
        }
    }
    // The same answer as a path nothing matches at all.
    let unknown = app.get("/api/v1/no-such-thing", None).await;
    expect_error(&unknown, 404, "not_found");
    assert_eq!(unknown.body["message"], "no such route");
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
    assert!(svc.find(nobody).await.unwrap().is_none());
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
    assert_eq!(svc.find(live_id).await.unwrap().unwrap().metrics, metrics);
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
