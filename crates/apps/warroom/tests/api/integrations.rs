//! `/api/v1/integrations/status` and the vendors in `/api/v1/status`: each vendor's state
//! follows the data mode and its settings.

use platform::datamode::Mode;
use reqwest::StatusCode;

use crate::helpers::{spawn_app, spawn_app_with};

const VENDORS: [&str; 4] = ["mentionlytics", "twilio_sms", "twilio_whatsapp", "slack"];

#[tokio::test]
async fn in_mock_mode_every_vendor_is_mock() {
    let app = spawn_app().await;
    let analyst = app.login_as("a@example.com", "analyst").await;
    let r = app
        .get("/api/v1/integrations/status", Some(&analyst.access))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["dataMode"], "MOCK");
    let list = r.body["integrations"].as_array().unwrap();
    for name in VENDORS {
        let v = list.iter().find(|v| v["name"] == name).expect(name);
        assert_eq!(v["state"], "mock", "{name}");
    }
}

#[tokio::test]
async fn in_live_mode_a_vendor_without_credentials_is_unconfigured_and_names_the_setting() {
    let app = spawn_app_with(|s| {
        s.data_mode = Mode::Live;
        s.vendors = s
            .vendors
            .clone()
            .with("SLACK_WEBHOOK_URL", "https://hooks.example/x");
    })
    .await;
    let admin = app.login_as("root@example.com", "admin").await;
    let r = app
        .get("/api/v1/integrations/status", Some(&admin.access))
        .await;
    let list = r.body["integrations"].as_array().unwrap();
    let of = |name: &str| list.iter().find(|v| v["name"] == name).unwrap().clone();
    assert_eq!(of("slack")["state"], "live");
    assert_eq!(of("twilio_sms")["state"], "unconfigured");
    assert_eq!(of("twilio_sms")["missingSetting"], "TWILIO_SID");
    assert_eq!(of("mentionlytics")["missingSetting"], "MENTIONLYTICS_TOKEN");

    // The public status page reports them too, and is degraded by the unconfigured ones.
    let r = app.get("/api/v1/status", None).await;
    assert_eq!(r.body["status"], "degraded");
    let services = r.body["services"].as_array().unwrap();
    let twilio = services.iter().find(|s| s["name"] == "twilio_sms").unwrap();
    assert_eq!(twilio["state"], "unconfigured");
    assert_eq!(twilio["healthy"], false);
}
