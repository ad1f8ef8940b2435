//! Twilio's message status callbacks: accepted only with a valid `X-Twilio-Signature` over the
//! public URL and every parameter; they move a sent SMS to delivered or failed.

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use platform::vendor::VendorSettings;
use reqwest::{Method, StatusCode};
use sha1::Sha1;

use super::{CONTACT, SID, TOKEN, crisis_to_contact};
use crate::{
    alerts::support::{alert, deliveries, settled},
    helpers::{Resp, TestApp, error_fields, expect_error, spawn_app, spawn_app_with},
};

const CALLBACK: &str = "/api/v1/integrations/twilio/status";

type HmacSha1 = Hmac<Sha1>;

/// Twilio's signature, computed here independently of the server's check.
pub fn sign(token: &str, url: &str, params: &[(&str, &str)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut mac = HmacSha1::new_from_slice(token.as_bytes()).unwrap();
    mac.update(url.as_bytes());
    for (k, v) in sorted {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    STANDARD.encode(mac.finalize().into_bytes())
}

pub fn form_body(params: &[(&str, &str)]) -> Vec<u8> {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
        .into_bytes()
}

async fn callback(app: &TestApp, params: &[(&str, &str)], signature: Option<&str>) -> Resp {
    let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
    if let Some(s) = signature {
        headers.push(("x-twilio-signature", s));
    }
    app.raw_request(
        Method::POST,
        CALLBACK,
        None,
        &headers,
        Some(form_body(params)),
    )
    .await
}

#[tokio::test]
async fn twilio_status_callbacks_need_a_valid_signature() {
    let app =
        spawn_app_with(|s| s.vendors = VendorSettings::default().with("TWILIO_TOKEN", TOKEN)).await;
    let m = app.login_as("m@example.com", "manager").await;
    let id = crisis_to_contact(&app, &m).await;
    let a = settled(&app, &m.access, id).await;
    let sid = deliveries(&a, "SMS")[0]["vendorMessageId"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = format!("{}{CALLBACK}", app.settings.public_url);
    let delivered = [
        ("MessageSid", sid.as_str()),
        ("MessageStatus", "delivered"),
        ("AccountSid", SID),
        ("To", CONTACT),
    ];

    let r = callback(&app, &delivered, None).await;
    expect_error(&r, 403, "permission_denied");
    let r = callback(
        &app,
        &delivered,
        Some(&sign("wrong-token", &url, &delivered)),
    )
    .await;
    expect_error(&r, 403, "permission_denied");
    let tampered = [
        ("MessageSid", sid.as_str()),
        ("MessageStatus", "undelivered"),
        ("AccountSid", SID),
        ("To", CONTACT),
    ];
    let r = callback(&app, &tampered, Some(&sign(TOKEN, &url, &delivered))).await;
    expect_error(&r, 403, "permission_denied");
    assert_eq!(
        deliveries(&alert(&app, &m.access, id).await, "SMS")[0]["status"],
        "sent"
    );

    let r = callback(&app, &delivered, Some(&sign(TOKEN, &url, &delivered))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let d = deliveries(&alert(&app, &m.access, id).await, "SMS")[0].clone();
    assert_eq!(d["status"], "delivered");
    assert_eq!(d["vendorStatus"], "delivered");

    // A late "sent" does not move it back; "undelivered" marks it failed with the code.
    let late = [("MessageSid", sid.as_str()), ("MessageStatus", "sent")];
    assert_eq!(
        callback(&app, &late, Some(&sign(TOKEN, &url, &late)))
            .await
            .status,
        204
    );
    assert_eq!(
        deliveries(&alert(&app, &m.access, id).await, "SMS")[0]["status"],
        "delivered"
    );
    let failed = [
        ("MessageSid", sid.as_str()),
        ("MessageStatus", "undelivered"),
        ("ErrorCode", "30003"),
    ];
    assert_eq!(
        callback(&app, &failed, Some(&sign(TOKEN, &url, &failed)))
            .await
            .status,
        204
    );
    let a = alert(&app, &m.access, id).await;
    let d = deliveries(&a, "SMS")[0].clone();
    assert_eq!(d["status"], "failed");
    assert_eq!(
        d["error"],
        "Twilio reported the message undelivered (error 30003)"
    );
    assert_eq!(a["status"], "partial", "the crisis room still got it");

    // Unknown sids are acknowledged; a signed body without MessageSid is refused.
    let unknown = [
        ("MessageSid", "SMffffffffffffffffffffffffffffffff"),
        ("MessageStatus", "delivered"),
    ];
    assert_eq!(
        callback(&app, &unknown, Some(&sign(TOKEN, &url, &unknown)))
            .await
            .status,
        204
    );
    let bare = [("MessageStatus", "delivered")];
    let r = callback(&app, &bare, Some(&sign(TOKEN, &url, &bare))).await;
    expect_error(&r, 400, "invalid_argument");
    assert_eq!(error_fields(&r), ["MessageSid"]);
    let r = app
        .raw_request(
            Method::POST,
            CALLBACK,
            None,
            &[("content-type", "application/json")],
            Some(b"{}".to_vec()),
        )
        .await;
    expect_error(&r, 400, "invalid_argument");
}

#[tokio::test]
async fn without_an_auth_token_no_callback_can_be_verified() {
    let app = spawn_app().await;
    let params = [("MessageSid", "SM1"), ("MessageStatus", "delivered")];
    let url = format!("{}{CALLBACK}", app.settings.public_url);
    let r = callback(&app, &params, Some(&sign("", &url, &params))).await;
    expect_error(&r, 403, "permission_denied");
    assert!(
        r.error()["message"]
            .as_str()
            .unwrap()
            .contains("TWILIO_TOKEN")
    );
}
