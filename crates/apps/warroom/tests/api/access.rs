//! Who may call what: one table over every endpoint of docs/warroom.md, run for each kind of
//! caller, plus the ways a token stops being worth anything (revoked, deleted, forged).

use platform::identity::crypto::{Claims, JwtKeys};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

/// The callers of the matrix, in the order every row runs them. The viewer goes last so that
/// "another user" and the staff act on the viewer's resources while they still exist.
const NEW_PASSWORD: &str = "a brand new passphrase";

const CALLERS: [&str; 6] = [
    "anonymous",
    "other",
    "analyst",
    "manager",
    "admin",
    "viewer",
];

#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Answers every caller, token or not, with this status.
    Public(u16),
    /// 401 without a token; this status for every signed-in caller.
    Authed(u16),
    /// 401 without a token; past the gate for every signed-in caller (neither 401 nor 403),
    /// where the answer depends on the caller's state rather than on who they are.
    PastTheGate,
    /// 401 without a token, 403 for non-admins, this status for the admin.
    Admin(u16),
}

impl Expect {
    /// The status `caller` must get; `None` means "anything but 401 and 403".
    fn status_for(self, caller: &str) -> Option<u16> {
        match (self, caller) {
            (Self::Public(s), _) => Some(s),
            (Self::Authed(_) | Self::Admin(_) | Self::PastTheGate, "anonymous") => Some(401),
            (Self::Authed(s), _) => Some(s),
            (Self::PastTheGate, _) => None,
            (Self::Admin(s), "admin") => Some(s),
            (Self::Admin(_), _) => Some(403),
        }
    }
}

struct Row {
    method: Method,
    path: &'static str,
    body: Option<Value>,
    expect: Expect,
}

fn row(method: Method, path: &'static str, body: Option<Value>, expect: Expect) -> Row {
    Row {
        method,
        path,
        body,
        expect,
    }
}

/// Replaces `{name}` placeholders in a path or in every string of a JSON body.
fn fill(s: &str, vars: &[(&str, String)]) -> String {
    vars.iter().fold(s.to_owned(), |acc, (k, v)| {
        acc.replace(&format!("{{{k}}}"), v)
    })
}

