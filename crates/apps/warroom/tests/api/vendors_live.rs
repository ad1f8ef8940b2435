//! War Room's vendor adapters against local fakes (wiremock) that check the exact request each
//! vendor would receive: Twilio's Messages API, a Slack incoming webhook, Mentionlytics'
//! `/mentions`. Also retries, `Retry-After`, the breaker, unconfigured settings, and MOCK
//! mode recording to the outbox without any HTTP call.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use platform::{
    ApiError,
    datamode::{DataMode, Mode},
    error::ErrorCode,
    outbox::OutboxMessage,
    vendor::{
        BreakerPolicy, RetryPolicy, VendorClient, VendorError, VendorPolicy, VendorRegistry,
        VendorSettings, VendorStatusState,
    },
};
use serde_json::{Value, json};
use warroom::integrations::{
    mentionlytics::{
        MentionQuery, MentionSource, SourceError, SourceMention,
        live::{LiveMentionlytics, Mentionlytics, MentionlyticsConfig},
    },
    slack::{self, Chat, LiveSlack, SlackConfig},
    twilio::{self, Channel, LiveTwilio, Messaging, Twilio, TwilioConfig},
};
use wiremock::{
    Mock, MockServer, Request, ResponseTemplate,
    matchers::{body_json, header, method, path},
};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};
use platform::validate::Paging;

const SID: &str = "AC00000000000000000000000000000001";
const TOKEN: &str = "twilio-test-token";
/// base64("AC00000000000000000000000000000001:twilio-test-token"), computed outside Rust.
const TWILIO_BASIC: &str =
    "Basic QUMwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMTp0d2lsaW8tdGVzdC10b2tlbg==";
const MESSAGES_PATH: &str = "/2010-04-01/Accounts/AC00000000000000000000000000000001/Messages.json";
const SMS_FROM: &str = "+15005550006";
const WHATSAPP_FROM: &str = "+14155238886";
const MENTIONLYTICS_TOKEN: &str = "ml-test-token";

/// Short waits, so retries and cool-downs fit in a test.
fn policy(failure_threshold: u32) -> VendorPolicy {
    VendorPolicy {
        connect_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(2),
        retry: RetryPolicy {
            max_retries: 2,
            base: Duration::from_millis(10),
            max: Duration::from_millis(40),
            jitter: 0.5,
            max_retry_after: Duration::from_secs(3),
        },
        breaker: BreakerPolicy {
            failure_threshold,
            cool_down: Duration::from_secs(60),
        },
    }
}

fn twilio_settings(base: &str) -> VendorSettings {
    VendorSettings::default()
        .with("TWILIO_BASE_URL", base)
        .with("TWILIO_SID", SID)
        .with("TWILIO_TOKEN", TOKEN)
        .with("TWILIO_SMS_FROM", SMS_FROM)
        .with("TWILIO_WHATSAPP_FROM", WHATSAPP_FROM)
}

fn live_twilio(settings: &VendorSettings, failure_threshold: u32) -> LiveTwilio {
    LiveTwilio::new(
        TwilioConfig::from_settings(settings).unwrap(),
        VendorClient::new(twilio::VENDOR, policy(failure_threshold)).unwrap(),
    )
}

fn created(sid: &str) -> ResponseTemplate {
    ResponseTemplate::new(201).set_body_json(json!({
        "sid": sid, "status": "queued", "account_sid": SID, "body": "…", "num_segments": "1"
    }))
}

/// The form fields of a request Twilio received.
fn form(req: &Request) -> HashMap<String, String> {
    url::form_urlencoded::parse(&req.body)
        .into_owned()
        .collect()
}

async fn received(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap()
}

async fn outbox(app: &TestApp) -> Vec<OutboxMessage> {
    app.ctx
        .outbox
        .page(Paging::new(1, 100))
        .await
        .unwrap()
        .items
}

#[tokio::test]
async fn live_sms_posts_the_messages_api_form_with_basic_auth() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .and(header("authorization", TWILIO_BASIC))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .respond_with(created("SM0123456789abcdef0123456789abcdef"))
        .expect(1)
        .mount(&server)
        .await;
    let settings = twilio_settings(&server.uri()).with(
        "TWILIO_STATUS_CALLBACK_URL",
        "https://warroom.test/twilio/status",
    );
    let sent = live_twilio(&settings, 5)
        .send_sms("+15551234567", "Crisis: negative spike on #Rivera")
        .await
        .unwrap();
    assert_eq!(sent.sid, "SM0123456789abcdef0123456789abcdef");
    assert_eq!(sent.status, "queued");
    assert_eq!(sent.channel, Channel::Sms);
    let reqs = received(&server).await;
    let f = form(&reqs[0]);
    assert_eq!(f["To"], "+15551234567");
    assert_eq!(f["From"], SMS_FROM);
    assert_eq!(f["Body"], "Crisis: negative spike on #Rivera");
    assert_eq!(f["StatusCallback"], "https://warroom.test/twilio/status");
    assert_eq!(f.len(), 4);
}

