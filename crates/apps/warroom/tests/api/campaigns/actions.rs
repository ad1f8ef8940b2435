//! `POST /campaigns/{id}/actions` through the status machine, budget changes, and the audit
//! trail every change leaves (`GET /campaigns/{id}/audit`).

use serde_json::{Value, json};

use super::{CAMPAIGNS, act, create, expect_invalid, expect_status, id_of, put, valid, with};
use crate::helpers::*;

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
