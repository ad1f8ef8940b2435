//! What a caller's token is worth beyond the access matrix (tests/api/access_matrix.rs, who
//! may call what): each role's permissions as documented, and the ways a token stops being
//! worth anything (revoked, logged out, deleted, forged, demoted, impersonated).

use platform::identity::crypto::{Claims, JwtKeys};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

/// The id of the session `token` belongs to.
async fn current_session(app: &TestApp, token: &str) -> String {
    let r = app.get("/api/v1/auth/sessions", Some(token)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .and_then(|s| s["id"].as_str())
        .expect("a current session")
        .to_owned()
}

/// Each role's `Permission[]`, as the "Roles and permissions" table of docs/warroom.md lists it.
fn documented_permissions(role: &str) -> Vec<(&'static str, Vec<&'static str>)> {
    let table: [(&str, [&[&str]; 4]); 9] = [
        // resource: admin, manager, analyst, viewer
        (
            "users",
            [&["read", "create", "update", "delete"], &[], &[], &[]],
        ),
        (
            "campaigns",
            [
                &["read", "create", "update", "delete"],
                &["read", "create", "update", "delete"],
                &["read"],
                &["read"],
            ],
        ),
        (
            "monitoring",
            [
                &["read", "update"],
                &["read", "update"],
                &["read"],
                &["read"],
            ],
        ),
        (
            "alerts",
            [
                &["read", "update", "send"],
                &["read", "update", "send"],
                &["read", "update"],
                &["read"],
            ],
        ),
        (
            "reports",
            [
                &["read", "create"],
                &["read", "create"],
                &["read", "create"],
                &["read"],
            ],
        ),
        (
            "documents",
            [
                &["read", "create", "delete"],
                &["read", "create", "delete"],
                &["read", "create"],
                &["read"],
            ],
        ),
        (
            "intelligence",
            [
                &["read", "create"],
                &["read", "create"],
                &["read", "create"],
                &["read"],
            ],
        ),
        (
            "integrations",
            [&["read", "update"], &["read", "update"], &["read"], &[]],
        ),
        ("admin", [&["read", "update"], &[], &[], &[]]),
    ];
    let col = match role {
        "admin" => 0,
        "manager" => 1,
        "analyst" => 2,
        "viewer" => 3,
        _ => unreachable!(),
    };
    table
        .iter()
        .filter(|(_, cols)| !cols[col].is_empty())
        .map(|(res, cols)| (*res, cols[col].to_vec()))
        .collect()
}

fn as_set(perms: &Value) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = perms
        .as_array()
        .expect("Permission[]")
        .iter()
        .map(|p| {
            let mut actions: Vec<String> = p["actions"]
                .as_array()
                .expect("actions")
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect();
            actions.sort();
            (p["resource"].as_str().unwrap().to_owned(), actions)
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn each_role_gets_exactly_its_row_of_the_permissions_table() {
    let app = spawn_app().await;
    for role in ["admin", "manager", "analyst", "viewer"] {
        let login = app.login_as(&format!("{role}@example.com"), role).await;
        let r = app
            .get("/api/v1/auth/permissions", Some(&login.access))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let mut want: Vec<(String, Vec<String>)> = documented_permissions(role)
            .into_iter()
            .map(|(res, mut a)| {
                a.sort();
                (res.to_owned(), a.into_iter().map(str::to_owned).collect())
            })
            .collect();
        want.sort();
        assert_eq!(as_set(&r.body), want, "permissions of {role}");
        // The profile carries the same row.
        let me = app.get("/api/v1/auth/me", Some(&login.access)).await;
        assert_eq!(me.body["role"], role);
        assert_eq!(
            as_set(&me.body["permissions"]),
            want,
            "profile permissions of {role}"
        );
    }
}

#[tokio::test]
async fn a_token_whose_session_was_revoked_is_refused_at_once() {
    let app = spawn_app().await;
    let first = app.login_as("ann@example.com", "admin").await;
    let second = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({ "email": "ann@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(second.status, 200, "{}", second.text);
    let second_token = second.body["accessToken"].as_str().unwrap().to_owned();
    let second_session = current_session(&app, &second_token).await;

    let r = app
        .delete(
            &format!("/api/v1/auth/sessions/{second_session}"),
            Some(&first.access),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["success"], true);

    for (method, path) in [
        (Method::GET, "/api/v1/auth/me"),
        (Method::GET, "/api/v1/users"),
        (Method::GET, "/admin/api/outbox"),
    ] {
        let r = app.request(method, path, Some(&second_token), None).await;
        expect_error(&r, 401, "unauthenticated");
    }
    // Its refresh token is dead too, and the first session is untouched.
    let r = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refreshToken": second.body["refreshToken"] }),
        )
        .await;
    expect_error(&r, 401, "unauthenticated");
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&first.access)).await.status,
        200
    );
}

#[tokio::test]
async fn a_logged_out_token_is_refused() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let r = app
        .request(Method::POST, "/api/v1/auth/logout", Some(&ann.access), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.get("/api/v1/auth/me", Some(&ann.access)).await;
    expect_error(&r, 401, "unauthenticated");
}

#[tokio::test]
async fn a_deleted_users_token_is_refused() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let bob = app.login_as("bob@example.com", "manager").await;
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&bob.access)).await.status,
        200
    );

    let r = app
        .delete(
            &format!("/api/v1/users/{}", bob.user.id),
            Some(&admin.access),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let r = app.get("/api/v1/auth/me", Some(&bob.access)).await;
    expect_error(&r, 401, "unauthenticated");
    let r = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refreshToken": bob.refresh }),
        )
        .await;
    expect_error(&r, 401, "unauthenticated");
}

