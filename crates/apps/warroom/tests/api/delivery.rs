//! Alert delivery through the job queue: in MOCK mode to the outbox, to crisis contacts and to
//! the users whose preferences ask for it (and nobody else); in LIVE mode against a Twilio and
//! a Slack fake (wiremock): the sid recorded, passing failures retried to success, persistent
//! ones dead-lettered and retried from the console, an unconfigured vendor named; and
//! Twilio's signed status callbacks.

pub mod callbacks;

use std::collections::HashMap;

use platform::{datamode::Mode, vendor::VendorSettings};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;
use warroom::{domain::monitoring::AlertThresholds, service::crisis};
use wiremock::{
    Mock, MockServer, Request, ResponseTemplate,
    matchers::{method, path},
};

use crate::{
    alerts::support::{
        alert, campaign, deliveries, eventually, hours_ago, insert_mentions, outbox, put_contacts,
        raise_crisis, sent_to, settled, stream,
    },
    helpers::{Login, TestApp, expect_error, spawn_app, spawn_app_with},
};

const SID: &str = "AC00000000000000000000000000000001";
pub const TOKEN: &str = "twilio-test-token";
const MESSAGES_PATH: &str = "/2010-04-01/Accounts/AC00000000000000000000000000000001/Messages.json";
const SMS_FROM: &str = "+15005550006";
const CONTACT: &str = "+15551230001";

