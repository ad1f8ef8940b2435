//! Health, status, the data-mode switch, the outbox, metrics and the API documentation.

use platform::datamode::Mode;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use platform::validate::{Page, Paging};

fn expected_backend() -> &'static str {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(s) if !s.is_empty() => "postgres",
        _ => "sqlite",
    }
}

fn service<'a>(status: &'a Resp, name: &str) -> &'a Value {
    status.body["services"]
        .as_array()
        .unwrap_or_else(|| panic!("no services in {}", status.text))
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no {name} service in {}", status.text))
}

async fn toggle(app: &TestApp, token: &str, body: Option<Value>) -> Resp {
    app.request(Method::POST, "/admin/toggle-mode", Some(token), body)
        .await
}

#[tokio::test]
async fn health_reports_ok_the_version_the_data_mode_and_the_database() {
    let app = spawn_app().await;
    let r = app.get("/api/v1/health", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "ok");
    assert_eq!(r.body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(r.body["data_mode"], "MOCK");
    assert_eq!(r.body["database"]["status"], "up");
    assert_eq!(r.body["database"]["backend"], expected_backend());
    assert!(r.body["database"]["latencyMs"].is_u64(), "{}", r.text);
}

#[tokio::test]
async fn health_says_live_when_the_app_starts_in_live_mode() {
    let app = spawn_app_with(|s| s.data_mode = Mode::Live).await;
    let r = app.get("/api/v1/health", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["data_mode"], "LIVE");
}

#[tokio::test]
async fn status_is_healthy_with_every_vendor_mocked() {
    let app = spawn_app().await;
    let r = app.get("/api/v1/status", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "healthy");
    let db = service(&r, "database");
    assert_eq!(
        (db["state"].as_str(), db["healthy"].as_bool()),
        (Some("up"), Some(true))
    );
    for vendor in ["email", "oauth_google", "oauth_meta"] {
        let s = service(&r, vendor);
        assert_eq!(s["state"], "mock", "{vendor}: {}", r.text);
        assert_eq!(s["healthy"], true, "{vendor}: {}", r.text);
    }
}

#[tokio::test]
async fn toggling_flips_the_mode_and_health_reflects_it_at_once() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;

    let r = toggle(&app, &admin.access, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({ "data_mode": "LIVE" }));
    assert_eq!(
        app.get("/api/v1/health", None).await.body["data_mode"],
        "LIVE"
    );

    let r = toggle(&app, &admin.access, Some(json!({}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["data_mode"], "MOCK");
    assert_eq!(
        app.get("/api/v1/health", None).await.body["data_mode"],
        "MOCK"
    );
}

#[tokio::test]
async fn an_explicit_mode_is_set_not_flipped() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    for _ in 0..2 {
        let r = toggle(&app, &admin.access, Some(json!({ "mode": "MOCK" }))).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["data_mode"], "MOCK");
        assert_eq!(
            app.get("/api/v1/health", None).await.body["data_mode"],
            "MOCK"
        );
    }
    for _ in 0..2 {
        let r = toggle(&app, &admin.access, Some(json!({ "mode": "LIVE" }))).await;
        assert_eq!(r.body["data_mode"], "LIVE", "{}", r.text);
        assert_eq!(
            app.get("/api/v1/health", None).await.body["data_mode"],
            "LIVE"
        );
    }
    let r = toggle(&app, &admin.access, Some(json!({ "mode": "MOCK" }))).await;
    assert_eq!(r.body["data_mode"], "MOCK");
}

#[tokio::test]
async fn an_unknown_mode_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    for body in [
        json!({ "mode": "TEST" }),
        json!({ "mode": 1 }),
        json!("LIVE"),
    ] {
        let r = toggle(&app, &admin.access, Some(body.clone())).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        expect_error(&r, 400, "invalid_argument");
        assert_eq!(
            app.get("/api/v1/health", None).await.body["data_mode"],
            "MOCK",
            "after {body}"
        );
    }
}

#[tokio::test]
async fn non_admins_cannot_toggle_the_mode() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let r = toggle(&app, &manager.access, Some(json!({ "mode": "LIVE" }))).await;
    expect_error(&r, 403, "permission_denied");
    assert_eq!(
        app.get("/api/v1/health", None).await.body["data_mode"],
        "MOCK"
    );
}

