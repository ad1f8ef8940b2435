//! Sessions (list, revoke), the security log (events, pagination) and admin impersonation.

use chrono::{Duration, Utc};
use platform::identity::{
    crypto,
    entities::{refresh_token, session},
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::*;

/// Signs in over HTTP with a given User-Agent; returns the whole response.
async fn login_with_agent(app: &TestApp, email: &str, password: &str, agent: &str) -> Resp {
    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("user-agent", agent)
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap();
    read(res).await
}

fn access(r: &Resp) -> String {
    r.body["accessToken"]
        .as_str()
        .expect("accessToken")
        .to_owned()
}

async fn me_status(app: &TestApp, token: &str) -> u16 {
    app.get("/api/v1/auth/me", Some(token))
        .await
        .status
        .as_u16()
}

async fn sessions(app: &TestApp, token: &str) -> Vec<Value> {
    let r = app.get("/api/v1/auth/sessions", Some(token)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["sessions"]
        .as_array()
        .expect("sessions array")
        .clone()
}

async fn events(app: &TestApp, token: &str) -> Vec<Value> {
    let r = app
        .get("/api/v1/auth/security-log?limit=100", Some(token))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["events"].as_array().expect("events array").clone()
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

fn current_id(list: &[Value]) -> String {
    let current: Vec<_> = list.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1, "exactly one current session: {list:?}");
    current[0]["id"].as_str().unwrap().to_owned()
}

async fn impersonate(app: &TestApp, token: &str, user: Uuid) -> Resp {
    app.post(
        "/api/v1/auth/impersonate",
        Some(token),
        json!({ "userId": user }),
    )
    .await
}

// ---------------------------------------------------------------- sessions

#[tokio::test]
async fn sessions_list_marks_only_the_callers_session_current() {
    let app = spawn_app().await;
    app.create_user("ann@example.com", "viewer").await;
    let laptop = login_with_agent(&app, "ann@example.com", PASSWORD, "Laptop/1.0").await;
    let phone = login_with_agent(&app, "ann@example.com", PASSWORD, "Phone/2.0").await;
    assert_eq!(laptop.status, 200);
    assert_eq!(phone.status, 200);

    let from_laptop = sessions(&app, &access(&laptop)).await;
    let from_phone = sessions(&app, &access(&phone)).await;
    assert_eq!(from_laptop.len(), 2, "{from_laptop:?}");
    assert_eq!(from_phone.len(), 2);
    let laptop_id = current_id(&from_laptop);
    let phone_id = current_id(&from_phone);
    assert_ne!(laptop_id, phone_id);

    for s in &from_laptop {
        let mut keys: Vec<_> = s.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "createdAt",
                "current",
                "expiresAt",
                "id",
                "impersonatorId",
                "ip",
                "lastUsedAt",
                "userAgent"
            ]
        );
        let agent = if s["id"] == laptop_id.as_str() {
            "Laptop/1.0"
        } else {
            "Phone/2.0"
        };
        assert_eq!(s["userAgent"], agent, "{s}");
        assert_eq!(s["ip"], "127.0.0.1", "{s}");
        assert_eq!(s["impersonatorId"], Value::Null);
        for k in ["createdAt", "lastUsedAt", "expiresAt"] {
            let t = s[k].as_str().unwrap_or_else(|| panic!("{k} in {s}"));
            chrono::DateTime::parse_from_rfc3339(t).unwrap_or_else(|_| panic!("{k}={t}"));
        }
        let exp = chrono::DateTime::parse_from_rfc3339(s["expiresAt"].as_str().unwrap()).unwrap();
        let days = (exp.with_timezone(&Utc) - Utc::now()).num_hours();
        assert!(
            (7 * 24 - 1..=7 * 24).contains(&days),
            "a 7-day session, got {days} h"
        );
    }
    // The ids are the stored session ids.
    let stored = session::Entity::find().all(&app.ctx.db).await.unwrap();
    for s in &from_laptop {
        let id = Uuid::parse_str(s["id"].as_str().unwrap()).unwrap();
        assert!(stored.iter().any(|row| row.id == id));
    }
    // Another user's sessions are never listed.
    let bob = app.login_as("bob@example.com", "viewer").await;
    let bobs = sessions(&app, &bob.access).await;
    assert_eq!(bobs.len(), 1);
    assert!(
        !bobs
            .iter()
            .any(|s| s["id"] == laptop_id.as_str() || s["id"] == phone_id.as_str())
    );
}