#[tokio::test]
async fn live_whatsapp_prefixes_both_numbers_and_asks_no_callback_when_none_is_configured() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(created("SMfeedfacefeedfacefeedfacefeedface"))
        .mount(&server)
        .await;
    let sent = live_twilio(&twilio_settings(&server.uri()), 5)
        .send_whatsapp("+15551234567", "War room: call in now")
        .await
        .unwrap();
    assert_eq!(sent.channel, Channel::Whatsapp);
    let f = form(&received(&server).await[0]);
    assert_eq!(f["To"], "whatsapp:+15551234567");
    assert_eq!(f["From"], format!("whatsapp:{WHATSAPP_FROM}"));
    assert!(!f.contains_key("StatusCallback"));
}

#[tokio::test]
async fn twilio_refusals_carry_twilios_message_and_become_invalid_argument() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "code": 21614, "message": "'To' number is not a valid mobile number",
            "more_info": "https://www.twilio.com/docs/errors/21614", "status": 400
        })))
        .expect(1)
        .mount(&server)
        .await;
    let err = live_twilio(&twilio_settings(&server.uri()), 1)
        .send_sms("+15557654321", "hi")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, VendorError::Rejected { status: 400, message, .. }
            if message == "'To' number is not a valid mobile number (Twilio error 21614)"),
        "{err:?}"
    );
    let api = ApiError::from(err);
    assert_eq!(api.code, ErrorCode::InvalidArgument);
    assert!(!api.message.contains(TOKEN));
}

#[tokio::test]
async fn twilio_is_retried_after_a_503_and_the_message_goes_out_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(created("SM11111111111111111111111111111111"))
        .mount(&server)
        .await;
    let sent = live_twilio(&twilio_settings(&server.uri()), 5)
        .send_sms("+15551234567", "hi")
        .await
        .unwrap();
    assert_eq!(sent.sid, "SM11111111111111111111111111111111");
    assert_eq!(received(&server).await.len(), 2);
}

#[tokio::test]
async fn twilio_429_waits_the_retry_after_it_asks() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(created("SM22222222222222222222222222222222"))
        .mount(&server)
        .await;
    let start = Instant::now();
    live_twilio(&twilio_settings(&server.uri()), 5)
        .send_sms("+15551234567", "hi")
        .await
        .unwrap();
    assert!(start.elapsed() >= Duration::from_secs(1));
    assert_eq!(received(&server).await.len(), 2);
}

#[tokio::test]
async fn a_failing_twilio_opens_the_circuit_and_is_left_alone_while_it_is_open() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let live = live_twilio(&twilio_settings(&server.uri()), 2);
    for _ in 0..2 {
        let err = live.send_sms("+15551234567", "hi").await.unwrap_err();
        assert!(matches!(err, VendorError::Unavailable { .. }), "{err:?}");
    }
    assert_eq!(
        received(&server).await.len(),
        2,
        "a message is not retried after a 500"
    );
    for _ in 0..3 {
        let err = live.send_whatsapp("+15551234567", "hi").await.unwrap_err();
        assert!(matches!(err, VendorError::CircuitOpen { .. }), "{err:?}");
        assert_eq!(ApiError::from(err).code, ErrorCode::Unavailable);
    }
    assert_eq!(received(&server).await.len(), 2, "no call while open");
    assert!(live.client().breaker().is_open());
}

