//! The error contract: every failure is Encore's `{ code, message, details }` JSON with the
//! catalogue's status, every response carries `X-Request-Id`, and nothing internal leaks.

use platform::datamode::Mode;
use reqwest::Method;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;

const JSON: (&str, &str) = ("content-type", "application/json");

/// Words that would betray the storage layer or the code behind an error.
const INTERNALS: [&str; 9] = [
    "sqlite",
    "postgres",
    "sea_orm",
    "seaorm",
    "sqlx",
    "dberr",
    "no such table",
    "relation ",
    "panicked",
];

#[track_caller]
fn assert_no_internals(r: &Resp) {
    let text = r.text.to_lowercase();
    for word in INTERNALS {
        assert!(
            !text.contains(word),
            "error body leaks {word:?}: {}",
            r.text
        );
    }
}

#[tokio::test]
async fn malformed_json_is_invalid_argument() {
    let app = spawn_app().await;
    for body in [
        &b"{not json"[..],
        b"{\"email\": \"a@b.co\",",
        b"",
        b"\xff\xfe",
    ] {
        let r = app
            .raw_request(
                Method::POST,
                "/api/v1/auth/login",
                None,
                &[JSON],
                Some(body.to_vec()),
            )
            .await;
        expect_error(&r, 400, "invalid_argument");
        assert_no_internals(&r);
    }
}