#[tokio::test]
async fn revoking_a_session_ends_its_tokens_at_once() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let phone = login_with_agent(&app, "ann@example.com", PASSWORD, "Phone/2.0").await;
    let phone_access = access(&phone);
    let phone_refresh = phone.body["refreshToken"].as_str().unwrap().to_owned();
    let phone_id = current_id(&sessions(&app, &phone_access).await);

    let r = app
        .delete(
            &format!("/api/v1/auth/sessions/{phone_id}"),
            Some(&ann.access),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({ "success": true }));

    expect_error(
        &app.get("/api/v1/auth/me", Some(&phone_access)).await,
        401,
        "unauthenticated",
    );
    let rr = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refreshToken": phone_refresh }),
        )
        .await;
    expect_error(&rr, 401, "unauthenticated");
    // The caller's own session lives on, and the list no longer shows the revoked one.
    let left = sessions(&app, &ann.access).await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_ne!(left[0]["id"], phone_id.as_str());
    // Revoking it again: it is gone.
    let again = app
        .delete(
            &format!("/api/v1/auth/sessions/{phone_id}"),
            Some(&ann.access),
        )
        .await;
    expect_error(&again, 404, "not_found");
}

#[tokio::test]
async fn revoking_the_current_session_signs_the_caller_out() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let id = current_id(&sessions(&app, &ann.access).await);
    let r = app
        .delete(&format!("/api/v1/auth/sessions/{id}"), Some(&ann.access))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(me_status(&app, &ann.access).await, 401);
}

#[tokio::test]
async fn another_users_session_is_not_found_and_stays_alive() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let mallory = app.login_as("mallory@example.com", "admin").await;
    let ann_id = current_id(&sessions(&app, &ann.access).await);

    let r = app
        .delete(
            &format!("/api/v1/auth/sessions/{ann_id}"),
            Some(&mallory.access),
        )
        .await;
    expect_error(&r, 404, "not_found");
    assert_eq!(me_status(&app, &ann.access).await, 200);
    let row = session::Entity::find_by_id(Uuid::parse_str(&ann_id).unwrap())
        .one(&app.ctx.db)
        .await
        .unwrap()
        .unwrap();
    assert!(row.revoked_at.is_none());
    // An unknown id answers the same as another user's.
    let unknown = app
        .delete(
            &format!("/api/v1/auth/sessions/{}", Uuid::new_v4()),
            Some(&mallory.access),
        )
        .await;
    expect_error(&unknown, 404, "not_found");
    assert_eq!(unknown.body["message"], r.body["message"]);
}

#[tokio::test]
async fn a_malformed_session_id_is_invalid_argument() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let r = app
        .delete("/api/v1/auth/sessions/not-a-uuid", Some(&ann.access))
        .await;
    expect_error(&r, 400, "invalid_argument");
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json"))
    );
    assert_eq!(me_status(&app, &ann.access).await, 200);
}

#[tokio::test]
async fn sessions_endpoints_require_authentication() {
    let app = spawn_app().await;
    expect_error(
        &app.get("/api/v1/auth/sessions", None).await,
        401,
        "unauthenticated",
    );
    let r = app
        .delete(&format!("/api/v1/auth/sessions/{}", Uuid::new_v4()), None)
        .await;
    expect_error(&r, 401, "unauthenticated");
    expect_error(
        &app.get("/api/v1/auth/security-log", None).await,
        401,
        "unauthenticated",
    );
    expect_error(
        &app.get("/api/v1/auth/sessions", Some("junk")).await,
        401,
        "unauthenticated",
    );
}

// ---------------------------------------------------------------- security log

