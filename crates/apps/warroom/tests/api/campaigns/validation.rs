//! Every rule of `CreateCampaignRequest` at its boundary, every offending field named at once,
//! and malformed bodies answered in War Room's error shape.

use reqwest::Method;
use serde_json::{Value, json};

use super::{CAMPAIGNS, act, create, expect_invalid, id_of, put, valid, with};
use crate::helpers::*;

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