#[tokio::test]
async fn live_mode_without_smtp_or_oauth_credentials_is_reported_unconfigured_and_degraded() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    assert_eq!(
        toggle(&app, &admin.access, None).await.body["data_mode"],
        "LIVE"
    );

    let r = app.get("/api/v1/status", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "degraded");
    for vendor in ["email", "oauth_google", "oauth_meta"] {
        let s = service(&r, vendor);
        assert_eq!(s["state"], "unconfigured", "{vendor}: {}", r.text);
        assert_eq!(s["healthy"], false, "{vendor}: {}", r.text);
    }
    assert_eq!(service(&r, "database")["state"], "up");

    // Back to MOCK: healthy again.
    toggle(&app, &admin.access, None).await;
    let r = app.get("/api/v1/status", None).await;
    assert_eq!(r.body["status"], "healthy", "{}", r.text);
}

#[tokio::test]
async fn live_mode_with_everything_configured_is_live_and_healthy() {
    let app = spawn_app_with(|s| {
        s.data_mode = Mode::Live;
        s.smtp_url = Some(platform::secrets::Secret::new("smtp://127.0.0.1:2525"));
        s.google.client_id = Some("gid".into());
        s.google.client_secret = Some(platform::secrets::Secret::new("gsecret"));
        s.meta.client_id = Some("mid".into());
        s.meta.client_secret = Some(platform::secrets::Secret::new("msecret"));
        s.vendors = s
            .vendors
            .clone()
            .with("MENTIONLYTICS_TOKEN", "ml-token")
            .with("TWILIO_SID", "AC0123")
            .with("TWILIO_TOKEN", "tw-token")
            .with("TWILIO_SMS_FROM", "+15550000001")
            .with("TWILIO_WHATSAPP_FROM", "+15550000002")
            .with("SLACK_WEBHOOK_URL", "https://hooks.example/x");
    })
    .await;
    let r = app.get("/api/v1/status", None).await;
    assert_eq!(r.body["status"], "healthy", "{}", r.text);
    for vendor in [
        "email",
        "oauth_google",
        "oauth_meta",
        "mentionlytics",
        "twilio_sms",
        "twilio_whatsapp",
        "slack",
    ] {
        assert_eq!(service(&r, vendor)["state"], "live", "{vendor}: {}", r.text);
    }
}

#[tokio::test]
async fn a_reset_request_in_live_mode_without_smtp_is_unavailable_naming_smtp_url() {
    let app = spawn_app_with(|s| s.data_mode = Mode::Live).await;
    app.create_user("ann@example.com", "viewer").await;
    let r = app
        .post(
            "/api/v1/auth/reset-password",
            None,
            json!({ "email": "ann@example.com" }),
        )
        .await;
    expect_error(&r, 503, "unavailable");
    assert!(
        r.body["message"].as_str().unwrap().contains("SMTP_URL"),
        "{}",
        r.text
    );
    // Nothing was queued either.
    let Page {
        items: msgs, total, ..
    } = app.ctx.outbox.page(Paging::new(1, 10)).await.unwrap();
    assert_eq!(total, 0, "{msgs:?}");
}

/// Sends one mock sign-in mail to each address, in order (each is written before the answer).
async fn send_mails(app: &TestApp, addresses: &[&str]) {
    for a in addresses {
        let r = app
            .post(
                "/api/v1/auth/oauth/mock/authorize",
                None,
                json!({ "provider": "google", "email": a, "redirectUri": "http://app.test/cb" }),
            )
            .await;
        assert_eq!(r.status, 202, "{}", r.text);
    }
}