/// A structurally valid token for `user`'s live session, signed with `secret` for `audience`.
fn forge(secret: &[u8], audience: &str, sub: uuid::Uuid, sid: uuid::Uuid, exp_in: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    JwtKeys::new(secret, audience)
        .sign(&Claims {
            sub,
            sid,
            iss: audience.into(),
            aud: audience.into(),
            iat: now,
            nbf: now,
            exp: now + exp_in,
            imp: None,
        })
        .unwrap()
}

#[tokio::test]
async fn forged_tampered_and_malformed_tokens_are_refused() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let viewer = app.login_as("viewer@example.com", "viewer").await;
    let sid: uuid::Uuid = current_session(&app, &admin.access).await.parse().unwrap();
    let vsid: uuid::Uuid = current_session(&app, &viewer.access).await.parse().unwrap();
    let real_secret = b"test-secret-0123456789abcdef0123456789";
    // Sanity: the forging helper makes tokens the server accepts when everything is right.
    let genuine = forge(real_secret, "warroom", admin.user.id, sid, 600);
    assert_eq!(app.get("/api/v1/users", Some(&genuine)).await.status, 200);

    let parts: Vec<&str> = viewer.access.split('.').collect();
    let admin_parts: Vec<&str> = admin.access.split('.').collect();
    let cases = vec![
        (
            "another secret",
            forge(
                b"not-the-server-secret-at-all-0123456789",
                "warroom",
                admin.user.id,
                sid,
                600,
            ),
        ),
        (
            "another product's audience",
            forge(real_secret, "leadgen", admin.user.id, sid, 600),
        ),
        (
            "expired",
            forge(real_secret, "warroom", admin.user.id, sid, -5),
        ),
        (
            "the admin's id on the viewer's session",
            forge(real_secret, "warroom", admin.user.id, vsid, 600),
        ),
        (
            "unknown session",
            forge(
                real_secret,
                "warroom",
                admin.user.id,
                uuid::Uuid::new_v4(),
                600,
            ),
        ),
        // The admin's claims under the viewer's signature.
        (
            "swapped payload",
            format!("{}.{}.{}", parts[0], admin_parts[1], parts[2]),
        ),
        (
            "alg none",
            format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", admin_parts[1]),
        ),
        (
            "truncated signature",
            viewer.access[..viewer.access.len() - 4].to_owned(),
        ),
        ("garbage", "not.a.jwt".to_owned()),
        ("empty", String::new()),
    ];
    for (what, token) in cases {
        let r = app
            .raw_request(
                Method::GET,
                "/api/v1/users",
                None,
                &[("authorization", &format!("Bearer {token}"))],
                None,
            )
            .await;
        assert_eq!(r.status, 401, "{what}: {}", r.text);
        expect_error(&r, 401, "unauthenticated");
    }
    // Not a Bearer credential at all.
    for header in [
        format!("Basic {}", admin.access),
        admin.access.clone(),
        "Bearer".to_owned(),
    ] {
        let r = app
            .raw_request(
                Method::GET,
                "/api/v1/auth/me",
                None,
                &[("authorization", &header)],
                None,
            )
            .await;
        expect_error(&r, 401, "unauthenticated");
    }
}

#[tokio::test]
async fn an_impersonation_token_carries_the_users_role_not_the_admins() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let viewer = app.create_user("viewer@example.com", "viewer").await;
    let r = app
        .post(
            "/api/v1/auth/impersonate",
            Some(&admin.access),
            json!({ "userId": viewer.id }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let token = r.body["accessToken"].as_str().unwrap();
    assert_eq!(
        app.get("/api/v1/auth/me", Some(token)).await.body["email"],
        "viewer@example.com"
    );
    expect_error(
        &app.get("/api/v1/users", Some(token)).await,
        403,
        "permission_denied",
    );
    expect_error(
        &app.get("/admin/api/outbox", Some(token)).await,
        403,
        "permission_denied",
    );
    let r = app
        .request(Method::POST, "/admin/toggle-mode", Some(token), None)
        .await;
    expect_error(&r, 403, "permission_denied");
    assert_eq!(
        app.get("/api/v1/health", None).await.body["data_mode"],
        "MOCK"
    );
}

#[tokio::test]
async fn a_role_change_takes_effect_on_the_next_sign_in_and_old_tokens_die() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let bob = app.login_as("bob@example.com", "viewer").await;
    expect_error(
        &app.get("/api/v1/users", Some(&bob.access)).await,
        403,
        "permission_denied",
    );
    let r = app
        .request(
            Method::PUT,
            &format!("/api/v1/users/{}", bob.user.id),
            Some(&admin.access),
            Some(json!({ "role": "admin" })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The old token belongs to a revoked session.
    expect_error(
        &app.get("/api/v1/users", Some(&bob.access)).await,
        401,
        "unauthenticated",
    );
    let again = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({ "email": "bob@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    let token = again.body["accessToken"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/users", Some(token)).await.status, 200);
}