#[tokio::test]
async fn twilio_status_reports_circuit_open_unconfigured_and_mock() {
    let server = MockServer::start().await;
    // A 500 is not retried for a message, so each failed call is one request.
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let vendors = VendorSettings::default()
        .with("TWILIO_BASE_URL", server.uri())
        .with("TWILIO_SID", SID)
        .with("TWILIO_TOKEN", TOKEN)
        .with("TWILIO_SMS_FROM", SMS_FROM);
    let app = spawn_app_with(|s| {
        s.data_mode = Mode::Live;
        s.vendors = vendors;
    })
    .await;
    let twilio = Twilio::from_settings(
        &app.settings,
        app.ctx.outbox.clone(),
        app.ctx.data_mode.clone(),
    )
    .unwrap();
    let registry = VendorRegistry::new(app.ctx.data_mode.clone()).with(twilio.vendors());
    let state = |name: &str| registry.status(name).unwrap();
    assert_eq!(state("twilio_sms").state, VendorStatusState::Live);
    assert_eq!(
        state("twilio_whatsapp").state,
        VendorStatusState::Unconfigured
    );
    assert_eq!(
        state("twilio_whatsapp").missing_setting.as_deref(),
        Some("TWILIO_WHATSAPP_FROM")
    );
    // The default policy: 5 failed calls open the circuit.
    for _ in 0..5 {
        twilio.send_sms("+15551234567", "hi").await.unwrap_err();
    }
    assert_eq!(state("twilio_sms").state, VendorStatusState::CircuitOpen);
    assert!(state("twilio_sms").retry_after_secs.unwrap() > 0);
    app.ctx.data_mode.switch(Mode::Mock, None).await.unwrap();
    assert_eq!(state("twilio_sms").state, VendorStatusState::Mock);
}

#[tokio::test]
async fn live_twilio_without_credentials_names_the_missing_setting_and_sends_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(created("SM"))
        .expect(0)
        .mount(&server)
        .await;
    let app = spawn_app_with(|s| {
        s.data_mode = Mode::Live;
        s.vendors = VendorSettings::default()
            .with("TWILIO_BASE_URL", server.uri())
            .with("TWILIO_SID", SID);
    })
    .await;
    let twilio = Twilio::from_settings(
        &app.settings,
        app.ctx.outbox.clone(),
        app.ctx.data_mode.clone(),
    )
    .unwrap();
    let err = twilio.send_sms("+15551234567", "hi").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "Twilio is not configured: set TWILIO_TOKEN"
    );
    let api = ApiError::from(err);
    assert_eq!(api.code, ErrorCode::FailedPrecondition);
    assert!(api.message.contains("TWILIO_TOKEN"));
    assert!(
        outbox(&app).await.is_empty(),
        "nothing falls back to the outbox"
    );
}

#[tokio::test]
async fn mock_twilio_records_to_the_outbox_and_an_admins_switch_to_live_takes_effect_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(created("SM33333333333333333333333333333333"))
        .mount(&server)
        .await;
    let vendors = twilio_settings(&server.uri());
    let app = spawn_app_with(|s| s.vendors = vendors).await;
    let mode = DataMode::new(Mode::Mock);
    let twilio =
        Twilio::from_settings(&app.settings, app.ctx.outbox.clone(), mode.clone()).unwrap();

    let sms = twilio.send_sms("+15551234567", "Mock alert").await.unwrap();
    let wa = twilio
        .send_whatsapp("whatsapp:+15557654321", "Mock WhatsApp")
        .await
        .unwrap();
    assert!(
        received(&server).await.is_empty(),
        "MOCK makes no HTTP call"
    );
    for sent in [&sms, &wa] {
        assert_eq!(sent.sid.len(), 34);
        assert!(sent.sid.starts_with("SM"));
        assert!(sent.sid[2..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(sent.status, "queued");
    }
    assert_ne!(sms.sid, wa.sid);
    let rows = outbox(&app).await;
    assert_eq!(rows.len(), 2);
    let row = |channel: &str| rows.iter().find(|m| m.channel == channel).unwrap();
    assert_eq!(row("sms").recipient, "+15551234567");
    assert_eq!(row("sms").body, "Mock alert");
    assert_eq!(
        row("sms").metadata.as_ref().unwrap()["sid"],
        sms.sid.as_str()
    );
    assert_eq!(row("sms").metadata.as_ref().unwrap()["from"], SMS_FROM);
    assert_eq!(row("whatsapp").recipient, "whatsapp:+15557654321");
    assert_eq!(
        row("whatsapp").metadata.as_ref().unwrap()["sid"],
        wa.sid.as_str()
    );

    let err = twilio.send_sms("555-1234", "bad number").await.unwrap_err();
    assert!(
        matches!(err, VendorError::Rejected { status: 400, .. }),
        "{err:?}"
    );

    mode.switch(Mode::Live, None).await.unwrap();
    let live = twilio.send_sms("+15551234567", "Live alert").await.unwrap();
    assert_eq!(live.sid, "SM33333333333333333333333333333333");
    assert_eq!(received(&server).await.len(), 1);
    assert_eq!(
        outbox(&app).await.len(),
        2,
        "LIVE does not write the outbox"
    );
}

fn live_slack(webhook: &str, failure_threshold: u32) -> LiveSlack {
    let v = VendorSettings::default().with(slack::WEBHOOK_SETTING, webhook);
    LiveSlack::new(
        SlackConfig::from_settings(&v).unwrap(),
        VendorClient::new(slack::VENDOR, policy(failure_threshold)).unwrap(),
    )
}

#[tokio::test]
async fn live_slack_posts_json_to_the_webhook() {
    let server = MockServer::start().await;
    let blocks = json!([{ "type": "section", "text": { "type": "mrkdwn", "text": "*Crisis*" } }]);
    Mock::given(method("POST"))
        .and(path("/services/T000/B000/XXXX"))
        .and(header("content-type", "application/json"))
        .and(body_json(
            json!({ "text": "Crisis on #Rivera", "blocks": blocks }),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/services/T000/B000/XXXX"))
        .and(body_json(json!({ "text": "plain" })))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&server)
        .await;
    let slack = live_slack(&format!("{}/services/T000/B000/XXXX", server.uri()), 5);
    slack
        .post("Crisis on #Rivera", Some(&blocks))
        .await
        .unwrap();
    slack.post("plain", None).await.unwrap();
}

#[tokio::test]
async fn slack_refusals_carry_slacks_error_code() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(410).set_body_string("channel_is_archived"))
        .mount(&server)
        .await;
    let err = live_slack(&format!("{}/services/T/B/secret", server.uri()), 1)
        .post("hi", None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, VendorError::Rejected { status: 410, message, .. } if message == "channel_is_archived"),
        "{err:?}"
    );
    assert!(!err.to_string().contains("secret"));
}

