//! Two-factor authentication: setup, verification, TOTP and recovery codes at login (each
//! accepted once), and setup while already enabled.

use platform::identity::{
    crypto::totp,
    entities::{recovery_code, session},
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

use crate::helpers::*;

const EMAIL: &str = "ann@example.com";

struct Setup {
    secret: String,
    codes: Vec<String>,
}

async fn setup(app: &TestApp, token: &str) -> Setup {
    let r = app
        .post("/api/v1/auth/2fa/setup", Some(token), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    Setup {
        secret: r.body["secret"].as_str().unwrap().to_owned(),
        codes: r.body["recoveryCodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect(),
    }
}

async fn verify(app: &TestApp, token: &str, code: &str) -> Resp {
    app.post(
        "/api/v1/auth/2fa/verify",
        Some(token),
        json!({ "code": code }),
    )
    .await
}

/// A user with 2FA on: `(login, setup)`. The step of `totp_now` is spent by the verification.
async fn enrolled(app: &TestApp) -> (Login, Setup) {
    let ann = app.login_as(EMAIL, "viewer").await;
    let s = setup(app, &ann.access).await;
    let r = verify(app, &ann.access, &totp_now(&s.secret)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    (ann, s)
}

async fn login(app: &TestApp, password: &str, code: Option<&str>) -> Resp {
    let mut body = json!({ "email": EMAIL, "password": password });
    if let Some(c) = code {
        body["totpCode"] = json!(c);
    }
    app.post("/api/v1/auth/login", None, body).await
}

/// The code of the next 30-second step (accepted: ±1 step), unused so far.
fn next_code(secret: &str) -> String {
    totp::code_at(secret, chrono::Utc::now().timestamp() as u64 + 30).unwrap()
}

async fn session_count(app: &TestApp, login: &Login) -> u64 {
    session::Entity::find()
        .filter(session::Column::UserId.eq(login.user.id))
        .count(&app.ctx.db)
        .await
        .unwrap()
}

async fn event_types(app: &TestApp, login: &Login) -> Vec<String> {
    let (events, _) = app
        .ctx
        .identity
        .security_log(login.user.id, 1, 100)
        .await
        .unwrap();
    events.into_iter().map(|e| e.event_type).collect()
}

fn assert_two_factor_refusal(r: &Resp) {
    expect_error(r, 401, "unauthenticated");
    assert_eq!(r.body["details"]["twoFactorRequired"], true, "{}", r.text);
    assert!(r.body.get("accessToken").is_none());
}

#[tokio::test]
async fn setup_returns_a_secret_and_ten_recovery_codes_without_turning_2fa_on() {
    let app = spawn_app().await;
    let ann = app.login_as(EMAIL, "viewer").await;
    let r = app
        .post("/api/v1/auth/2fa/setup", Some(&ann.access), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let secret = r.body["secret"].as_str().unwrap();
    assert!(
        secret.len() >= 16
            && secret
                .chars()
                .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c)),
        "{secret}"
    );
    let url = r.body["otpauthUrl"].as_str().unwrap();
    assert!(url.starts_with("otpauth://totp/"), "{url}");
    assert!(url.contains(&format!("secret={secret}")), "{url}");
    let codes: Vec<&str> = r.body["recoveryCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 10);
    let mut unique = codes.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 10, "recovery codes are distinct");
    // The codes are stored, but not in plain text.
    let rows = recovery_code::Entity::find()
        .filter(recovery_code::Column::UserId.eq(ann.user.id))
        .all(&app.ctx.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 10);
    assert!(
        rows.iter()
            .all(|row| !codes.contains(&row.code_hash.as_str()))
    );
    // Not active yet: the account still signs in with the password alone.
    let me = app.get("/api/v1/auth/me", Some(&ann.access)).await;
    assert_eq!(me.body["twoFactorEnabled"], false);
    let r = login(&app, PASSWORD, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        event_types(&app, &ann)
            .await
            .contains(&"two_factor_setup".to_owned())
    );
}

#[tokio::test]
async fn verify_with_a_wrong_code_is_refused_and_leaves_2fa_off() {
    let app = spawn_app().await;
    let ann = app.login_as(EMAIL, "viewer").await;
    let s = setup(&app, &ann.access).await;
    let good = totp_now(&s.secret);
    let wrong = format!("{:06}", (good.parse::<u32>().unwrap() + 1) % 1_000_000);
    for code in [wrong.as_str(), "abcdef", "", "12345", &s.codes[0]] {
        let r = verify(&app, &ann.access, code).await;
        expect_error(&r, 400, "invalid_argument");
    }
    let me = app.get("/api/v1/auth/me", Some(&ann.access)).await;
    assert_eq!(me.body["twoFactorEnabled"], false);
    assert_eq!(login(&app, PASSWORD, None).await.status, 200);
    let stored = app.ctx.identity.user(ann.user.id).await.unwrap().unwrap();
    assert!(!stored.totp_enabled);
}

#[tokio::test]
async fn verify_before_setup_is_a_failed_precondition() {
    let app = spawn_app().await;
    let ann = app.login_as(EMAIL, "viewer").await;
    let r = verify(&app, &ann.access, "123456").await;
    expect_error(&r, 400, "failed_precondition");
}

#[tokio::test]
async fn verify_with_the_current_code_turns_2fa_on() {
    let app = spawn_app().await;
    let ann = app.login_as(EMAIL, "viewer").await;
    let s = setup(&app, &ann.access).await;
    let r = verify(&app, &ann.access, &totp_now(&s.secret)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({ "success": true, "enabled": true }));
    let me = app.get("/api/v1/auth/me", Some(&ann.access)).await;
    assert_eq!(me.body["twoFactorEnabled"], true);
    assert!(
        event_types(&app, &ann)
            .await
            .contains(&"two_factor_enabled".to_owned())
    );
    // The session that enabled it carries on.
    assert_eq!(me.status, 200);
}

#[tokio::test]
async fn login_with_2fa_on_requires_a_code() {
    let app = spawn_app().await;
    let (ann, s) = enrolled(&app).await;
    let sessions_before = session_count(&app, &ann).await;

    let r = login(&app, PASSWORD, None).await;
    assert_two_factor_refusal(&r);
    let r = login(&app, PASSWORD, Some("")).await;
    assert_two_factor_refusal(&r);
    let good = next_code(&s.secret);
    let wrong = format!(
        "{:06}",
        (good.parse::<u32>().unwrap() + 500_000) % 1_000_000
    );
    let r = login(&app, PASSWORD, Some(&wrong)).await;
    assert_two_factor_refusal(&r);
    let r = login(&app, PASSWORD, Some("not-a-code")).await;
    assert_two_factor_refusal(&r);
    assert_eq!(
        session_count(&app, &ann).await,
        sessions_before,
        "no session without the second factor"
    );
    // A wrong password with 2FA on is still just "Invalid credentials" (no hint that 2FA is on).
    let r = login(&app, "wrong password", None).await;
    expect_error(&r, 401, "unauthenticated");
    assert_eq!(r.body["message"], "Invalid credentials");
    assert_ne!(r.body["details"]["twoFactorRequired"], true);
    assert!(
        event_types(&app, &ann)
            .await
            .contains(&"login_failed".to_owned())
    );
}

#[tokio::test]
async fn a_totp_code_signs_in_once() {
    let app = spawn_app().await;
    let (ann, s) = enrolled(&app).await;
    let code = next_code(&s.secret);
    let r = login(&app, PASSWORD, Some(&code)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["user"]["twoFactorEnabled"], true);
    let access = r.body["accessToken"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/auth/me", Some(access)).await.status, 200);
    // The same code again is a replay.
    let sessions_before = session_count(&app, &ann).await;
    let replay = login(&app, PASSWORD, Some(&code)).await;
    assert_two_factor_refusal(&replay);
    assert_eq!(session_count(&app, &ann).await, sessions_before);
}

#[tokio::test]
async fn the_code_that_enabled_2fa_cannot_sign_in() {
    let app = spawn_app().await;
    let ann = app.login_as(EMAIL, "viewer").await;
    let s = setup(&app, &ann.access).await;
    let code = totp_now(&s.secret);
    assert_eq!(verify(&app, &ann.access, &code).await.status, 200);
    let r = login(&app, PASSWORD, Some(&code)).await;
    assert_two_factor_refusal(&r);
}

#[tokio::test]
async fn an_older_step_is_refused_after_a_newer_one_was_used() {
    let app = spawn_app().await;
    let (_, s) = enrolled(&app).await;
    let now = chrono::Utc::now().timestamp() as u64;
    assert_eq!(
        login(
            &app,
            PASSWORD,
            Some(&totp::code_at(&s.secret, now + 30).unwrap())
        )
        .await
        .status,
        200
    );
    // The previous step's code is inside the ±1 window but older than the last one accepted.
    let old = totp::code_at(&s.secret, now - 30).unwrap();
    assert_two_factor_refusal(&login(&app, PASSWORD, Some(&old)).await);
}

#[tokio::test]
async fn a_recovery_code_signs_in_once() {
    let app = spawn_app().await;
    let (ann, s) = enrolled(&app).await;
    let r = login(&app, PASSWORD, Some(&s.codes[3])).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        event_types(&app, &ann)
            .await
            .contains(&"recovery_code_used".to_owned())
    );
    let again = login(&app, PASSWORD, Some(&s.codes[3])).await;
    assert_two_factor_refusal(&again);
    // The other codes still work, typed loosely (case, surrounding spaces).
    let loose = format!("  {}  ", s.codes[4].to_uppercase());
    assert_eq!(login(&app, PASSWORD, Some(&loose)).await.status, 200);
    let used = recovery_code::Entity::find()
        .filter(recovery_code::Column::UserId.eq(ann.user.id))
        .filter(recovery_code::Column::UsedAt.is_not_null())
        .count(&app.ctx.db)
        .await
        .unwrap();
    assert_eq!(used, 2);
}

#[tokio::test]
async fn concurrent_logins_with_one_code_succeed_once() {
    let app = spawn_app().await;
    let (_, s) = enrolled(&app).await;
    let (a, b) = tokio::join!(
        login(&app, PASSWORD, Some(&s.codes[2])),
        login(&app, PASSWORD, Some(&s.codes[2]))
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [200, 401],
        "recovery code: {} / {}",
        a.text,
        b.text
    );
    let code = next_code(&s.secret);
    let (a, b) = tokio::join!(
        login(&app, PASSWORD, Some(&code)),
        login(&app, PASSWORD, Some(&code))
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 401], "totp code: {} / {}", a.text, b.text);
}

#[tokio::test]
async fn a_wrong_password_does_not_spend_a_recovery_code() {
    let app = spawn_app().await;
    let (_, s) = enrolled(&app).await;
    let r = login(&app, "wrong password", Some(&s.codes[0])).await;
    expect_error(&r, 401, "unauthenticated");
    assert_eq!(r.body["message"], "Invalid credentials");
    assert_eq!(login(&app, PASSWORD, Some(&s.codes[0])).await.status, 200);
}

#[tokio::test]
async fn another_users_recovery_codes_do_not_work() {
    let app = spawn_app().await;
    let (_, _) = enrolled(&app).await;
    let bob = app.login_as("bob@example.com", "viewer").await;
    let bob_setup = setup(&app, &bob.access).await;
    assert_eq!(
        verify(&app, &bob.access, &totp_now(&bob_setup.secret))
            .await
            .status,
        200
    );
    let r = login(&app, PASSWORD, Some(&bob_setup.codes[0])).await;
    assert_two_factor_refusal(&r);
    // Bob's code is untouched by the attempt.
    let r = app
        .post("/api/v1/auth/login", None, json!({ "email": "bob@example.com", "password": PASSWORD, "totpCode": bob_setup.codes[0] }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn setup_while_enabled_is_a_failed_precondition_and_changes_nothing() {
    let app = spawn_app().await;
    let (ann, s) = enrolled(&app).await;
    let before = app.ctx.identity.user(ann.user.id).await.unwrap().unwrap();
    let r = app
        .post("/api/v1/auth/2fa/setup", Some(&ann.access), json!({}))
        .await;
    expect_error(&r, 400, "failed_precondition");
    assert!(r.body.get("secret").is_none() && r.body.get("recoveryCodes").is_none());
    let after = app.ctx.identity.user(ann.user.id).await.unwrap().unwrap();
    assert_eq!(after.totp_secret, before.totp_secret);
    assert!(after.totp_enabled);
    // The old recovery codes remain valid, and the old secret still signs in.
    assert_eq!(login(&app, PASSWORD, Some(&s.codes[9])).await.status, 200);
    assert_eq!(
        login(&app, PASSWORD, Some(&next_code(&s.secret)))
            .await
            .status,
        200
    );
    // Verifying again while on is refused too.
    let r = verify(&app, &ann.access, &totp_now(&s.secret)).await;
    expect_error(&r, 400, "failed_precondition");
}

#[tokio::test]
async fn a_second_setup_replaces_the_pending_secret_and_codes() {
    let app = spawn_app().await;
    let ann = app.login_as(EMAIL, "viewer").await;
    let first = setup(&app, &ann.access).await;
    let second = setup(&app, &ann.access).await;
    assert_ne!(first.secret, second.secret);
    assert!(first.codes.iter().all(|c| !second.codes.contains(c)));
    let stale = totp_now(&first.secret);
    if stale != totp_now(&second.secret) {
        expect_error(
            &verify(&app, &ann.access, &stale).await,
            400,
            "invalid_argument",
        );
    }
    assert_eq!(
        verify(&app, &ann.access, &totp_now(&second.secret))
            .await
            .status,
        200
    );
    // The first setup's recovery codes died with it.
    assert_two_factor_refusal(&login(&app, PASSWORD, Some(&first.codes[0])).await);
    assert_eq!(
        login(&app, PASSWORD, Some(&second.codes[0])).await.status,
        200
    );
    let rows = recovery_code::Entity::find()
        .filter(recovery_code::Column::UserId.eq(ann.user.id))
        .count(&app.ctx.db)
        .await
        .unwrap();
    assert_eq!(rows, 10);
}

#[tokio::test]
async fn the_2fa_flow_is_on_the_security_log() {
    let app = spawn_app().await;
    let (ann, s) = enrolled(&app).await;
    assert_eq!(login(&app, PASSWORD, Some(&s.codes[1])).await.status, 200);
    let r = app
        .get("/api/v1/auth/security-log?limit=100", Some(&ann.access))
        .await;
    let types: Vec<&str> = r.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    for t in [
        "two_factor_setup",
        "two_factor_enabled",
        "recovery_code_used",
        "login",
    ] {
        assert!(types.contains(&t), "{t} missing in {types:?}");
    }
}

#[tokio::test]
async fn password_change_attempts_do_not_use_up_the_2fa_verify_allowance() {
    let app = spawn_app().await;
    let ann = app.login_as(EMAIL, "viewer").await;
    // Ten mistyped current passwords: not 2FA verifications.
    for _ in 0..10 {
        let r = app
            .post(
                "/api/v1/auth/change-password",
                Some(&ann.access),
                json!({ "currentPassword": "not my password", "newPassword": "a whole new password" }),
            )
            .await;
        assert_eq!(r.status, 400, "{}", r.text);
    }
    let s = setup(&app, &ann.access).await;
    let r = verify(&app, &ann.access, &totp_now(&s.secret)).await;
    assert_eq!(
        r.status, 200,
        "the first 2FA verification of the account was refused: {}",
        r.text
    );
}