async fn prefs(app: &TestApp, who: &Login, body: Value) {
    let r = app
        .request(
            Method::PUT,
            "/api/v1/notifications/preferences",
            Some(&who.access),
            Some(body),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

/// "HH:MM" `h` hours from now, UTC.
fn clock(h: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::hours(h))
        .format("%H:%M")
        .to_string()
}

#[tokio::test]
async fn mock_deliveries_reach_contacts_and_opted_in_users_and_nobody_else() {
    let app = spawn_app().await;
    let m = app.login_as("m@example.com", "manager").await;
    let c = campaign(&app, &m.access).await;
    let r = put_contacts(
        &app,
        &m.access,
        c,
        json!([
            { "name": "Dana Press", "phone": CONTACT, "email": "dana@harbor.example", "channels": ["SMS", "WHATSAPP", "EMAIL"] },
            { "name": "Lee Field", "email": "lee@harbor.example", "channels": ["EMAIL"] }
        ]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let ana = app.login_as("ana@example.com", "analyst").await;
    prefs(&app, &ana, json!({ "channels": { "sms": true, "email": true }, "phone": "+15559990001", "minSeverity": "HIGH" })).await;
    let out = app.login_as("opt@example.com", "viewer").await;
    prefs(&app, &out, json!({ "channels": { "slack": true, "push": true }, "phone": "+15559990002", "minSeverity": "LOW" })).await;
    let crit = app.login_as("crit@example.com", "viewer").await;
    prefs(
        &app,
        &crit,
        json!({ "channels": { "email": true }, "minSeverity": "CRITICAL" }),
    )
    .await;
    let night = app.login_as("quiet@example.com", "viewer").await;
    prefs(
        &app,
        &night,
        json!({ "channels": { "email": true }, "minSeverity": "LOW",
                "quietHours": { "start": clock(-1), "end": clock(1) } }),
    )
    .await;

    let high = raise_crisis(&app, &m.access, c, 0.7).await;
    let a = settled(&app, &m.access, high).await;
    assert_eq!(a["status"], "sent", "{a:#}");
    assert_eq!(
        a["channels"],
        json!([
            { "type": "SMS", "recipients": [CONTACT, "+15559990001"], "template": "crisis_sms" },
            { "type": "WHATSAPP", "recipients": [CONTACT], "template": "crisis_whatsapp" },
            { "type": "EMAIL", "recipients": ["dana@harbor.example", "lee@harbor.example", "ana@example.com"], "template": "crisis_email" },
            { "type": "SLACK", "recipients": ["#crisis-room"], "template": "crisis_slack" }
        ])
    );
    assert_eq!(a["deliveries"].as_array().unwrap().len(), 7);
    for d in a["deliveries"].as_array().unwrap() {
        assert_eq!(d["status"], "sent", "{d}");
        assert_eq!(d["attempts"], 1);
        assert!(d["jobId"].is_string());
    }
    let sms = sent_to(&app, "sms", CONTACT).await;
    assert_eq!(sms.len(), 1);
    assert!(
        sms[0].body.starts_with(
            "[HIGH] 🚨 CRISIS ALERT: Negative surge, Mention spike\nCrisis score 0.70"
        ),
        "{}",
        sms[0].body
    );
    let sid = sms[0].metadata.as_ref().unwrap()["sid"].as_str().unwrap();
    assert_eq!(deliveries(&a, "SMS")[0]["vendorMessageId"], sid);
    assert_eq!(
        sent_to(&app, "whatsapp", &format!("whatsapp:{CONTACT}"))
            .await
            .len(),
        1
    );
    assert!(
        sent_to(&app, "whatsapp", &format!("whatsapp:{CONTACT}")).await[0]
            .body
            .starts_with("*[HIGH] 🚨 CRISIS ALERT")
    );
    let mail = sent_to(&app, "email", "dana@harbor.example").await;
    assert_eq!(
        mail[0].subject.as_deref(),
        Some("[War Room] HIGH: 🚨 CRISIS ALERT: Negative surge, Mention spike")
    );
    assert_eq!(sent_to(&app, "email", "lee@harbor.example").await.len(), 1);
    assert_eq!(sent_to(&app, "slack", "incoming-webhook").await.len(), 1);
    assert_eq!(sent_to(&app, "sms", "+15559990001").await.len(), 1);
    assert_eq!(sent_to(&app, "email", "ana@example.com").await.len(), 1);
    for nobody in ["opt@example.com", "crit@example.com", "quiet@example.com"] {
        assert!(sent_to(&app, "email", nobody).await.is_empty(), "{nobody}");
    }
    assert!(sent_to(&app, "sms", "+15559990002").await.is_empty());
    assert_eq!(outbox(&app).await.len(), 7);

    // CRITICAL: the critical-only user too, and it breaks through quiet hours.
    let critical = raise_crisis(&app, &m.access, c, 0.9).await;
    settled(&app, &m.access, critical).await;
    assert_eq!(sent_to(&app, "email", "crit@example.com").await.len(), 1);
    assert_eq!(sent_to(&app, "email", "quiet@example.com").await.len(), 1);
    assert!(sent_to(&app, "email", "opt@example.com").await.is_empty());
}

#[tokio::test]
async fn detector_alerts_go_to_contacts_only_at_high_or_worse() {
    let app = spawn_app().await;
    let m = app.login_as("m@example.com", "manager").await;
    let c = campaign(&app, &m.access).await;
    put_contacts(
        &app,
        &m.access,
        c,
        json!([{ "name": "Dana", "phone": CONTACT, "channels": ["SMS"] }]),
    )
    .await;
    let t0 = hours_ago(3);
    let t = AlertThresholds::default();
    insert_mentions(&app, c, &stream(t0, 60, 6, 0.3, 1000)).await;
    // Seven times the volume at the usual tone: a MEDIUM spike, nobody to tell.
    insert_mentions(
        &app,
        c,
        &stream(t0 + chrono::Duration::minutes(60), 5, 42, 0.3, 1000),
    )
    .await;
    crisis::evaluate(&app.ctx, c, &t).await.unwrap();
    let r = app
        .get(&format!("/api/v1/alerts?campaignId={c}"), Some(&m.access))
        .await;
    let spike = &r.body["alerts"][0];
    assert_eq!(spike["type"], "MENTION_SPIKE");
    assert_eq!(spike["severity"], "MEDIUM");
    assert_eq!(spike["status"], "skipped");
    assert_eq!(spike["channels"], json!([]));

    // Then it turns hostile: CRISIS (CRITICAL) and a HIGH sentiment drop reach the contact.
    insert_mentions(
        &app,
        c,
        &stream(t0 + chrono::Duration::minutes(65), 3, 80, -0.9, 5000),
    )
    .await;
    crisis::evaluate(&app.ctx, c, &t).await.unwrap();
    let sms = eventually("two SMS to the contact", || async {
        let s = sent_to(&app, "sms", CONTACT).await;
        (s.len() >= 2).then_some(s)
    })
    .await;
    assert_eq!(sms.len(), 2);
    assert!(
        sms.iter()
            .any(|s| s.body.starts_with("[CRITICAL] 🚨 CRISIS ALERT: "))
    );
    assert!(sms.iter().any(|s| {
        s.body
            .starts_with("[HIGH] Sentiment drop: Harbor County Senate")
    }));
}

fn created(sid: &str) -> ResponseTemplate {
    ResponseTemplate::new(201)
        .set_body_json(json!({ "sid": sid, "status": "queued", "account_sid": SID }))
}

/// A LIVE War Room with Twilio and Slack on `server`, three delivery attempts 50 ms apart.
async fn live(server: &MockServer, twilio: bool) -> TestApp {
    Mock::given(method("POST"))
        .and(path("/slack/hook"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(server)
        .await;
    let mut v = VendorSettings::default()
        .with("SLACK_WEBHOOK_URL", format!("{}/slack/hook", server.uri()))
        .with("ALERT_DELIVERY_MAX_ATTEMPTS", "3")
        .with("ALERT_DELIVERY_RETRY_BASE_MS", "50")
        .with("ALERT_DELIVERY_RETRY_MAX_MS", "200");
    if twilio {
        v = v
            .with("TWILIO_BASE_URL", server.uri())
            .with("TWILIO_SID", SID)
            .with("TWILIO_TOKEN", TOKEN)
            .with("TWILIO_SMS_FROM", SMS_FROM);
    }
    spawn_app_with(move |s| {
        s.data_mode = Mode::Live;
        s.vendors = v;
    })
    .await
}

/// A campaign with one SMS contact, and a HIGH crisis alert raised for it.
async fn crisis_to_contact(app: &TestApp, m: &Login) -> Uuid {
    let c = campaign(app, &m.access).await;
    put_contacts(
        app,
        &m.access,
        c,
        json!([{ "name": "Dana", "phone": CONTACT, "channels": ["SMS"] }]),
    )
    .await;
    raise_crisis(app, &m.access, c, 0.7).await
}

async fn twilio_requests(server: &MockServer) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == MESSAGES_PATH)
        .collect()
}

#[tokio::test]
async fn live_sms_records_twilios_sid() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(created("SM0123456789abcdef0123456789abcdef"))
        .mount(&server)
        .await;
    let app = live(&server, true).await;
    let m = app.login_as("m@example.com", "manager").await;
    let id = crisis_to_contact(&app, &m).await;
    let a = settled(&app, &m.access, id).await;
    assert_eq!(a["status"], "sent", "{a:#}");
    let sms = deliveries(&a, "SMS");
    assert_eq!(
        sms[0]["vendorMessageId"],
        "SM0123456789abcdef0123456789abcdef"
    );
    assert_eq!(sms[0]["recipientName"], "Dana");
    assert_eq!(deliveries(&a, "SLACK")[0]["status"], "sent");
    let reqs = twilio_requests(&server).await;
    assert_eq!(reqs.len(), 1);
    let form: HashMap<String, String> = url::form_urlencoded::parse(&reqs[0].body)
        .into_owned()
        .collect();
    assert_eq!(form["To"], CONTACT);
    assert_eq!(form["From"], SMS_FROM);
    assert!(
        form["Body"].starts_with("[HIGH] 🚨 CRISIS ALERT: "),
        "{}",
        form["Body"]
    );
    assert!(
        outbox(&app).await.is_empty(),
        "LIVE sends nothing to the outbox"
    );
}

#[tokio::test]
async fn a_twilio_that_answers_503_twice_is_retried_to_success() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(created("SM00000000000000000000000000000503"))
        .mount(&server)
        .await;
    let app = live(&server, true).await;
    let m = app.login_as("m@example.com", "manager").await;
    let id = crisis_to_contact(&app, &m).await;
    let a = settled(&app, &m.access, id).await;
    let sms = deliveries(&a, "SMS");
    assert_eq!(sms[0]["status"], "sent", "{a:#}");
    assert_eq!(
        sms[0]["vendorMessageId"],
        "SM00000000000000000000000000000503"
    );
    assert_eq!(twilio_requests(&server).await.len(), 3);
}

#[tokio::test]
async fn a_failed_attempt_is_retried_by_the_job_with_backoff() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(created("SM00000000000000000000000000000500"))
        .mount(&server)
        .await;
    let app = live(&server, true).await;
    let m = app.login_as("m@example.com", "manager").await;
    let admin = app.login_as("root@example.com", "admin").await;
    let id = crisis_to_contact(&app, &m).await;
    let a = settled(&app, &m.access, id).await;
    let sms = deliveries(&a, "SMS")[0].clone();
    assert_eq!(sms["status"], "sent", "{a:#}");
    assert_eq!(
        sms["attempts"], 2,
        "a 500 is not retried inside the call: the job retries"
    );
    assert_eq!(sms["error"], Value::Null);
    let job = app
        .get(
            &format!("/admin/api/jobs/{}", sms["jobId"].as_str().unwrap()),
            Some(&admin.access),
        )
        .await;
    assert_eq!(job.status, StatusCode::OK, "{}", job.text);
    assert_eq!(job.body["job"]["status"], "succeeded");
    assert_eq!(job.body["job"]["kind"], "alert.deliver");
    assert_eq!(
        job.body["job"]["idempotencyKey"],
        format!("alert:{id}:sms:{CONTACT}")
    );
    let outcomes: Vec<&str> = job.body["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["retrying", "succeeded"]);
}

#[tokio::test]
async fn a_twilio_that_always_fails_dead_letters_and_an_admin_retries_it() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let app = live(&server, true).await;
    let m = app.login_as("m@example.com", "manager").await;
    let admin = app.login_as("root@example.com", "admin").await;
    let id = crisis_to_contact(&app, &m).await;
    let a = settled(&app, &m.access, id).await;
    assert_eq!(a["status"], "partial", "Slack went out, SMS did not");
    let sms = deliveries(&a, "SMS")[0].clone();
    assert_eq!(sms["status"], "dead");
    assert_eq!(sms["attempts"], 3);
    assert!(
        sms["error"]
            .as_str()
            .unwrap()
            .contains("Twilio is unavailable"),
        "{sms}"
    );
    assert_eq!(twilio_requests(&server).await.len(), 3);

    let job_id = sms["jobId"].as_str().unwrap().to_owned();
    let dead = eventually("the job to go dead", || async {
        let r = app
            .get(
                "/admin/api/jobs?status=dead&kind=alert.deliver",
                Some(&admin.access),
            )
            .await;
        (r.body["total"] == 1).then_some(r)
    })
    .await;
    assert_eq!(dead.body["jobs"][0]["id"], job_id);
    assert_eq!(dead.body["jobs"][0]["attempts"], 3);
    expect_error(
        &app.get("/admin/api/jobs?status=buried", Some(&admin.access))
            .await,
        400,
        "invalid_argument",
    );

    server.reset().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(created("SM000000000000000000000000000retry"))
        .mount(&server)
        .await;
    let r = app
        .post(
            &format!("/admin/api/jobs/{job_id}/retry"),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body["id"], job_id,
        "the job itself, revived (the worker may already hold it)"
    );
    let a = eventually("the retried delivery", || async {
        let a = alert(&app, &m.access, id).await;
        (a["status"] == "sent").then_some(a)
    })
    .await;
    let sms = deliveries(&a, "SMS")[0].clone();
    assert_eq!(sms["status"], "sent");
    assert_eq!(sms["vendorMessageId"], "SM000000000000000000000000000retry");
    let r = app
        .post(
            &format!("/admin/api/jobs/{job_id}/retry"),
            Some(&admin.access),
            json!({}),
        )
        .await;
    expect_error(&r, 400, "failed_precondition");
    let r = app
        .post(
            &format!("/admin/api/jobs/{}/retry", Uuid::now_v7()),
            Some(&admin.access),
            json!({}),
        )
        .await;
    expect_error(&r, 404, "not_found");
}