#[tokio::test]
async fn the_security_log_records_account_events_with_the_ip() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    // login_failed
    let bad = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({ "email": "ann@example.com", "password": "wrong password" }),
        )
        .await;
    assert_eq!(bad.status, 401);
    // logout (of a second session)
    let second = login_with_agent(&app, "ann@example.com", PASSWORD, "Second/1").await;
    assert_eq!(
        app.post("/api/v1/auth/logout", Some(&access(&second)), json!({}))
            .await
            .status,
        200
    );
    // refresh_reuse_detected (of a third session)
    let third = login_with_agent(&app, "ann@example.com", PASSWORD, "Third/1").await;
    let third_refresh = third.body["refreshToken"].as_str().unwrap().to_owned();
    let r = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refreshToken": third_refresh }),
        )
        .await;
    assert_eq!(r.status, 200);
    refresh_token::Entity::update_many()
        .col_expr(
            refresh_token::Column::RotatedAt,
            Expr::value(Some(Utc::now() - Duration::seconds(60))),
        )
        .filter(refresh_token::Column::TokenHash.eq(crypto::token_hash(&third_refresh)))
        .exec(&app.ctx.db)
        .await
        .unwrap();
    let replay = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refreshToken": third_refresh }),
        )
        .await;
    assert_eq!(replay.status, 401);
    // session_revoked (of a fourth session)
    let fourth = login_with_agent(&app, "ann@example.com", PASSWORD, "Fourth/1").await;
    let fourth_id = current_id(&sessions(&app, &access(&fourth)).await);
    let r = app
        .delete(
            &format!("/api/v1/auth/sessions/{fourth_id}"),
            Some(&ann.access),
        )
        .await;
    assert_eq!(r.status, 200);
    // password_changed
    let r = app
        .post(
            "/api/v1/auth/change-password",
            Some(&ann.access),
            json!({ "currentPassword": PASSWORD, "newPassword": "a whole new password" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let log = app
        .get("/api/v1/auth/security-log?limit=100", Some(&ann.access))
        .await;
    assert_eq!(log.status, 200, "{}", log.text);
    assert_eq!(log.body["page"], 1);
    assert_eq!(log.body["limit"], 100);
    let events = log.body["events"].as_array().unwrap();
    assert_eq!(log.body["total"], events.len() as u64);
    for kind in [
        "login",
        "login_failed",
        "logout",
        "refresh_reuse_detected",
        "session_revoked",
        "password_changed",
    ] {
        let found = of_type(events, kind);
        assert!(!found.is_empty(), "no {kind} event in {}", log.text);
        for e in found {
            let mut keys: Vec<_> = e.as_object().unwrap().keys().map(String::as_str).collect();
            keys.sort_unstable();
            assert_eq!(
                keys,
                [
                    "actorId",
                    "createdAt",
                    "details",
                    "id",
                    "ip",
                    "type",
                    "userAgent"
                ],
                "{e}"
            );
            assert_eq!(e["ip"], "127.0.0.1", "{e}");
            assert_eq!(e["actorId"], Value::Null, "{e}");
            assert!(Uuid::parse_str(e["id"].as_str().unwrap()).is_ok());
            assert!(chrono::DateTime::parse_from_rfc3339(e["createdAt"].as_str().unwrap()).is_ok());
        }
    }
    assert_eq!(of_type(events, "login").len(), 4, "four sign-ins");
    assert_eq!(of_type(events, "login_failed").len(), 1);
    assert_eq!(
        of_type(events, "session_revoked")[0]["details"]["sessionId"],
        fourth_id.as_str()
    );
    // Newest first: the last thing done comes first.
    assert_eq!(events[0]["type"], "password_changed", "{}", log.text);
    let times: Vec<_> = events
        .iter()
        .map(|e| chrono::DateTime::parse_from_rfc3339(e["createdAt"].as_str().unwrap()).unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
}

#[tokio::test]
async fn the_security_log_shows_only_the_callers_events() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let bob = app.login_as("bob@example.com", "viewer").await;
    let bad = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({ "email": "bob@example.com", "password": "wrong password" }),
        )
        .await;
    assert_eq!(bad.status, 401);
    let ann_events = events(&app, &ann.access).await;
    assert_eq!(ann_events.len(), 1, "{ann_events:?}");
    assert_eq!(ann_events[0]["type"], "login");
    let bob_events = events(&app, &bob.access).await;
    assert_eq!(of_type(&bob_events, "login_failed").len(), 1);
}

#[tokio::test]
async fn the_security_log_is_paginated() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    // Three wrong passwords in a row would slow the fourth attempt (sign-in throttle), so a
    // right one comes in between.
    for password in [
        "wrong password",
        "wrong password",
        PASSWORD,
        "wrong password",
    ] {
        let r = app
            .post(
                "/api/v1/auth/login",
                None,
                json!({ "email": "ann@example.com", "password": password }),
            )
            .await;
        let expected = if password == PASSWORD { 200 } else { 401 };
        assert_eq!(r.status, expected, "{}", r.text);
    }
    // 2 logins + 3 failures.
    let all = events(&app, &ann.access).await;
    assert_eq!(all.len(), 5);
    let p1 = app
        .get(
            "/api/v1/auth/security-log?page=1&limit=2",
            Some(&ann.access),
        )
        .await;
    let p3 = app
        .get(
            "/api/v1/auth/security-log?page=3&limit=2",
            Some(&ann.access),
        )
        .await;
    let p4 = app
        .get(
            "/api/v1/auth/security-log?page=4&limit=2",
            Some(&ann.access),
        )
        .await;
    assert_eq!(p1.status, 200, "{}", p1.text);
    assert_eq!(p1.body["total"], 5);
    assert_eq!(p1.body["page"], 1);
    assert_eq!(p1.body["limit"], 2);
    let ids = |r: &Resp| -> Vec<Value> {
        r.body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].clone())
            .collect()
    };
    assert_eq!(ids(&p1), vec![all[0]["id"].clone(), all[1]["id"].clone()]);
    assert_eq!(ids(&p3), vec![all[4]["id"].clone()]);
    assert_eq!(
        p3.body["events"][0]["type"], "login",
        "the oldest event is the sign-in"
    );
    assert!(ids(&p4).is_empty());
    assert_eq!(p4.body["total"], 5);
    // Default page size applies without parameters.
    let d = app
        .get("/api/v1/auth/security-log", Some(&ann.access))
        .await;
    assert_eq!(d.body["page"], 1);
    assert_eq!(d.body["limit"], 20);
}

