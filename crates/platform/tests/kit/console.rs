//! The console API (`/admin/api/*`) and the kit's health and document, as every product serves
//! them.

use platform::jobs::NewJob;
use serde_json::json;
use testkit::expect_error;

use crate::{Demo, spawn, token};

#[tokio::test]
async fn the_console_is_for_admins_only() {
    let app = spawn().await;
    let member = token(&app, "member@example.com", "member").await;
    for path in [
        "/admin/api/outbox",
        "/admin/api/jobs",
        "/admin/api/jobs/dead",
        "/admin/api/users",
        "/admin/api/data-mode",
        "/admin/api/logs",
    ] {
        expect_error(&app.get(path, None).await, 401, "unauthenticated");
        expect_error(
            &app.get(path, Some(&member)).await,
            403,
            "permission_denied",
        );
    }
    let r = app
        .request(
            reqwest::Method::PUT,
            "/admin/api/data-mode",
            Some(&member),
            Some(json!({ "dataMode": "LIVE" })),
        )
        .await;
    expect_error(&r, 403, "permission_denied");
    assert!(!app.ctx.data_mode.is_live(), "nothing switched");
}

#[tokio::test]
async fn users_are_listed_filtered_and_shown_with_their_sessions_without_secrets() {
    let app = spawn().await;
    let admin = token(&app, "root@example.com", "admin").await;
    token(&app, "ann@example.com", "member").await;
    token(&app, "bob@example.com", "member").await;

    let r = app.get("/admin/api/users?limit=2", Some(&admin)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["total"], 3);
    assert_eq!(r.body["users"].as_array().unwrap().len(), 2);
    assert_eq!(r.body["users"][0]["email"], "root@example.com");
    for secret in ["password", "Hash", "totp", "secret"] {
        assert!(!r.text.contains(secret), "{secret} in {}", r.text);
    }

    let r = app.get("/admin/api/users?role=member", Some(&admin)).await;
    assert_eq!(r.body["total"], 2, "{}", r.text);
    let r = app.get("/admin/api/users?email=ANN", Some(&admin)).await;
    assert_eq!(r.body["total"], 1, "{}", r.text);
    let ann = r.body["users"][0]["id"].as_str().unwrap().to_owned();

    let r = app
        .get(&format!("/admin/api/users/{ann}"), Some(&admin))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["user"]["email"], "ann@example.com");
    assert_eq!(r.body["sessions"].as_array().unwrap().len(), 1);

    for bad in ["role=root", "page=0", "limit=101"] {
        let r = app
            .get(&format!("/admin/api/users?{bad}"), Some(&admin))
            .await;
        expect_error(&r, 400, "invalid_argument");
    }
    for unknown in ["not-a-uuid", &uuid::Uuid::now_v7().to_string()] {
        let r = app
            .get(&format!("/admin/api/users/{unknown}"), Some(&admin))
            .await;
        expect_error(&r, 404, "not_found");
    }
}

#[tokio::test]
async fn an_admin_ends_anyones_session_and_its_token_stops_working() {
    let app = spawn().await;
    let admin = token(&app, "root@example.com", "admin").await;
    let member = token(&app, "ann@example.com", "member").await;
    assert_eq!(app.get("/api/things", Some(&member)).await.status, 200);
    let user = app
        .ctx
        .identity
        .user_by_email("ann@example.com")
        .await
        .unwrap()
        .unwrap();
    let session = app.ctx.identity.sessions(user.id).await.unwrap()[0].id;

    let r = app
        .delete(&format!("/admin/api/sessions/{session}"), Some(&admin))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({ "success": true }));
    expect_error(
        &app.get("/api/things", Some(&member)).await,
        401,
        "unauthenticated",
    );
    // Ended once: a second revoke finds nothing.
    let r = app
        .delete(&format!("/admin/api/sessions/{session}"), Some(&admin))
        .await;
    expect_error(&r, 404, "not_found");
    let log = app
        .ctx
        .identity
        .security_log(user.id, 1, 10)
        .await
        .unwrap()
        .0;
    assert!(
        log.iter()
            .any(|e| e.event_type == "session_revoked_by_admin")
    );
}