#[tokio::test]
async fn a_wrong_field_type_is_invalid_argument() {
    let app = spawn_app().await;
    for body in [
        json!({ "email": 5, "password": PASSWORD }),
        json!({ "email": "a@example.com", "password": ["x"] }),
        json!({ "email": "a@example.com", "password": PASSWORD, "totpCode": 123456 }),
        json!(["a@example.com", PASSWORD]),
        json!("a@example.com"),
    ] {
        let r = app.post("/api/v1/auth/login", None, body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        expect_error(&r, 400, "invalid_argument");
    }
}

#[tokio::test]
async fn a_missing_field_is_invalid_argument_naming_it() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({ "email": "a@example.com" }),
        )
        .await;
    expect_error(&r, 400, "invalid_argument");
    assert!(
        r.body["message"].as_str().unwrap().contains("password"),
        "{}",
        r.text
    );
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({ "email": "a@example.com", "password": PASSWORD }),
        )
        .await;
    expect_error(&r, 400, "invalid_argument");
    assert!(
        r.body["message"].as_str().unwrap().contains("name"),
        "{}",
        r.text
    );
    assert!(
        app.ctx
            .identity
            .user_by_email("a@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

/// One rule for every body: a field the endpoint does not define is refused, naming it, and
/// nothing is stored (registration used to ignore one).
#[tokio::test]
async fn an_unknown_body_field_is_invalid_argument_naming_it() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({ "email": "a@example.com", "password": PASSWORD, "name": "A", "role": "admin" }),
        )
        .await;
    expect_error(&r, 400, "invalid_argument");
    assert!(
        r.body["message"].as_str().unwrap().contains("role"),
        "{}",
        r.text
    );
    assert!(
        app.ctx
            .identity
            .user_by_email("a@example.com")
            .await
            .unwrap()
            .is_none()
    );
    let r = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({ "email": "a@example.com", "password": PASSWORD, "rememberMe": true }),
        )
        .await;
    expect_error(&r, 400, "invalid_argument");
    assert!(
        r.body["message"].as_str().unwrap().contains("rememberMe"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn a_body_without_a_json_content_type_is_invalid_argument() {
    let app = spawn_app().await;
    app.create_user("ann@example.com", "viewer").await;
    let body = json!({ "email": "ann@example.com", "password": PASSWORD })
        .to_string()
        .into_bytes();
    for headers in [
        &[][..],
        &[("content-type", "text/plain")],
        &[("content-type", "application/x-www-form-urlencoded")],
    ] {
        let r = app
            .raw_request(
                Method::POST,
                "/api/v1/auth/login",
                None,
                headers,
                Some(body.clone()),
            )
            .await;
        expect_error(&r, 400, "invalid_argument");
    }
    // No body at all on an endpoint that needs one.
    let r = app
        .raw_request(Method::POST, "/api/v1/auth/login", None, &[], None)
        .await;
    expect_error(&r, 400, "invalid_argument");
}

#[tokio::test]
async fn an_unknown_route_is_not_found_json() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    for (method, path, token) in [
        (Method::GET, "/api/v1/nope", None),
        (Method::GET, "/nope", None),
        (Method::POST, "/api/v1/auth/nothing", None),
        (Method::GET, "/api/v2/users", Some(admin.access.as_str())),
        (
            Method::GET,
            "/api/v1/users/a/b",
            Some(admin.access.as_str()),
        ),
    ] {
        let r = app.request(method.clone(), path, token, None).await;
        assert_eq!(r.status, 404, "{method} {path}: {}", r.text);
        expect_error(&r, 404, "not_found");
    }
}

#[tokio::test]
async fn a_wrong_method_is_405_unimplemented_json() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    for (method, path) in [
        (Method::GET, "/api/v1/auth/login"),
        (Method::DELETE, "/api/v1/health"),
        (Method::PATCH, "/api/v1/users"),
        (Method::POST, "/api/v1/auth/me"),
        (Method::GET, "/admin/toggle-mode"),
        (Method::PUT, "/api/v1/auth/sessions"),
    ] {
        let r = app
            .request(method.clone(), path, Some(&admin.access), None)
            .await;
        assert_eq!(r.status, 405, "{method} {path}: {}", r.text);
        expect_error(&r, 405, "unimplemented");
    }
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_413_resource_exhausted() {
    let app = spawn_app().await;
    let big = format!(
        r#"{{"email":"a@example.com","password":"{}"}}"#,
        "x".repeat(1024 * 1024 + 10)
    );
    let r = app
        .raw_request(
            Method::POST,
            "/api/v1/auth/login",
            None,
            &[JSON],
            Some(big.into_bytes()),
        )
        .await;
    expect_error(&r, 413, "resource_exhausted");
    assert!(r.header("x-request-id").is_some());
    // Just under the limit is read (and then judged on its merits).
    let fits = format!(
        r#"{{"email":"a@example.com","password":"{}"}}"#,
        "x".repeat(1000 * 1000)
    );
    let r = app
        .raw_request(
            Method::POST,
            "/api/v1/auth/login",
            None,
            &[JSON],
            Some(fits.into_bytes()),
        )
        .await;
    assert_ne!(r.status, 413, "{}", r.text);
}

/// Sends a raw HTTP/1.1 request and returns (status, headers text, body text).
async fn raw_http(app: &TestApp, head: &str, body: &[u8]) -> (u16, String, String) {
    let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    // The server may answer and close before it has read everything.
    let _ = s.write_all(body).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), s.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let (headers, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = headers
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, headers.to_owned(), rest.to_owned())
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_413_json_too() {
    let app = spawn_app().await;
    let chunk = "x".repeat(64 * 1024);
    let prefix = r#"{"email":""#;
    let mut body = format!("{:x}\r\n{prefix}\r\n", prefix.len());
    for _ in 0..20 {
        body.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    body.push_str("0\r\n\r\n");
    let head = "POST /api/v1/auth/login HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n\
                transfer-encoding: chunked\r\nconnection: close\r\n\r\n";
    let (status, headers, rest) = raw_http(&app, head, body.as_bytes()).await;
    assert_eq!(status, 413, "{headers}\n{rest}");
    assert!(headers.to_lowercase().contains("x-request-id"), "{headers}");
    let json_start = rest.find('{').unwrap_or(0);
    let json_end = rest.rfind('}').map_or(rest.len(), |i| i + 1);
    let v: Value = serde_json::from_str(&rest[json_start..json_end])
        .unwrap_or_else(|_| panic!("not JSON: {rest}"));
    assert_eq!(v["code"], "resource_exhausted", "{rest}");
}

#[tokio::test]
async fn a_malformed_path_id_is_invalid_argument() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    for (method, path) in [
        (Method::GET, "/api/v1/users/123"),
        (Method::PUT, "/api/v1/users/not-a-uuid"),
        (Method::DELETE, "/api/v1/users/zzzz"),
        (Method::DELETE, "/api/v1/auth/sessions/xyz"),
    ] {
        let body = (method == Method::PUT).then(|| json!({ "name": "X" }));
        let r = app
            .request(method.clone(), path, Some(&admin.access), body)
            .await;
        assert_eq!(r.status, 400, "{method} {path}: {}", r.text);
        expect_error(&r, 400, "invalid_argument");
    }
}

#[tokio::test]
async fn validation_failures_list_the_fields() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({ "email": "nope", "password": "short", "name": "" }),
        )
        .await;
    expect_error(&r, 400, "invalid_argument");
    let fields: Vec<&str> = r.body["details"]["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", r.text))
        .iter()
        .map(|f| {
            assert!(f["message"].as_str().is_some_and(|m| !m.is_empty()), "{f}");
            f["field"].as_str().unwrap()
        })
        .collect();
    for f in ["email", "password", "name"] {
        assert!(fields.contains(&f), "{f} missing from {}", r.text);
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let viewer = app.login_as("viewer@example.com", "viewer").await;
    let big = vec![b'x'; 1024 * 1024 + 1];
    let responses = vec![
        app.get("/api/v1/health", None).await,
        app.get("/api/v1/auth/me", Some(&viewer.access)).await,
        app.get("/api/v1/auth/me", None).await,
        app.get("/api/v1/users", Some(&viewer.access)).await,
        app.get("/api/v1/nope", None).await,
        app.request(Method::DELETE, "/api/v1/health", None, None)
            .await,
        app.raw_request(
            Method::POST,
            "/api/v1/auth/login",
            None,
            &[JSON],
            Some(b"{".to_vec()),
        )
        .await,
        app.raw_request(Method::POST, "/api/v1/auth/login", None, &[JSON], Some(big))
            .await,
        app.get("/openapi.json", None).await,
        app.get("/metrics", None).await,
    ];
    let mut seen = std::collections::HashSet::new();
    for r in &responses {
        let id = r
            .header("x-request-id")
            .unwrap_or_else(|| panic!("no X-Request-Id on {} {}", r.status, r.text));
        assert!(
            uuid::Uuid::parse_str(id).is_ok(),
            "generated id is not a UUID: {id}"
        );
        assert!(seen.insert(id.to_owned()), "request id {id} reused");
    }
}