#[tokio::test]
async fn mock_slack_records_to_the_outbox_and_live_slack_unconfigured_names_the_webhook() {
    let app = spawn_app().await;
    let mode = DataMode::new(Mode::Mock);
    let slack =
        slack::Slack::from_settings(&app.settings, app.ctx.outbox.clone(), mode.clone()).unwrap();
    let blocks = json!([{ "type": "divider" }]);
    slack.post("Mock crisis", Some(&blocks)).await.unwrap();
    let rows = outbox(&app).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].channel, "slack");
    assert_eq!(rows[0].recipient, slack::MOCK_RECIPIENT);
    assert_eq!(rows[0].body, "Mock crisis");
    assert_eq!(rows[0].metadata.as_ref().unwrap()["blocks"], blocks);

    mode.switch(Mode::Live, None).await.unwrap();
    let err = slack.post("Live crisis", None).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "Slack is not configured: set SLACK_WEBHOOK_URL"
    );
    let registry = VendorRegistry::new(mode).with([slack.vendor()]);
    assert_eq!(
        registry.status("slack").unwrap().state,
        VendorStatusState::Unconfigured
    );
    assert_eq!(outbox(&app).await.len(), 1);
}

fn query() -> MentionQuery {
    MentionQuery {
        config_id: uuid::Uuid::now_v7(),
        campaign_id: uuid::Uuid::now_v7(),
        keywords: vec!["Rivera".into(), "#RiveraForSenate".into()],
        competitors: vec!["Chen".into()],
        influencers: vec![],
        platforms: vec![],
        since: "2026-03-01T00:00:00Z".parse().unwrap(),
        until: "2026-03-01T06:00:00Z".parse().unwrap(),
        limit: 1000,
    }
}

fn live_mentionlytics(
    base: &str,
    token: Option<&str>,
    failure_threshold: u32,
) -> LiveMentionlytics {
    let mut v = VendorSettings::default().with("MENTIONLYTICS_BASE_URL", base);
    if let Some(t) = token {
        v = v.with("MENTIONLYTICS_TOKEN", t);
    }
    LiveMentionlytics::new(
        MentionlyticsConfig::from_settings(&v).unwrap(),
        VendorClient::new("Mentionlytics", policy(failure_threshold)).unwrap(),
    )
}

fn mention(id: &str, hour: u32, text: &str) -> Value {
    json!({
        "id": id, "text": text, "author": "@voter", "platform": "twitter",
        "url": format!("https://x.test/{id}"), "sentiment": -0.4, "reach": 1500,
        "engagement": 12, "timestamp": format!("2026-03-01T0{hour}:00:00Z"),
        "location": "Phoenix, AZ", "language": "en"
    })
}