#[tokio::test]
async fn jobs_and_dead_letters_are_listed_and_only_dead_jobs_are_retried() {
    let app = spawn().await;
    let admin = token(&app, "root@example.com", "admin").await;
    let queued = app
        .ctx
        .jobs
        .enqueue(NewJob::from_value("demo.job", json!({ "n": 1 })))
        .await
        .unwrap();

    let r = app.get("/admin/api/jobs", Some(&admin)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["total"], 1);
    assert_eq!(r.body["jobs"][0]["kind"], "demo.job");
    let r = app.get("/admin/api/jobs/dead", Some(&admin)).await;
    assert_eq!((r.status.as_u16(), &r.body["total"]), (200, &json!(0)));
    let r = app
        .get(&format!("/admin/api/jobs/{}", queued.id), Some(&admin))
        .await;
    assert_eq!(r.body["job"]["status"], "pending", "{}", r.text);
    assert_eq!(r.body["attempts"], json!([]));

    let r = app
        .post(
            &format!("/admin/api/jobs/{}/retry", queued.id),
            Some(&admin),
            json!({}),
        )
        .await;
    expect_error(&r, 400, "failed_precondition");
    assert_eq!(r.body["details"], json!({ "status": "pending" }));
    let r = app.get("/admin/api/jobs?status=bogus", Some(&admin)).await;
    expect_error(&r, 400, "invalid_argument");
}

#[tokio::test]
async fn recent_logs_are_the_products_own_newest_first() {
    let app = spawn().await;
    let admin = token(&app, "root@example.com", "admin").await;
    let r = app
        .get("/admin/api/logs?level=warn&limit=5", Some(&admin))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["lines"].is_array());
    for bad in ["level=loud", "limit=0", "limit=501"] {
        let r = app
            .get(&format!("/admin/api/logs?{bad}"), Some(&admin))
            .await;
        expect_error(&r, 400, "invalid_argument");
    }
}

#[tokio::test]
async fn every_product_answers_liveness_and_readiness() {
    let app = spawn().await;
    let r = app.get("/healthz", None).await;
    assert_eq!(
        (r.status.as_u16(), &r.body),
        (200, &json!({ "status": "ok" }))
    );
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["checks"]["database"], "up");
}

#[tokio::test]
async fn the_document_has_the_products_and_the_kits_operations_and_the_error_catalogue() {
    let doc = serde_json::to_value(platform::product::openapi::<Demo>()).unwrap();
    for (path, method) in [
        ("/api/things", "get"),
        ("/admin/api/outbox", "get"),
        ("/admin/api/data-mode", "put"),
        ("/admin/api/sessions/{id}", "delete"),
        ("/healthz", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} missing"
        );
    }
    let errors = &doc["paths"]["/api/things"]["get"]["responses"]["403"]["content"];
    assert_eq!(
        errors["application/json"]["schema"]["$ref"],
        "#/components/schemas/Error"
    );
    let schemas = &doc["components"]["schemas"];
    for name in [
        "Error",
        "ErrorCode",
        "ErrorDetails",
        "FieldError",
        "Page_JobView",
    ] {
        assert!(schemas[name].is_object(), "schema {name} missing");
    }
    assert_eq!(
        doc["paths"]["/admin/api/data-mode"]["put"]["x-basalt-effect"],
        "switches-data-mode"
    );
}

/// `docs::finish`: the server, public operations marked so, and only the errors an operation
/// can answer.
#[tokio::test]
async fn each_operation_lists_the_errors_it_can_answer_and_public_ones_say_so() {
    let doc = serde_json::to_value(platform::product::openapi_at::<Demo>(
        "https://demo.example.org",
    ))
    .unwrap();
    assert_eq!(doc["servers"][0]["url"], "https://demo.example.org");
    let statuses = |path: &str, method: &str| -> Vec<String> {
        doc["paths"][path][method]["responses"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    let healthz = &doc["paths"]["/healthz"]["get"];
    assert_eq!(healthz["security"], json!([]), "{healthz}");
    assert_eq!(statuses("/healthz", "get"), ["200", "500"]);
    // A session, a path id, no body: 400 (the id), 401, 403, 404, 500.
    assert_eq!(
        statuses("/admin/api/sessions/{id}", "delete"),
        ["200", "400", "401", "403", "404", "500"]
    );
    // Query parameters: 414 too (the URI limit).
    assert_eq!(
        statuses("/admin/api/jobs", "get"),
        ["200", "400", "401", "403", "414", "500"]
    );
    // A body: 413 too; no 404 without a path id.
    assert_eq!(
        statuses("/admin/api/data-mode", "put"),
        ["200", "400", "401", "403", "413", "500"]
    );
    let mut ids = std::collections::BTreeSet::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            let id = op["operationId"].as_str().unwrap();
            assert!(ids.insert(id.to_owned()), "operationId {id} twice");
            let summary = op["summary"].as_str().unwrap();
            assert!(
                !summary.is_empty() && !summary.starts_with('`'),
                "{summary}"
            );
            assert!(op["description"].as_str().is_some_and(|d| !d.is_empty()));
        }
    }
}

#[tokio::test]
async fn an_unknown_role_for_a_new_user_names_the_products_roles() {
    let app = spawn().await;
    let user = platform::core::OperatorUser {
        email: "x@example.com",
        password: testkit::PASSWORD,
        name: "X",
        role: "root",
    };
    let err = platform::product::create_user::<Demo>(&app.settings, user)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("member, admin"), "{err}");
}