#[tokio::test]
async fn the_security_log_rejects_bad_pagination() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    for (query, field) in [
        ("limit=0", Some("limit")),
        ("limit=101", Some("limit")),
        ("page=0", Some("page")),
        ("limit=-1", None),
        ("limit=abc", None),
        ("page=x", None),
    ] {
        let r = app
            .get(
                &format!("/api/v1/auth/security-log?{query}"),
                Some(&ann.access),
            )
            .await;
        expect_error(&r, 400, "invalid_argument");
        if let Some(f) = field {
            assert!(
                error_fields(&r).contains(&f.to_owned()),
                "{query}: {}",
                r.text
            );
        }
    }
    let ok = app
        .get("/api/v1/auth/security-log?limit=100", Some(&ann.access))
        .await;
    assert_eq!(ok.status, 200);
}

// ---------------------------------------------------------------- impersonation

#[tokio::test]
async fn an_admin_can_impersonate_a_viewer() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let r = impersonate(&app, &admin.access, ann.user.id).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["impersonatorId"], admin.user.id.to_string());
    assert_eq!(r.body["user"]["id"], ann.user.id.to_string());
    assert_eq!(r.body["user"]["role"], "viewer");
    assert!(
        r.body.get("refreshToken").is_none(),
        "no refresh token: {}",
        r.text
    );
    let expires_in = r.body["expiresIn"].as_i64().unwrap();
    assert!(expires_in > 0 && expires_in <= 900, "{expires_in}");

    let token = access(&r);
    let me = app.get("/api/v1/auth/me", Some(&token)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["id"], ann.user.id.to_string());
    assert_eq!(me.body["email"], "ann@example.com");
    assert_eq!(me.body["role"], "viewer");
    // It is a viewer's token, not an admin's.
    let perms = app.get("/api/v1/auth/permissions", Some(&token)).await;
    assert!(
        !perms
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["resource"] == "users")
    );
    let users = app.get("/api/v1/users", Some(&token)).await;
    expect_error(&users, 403, "permission_denied");

    // The session exists on the target, names the admin, has no refresh token, lasts ≤ 15 min.
    let imp: Vec<_> = session::Entity::find()
        .filter(session::Column::UserId.eq(ann.user.id))
        .filter(session::Column::ImpersonatorId.eq(admin.user.id))
        .all(&app.ctx.db)
        .await
        .unwrap();
    assert_eq!(imp.len(), 1);
    assert!(imp[0].expires_at <= Utc::now() + Duration::seconds(901));
    let refresh_rows = refresh_token::Entity::find()
        .filter(refresh_token::Column::SessionId.eq(imp[0].id))
        .count(&app.ctx.db)
        .await
        .unwrap();
    assert_eq!(refresh_rows, 0);
    let listed = sessions(&app, &ann.access).await;
    let entry = listed
        .iter()
        .find(|s| s["id"] == imp[0].id.to_string())
        .expect("listed");
    assert_eq!(entry["impersonatorId"], admin.user.id.to_string());
    assert_eq!(entry["current"], false);

    // The admin's own log has impersonation_started naming the target.
    let admin_log = events(&app, &admin.access).await;
    let started = of_type(&admin_log, "impersonation_started");
    assert_eq!(started.len(), 1, "{admin_log:?}");
    assert_eq!(
        started[0]["details"]["targetUserId"],
        ann.user.id.to_string()
    );
}