#[tokio::test]
async fn live_mentionlytics_posts_the_seeds_request_with_a_bearer_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/mentions"))
        .and(header("authorization", "Bearer ml-test-token"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "keywords": ["Rivera", "#RiveraForSenate"],
            "limit": 1000,
            "sort": "date_desc",
            "since": "2026-03-01T00:00:00Z",
            "until": "2026-03-01T06:00:00Z",
            "competitors": ["Chen"]
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "mentions": [
                mention("m1", 1, "Rivera at the rally"),
                { "id": "broken", "text": "no timestamp" },
                mention("m2", 3, "Chen responds"),
            ]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let live = live_mentionlytics(&server.uri(), Some(MENTIONLYTICS_TOKEN), 5);
    let got: Vec<SourceMention> = live.fetch(&query()).await.unwrap();
    let ids: Vec<&str> = got.iter().map(|m| m.source_id.as_str()).collect();
    assert_eq!(ids, ["m2", "m1"], "newest first, the broken one skipped");
    assert_eq!(got[0].matched.as_deref(), Some("Chen"));
    assert_eq!(got[1].matched.as_deref(), Some("Rivera"));
    assert_eq!(got[1].sentiment, Some(-0.4));
    assert_eq!(got[1].reach, 1500);
}

#[tokio::test]
async fn live_mentionlytics_reads_a_bare_array_and_retries_a_503() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([mention("m9", 2, "Rivera")])))
        .mount(&server)
        .await;
    let live = live_mentionlytics(&server.uri(), Some(MENTIONLYTICS_TOKEN), 5);
    let got = live.fetch(&query()).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(received(&server).await.len(), 2);
}

#[tokio::test]
async fn live_mentionlytics_without_a_token_names_it_and_calls_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(0)
        .mount(&server)
        .await;
    let err = live_mentionlytics(&server.uri(), None, 5)
        .fetch(&query())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            SourceError::Unconfigured {
                setting: "MENTIONLYTICS_TOKEN"
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_failing_mentionlytics_opens_the_circuit_and_polls_stop_reaching_it() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let live = live_mentionlytics(&server.uri(), Some(MENTIONLYTICS_TOKEN), 1);
    let err = live.fetch(&query()).await.unwrap_err();
    assert!(matches!(err, SourceError::Unavailable(_)), "{err:?}");
    assert_eq!(received(&server).await.len(), 3, "a read is retried twice");
    assert!(live.breaker().is_open());
    for _ in 0..3 {
        let err = live.fetch(&query()).await.unwrap_err();
        assert!(matches!(err, SourceError::Unavailable(_)), "{err:?}");
    }
    assert_eq!(received(&server).await.len(), 3, "no call while open");
}

#[tokio::test]
async fn an_unreadable_mentionlytics_answer_is_a_bad_response() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "total": 0 })))
        .mount(&server)
        .await;
    let live = live_mentionlytics(&server.uri(), Some(MENTIONLYTICS_TOKEN), 5);
    for _ in 0..2 {
        let err = live.fetch(&query()).await.unwrap_err();
        assert!(matches!(err, SourceError::BadResponse(_)), "{err:?}");
    }
}

/// A stand-in mock source, so the switch can be seen choosing.
struct Canned;

#[async_trait]
impl MentionSource for Canned {
    async fn fetch(&self, _: &MentionQuery) -> Result<Vec<SourceMention>, SourceError> {
        Ok(vec![SourceMention {
            source_id: "canned".into(),
            text: "from the mock".into(),
            author: "mock".into(),
            platform: "twitter".into(),
            url: String::new(),
            sentiment: None,
            reach: 0,
            engagement: 0,
            timestamp: "2026-03-01T01:00:00Z".parse().unwrap(),
            location: None,
            language: "en".into(),
            matched: None,
        }])
    }
}

#[tokio::test]
async fn the_mentionlytics_switch_polls_the_mock_in_mock_mode_and_the_vendor_in_live_mode() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([mention("live1", 2, "Rivera")])),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mode = DataMode::new(Mode::Mock);
    let source = Mentionlytics::new(
        live_mentionlytics(&server.uri(), Some(MENTIONLYTICS_TOKEN), 5),
        Canned,
        mode.clone(),
    );
    assert_eq!(source.fetch(&query()).await.unwrap()[0].source_id, "canned");
    mode.switch(Mode::Live, None).await.unwrap();
    assert_eq!(source.fetch(&query()).await.unwrap()[0].source_id, "live1");
    let registry = VendorRegistry::new(mode).with([source.live().vendor()]);
    assert_eq!(
        registry.status("mentionlytics").unwrap().state,
        VendorStatusState::Live
    );
}
