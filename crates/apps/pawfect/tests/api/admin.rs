//! The operators' side: the outbox console API (admins only), the OpenAPI document and the
//! docs page, and `create_user` as `basalt user create pawfect` calls it.

use serde_json::Value;

use crate::helpers::*;
use pawfect::Pawfect;
use platform::{core::OperatorUser, product};

/// Who may call the console is the access matrix's (tests/api/access_matrix.rs); here, that a
/// refusal shows nothing of the outbox.
#[tokio::test]
async fn a_refused_caller_sees_no_mail() {
    let app = spawn_app().await;
    let user = app.web_register("ann@example.com").await;
    let r = app.get("/admin/api/outbox", Some(&user.access)).await;
    expect_error(&r, 403, "permission_denied");
    assert!(
        !r.text.contains("verify-email"),
        "a refused caller sees mail: {}",
        r.text
    );
}

#[tokio::test]
async fn admins_read_the_outbox_newest_first() {
    let app = spawn_app().await;
    app.create_user("admin@example.com", "admin").await;
    let admin = app.web_login("admin@example.com").await;
    for email in [
        "first@example.com",
        "second@example.com",
        "third@example.com",
    ] {
        app.mobile_register(email).await;
        app.wait_for_mails(email, 1).await;
    }
    let r = app.get("/admin/api/outbox", Some(&admin.access)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["total"], 3, "{}", r.text);
    assert_eq!(r.body["page"], 1);
    assert_eq!(r.body["limit"], 20);
    let recipients: Vec<&str> = r.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["recipient"].as_str().unwrap())
        .collect();
    assert_eq!(
        recipients,
        [
            "third@example.com",
            "second@example.com",
            "first@example.com"
        ]
    );
    let m = &r.body["messages"][0];
    assert_eq!(m["channel"], "email");
    assert!(m["subject"].as_str().unwrap().contains("Confirm"), "{m}");
    assert!(m["body"].as_str().unwrap().contains("token="), "{m}");
    assert!(m["createdAt"].is_string(), "{m}");
    assert!(m["id"].is_string(), "{m}");

    // Paging.
    let r = app
        .get("/admin/api/outbox?page=2&limit=2", Some(&admin.access))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["total"], 3);
    let page2: Vec<&Value> = r.body["messages"].as_array().unwrap().iter().collect();
    assert_eq!(page2.len(), 1);
    assert_eq!(page2[0]["recipient"], "first@example.com");
    for bad in ["limit=0", "limit=101", "page=0", "page=abc"] {
        let r = app
            .get(&format!("/admin/api/outbox?{bad}"), Some(&admin.access))
            .await;
        expect_error(&r, 400, "invalid_argument");
    }
}

#[tokio::test]
async fn create_user_makes_a_verified_admin_who_can_read_the_outbox() {
    let app = spawn_app().await;
    let user = create_user(&app, "ops@example.com", "admin")
        .await
        .expect("create admin");
    assert_eq!(user.role, "admin");
    assert!(user.email_verified);
    assert!(product::has_admin::<Pawfect>(&app.ctx).await.unwrap());
    let s = app.mobile_login("ops@example.com").await;
    assert_eq!(s.user["role"], "admin");
    assert_eq!(s.user["emailVerified"], true);
    let r = app.get("/admin/api/outbox", Some(&s.access)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Unknown roles are refused and create nothing.
    let err = create_user(&app, "x@example.com", "root")
        .await
        .expect_err("unknown role");
    assert!(err.to_string().contains("root"), "{err}");
    assert!(
        app.ctx
            .identity
            .user_by_email("x@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn the_openapi_document_lists_both_mounts_and_the_root_endpoints() {
    let app = spawn_app().await;
    let r = app.get("/openapi.json", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let paths = r.body["paths"]
        .as_object()
        .unwrap_or_else(|| panic!("no paths: {}", r.text));
    for base in [WEB, MOBILE] {
        for (method, endpoint) in [
            ("post", "register"),
            ("post", "login"),
            ("post", "refresh"),
            ("post", "logout"),
            ("get", "me"),
            ("post", "forgot-password"),
            ("post", "reset-password"),
            ("post", "verify-email"),
        ] {
            let path = format!("{base}/auth/{endpoint}");
            assert!(
                paths.get(&path).and_then(|p| p.get(method)).is_some(),
                "{method} {path} missing from /openapi.json"
            );
        }
    }
    for (method, path) in [
        ("get", "/healthz"),
        ("get", "/readyz"),
        ("get", "/api/version"),
        ("get", "/admin/api/outbox"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing from /openapi.json"
        );
    }
    assert!(
        r.body["components"]["securitySchemes"]["bearer"].is_object(),
        "{}",
        r.body["components"]
    );
    assert!(r.body["components"]["schemas"]["Error"].is_object());
}

#[tokio::test]
async fn the_docs_page_is_served() {
    let app = spawn_app().await;
    let r = app.get("/docs/", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.header("content-type")
            .is_some_and(|v| v.starts_with("text/html")),
        "{:?}",
        r.headers
    );
    assert!(r.text.to_lowercase().contains("swagger"), "{}", r.text);
}

/// `basalt user create pawfect …`, on the test app's database.
async fn create_user(
    app: &crate::helpers::TestApp,
    email: &str,
    role: &str,
) -> anyhow::Result<platform::identity::User> {
    let user = OperatorUser {
        email,
        password: PASSWORD,
        name: "Ops",
        role,
    };
    product::create_user::<Pawfect>(&app.settings, user).await
}
