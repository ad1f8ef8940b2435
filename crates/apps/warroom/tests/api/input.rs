//! The one input rule (docs/warroom.md, "Conventions"): a string holding NUL (U+0000), which
//! PostgreSQL's `text` cannot store, is a 400 `invalid_argument` naming the field wherever it
//! arrives (a body value or key, a query parameter, a path segment, a form field), and nothing
//! is stored. Run with `TEST_DATABASE_URL` too: there, before the rule, each was a 500.

use platform::identity::entities::user;
use reqwest::Method;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;

use crate::helpers::*;

/// A valid campaign body named `name`.
fn campaign(name: &str) -> serde_json::Value {
    json!({
        "name": name,
        "description": "Get out the vote.",
        "startDate": "2026-03-01T00:00:00Z",
        "endDate": "2026-06-30T23:59:59Z",
        "budget": 1000,
        "targetAudience": {
            "demographics": { "ageRange": { "min": 18, "max": 65 }, "gender": ["all"] },
            "interests": ["healthcare", "schools"],
            "locations": ["Springfield"],
            "platforms": ["facebook"]
        }
    })
}

async fn users(app: &TestApp) -> u64 {
    user::Entity::find().count(&app.ctx.db).await.unwrap()
}

/// A 400 `invalid_argument` in War Room's shape naming exactly `fields`.
#[track_caller]
fn expect_refused(r: &Resp, fields: &[&str]) {
    testkit::expect_nul_refused(r, 400, fields);
}

#[tokio::test]
async fn nul_in_sign_in_and_registration_is_refused_naming_the_field() {
    let app = spawn_app().await;
    app.create_user("owner@example.com", "admin").await;
    let before = users(&app).await;

    let r = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({ "email": "owner@example.com\u{0}", "password": PASSWORD }),
        )
        .await;
    expect_refused(&r, &["email"]);

    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({ "email": "new@example.com", "password": PASSWORD, "name": "Ne\u{0}w" }),
        )
        .await;
    expect_refused(&r, &["name"]);
    // A key holding NUL is named too (escaped), before the unknown-field rule sees it.
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({ "email": "new@example.com", "password": PASSWORD, "name": "New", "x\u{0}": 1 }),
        )
        .await;
    expect_refused(&r, &["x\\u0000"]);
    assert_eq!(users(&app).await, before, "nothing stored");

    // The same address without the NUL registers: the refusal left nothing behind.
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({ "email": "new@example.com", "password": PASSWORD, "name": "New" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
}

#[tokio::test]
async fn nul_in_a_campaign_is_refused_naming_every_field_and_nothing_is_stored() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let mut body = campaign("Spring\u{0}turnout");
    body["targetAudience"]["interests"][1] = json!("sch\u{0}ools");
    let r = app
        .post("/api/v1/campaigns", Some(&admin.access), body)
        .await;
    expect_refused(&r, &["name", "targetAudience.interests[1]"]);
    let list = app.get("/api/v1/campaigns", Some(&admin.access)).await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.body["total"], 0, "nothing stored: {}", list.text);

    // An edit holding NUL changes nothing either.
    let ok = app
        .post("/api/v1/campaigns", Some(&admin.access), campaign("Autumn"))
        .await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    let id = ok.body["id"].as_str().unwrap();
    let r = app
        .request(
            Method::PUT,
            &format!("/api/v1/campaigns/{id}"),
            Some(&admin.access),
            Some(json!({ "description": "\u{0}" })),
        )
        .await;
    expect_refused(&r, &["description"]);
    let read = app
        .get(&format!("/api/v1/campaigns/{id}"), Some(&admin.access))
        .await;
    assert_eq!(read.body["name"], "Autumn", "{}", read.text);
    assert!(!read.text.contains("\\u0000"), "{}", read.text);
}

#[tokio::test]
async fn nul_in_a_query_parameter_or_a_path_segment_is_refused_naming_it() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    for (path, field) in [
        ("/api/v1/campaigns?status=active%00", "status"),
        ("/api/v1/monitoring/mentions?q=a%00b&limit=5", "q"),
        ("/api/v1/alerts?page=1&type=%00", "type"),
        ("/admin/api/users?email=a%00%40example.com", "email"),
    ] {
        let r = app.get(path, Some(&admin.access)).await;
        expect_refused(&r, &[field]);
    }
    // A parameter name holding NUL is named (escaped).
    let r = app
        .get("/api/v1/campaigns?st%00atus=x", Some(&admin.access))
        .await;
    expect_refused(&r, &["st\\u0000atus"]);
    // Path ids: War Room's `Id` (campaigns, users, monitoring configs) and the console's `Path`.
    for (path, field) in [
        ("/api/v1/campaigns/%00", "id"),
        ("/api/v1/users/abc%00def", "id"),
        ("/api/v1/monitoring/config/%00", "configId"),
        ("/api/v1/integrations/mentionlytics/%00", "campaignId"),
        ("/admin/api/users/%00", "id"),
    ] {
        let r = app.get(path, Some(&admin.access)).await;
        expect_refused(&r, &[field]);
    }
    let r = app
        .request(
            Method::PUT,
            "/api/v1/users/%00",
            Some(&admin.access),
            Some(json!({ "name": "x" })),
        )
        .await;
    expect_refused(&r, &["id"]);
}

#[tokio::test]
async fn nul_in_a_form_field_is_refused_naming_it() {
    let app = spawn_app().await;
    let r = app
        .raw_request(
            Method::POST,
            "/api/v1/integrations/twilio/status",
            None,
            &[("content-type", "application/x-www-form-urlencoded")],
            Some(b"MessageSid=SM1&MessageStatus=deliv%00ered".to_vec()),
        )
        .await;
    expect_refused(&r, &["MessageStatus"]);
}

#[tokio::test]
async fn an_escaped_backslash_before_u0000_is_no_nul() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let r = app
        .post(
            "/api/v1/campaigns",
            Some(&admin.access),
            campaign("C:\\u0000"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["name"], "C:\\u0000");
}