/// Who may impersonate is the access matrix's (admins); here, that a refused attempt opens no
/// session.
#[tokio::test]
async fn a_refused_impersonation_opens_no_session() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let bob = app.create_user("bob@example.com", "viewer").await;
    let r = impersonate(&app, &manager.access, bob.id).await;
    expect_error(&r, 403, "permission_denied");
    assert_eq!(
        session::Entity::find()
            .filter(session::Column::UserId.eq(bob.id))
            .count(&app.ctx.db)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn an_admin_cannot_impersonate_an_admin() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let other = app.create_user("root@example.com", "admin").await;
    let r = impersonate(&app, &admin.access, other.id).await;
    expect_error(&r, 403, "permission_denied");
    assert!(r.body.get("accessToken").is_none());
    let r = impersonate(&app, &admin.access, admin.user.id).await;
    expect_error(&r, 403, "permission_denied");
    let count = session::Entity::find()
        .filter(session::Column::ImpersonatorId.is_not_null())
        .count(&app.ctx.db)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn impersonating_an_unknown_or_malformed_user_is_refused() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let r = impersonate(&app, &admin.access, Uuid::new_v4()).await;
    expect_error(&r, 404, "not_found");
    let r = app
        .post(
            "/api/v1/auth/impersonate",
            Some(&admin.access),
            json!({ "userId": "nope" }),
        )
        .await;
    expect_error(&r, 400, "invalid_argument");
    let r = app
        .post("/api/v1/auth/impersonate", Some(&admin.access), json!({}))
        .await;
    expect_error(&r, 400, "invalid_argument");
}

#[tokio::test]
async fn impersonated_requests_are_logged_on_the_target_with_the_admin_as_actor() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let r = impersonate(&app, &admin.access, ann.user.id).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let token = access(&r);
    assert_eq!(me_status(&app, &token).await, 200);
    assert_eq!(
        app.get("/api/v1/auth/sessions", Some(&token)).await.status,
        200
    );

    let log = events(&app, &ann.access).await;
    let imp = of_type(&log, "impersonated_request");
    assert!(imp.len() >= 2, "{log:?}");
    for e in &imp {
        assert_eq!(e["actorId"], admin.user.id.to_string(), "{e}");
        assert_eq!(e["ip"], "127.0.0.1");
    }
    // The details name the request (the path as the router saw it; see the report on prefixes).
    let path_is = |e: &Value, p: &str| {
        e["details"]["path"]
            .as_str()
            .is_some_and(|s| s.ends_with(p))
    };
    assert!(
        imp.iter()
            .any(|e| path_is(e, "/auth/me") && e["details"]["method"] == "GET"),
        "{imp:?}"
    );
    assert!(imp.iter().any(|e| path_is(e, "/auth/sessions")), "{imp:?}");
    // The admin's own requests are not impersonated requests, and ann's own are not either.
    assert!(of_type(&events(&app, &admin.access).await, "impersonated_request").is_empty());
    let before = imp.len();
    assert_eq!(me_status(&app, &ann.access).await, 200);
    assert_eq!(
        of_type(&events(&app, &ann.access).await, "impersonated_request").len(),
        before
    );
}