#[tokio::test]
async fn a_client_request_id_is_echoed_back() {
    let app = spawn_app().await;
    for (method, path) in [
        (Method::GET, "/api/v1/health"),
        (Method::GET, "/api/v1/auth/me"),
        (Method::GET, "/api/v1/does-not-exist"),
        (Method::PUT, "/api/v1/health"),
    ] {
        let id = format!("client-{}", uuid::Uuid::new_v4());
        let r = app
            .raw_request(method.clone(), path, None, &[("x-request-id", &id)], None)
            .await;
        assert_eq!(
            r.header("x-request-id"),
            Some(id.as_str()),
            "{method} {path}: {:?}",
            r.headers
        );
    }
}

#[tokio::test]
async fn a_database_failure_is_an_opaque_500() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    app.ctx
        .db
        .execute_unprepared("DROP TABLE outbox")
        .await
        .expect("drop table");
    let r = app.get("/admin/api/outbox", Some(&admin.access)).await;
    expect_error(&r, 500, "internal");
    assert_eq!(r.body["message"], "internal error");
    assert_eq!(r.body["details"], Value::Null);
    assert_no_internals(&r);
    assert!(!r.text.contains("outbox"), "{}", r.text);
    assert!(r.header("x-request-id").is_some());
}

#[tokio::test]
async fn a_lost_database_pool_is_an_opaque_error_on_every_endpoint() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    app.ctx.db.clone().close().await.expect("close pool");
    let cases = [
        app.post(
            "/api/v1/auth/login",
            None,
            json!({ "email": "admin@example.com", "password": PASSWORD }),
        )
        .await,
        app.get("/api/v1/auth/me", Some(&admin.access)).await,
        app.post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refreshToken": admin.refresh }),
        )
        .await,
        app.post(
            "/api/v1/auth/register",
            None,
            json!({ "email": "n@example.com", "password": PASSWORD, "name": "N" }),
        )
        .await,
    ];
    for r in &cases {
        assert!(r.status.is_server_error(), "{} {}", r.status, r.text);
        assert!(
            ["internal", "unavailable"].contains(&r.code()),
            "{}",
            r.text
        );
        assert!(r.body["message"].is_string(), "{}", r.text);
        assert_no_internals(r);
        assert!(!r.text.to_lowercase().contains("pool"), "{}", r.text);
    }
}