fn fill_json(v: &Value, vars: &[(&str, String)]) -> Value {
    match v {
        Value::String(s) => Value::String(fill(s, vars)),
        Value::Array(a) => Value::Array(a.iter().map(|x| fill_json(x, vars)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), fill_json(x, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn short(text: &str) -> String {
    text.chars().take(200).collect()
}

/// The error code the contract pairs with an error status.
fn codes_for(status: u16) -> &'static [&'static str] {
    match status {
        400 => &["invalid_argument", "failed_precondition"],
        401 => &["unauthenticated"],
        403 => &["permission_denied"],
        404 => &["not_found"],
        409 => &["already_exists"],
        _ => &[],
    }
}

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

#[tokio::test]
async fn every_endpoint_answers_each_kind_of_caller_as_the_roles_table_says() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let viewer = app.login_as("viewer@example.com", "viewer").await;
    let analyst = app.login_as("analyst@example.com", "analyst").await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let other = app.login_as("other@example.com", "viewer").await;
    let victim = app.create_user("victim@example.com", "viewer").await;

    let token_of = |caller: &str| -> Option<String> {
        match caller {
            "anonymous" => None,
            "viewer" => Some(viewer.access.clone()),
            "analyst" => Some(analyst.access.clone()),
            "manager" => Some(manager.access.clone()),
            "other" => Some(other.access.clone()),
            "admin" => Some(admin.access.clone()),
            _ => unreachable!(),
        }
    };
    // A refresh token that each refresh row rotates (a spent one would be a replay).
    let mut refresh = admin.refresh.clone();
    let reg = json!({ "email": "reg-{caller}@example.com", "password": PASSWORD, "name": "New {caller}" });
    let mock = json!({ "provider": "google", "email": "mock-{caller}@example.com",
                       "redirectUri": "http://app.test/cb", "state": "s" });
    let new_user = json!({ "email": "made-by-{caller}@example.com", "password": PASSWORD,
                           "name": "Made", "role": "analyst" });
    use Expect::*;
    let rows = vec![
        // Public: no token needed, and a token changes nothing.
        row(Method::GET, "/api/v1/health", None, Public(200)),
        row(Method::GET, "/api/v1/status", None, Public(200)),
        row(
            Method::POST,
            "/api/v1/auth/register",
            Some(reg),
            Public(201),
        ),
        row(
            Method::POST,
            "/api/v1/auth/login",
            Some(json!({ "email": "other@example.com", "password": PASSWORD })),
            Public(200),
        ),
        row(
            Method::POST,
            "/api/v1/auth/refresh",
            Some(json!({ "refreshToken": "{refresh}" })),
            Public(200),
        ),
        row(
            Method::POST,
            "/api/v1/auth/reset-password",
            Some(json!({ "email": "reset-{caller}@example.com" })),
            Public(200),
        ),
        row(
            Method::POST,
            "/api/v1/auth/verify-email",
            Some(json!({ "token": "not-a-real-token" })),
            Public(400),
        ),
        row(
            Method::POST,
            "/api/v1/auth/oauth/mock/authorize",
            Some(mock),
            Public(202),
        ),
        // Any signed-in user, about themself.
        row(Method::GET, "/api/v1/auth/me", None, Authed(200)),
        // Resending a link: the test users' addresses are verified already.
        row(Method::POST, "/api/v1/auth/verify-email", None, PastTheGate),
        row(
            Method::POST,
            "/api/v1/auth/change-password",
            Some(json!({ "currentPassword": PASSWORD, "newPassword": NEW_PASSWORD })),
            Authed(200),
        ),
        row(Method::GET, "/api/v1/auth/sessions", None, Authed(200)),
        row(Method::GET, "/api/v1/auth/security-log", None, Authed(200)),
        row(
            Method::PATCH,
            "/api/v1/auth/profile",
            Some(json!({ "name": "Renamed {caller}" })),
            Authed(200),
        ),
        row(Method::GET, "/api/v1/auth/permissions", None, Authed(200)),
        row(Method::POST, "/api/v1/auth/2fa/setup", None, Authed(200)),
        row(
            Method::POST,
            "/api/v1/auth/2fa/verify",
            Some(json!({ "code": "abcdef" })),
            Authed(400),
        ),
        row(Method::GET, "/api/v1/auth/oauth/status", None, Authed(200)),
        // Admins only.
        row(
            Method::POST,
            "/api/v1/auth/impersonate",
            Some(json!({ "userId": "{viewer_id}" })),
            Admin(200),
        ),
        row(Method::GET, "/api/v1/users", None, Admin(200)),
        row(Method::POST, "/api/v1/users", Some(new_user), Admin(201)),
        row(Method::GET, "/api/v1/users/{viewer_id}", None, Admin(200)),
        row(
            Method::PUT,
            "/api/v1/users/{viewer_id}",
            Some(json!({ "name": "Named by {caller}" })),
            Admin(200),
        ),
        row(
            Method::DELETE,
            "/api/v1/users/{victim_id}",
            None,
            Admin(200),
        ),
        row(
            Method::POST,
            "/admin/toggle-mode",
            Some(json!({ "mode": "MOCK" })),
            Admin(200),
        ),
        row(Method::GET, "/admin/api/outbox", None, Admin(200)),
    ];

    let mut failures = Vec::new();
    for r in &rows {
        for caller in CALLERS {
            let vars = [
                ("caller", caller.to_owned()),
                ("refresh", refresh.clone()),
                ("viewer_id", viewer.user.id.to_string()),
                ("victim_id", victim.id.to_string()),
            ];
            let path = fill(r.path, &vars);
            let body = r.body.as_ref().map(|b| fill_json(b, &vars));
            let token = token_of(caller);
            let res = app
                .request(r.method.clone(), &path, token.as_deref(), body)
                .await;
            let label = format!("{} {path} as {caller}", r.method);
            let got = res.status.as_u16();
            let Some(want) = r.expect.status_for(caller) else {
                if got == 401 || got == 403 {
                    failures.push(format!(
                        "{label}: expected to pass the gate, got {got} {}",
                        short(&res.text)
                    ));
                }
                continue;
            };
            if got != want {
                failures.push(format!(
                    "{label}: expected {want}, got {} {}",
                    res.status,
                    short(&res.text)
                ));
                continue;
            }
            if want >= 400 {
                let codes = codes_for(want);
                if !codes.contains(&res.code()) || !res.body["message"].is_string() {
                    failures.push(format!(
                        "{label}: expected code {codes:?}, got {}",
                        res.text
                    ));
                }
            }
            if let Some(t) = res.body["refreshToken"].as_str()
                && path.ends_with("/refresh")
            {
                refresh = t.to_owned();
            }
        }
    }
    // Ending one's own session: another user (even an admin) is told it does not exist.
    // (A second session of the viewer, opened with the password the matrix changed.)
    let spare = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({ "email": "viewer@example.com", "password": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(spare.status, 200, "{}", spare.text);
    let spare_session = current_session(&app, spare.body["accessToken"].as_str().unwrap()).await;
    for caller in CALLERS {
        let path = format!("/api/v1/auth/sessions/{spare_session}");
        let res = app.delete(&path, token_of(caller).as_deref()).await;
        let want = match caller {
            "anonymous" => 401,
            "viewer" => 200,
            _ => 404,
        };
        if res.status.as_u16() != want || (want >= 400 && !codes_for(want).contains(&res.code())) {
            failures.push(format!(
                "DELETE {path} as {caller}: expected {want}, got {} {}",
                res.status, res.text
            ));
        }
    }
    // Logout last: it ends each caller's session.
    for caller in CALLERS {
        let res = app
            .request(
                Method::POST,
                "/api/v1/auth/logout",
                token_of(caller).as_deref(),
                None,
            )
            .await;
        let want = if caller == "anonymous" { 401 } else { 200 };
        if res.status.as_u16() != want {
            failures.push(format!(
                "POST /api/v1/auth/logout as {caller}: expected {want}, got {} {}",
                res.status, res.text
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "access matrix violations:\n{}",
        failures.join("\n")
    );

    // Side effects happened for the admin only.
    let id = &app.ctx.identity;
    assert!(
        id.user_by_email("made-by-admin@example.com")
            .await
            .unwrap()
            .is_some()
    );
    for caller in ["other", "analyst", "manager", "viewer"] {
        let email = format!("made-by-{caller}@example.com");
        assert!(
            id.user_by_email(&email).await.unwrap().is_none(),
            "{caller} created a user"
        );
    }
    assert!(
        id.user(victim.id).await.unwrap().is_none(),
        "the admin's delete did not happen"
    );
    let v = id.user(viewer.user.id).await.unwrap().unwrap();
    assert_eq!(
        v.name, "Named by admin",
        "only the admin may rename another user"
    );
    // After logout no token works any more.
    for caller in &CALLERS[1..] {
        let res = app
            .get("/api/v1/auth/me", token_of(caller).as_deref())
            .await;
        expect_error(&res, 401, "unauthenticated");
    }
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

/// docs/warroom.md, "Users (admin only)": "Non-admins: 403". (The roles table grants managers
/// `users: read`, but the users endpoints are the admin's alone.)
#[tokio::test]
async fn a_manager_cannot_read_the_user_directory() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let other = app.create_user("someone@example.com", "viewer").await;
    let r = app.get("/api/v1/users", Some(&manager.access)).await;
    expect_error(&r, 403, "permission_denied");
    let r = app
        .get(
            &format!("/api/v1/users/{}", other.id),
            Some(&manager.access),
        )
        .await;
    expect_error(&r, 403, "permission_denied");
}