fn recipients(r: &Resp) -> Vec<String> {
    r.body["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("no messages in {}", r.text))
        .iter()
        .map(|m| m["recipient"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_outbox_lists_messages_newest_first_with_pagination() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    send_mails(
        &app,
        &["one@example.com", "two@example.com", "three@example.com"],
    )
    .await;

    let r = app.get("/admin/api/outbox", Some(&admin.access)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["total"], 3);
    assert_eq!(r.body["page"], 1);
    assert_eq!(r.body["limit"], 20);
    assert_eq!(
        recipients(&r),
        ["three@example.com", "two@example.com", "one@example.com"]
    );
    let m = &r.body["messages"][0];
    assert_eq!(m["channel"], "email");
    assert!(
        m["subject"]
            .as_str()
            .is_some_and(|s| s.contains("War Room")),
        "{m}"
    );
    assert!(
        m["body"].as_str().is_some_and(|b| b.contains("code=")),
        "{m}"
    );
    assert!(m["id"].is_string() && m["createdAt"].is_string(), "{m}");

    let r = app
        .get("/admin/api/outbox?page=1&limit=2", Some(&admin.access))
        .await;
    assert_eq!(recipients(&r), ["three@example.com", "two@example.com"]);
    assert_eq!(
        (r.body["total"].as_u64(), r.body["limit"].as_u64()),
        (Some(3), Some(2))
    );
    let r = app
        .get("/admin/api/outbox?page=2&limit=2", Some(&admin.access))
        .await;
    assert_eq!(recipients(&r), ["one@example.com"]);
    assert_eq!(r.body["page"], 2);
    let r = app
        .get("/admin/api/outbox?page=3&limit=2", Some(&admin.access))
        .await;
    assert!(recipients(&r).is_empty());

    let r = app
        .get("/admin/api/outbox?limit=500", Some(&admin.access))
        .await;
    expect_error(&r, 400, "invalid_argument");
}

#[tokio::test]
async fn metrics_count_http_requests() {
    let app = spawn_app().await;
    for _ in 0..3 {
        assert_eq!(app.get("/api/v1/health", None).await.status, 200);
    }
    app.get("/api/v1/nope", None).await;
    // Each instance counts the requests it answered (a scraper asks every instance).
    let mut text = String::new();
    for addr in &app.instance_addrs {
        let r = app
            .read(
                app.client
                    .get(format!("http://{addr}/metrics"))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        text.push_str(&r.text);
    }
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("http_requests_total{"))
        .collect();
    assert!(!lines.is_empty(), "no http_requests_total in:\n{text}");
    assert!(
        lines.iter().any(|l| l.contains("product=\"warroom\"")
            && l.contains("status=\"200\"")
            && l.contains("/api/v1/health")),
        "no counter for the health route:\n{}",
        lines.join("\n")
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("product=\"warroom\"") && l.contains("status=\"404\"")),
        "404s are not counted:\n{}",
        lines.join("\n")
    );
}

#[tokio::test]
async fn the_openapi_document_is_3_1_and_describes_every_route_of_the_contract() {
    let app = spawn_app().await;
    let r = app.get("/openapi.json", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.body["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        r.body["openapi"]
    );
    let paths = r.body["paths"].as_object().expect("paths");
    let routes = [
        ("post", "/api/v1/auth/register"),
        ("post", "/api/v1/auth/login"),
        ("post", "/api/v1/auth/refresh"),
        ("get", "/api/v1/auth/me"),
        ("post", "/api/v1/auth/logout"),
        ("post", "/api/v1/auth/reset-password"),
        ("post", "/api/v1/auth/verify-email"),
        ("post", "/api/v1/auth/change-password"),
        ("get", "/api/v1/auth/sessions"),
        ("delete", "/api/v1/auth/sessions/{id}"),
        ("post", "/api/v1/auth/2fa/setup"),
        ("post", "/api/v1/auth/2fa/verify"),
        ("get", "/api/v1/auth/security-log"),
        ("patch", "/api/v1/auth/profile"),
        ("get", "/api/v1/auth/permissions"),
        ("post", "/api/v1/auth/impersonate"),
        ("post", "/api/v1/auth/oauth/google"),
        ("post", "/api/v1/auth/oauth/meta"),
        ("get", "/api/v1/auth/oauth/status"),
        ("post", "/api/v1/auth/oauth/mock/authorize"),
        ("get", "/api/v1/users"),
        ("post", "/api/v1/users"),
        ("get", "/api/v1/users/{id}"),
        ("put", "/api/v1/users/{id}"),
        ("delete", "/api/v1/users/{id}"),
        ("get", "/api/v1/health"),
        ("get", "/api/v1/status"),
        ("post", "/admin/toggle-mode"),
        ("get", "/admin/api/outbox"),
    ];
    let missing: Vec<String> = routes
        .iter()
        .filter(|(m, p)| paths.get(*p).and_then(|item| item.get(*m)).is_none())
        .map(|(m, p)| format!("{} {p}", m.to_uppercase()))
        .collect();
    assert!(missing.is_empty(), "undocumented routes: {missing:?}");

    let error = &r.body["components"]["schemas"]["Error"];
    for field in ["code", "message", "details"] {
        assert!(
            error["properties"].get(field).is_some(),
            "Error schema lacks {field}: {error}"
        );
    }
    // Error statuses point at the Error schema.
    let forbidden = &paths["/api/v1/users"]["get"]["responses"]["403"];
    assert!(
        forbidden.to_string().contains("#/components/schemas/Error"),
        "{forbidden}"
    );
    // Success statuses as the contract gives them.
    for (m, p, status) in [
        ("post", "/api/v1/auth/register", "201"),
        ("post", "/api/v1/users", "201"),
        ("post", "/api/v1/auth/oauth/mock/authorize", "202"),
        ("get", "/api/v1/users", "200"),
    ] {
        assert!(
            paths[p][m]["responses"].get(status).is_some(),
            "{m} {p} does not document {status}"
        );
    }
    // Authenticated operations declare the bearer scheme.
    assert!(
        r.body["components"]["securitySchemes"]
            .get("bearer")
            .is_some(),
        "{}",
        r.body["components"]
    );
    assert!(
        paths["/api/v1/users"]["get"]["security"]
            .to_string()
            .contains("bearer")
    );
}

#[tokio::test]
async fn the_docs_page_is_html() {
    let app = spawn_app().await;
    let r = app.get("/docs/", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.header("content-type")
            .is_some_and(|v| v.starts_with("text/html")),
        "{:?}",
        r.headers
    );
    assert!(r.text.to_lowercase().contains("<html"), "{}", r.text);
}

#[tokio::test]
async fn health_is_503_and_degraded_when_the_database_is_down() {
    let app = spawn_app().await;
    assert_eq!(app.get("/api/v1/health", None).await.status, 200);
    // Every instance loses its database (with one instance, that instance).
    for ctx in app.contexts() {
        ctx.db.clone().close().await.expect("close pool");
    }
    // Health answers from memory: the database status is the last ping's, at most a second
    // old, refreshed in the background (docs/observability.md), by each instance for itself:
    // wait until as many answers in a row as there are instances say so.
    let mut r = app.get("/api/v1/health", None).await;
    let mut in_a_row = 0;
    for _ in 0..50 {
        in_a_row = if r.status == 503 { in_a_row + 1 } else { 0 };
        if in_a_row == app.instance_count() {
            break;
        }
        if in_a_row == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        r = app.get("/api/v1/health", None).await;
    }
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.body["status"], "degraded");
    assert_eq!(r.body["database"]["status"], "down");
    let r = app.get("/api/v1/status", None).await;
    assert_eq!(r.body["status"], "degraded", "{}", r.text);
    let db = service(&r, "database");
    assert_eq!(
        (db["state"].as_str(), db["healthy"].as_bool()),
        (Some("down"), Some(false))
    );
}

/// docs/warroom.md lists the security-log event types; a client may switch on them.
const DOCUMENTED_EVENT_TYPES: [&str; 19] = [
    "login",
    "login_failed",
    "register",
    "logout",
    "refresh_reuse_detected",
    "password_changed",
    "password_reset_requested",
    "password_reset",
    "email_verified",
    "two_factor_setup",
    "two_factor_enabled",
    "recovery_code_used",
    "session_revoked",
    "oauth_login",
    "oauth_linked",
    "impersonation_started",
    "impersonated_request",
    "password_change_failed",
    "data_mode_changed",
];

#[tokio::test]
async fn toggling_the_mode_logs_only_documented_event_types() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    assert_eq!(toggle(&app, &admin.access, None).await.status, 200);
    assert_eq!(toggle(&app, &admin.access, None).await.status, 200);
    let r = app
        .get("/api/v1/auth/security-log?limit=100", Some(&admin.access))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let types: Vec<&str> = r.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert!(types.contains(&"login"), "{types:?}");
    let unknown: Vec<&&str> = types
        .iter()
        .filter(|t| !DOCUMENTED_EVENT_TYPES.contains(t))
        .collect();
    assert!(
        unknown.is_empty(),
        "undocumented security-log event types: {unknown:?}"
    );
}
