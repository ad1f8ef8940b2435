//! The alert center (`/alerts`), the alerting endpoints (`/alerting/crisis`, `/alerting/queue`,
//! `/alerting/send`) and crisis contacts: filters, pagination, actions and their transitions,
//! (who may call what: tests/api/access_matrix.rs). `support` holds the helpers the other
//! alerting tests share.

pub mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use self::support::{
    alert, campaign, crisis_body, outbox, put_contacts, raise_crisis, sent_to, settled,
};
use crate::helpers::{Login, Resp, TestApp, error_fields, expect_error, spawn_app};

async fn action(app: &TestApp, token: &str, id: Uuid, action: &str) -> Resp {
    app.post(
        &format!("/api/v1/alerts/{id}/actions"),
        Some(token),
        json!({ "action": action }),
    )
    .await
}

async fn send_alert(app: &TestApp, token: &str, body: Value) -> Resp {
    app.post("/api/v1/alerting/send", Some(token), body).await
}

fn ids(r: &Resp) -> Vec<String> {
    r.body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect()
}

struct Staff {
    manager: Login,
    analyst: Login,
    viewer: Login,
}

async fn staff(app: &TestApp) -> Staff {
    Staff {
        manager: app.login_as("m@example.com", "manager").await,
        analyst: app.login_as("a@example.com", "analyst").await,
        viewer: app.login_as("v@example.com", "viewer").await,
    }
}

#[tokio::test]
async fn a_manual_crisis_alert_answers_its_id_and_keeps_the_seeds_shape() {
    let app = spawn_app().await;
    let s = staff(&app).await;
    let c = campaign(&app, &s.manager.access).await;
    let r = app
        .post(
            "/api/v1/alerting/crisis",
            Some(&s.manager.access),
            crisis_body(c, 0.86),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body["sent"], true,
        "the crisis room is always a recipient"
    );
    let id: Uuid = r.body["alertId"].as_str().unwrap().parse().unwrap();

    let a = alert(&app, &s.viewer.access, id).await;
    assert_eq!(a["type"], "CRISIS");
    assert_eq!(a["severity"], "CRITICAL");
    assert_eq!(a["campaignId"], c.to_string());
    assert_eq!(a["title"], "🚨 CRISIS ALERT: Negative surge, Mention spike");
    let message = a["message"].as_str().unwrap();
    assert!(
        message.starts_with("Crisis score 0.86 (CRITICAL) for Harbor County Senate."),
        "{message}"
    );
    assert!(message.contains("1. Hold a press briefing"), "{message}");
    assert_eq!(a["data"], crisis_body(c, 0.86));
    assert_eq!(a["source"], "manual");
    assert_eq!(a["raisedBy"], s.manager.user.id.to_string());
    assert_eq!(a["lifecycle"], "new");
    assert_eq!(a["timestamp"], a["createdAt"]);
    assert_eq!(
        a["channels"],
        json!([{ "type": "SLACK", "recipients": ["#crisis-room"], "template": "crisis_slack" }])
    );
    let settled = settled(&app, &s.viewer.access, id).await;
    assert_eq!(settled["status"], "sent");
    assert!(settled["processedAt"].is_string());
}

#[tokio::test]
async fn the_seeds_severity_rule_is_applied_at_0_8_and_0_81() {
    let app = spawn_app().await;
    let s = staff(&app).await;
    let c = campaign(&app, &s.manager.access).await;
    for (score, severity) in [
        (0.8, "HIGH"),
        (0.81, "CRITICAL"),
        (0.0, "HIGH"),
        (1.0, "CRITICAL"),
    ] {
        let id = raise_crisis(&app, &s.manager.access, c, score).await;
        assert_eq!(
            alert(&app, &s.manager.access, id).await["severity"],
            severity,
            "{score}"
        );
    }
}

#[tokio::test]
async fn a_crisis_alert_is_checked_field_by_field() {
    let app = spawn_app().await;
    let s = staff(&app).await;
    let c = campaign(&app, &s.manager.access).await;
    let mut body = crisis_body(c, 1.5);
    body["triggers"] = json!([]);
    body["sentimentImpact"] = json!(-3);
    body["recommendedActions"] = json!(["ok", "  "]);
    let r = app
        .post("/api/v1/alerting/crisis", Some(&s.manager.access), body)
        .await;
    expect_error(&r, 400, "invalid_argument");
    assert_eq!(
        error_fields(&r),
        [
            "crisisScore",
            "sentimentImpact",
            "triggers",
            "recommendedActions[1]"
        ]
    );
    let r = app
        .post(
            "/api/v1/alerting/crisis",
            Some(&s.manager.access),
            crisis_body(Uuid::now_v7(), 0.5),
        )
        .await;
    expect_error(&r, 404, "not_found");
    let r = app
        .post(
            "/api/v1/alerting/crisis",
            Some(&s.manager.access),
            json!({ "campaignId": c }),
        )
        .await;
    expect_error(&r, 400, "invalid_argument");
}