/// One trigger per code of the catalogue, each checked for its status and shape.
#[tokio::test]
async fn every_code_of_the_catalogue_has_its_status_and_shape() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let viewer = app.login_as("viewer@example.com", "viewer").await;

    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({ "email": "x@example.com", "password": "1", "name": "X" }),
        )
        .await;
    expect_error(&r, 400, "invalid_argument");
    let r = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({ "email": "viewer@example.com", "password": "wrong password" }),
        )
        .await;
    expect_error(&r, 401, "unauthenticated");
    assert_eq!(r.body["message"], "Invalid credentials");
    expect_error(
        &app.get("/api/v1/users", Some(&viewer.access)).await,
        403,
        "permission_denied",
    );
    let r = app
        .get(
            &format!("/api/v1/users/{}", uuid::Uuid::new_v4()),
            Some(&admin.access),
        )
        .await;
    expect_error(&r, 404, "not_found");
    let r = app
        .post(
            "/api/v1/users",
            Some(&admin.access),
            json!({ "email": "viewer@example.com", "password": PASSWORD, "name": "V" }),
        )
        .await;
    expect_error(&r, 409, "already_exists");
    let r = app
        .post(
            "/api/v1/auth/2fa/verify",
            Some(&admin.access),
            json!({ "code": "123456" }),
        )
        .await;
    expect_error(&r, 400, "failed_precondition");
    let mut last = None;
    for _ in 0..6 {
        last = Some(
            app.post(
                "/api/v1/auth/reset-password",
                None,
                json!({ "email": "nobody@example.com" }),
            )
            .await,
        );
    }
    let r = last.unwrap();
    expect_error(&r, 429, "resource_exhausted");
    assert!(r.header("retry-after").is_some());
    let r = app
        .request(Method::DELETE, "/api/v1/auth/login", None, None)
        .await;
    expect_error(&r, 405, "unimplemented");
    let big = vec![b' '; 2 * 1024 * 1024];
    let r = app
        .raw_request(Method::POST, "/api/v1/auth/login", None, &[JSON], Some(big))
        .await;
    expect_error(&r, 413, "resource_exhausted");
    let r = app
        .request(
            Method::POST,
            "/admin/toggle-mode",
            Some(&admin.access),
            Some(json!({ "mode": "LIVE" })),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = app
        .post(
            "/api/v1/auth/reset-password",
            None,
            json!({ "email": "viewer@example.com" }),
        )
        .await;
    expect_error(&r, 503, "unavailable");
    app.ctx
        .db
        .execute_unprepared("DROP TABLE outbox")
        .await
        .unwrap();
    let r = app.get("/admin/api/outbox", Some(&admin.access)).await;
    expect_error(&r, 500, "internal");
}

#[tokio::test]
async fn live_mode_errors_name_the_missing_setting_without_leaking_secrets() {
    let app = spawn_app_with(|s| {
        s.data_mode = Mode::Live;
        s.google.client_id = Some("only-the-id".into());
    })
    .await;
    let r = app
        .post("/api/v1/auth/oauth/google", None, json!({ "code": "abc" }))
        .await;
    expect_error(&r, 503, "unavailable");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("GOOGLE_CLIENT_SECRET"),
        "{}",
        r.text
    );
    assert_no_internals(&r);
}

#[tokio::test]
async fn a_json_content_type_with_a_charset_is_accepted() {
    let app = spawn_app().await;
    app.create_user("ann@example.com", "viewer").await;
    let body = json!({ "email": "ann@example.com", "password": PASSWORD })
        .to_string()
        .into_bytes();
    let r = app
        .raw_request(
            Method::POST,
            "/api/v1/auth/login",
            None,
            &[("content-type", "application/json; charset=utf-8")],
            Some(body),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["accessToken"].is_string());
}