#[tokio::test]
async fn an_impersonation_token_cannot_start_another_impersonation() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let ann = app.create_user("ann@example.com", "manager").await;
    let bob = app.create_user("bob@example.com", "viewer").await;
    let r = impersonate(&app, &admin.access, ann.id).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let token = access(&r);
    for target in [bob.id, ann.id, admin.user.id] {
        let chained = impersonate(&app, &token, target).await;
        expect_error(&chained, 403, "permission_denied");
    }
    let bob_sessions = session::Entity::find()
        .filter(session::Column::UserId.eq(bob.id))
        .count(&app.ctx.db)
        .await
        .unwrap();
    assert_eq!(bob_sessions, 0);
    let imp_sessions = session::Entity::find()
        .filter(session::Column::ImpersonatorId.is_not_null())
        .count(&app.ctx.db)
        .await
        .unwrap();
    assert_eq!(imp_sessions, 1);
}

#[tokio::test]
async fn an_impersonation_session_ends_with_logout_and_leaves_the_target_signed_in() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let token = access(&impersonate(&app, &admin.access, ann.user.id).await);
    assert_eq!(
        app.post("/api/v1/auth/logout", Some(&token), json!({}))
            .await
            .status,
        200
    );
    assert_eq!(me_status(&app, &token).await, 401);
    assert_eq!(me_status(&app, &ann.access).await, 200);
    assert_eq!(me_status(&app, &admin.access).await, 200);
}

#[tokio::test]
async fn an_impersonation_token_dies_when_the_admin_is_demoted() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let root = app.login_as("root@example.com", "admin").await;
    let ann = app.create_user("ann@example.com", "viewer").await;
    let token = access(&impersonate(&app, &admin.access, ann.id).await);
    assert_eq!(me_status(&app, &token).await, 200);

    let r = app
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/users/{}", admin.user.id),
            Some(&root.access),
            Some(json!({ "role": "viewer" })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The demoted admin's own session ends...
    assert_eq!(me_status(&app, &admin.access).await, 401);
    // ...and so must the power they held as an admin: acting as another user.
    let after = app.get("/api/v1/auth/me", Some(&token)).await;
    expect_error(&after, 401, "unauthenticated");
}

#[tokio::test]
async fn an_impersonation_token_dies_when_the_admin_is_deleted() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let root = app.login_as("root@example.com", "admin").await;
    let ann = app.create_user("ann@example.com", "viewer").await;
    let token = access(&impersonate(&app, &admin.access, ann.id).await);
    assert_eq!(me_status(&app, &token).await, 200);

    let r = app
        .delete(
            &format!("/api/v1/users/{}", admin.user.id),
            Some(&root.access),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(me_status(&app, &admin.access).await, 401);
    let after = app.get("/api/v1/auth/me", Some(&token)).await;
    expect_error(&after, 401, "unauthenticated");
}

#[tokio::test]
async fn the_security_log_uses_only_the_documented_event_types() {
    const DOCUMENTED: &[&str] = &[
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
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let bad = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({ "email": "ann@example.com", "password": "wrong password" }),
        )
        .await;
    assert_eq!(bad.status, 401);
    let r = app
        .post(
            "/api/v1/auth/change-password",
            Some(&ann.access),
            json!({ "currentPassword": "not my password", "newPassword": "a whole new password" }),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = app
        .post(
            "/api/v1/auth/change-password",
            Some(&ann.access),
            json!({ "currentPassword": PASSWORD, "newPassword": "a whole new password" }),
        )
        .await;
    assert_eq!(r.status, 200);
    let log = events(&app, &ann.access).await;
    for e in &log {
        let t = e["type"].as_str().unwrap();
        assert!(
            DOCUMENTED.contains(&t),
            "undocumented security event type {t:?}: {e}"
        );
    }
}