#[tokio::test]
async fn alerts_filter_by_status_severity_type_and_campaign_and_page_newest_first() {
    let app = spawn_app().await;
    let s = staff(&app).await;
    let a = campaign(&app, &s.manager.access).await;
    let b = campaign(&app, &s.manager.access).await;
    let high = raise_crisis(&app, &s.manager.access, a, 0.5).await;
    let critical = raise_crisis(&app, &s.manager.access, a, 0.9).await;
    let other = raise_crisis(&app, &s.manager.access, b, 0.9).await;
    let r = send_alert(
        &app,
        &s.manager.access,
        json!({ "type": "SENTIMENT", "message": "Sentiment is sliding", "recipients": ["+15550000001"] }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let manual: Uuid = r.body["alertId"].as_str().unwrap().parse().unwrap();
    let v = &s.viewer.access;

    let all = app.get("/api/v1/alerts", Some(v)).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    assert_eq!(all.body["total"], 4);
    assert_eq!(
        ids(&all),
        [manual, other, critical, high].map(|i| i.to_string())
    );
    let q = |query: &str| format!("/api/v1/alerts?{query}");
    let r = app.get(&q("severity=CRITICAL"), Some(v)).await;
    assert_eq!(ids(&r), [other, critical].map(|i| i.to_string()));
    let r = app.get(&q(&format!("campaignId={a}")), Some(v)).await;
    assert_eq!(ids(&r), [critical, high].map(|i| i.to_string()));
    let r = app.get(&q("type=SENTIMENT"), Some(v)).await;
    assert_eq!(ids(&r), [manual.to_string()]);
    let r = app
        .get(
            &q(&format!("type=CRISIS&severity=HIGH&campaignId={a}")),
            Some(v),
        )
        .await;
    assert_eq!(ids(&r), [high.to_string()]);

    assert_eq!(
        action(&app, &s.analyst.access, high, "acknowledge")
            .await
            .status,
        200
    );
    let r = app.get(&q("status=acknowledged"), Some(v)).await;
    assert_eq!(ids(&r), [high.to_string()]);
    let r = app.get(&q("status=new"), Some(v)).await;
    assert_eq!(r.body["total"], 3);
    let r = app.get(&q("unread=true"), Some(v)).await;
    assert_eq!(r.body["total"], 3, "acknowledging reads it");

    let page1 = app.get(&q("limit=3&page=1"), Some(v)).await;
    let page2 = app.get(&q("limit=3&page=2"), Some(v)).await;
    assert_eq!(
        (page1.body["total"].as_u64(), page1.body["limit"].as_u64()),
        (Some(4), Some(3))
    );
    assert_eq!(ids(&page1).len(), 3);
    assert_eq!(ids(&page2), [high.to_string()]);

    let r = app
        .get(
            &q("status=open&severity=huge&type=x&campaignId=nope&limit=0"),
            Some(v),
        )
        .await;
    expect_error(&r, 400, "invalid_argument");
    assert_eq!(error_fields(&r), ["limit"]);
    let r = app
        .get(
            &q("status=open&severity=huge&type=x&campaignId=nope"),
            Some(v),
        )
        .await;
    expect_error(&r, 400, "invalid_argument");
    assert_eq!(
        error_fields(&r),
        ["status", "severity", "type", "campaignId"]
    );
    let r = app.get(&q("deliveryStatus=sent"), Some(v)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn actions_move_the_lifecycle_and_record_who_and_when() {
    let app = spawn_app().await;
    let s = staff(&app).await;
    let c = campaign(&app, &s.manager.access).await;
    let id = raise_crisis(&app, &s.manager.access, c, 0.9).await;
    let analyst = &s.analyst.access;

    let r = action(&app, analyst, id, "read").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["lifecycle"], "new");
    assert_eq!(r.body["readBy"], s.analyst.user.id.to_string());
    let read_at = r.body["readAt"].clone();
    assert!(read_at.is_string());
    let again = action(&app, &s.manager.access, id, "read").await;
    assert_eq!(again.body["readAt"], read_at, "the first reading stays");

    let r = action(&app, analyst, id, "acknowledge").await;
    assert_eq!(r.body["lifecycle"], "acknowledged");
    assert_eq!(r.body["acknowledgedBy"], s.analyst.user.id.to_string());
    assert!(r.body["acknowledgedAt"].is_string());
    let r = action(&app, analyst, id, "acknowledge").await;
    expect_error(&r, 400, "failed_precondition");
    assert_eq!(r.error()["details"]["lifecycle"], "acknowledged");

    let r = action(&app, &s.manager.access, id, "resolve").await;
    assert_eq!(r.body["lifecycle"], "resolved");
    assert_eq!(r.body["resolvedBy"], s.manager.user.id.to_string());
    for a in ["dismiss", "resolve", "acknowledge"] {
        expect_error(
            &action(&app, analyst, id, a).await,
            400,
            "failed_precondition",
        );
    }

    let other = raise_crisis(&app, &s.manager.access, c, 0.9).await;
    let r = action(&app, analyst, other, "dismiss").await;
    assert_eq!(r.body["lifecycle"], "dismissed");
    assert_eq!(r.body["dismissedBy"], s.analyst.user.id.to_string());
    assert!(r.body["readAt"].is_string(), "dismissing reads it");

    expect_error(
        &action(&app, analyst, other, "archive").await,
        400,
        "invalid_argument",
    );
    let r = action(&app, analyst, Uuid::now_v7(), "read").await;
    expect_error(&r, 404, "not_found");
    assert_eq!(r.body["message"], "Alert not found");
    // A path segment that is not an id is no route at all.
    let r = app
        .post(
            "/api/v1/alerts/not-a-uuid/actions",
            Some(analyst),
            json!({ "action": "read" }),
        )
        .await;
    expect_error(&r, 404, "not_found");
    assert_eq!(r.body["message"], "no such route");
    let r = app.get("/api/v1/alerts/unread", Some(analyst)).await;
    expect_error(&r, 404, "not_found");
    assert_eq!(r.body["message"], "no such route");
    let r = app
        .get(&format!("/api/v1/alerts/{}", Uuid::now_v7()), Some(analyst))
        .await;
    expect_error(&r, 404, "not_found");
    assert_eq!(r.body["message"], "Alert not found");
}

#[tokio::test]
async fn the_queue_holds_new_alerts_still_delivering_or_unread() {
    let app = spawn_app().await;
    let s = staff(&app).await;
    let a = campaign(&app, &s.manager.access).await;
    let b = campaign(&app, &s.manager.access).await;
    let first = raise_crisis(&app, &s.manager.access, a, 0.9).await;
    let second = raise_crisis(&app, &s.manager.access, b, 0.9).await;
    let queue = |token: String| {
        let app = &app;
        async move {
            let r = app.get("/api/v1/alerting/queue", Some(&token)).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            ids(&r)
        }
    };
    let v = s.viewer.access.clone();
    assert_eq!(
        queue(v.clone()).await,
        [second, first].map(|i| i.to_string())
    );
    let q = app.get("/api/v1/alerting/queue", Some(&v)).await;
    assert_eq!(q.body["alerts"][0]["type"], "CRISIS");

    settled(&app, &v, first).await;
    action(&app, &s.analyst.access, first, "read").await;
    assert_eq!(
        queue(v.clone()).await,
        [second.to_string()],
        "read and delivered"
    );
    action(&app, &s.analyst.access, second, "dismiss").await;
    assert!(queue(v.clone()).await.is_empty());

    let third = raise_crisis(&app, &s.manager.access, b, 0.9).await;
    let fourth = raise_crisis(&app, &s.manager.access, a, 0.9).await;
    let r = app
        .request(
            Method::PATCH,
            "/api/v1/notifications/preferences",
            Some(&v),
            Some(json!({ "campaigns": [b] })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(queue(v.clone()).await, [third.to_string()]);
    assert_eq!(
        queue(s.manager.access.clone()).await,
        [fourth, third].map(|i| i.to_string()),
        "each user's own campaigns"
    );
}

#[tokio::test]
async fn a_sent_alert_goes_by_sms_to_exactly_its_recipients() {
    let app = spawn_app().await;
    let s = staff(&app).await;
    let c = campaign(&app, &s.manager.access).await;
    let r = send_alert(
        &app,
        &s.manager.access,
        json!({
            "type": "MENTION_SPIKE",
            "message": "Volume is up on the debate clip",
            "recipients": ["+15550000001", "+15550000002"],
            "campaignId": c
        }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["sent"], true);
    let id: Uuid = r.body["alertId"].as_str().unwrap().parse().unwrap();
    let a = settled(&app, &s.manager.access, id).await;
    assert_eq!(a["severity"], "MEDIUM");
    assert_eq!(a["title"], "MENTION_SPIKE");
    assert_eq!(a["campaignId"], c.to_string());
    assert_eq!(
        a["channels"],
        json!([{ "type": "SMS", "recipients": ["+15550000001", "+15550000002"], "template": "generic" }])
    );
    assert_eq!(a["status"], "sent");
    for n in ["+15550000001", "+15550000002"] {
        let sms = sent_to(&app, "sms", n).await;
        assert_eq!(sms.len(), 1, "{n}");
        assert_eq!(sms[0].body, "Volume is up on the debate clip");
    }
    assert_eq!(outbox(&app).await.len(), 2, "nothing else was sent");

    let r = send_alert(
        &app,
        &s.manager.access,
        json!({ "type": "NOPE", "message": " ", "recipients": ["+15550000001", "5550000002"] }),
    )
    .await;
    expect_error(&r, 400, "invalid_argument");
    assert_eq!(error_fields(&r), ["type", "message", "recipients[1]"]);
    let r = send_alert(
        &app,
        &s.manager.access,
        json!({ "type": "CRISIS", "message": "x", "recipients": [] }),
    )
    .await;
    assert_eq!(error_fields(&r), ["recipients"]);
    let r = send_alert(
        &app,
        &s.manager.access,
        json!({ "type": "CRISIS", "message": "x", "recipients": ["+15550000001"], "campaignId": Uuid::now_v7() }),
    )
    .await;
    expect_error(&r, 404, "not_found");

    let r = send_alert(
        &app,
        &s.manager.access,
        json!({ "type": "COMPETITOR", "message": "No campaign", "recipients": ["+15550000003"] }),
    )
    .await;
    let id: Uuid = r.body["alertId"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        alert(&app, &s.manager.access, id).await["campaignId"],
        Value::Null
    );
}

#[tokio::test]
async fn crisis_contacts_are_replaced_whole_and_checked() {
    let app = spawn_app().await;
    let s = staff(&app).await;
    let c = campaign(&app, &s.manager.access).await;
    let path = format!("/api/v1/campaigns/{c}/crisis-contacts");
    let r = app.get(&path, Some(&s.manager.access)).await;
    assert_eq!(r.body, json!({ "contacts": [] }));
    let list = json!([
        { "name": " Dana Press ", "phone": "+15551230001", "email": "dana@harbor.example", "channels": ["SMS", "EMAIL", "SMS"] },
        { "name": "Lee Field", "phone": "+15551230002", "channels": ["WHATSAPP"] }
    ]);
    let r = put_contacts(&app, &s.manager.access, c, list).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["contacts"][0]["name"], "Dana Press");
    assert_eq!(r.body["contacts"][0]["channels"], json!(["SMS", "EMAIL"]));
    let got = app.get(&path, Some(&s.manager.access)).await;
    assert_eq!(got.body, r.body);
    assert_eq!(got.body["contacts"][1]["email"], Value::Null);

    let bad = json!([
        { "name": "", "phone": "555", "channels": [] },
        { "name": "No phone", "channels": ["SMS", "SLACK"] },
        { "name": "No mail", "email": "nope", "channels": ["EMAIL"] }
    ]);
    let r = put_contacts(&app, &s.manager.access, c, bad).await;
    expect_error(&r, 400, "invalid_argument");
    assert_eq!(
        error_fields(&r),
        [
            "contacts[0].name",
            "contacts[0].phone",
            "contacts[0].channels",
            "contacts[1].phone",
            "contacts[1].channels[1]",
            "contacts[2].email"
        ]
    );
    assert_eq!(app.get(&path, Some(&s.manager.access)).await.body, got.body);
    let r = put_contacts(&app, &s.manager.access, c, json!([])).await;
    assert_eq!(r.body, json!({ "contacts": [] }));
    let r = put_contacts(&app, &s.manager.access, Uuid::now_v7(), json!([])).await;
    expect_error(&r, 404, "not_found");
    let r = app
        .get(
            "/api/v1/campaigns/nope/crisis-contacts",
            Some(&s.manager.access),
        )
        .await;
    expect_error(&r, 404, "not_found");
}
