//! Who may call what (docs/warroom.md "Roles and permissions" and each resource's "who",
//! docs/console.md): every operation of War Room's OpenAPI document in one table, checked by
//! testkit's access matrix as each kind of caller. Permissions are the role table's
//! (`service::access`), so a row names the permission its handler requires and the table says
//! which roles hold it.

use platform::vendor::VendorSettings;
use serde_json::json;
use testkit::access::{Matrix, Request, Row, Seat, platform_rows};
use warroom::service::access::*;

use crate::{
    alerts::support::{campaign, campaign_body, crisis_body, raise_crisis},
    delivery::{
        TOKEN as TWILIO_TOKEN,
        callbacks::{form_body, sign},
    },
    helpers::*,
    monitoring::{config_body, monitor},
};

/// Twilio's signature over the call's URL and form parameters.
fn twilio_signature(req: &mut Request) {
    let body = req.body.clone().unwrap_or_default();
    let params: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let signature = sign(TWILIO_TOKEN, &req.url, &pairs);
    req.headers.push(("x-twilio-signature".into(), signature));
}

fn mentions(op: &str) -> Row {
    Row::perm(op, MONITORING_READ)
}

#[tokio::test]
async fn every_operation_answers_each_kind_of_caller_as_the_roles_table_says() {
    let app = spawn_app_with(|s| {
        s.vendors = VendorSettings::default().with("TWILIO_TOKEN", TWILIO_TOKEN)
    })
    .await;
    // Resources to act on, made by a manager of their own.
    let staff = app.login_as("fixtures@example.com", "manager").await;
    let c = campaign(&app, &staff.access).await;
    let config = monitor(&app, &staff.access, config_body(c)).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let alert = raise_crisis(&app, &staff.access, c, 0.9).await;
    // A campaign without a config for each role that may create one (one active per campaign).
    let (for_manager, for_admin) = (
        campaign(&app, &staff.access).await,
        campaign(&app, &staff.access).await,
    );
    let target = app.create_user("target@example.com", "viewer").await.id;
    let victim = app.create_user("victim@example.com", "viewer").await.id;
    app.create_user("member@example.com", "viewer").await;
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({ "email": "verify@example.com", "password": PASSWORD, "name": "Vera" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let verify = app.token_from_mail("verify@example.com", "Confirm").await;
    let google = app.mock_code("google", "gina@example.com").await;
    let meta = app.mock_code("meta", "mark@example.com").await;
    let sms = json!({ "to": "+15550001111", "message": "Test" });
    let prefs = json!({ "minSeverity": "CRITICAL" });
    let c = c.to_string();

    let mut rows = platform_rows(&app).await;
    rows.extend([
        Row::public("GET /api/v1/health"),
        Row::public("GET /api/v1/status"),
        // No body flips the mode (seed 000); the kit puts it back after the row.
        Row::perm("POST /admin/toggle-mode", CONSOLE_UPDATE),
        // identity
        Row::public("POST /api/v1/auth/register")
            .body_with(|p| json!({ "email": p.email("new"), "password": PASSWORD, "name": "New" }))
            .status(201),
        Row::public("POST /api/v1/auth/login")
            .body(json!({ "email": "member@example.com", "password": PASSWORD })),
        // The refresh token is the credential; an anonymous caller sends one of no session.
        Row::signed_in("POST /api/v1/auth/refresh").body_with(|p| json!({ "refreshToken": p.kept("refresh") })),
        Row::signed_in("POST /api/v1/auth/logout"),
        Row::signed_in("GET /api/v1/auth/me"),
        Row::public("POST /api/v1/auth/reset-password")
            .body_with(|p| json!({ "email": p.email("reset") })),
        // With a mailed token; with a session and no body it mails a new link.
        Row::public("POST /api/v1/auth/verify-email").body(json!({ "token": verify })),
        // The same password: the seats keep signing in with it.
        Row::signed_in("POST /api/v1/auth/change-password")
            .body(json!({ "currentPassword": PASSWORD, "newPassword": PASSWORD })),
        Row::signed_in("PATCH /api/v1/auth/profile")
            .body_with(|p| json!({ "name": p.unique("Renamed") })),
        Row::signed_in("GET /api/v1/auth/permissions"),
        Row::signed_in("GET /api/v1/auth/sessions"),
        // Another user's session, even an admin's asking: "not found".
        Row::owner("DELETE /api/v1/auth/sessions/{id}", 404)
            .param_with("id", |p| p.owner().session_id()),
        Row::signed_in("GET /api/v1/auth/security-log"),
        Row::perm("POST /api/v1/auth/impersonate", USERS_UPDATE)
            .body(json!({ "userId": target })),
        Row::signed_in("POST /api/v1/auth/2fa/setup"),
        // A code that cannot be right (turning 2FA on would stop the seats' sign-ins).
        Row::signed_in("POST /api/v1/auth/2fa/verify")
            .body(json!({ "code": "abcdef" }))
            .documented_error(400, "invalid_argument"),
        Row::public("POST /api/v1/auth/oauth/google")
            .body(json!({ "code": google, "redirectUri": REDIRECT })),
        Row::public("POST /api/v1/auth/oauth/meta")
            .body(json!({ "code": meta, "redirectUri": REDIRECT })),
        Row::public("POST /api/v1/auth/oauth/mock/authorize")
            .body_with(|p| {
                json!({ "provider": "google", "email": p.email("oauth"), "redirectUri": REDIRECT })
            })
            .status(202),
        Row::signed_in("GET /api/v1/auth/oauth/status"),
        // users (admin only)
        Row::perm("GET /api/v1/users", USERS_READ),
        Row::perm("POST /api/v1/users", USERS_CREATE)
            .body_with(|p| {
                json!({ "email": p.email("made"), "password": PASSWORD, "name": "Made", "role": "analyst" })
            })
            .status(201),
        Row::perm("GET /api/v1/users/{id}", USERS_READ).param("id", target),
        Row::perm("PUT /api/v1/users/{id}", USERS_UPDATE)
            .param("id", target)
            .body_with(|p| json!({ "name": p.unique("Named") })),
        Row::perm("DELETE /api/v1/users/{id}", USERS_DELETE).param("id", victim),
        // campaigns
        Row::perm("GET /api/v1/campaigns", CAMPAIGNS_READ),
        Row::perm("POST /api/v1/campaigns", CAMPAIGNS_CREATE)
            .body(campaign_body())
            .status(201),
        Row::perm("GET /api/v1/campaigns/{id}", CAMPAIGNS_READ).param("id", &c),
        Row::perm("PUT /api/v1/campaigns/{id}", CAMPAIGNS_UPDATE)
            .param("id", &c)
            .body(campaign_body()),
        Row::perm("POST /api/v1/campaigns/{id}/actions", CAMPAIGNS_UPDATE)
            .param("id", &c)
            .body(json!({ "action": "budget", "budget": 500 })),
        Row::perm("GET /api/v1/campaigns/{id}/audit", CAMPAIGNS_UPDATE).param("id", &c),
        Row::perm("GET /api/v1/campaigns/{id}/crisis-contacts", ALERTS_SEND).param("id", &c),
        Row::perm("PUT /api/v1/campaigns/{id}/crisis-contacts", ALERTS_SEND)
            .param("id", &c)
            .body(json!({ "contacts": [] })),
        // mention analytics
        mentions("GET /api/v1/mentionlytics/mentions"),
        mentions("GET /api/v1/mentionlytics/sentiment"),
        mentions("GET /api/v1/mentionlytics/trending"),
        mentions("GET /api/v1/mentionlytics/share-of-voice"),
        mentions("GET /api/v1/mentionlytics/feed"),
        mentions("GET /api/v1/mentionlytics/influencers"),
        mentions("GET /api/v1/mentionlytics/geo"),
        mentions("GET /api/v1/monitoring/mentions"),
        mentions("GET /api/v1/monitoring/sentiment"),
        mentions("GET /api/v1/monitoring/trending"),
        mentions("GET /api/v1/monitoring/trends"),
        Row::perm("GET /api/v1/integrations/mentionlytics/{campaignId}", INTEGRATIONS_READ)
            .param("campaignId", &c),
        // monitoring
        Row::perm("GET /api/v1/monitoring/config", MONITORING_READ),
        Row::perm("POST /api/v1/monitoring/config", MONITORING_UPDATE)
            .body_with(move |p| {
                config_body(if p.seat() == ADMIN { for_admin } else { for_manager })
            })
            .status(201),
        Row::perm("GET /api/v1/monitoring/config/{configId}", MONITORING_READ)
            .param("configId", &config),
        Row::perm("PUT /api/v1/monitoring/config/{configId}", MONITORING_UPDATE)
            .param("configId", &config)
            .body(config_body(c.parse().unwrap())),
        Row::perm("POST /api/v1/monitoring/config/{configId}/stop", MONITORING_UPDATE)
            .param("configId", &config),
        Row::perm("DELETE /api/v1/monitoring/config/{configId}", MONITORING_UPDATE)
            .param("configId", &config),
        Row::perm("POST /api/v1/monitoring/config/{configId}/start", MONITORING_UPDATE)
            .param("configId", &config),
        Row::perm("GET /api/v1/monitoring/status", MONITORING_READ),
        Row::perm("GET /api/v1/monitoring/metrics", MONITORING_READ),
        // alerts and notifications
        Row::perm("GET /api/v1/alerts", ALERTS_READ),
        Row::perm("GET /api/v1/alerts/{id}", ALERTS_READ).param("id", alert),
        Row::perm("POST /api/v1/alerts/{id}/actions", ALERTS_UPDATE)
            .param("id", alert)
            .body(json!({ "action": "read" })),
        Row::perm("POST /api/v1/alerting/crisis", ALERTS_SEND)
            .body(crisis_body(c.parse().unwrap(), 0.5)),
        Row::perm("GET /api/v1/alerting/queue", ALERTS_READ),
        Row::perm("POST /api/v1/alerting/send", ALERTS_SEND).body(
            json!({ "type": "CRISIS", "message": "m", "recipients": ["+15550001111"] }),
        ),
        Row::perm("POST /api/v1/notifications/sms", ALERTS_SEND).body(sms.clone()),
        Row::perm("POST /api/v1/notifications/whatsapp", ALERTS_SEND).body(sms.clone()),
        Row::perm("POST /api/v1/integrations/sms", ALERTS_SEND).body(sms),
        Row::perm("GET /api/v1/notifications/preferences", ALERTS_READ),
        Row::perm("PUT /api/v1/notifications/preferences", ALERTS_READ).body(prefs.clone()),
        Row::perm("PATCH /api/v1/notifications/preferences", ALERTS_READ).body(prefs.clone()),
        Row::perm("PATCH /api/v1/settings/notifications", ALERTS_READ).body(prefs),
        // Twilio proves itself with `X-Twilio-Signature`, not a session.
        Row::signed("POST /api/v1/integrations/twilio/status", 403, twilio_signature)
            .raw_body("application/x-www-form-urlencoded", |_| {
                form_body(&[("MessageSid", "SM00000000000000000000000000000000"), ("MessageStatus", "delivered")])
            })
            .status(204),
        Row::perm("GET /api/v1/integrations/status", INTEGRATIONS_READ),
        // live streams
        Row::perm("GET /api/v1/monitoring/stream", MONITORING_READ),
        Row::perm("GET /api/v1/monitoring/stream/{campaignId}", MONITORING_READ)
            .param("campaignId", &c),
        Row::perm("GET /api/monitoring/stream", MONITORING_READ).websocket(),
        Row::perm("GET /ws/campaigns/{campaignId}/stream", MONITORING_READ)
            .param("campaignId", &c)
            .websocket(),
    ]);
    Matrix::new(ROLES)
        .rows(rows)
        .run(&app, async |seat: &Seat| app.seat(seat).await)
        .await;
    let health = app.get("/api/v1/health", None).await;
    assert_eq!(health.body["data_mode"], "MOCK", "the flipped mode is back");
}