#[tokio::test]
async fn an_unconfigured_twilio_fails_the_delivery_naming_the_setting() {
    let server = MockServer::start().await;
    let app = live(&server, false).await;
    let m = app.login_as("m@example.com", "manager").await;
    let admin = app.login_as("root@example.com", "admin").await;
    let id = crisis_to_contact(&app, &m).await;
    let a = settled(&app, &m.access, id).await;
    let sms = deliveries(&a, "SMS")[0].clone();
    assert_eq!(sms["status"], "failed");
    assert_eq!(sms["attempts"], 1, "retrying cannot help");
    assert_eq!(sms["error"], "Twilio is not configured: set TWILIO_SID");
    assert_eq!(a["status"], "partial");
    let job = app
        .get(
            &format!("/admin/api/jobs/{}", sms["jobId"].as_str().unwrap()),
            Some(&admin.access),
        )
        .await;
    assert_eq!(job.body["job"]["status"], "dead");
    assert!(
        job.body["job"]["lastError"]
            .as_str()
            .unwrap()
            .contains("TWILIO_SID")
    );

    // Email in LIVE mode without SMTP fails the same way.
    let c = campaign(&app, &m.access).await;
    put_contacts(
        &app,
        &m.access,
        c,
        json!([{ "name": "Lee", "email": "lee@harbor.example", "channels": ["EMAIL"] }]),
    )
    .await;
    let id = raise_crisis(&app, &m.access, c, 0.9).await;
    let a = settled(&app, &m.access, id).await;
    assert_eq!(
        deliveries(&a, "EMAIL")[0]["error"],
        "email is not configured: set SMTP_URL"
    );
}
