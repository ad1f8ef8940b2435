//! Direct messages (`/notifications/sms`, `/notifications/whatsapp`, `/integrations/sms`: one
//! implementation, one hourly allowance per user) and notification preferences (`GET`, `PUT`,
//! `PATCH /notifications/preferences`, `PATCH /settings/notifications`).

use platform::{datamode::Mode, vendor::VendorSettings};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    alerts::support::{campaign, sent_to},
    helpers::{TestApp, error_fields, expect_error, expect_limited, spawn_app, spawn_app_with},
};

const ENDPOINTS: [(&str, &str); 3] = [
    ("/api/v1/notifications/sms", "sms"),
    ("/api/v1/notifications/whatsapp", "whatsapp"),
    ("/api/v1/integrations/sms", "sms"),
];

fn is_sid(s: &str) -> bool {
    s.len() == 34 && s.starts_with("SM") && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

#[tokio::test]
async fn the_three_message_endpoints_send_and_answer_the_sid() {
    let app = spawn_app().await;
    let m = app.login_as("m@example.com", "manager").await;
    for (i, (path, channel)) in ENDPOINTS.iter().enumerate() {
        let to = format!("+1555000010{i}");
        let r = app
            .post(
                path,
                Some(&m.access),
                json!({ "to": to, "message": "Polls open at 7" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        let sid = r.body["messageId"].as_str().unwrap();
        assert!(is_sid(sid), "{sid}");
        assert_eq!(r.body["status"], "queued");
        let recipient = if *channel == "whatsapp" {
            format!("whatsapp:{to}")
        } else {
            to.clone()
        };
        let sent = sent_to(&app, channel, &recipient).await;
        assert_eq!(sent.len(), 1, "{path}");
        assert_eq!(sent[0].body, "Polls open at 7");
        assert_eq!(sent[0].metadata.as_ref().unwrap()["sid"], sid);
    }
}

#[tokio::test]
async fn the_three_message_endpoints_refuse_the_same_input() {
    let app = spawn_app().await;
    let m = app.login_as("m@example.com", "manager").await;
    let long = "x".repeat(1601);
    let cases: [(Value, &[&str]); 5] = [
        (json!({ "to": "5551234567", "message": "hi" }), &["to"]),
        (json!({ "to": "+0123456789", "message": "hi" }), &["to"]),
        (
            json!({ "to": "+15551234567", "message": "   " }),
            &["message"],
        ),
        (json!({ "to": "+1", "message": long }), &["to", "message"]),
        (json!({ "to": "+15551234567" }), &["message"]),
    ];
    for (path, _) in ENDPOINTS {
        for (body, fields) in &cases {
            let r = app.post(path, Some(&m.access), body.clone()).await;
            expect_error(&r, 400, "invalid_argument");
            assert_eq!(error_fields(&r), *fields, "{path} {body}");
        }
        let ok = app
            .post(
                path,
                Some(&m.access),
                json!({ "to": "+15551234567", "message": "x".repeat(1600) }),
            )
            .await;
        assert_eq!(
            ok.status,
            StatusCode::OK,
            "1600 characters pass: {}",
            ok.text
        );
    }
}

#[tokio::test]
async fn each_user_may_send_twenty_messages_an_hour_across_the_three() {
    let app = spawn_app().await;
    let m = app.login_as("m@example.com", "manager").await;
    let other = app.login_as("o@example.com", "manager").await;
    let body = json!({ "to": "+15551234567", "message": "Turnout update" });
    for i in 0..20 {
        let (path, _) = ENDPOINTS[i % 3];
        let r = app.post(path, Some(&m.access), body.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "message {}: {}", i + 1, r.text);
    }
    for (path, _) in ENDPOINTS {
        expect_limited(&app.post(path, Some(&m.access), body.clone()).await, 3600);
    }
    let r = app
        .post("/api/v1/notifications/sms", Some(&other.access), body)
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "another user has their own allowance"
    );
    let sent = sent_to(&app, "sms", "+15551234567").await.len()
        + sent_to(&app, "whatsapp", "whatsapp:+15551234567")
            .await
            .len();
    assert_eq!(sent, 21, "twenty, and the other user's one");
}

#[tokio::test]
async fn live_without_twilio_settings_names_the_missing_one() {
    let app = spawn_app_with(|s| s.data_mode = Mode::Live).await;
    let m = app.login_as("m@example.com", "manager").await;
    for (path, _) in ENDPOINTS {
        let r = app
            .post(
                path,
                Some(&m.access),
                json!({ "to": "+15551234567", "message": "hi" }),
            )
            .await;
        expect_error(&r, 400, "failed_precondition");
        assert!(
            r.error()["message"]
                .as_str()
                .unwrap()
                .contains("TWILIO_SID"),
            "{}",
            r.text
        );
    }
    let app = spawn_app_with(|s| {
        s.data_mode = Mode::Live;
        s.vendors = VendorSettings::default()
            .with("TWILIO_SID", "AC1")
            .with("TWILIO_TOKEN", "t")
            .with("TWILIO_SMS_FROM", "+15005550006");
    })
    .await;
    let m = app.login_as("m@example.com", "manager").await;
    let r = app
        .post(
            "/api/v1/notifications/whatsapp",
            Some(&m.access),
            json!({ "to": "+15551234567", "message": "hi" }),
        )
        .await;
    expect_error(&r, 400, "failed_precondition");
    assert!(
        r.error()["message"]
            .as_str()
            .unwrap()
            .contains("TWILIO_WHATSAPP_FROM")
    );
}

async fn send(app: &TestApp, method: Method, path: &str, token: &str, body: Value) -> Value {
    let r = app.request(method, path, Some(token), Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

#[tokio::test]
async fn preferences_default_then_put_replaces_and_patch_merges() {
    let app = spawn_app().await;
    let v = app.login_as("v@example.com", "viewer").await;
    let m = app.login_as("m@example.com", "manager").await;
    let c = campaign(&app, &m.access).await;
    const P: &str = "/api/v1/notifications/preferences";
    let r = app.get(P, Some(&v.access)).await;
    assert_eq!(
        r.body,
        json!({
            "channels": { "sms": false, "whatsapp": false, "email": false, "slack": false, "push": false },
            "phone": null, "minSeverity": "HIGH", "quietHours": null, "campaigns": null, "updatedAt": null
        })
    );

    let put = send(
        &app,
        Method::PUT,
        P,
        &v.access,
        json!({
            "channels": { "sms": true, "email": true },
            "phone": "+15559990001",
            "minSeverity": "MEDIUM",
            "quietHours": { "start": "22:00", "end": "07:00", "utcOffsetMinutes": -300 },
            "campaigns": [c, c]
        }),
    )
    .await;
    assert_eq!(put["channels"]["sms"], true);
    assert_eq!(put["channels"]["whatsapp"], false);
    assert_eq!(put["campaigns"], json!([c]), "repeats dropped");
    assert!(put["updatedAt"].is_string());
    assert_eq!(app.get(P, Some(&v.access)).await.body, put);

    let patched = send(
        &app,
        Method::PATCH,
        P,
        &v.access,
        json!({ "minSeverity": "CRITICAL", "channels": { "whatsapp": true } }),
    )
    .await;
    assert_eq!(patched["minSeverity"], "CRITICAL");
    assert_eq!(patched["channels"]["sms"], true, "kept");
    assert_eq!(patched["channels"]["whatsapp"], true);
    assert_eq!(patched["quietHours"]["start"], "22:00", "kept");

    // The seed 000 path is the same operation.
    let settings = send(
        &app,
        Method::PATCH,
        "/api/v1/settings/notifications",
        &v.access,
        json!({ "quietHours": null, "campaigns": null, "channels": { "sms": false, "whatsapp": false } }),
    )
    .await;
    assert_eq!(settings["quietHours"], Value::Null);
    assert_eq!(settings["campaigns"], Value::Null);
    assert_eq!(settings["minSeverity"], "CRITICAL");
    assert_eq!(settings["phone"], "+15559990001");
    let cleared = send(&app, Method::PATCH, P, &v.access, json!({ "phone": null })).await;
    assert_eq!(cleared["phone"], Value::Null);
    assert_eq!(app.get(P, Some(&v.access)).await.body, cleared);

    // PUT replaces: what it leaves out is back to the default.
    let put = send(
        &app,
        Method::PUT,
        P,
        &v.access,
        json!({ "channels": { "push": true } }),
    )
    .await;
    assert_eq!(put["minSeverity"], "HIGH");
    assert_eq!(put["channels"]["email"], false);
    assert_eq!(
        app.get(P, Some(&m.access)).await.body["updatedAt"],
        Value::Null,
        "each user's own"
    );
}

#[tokio::test]
async fn preferences_are_checked_and_a_refused_change_keeps_the_old_ones() {
    let app = spawn_app().await;
    let v = app.login_as("v@example.com", "viewer").await;
    const P: &str = "/api/v1/notifications/preferences";
    let before = app.get(P, Some(&v.access)).await.body;
    let cases: [(Value, &[&str]); 5] = [
        (json!({ "channels": { "sms": true } }), &["phone"]),
        (
            json!({ "channels": { "whatsapp": true }, "phone": "555-0100" }),
            &["phone"],
        ),
        (
            json!({ "quietHours": { "start": "25:00", "end": "7:00", "utcOffsetMinutes": 900 } }),
            &[
                "quietHours.start",
                "quietHours.end",
                "quietHours.utcOffsetMinutes",
            ],
        ),
        (
            json!({ "quietHours": { "start": "08:00", "end": "08:00" } }),
            &["quietHours.end"],
        ),
        (json!({ "campaigns": [Uuid::now_v7()] }), &["campaigns[0]"]),
    ];
    for method in [Method::PUT, Method::PATCH] {
        for (body, fields) in &cases {
            let r = app
                .request(method.clone(), P, Some(&v.access), Some(body.clone()))
                .await;
            expect_error(&r, 400, "invalid_argument");
            assert_eq!(error_fields(&r), *fields, "{method} {body}");
        }
    }
    let r = app
        .request(
            Method::PATCH,
            P,
            Some(&v.access),
            Some(json!({ "minSeverity": "SEVERE" })),
        )
        .await;
    expect_error(&r, 400, "invalid_argument");
    assert_eq!(app.get(P, Some(&v.access)).await.body, before);
}
