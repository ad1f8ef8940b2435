//! Password reset (request and completion) and email verification (token, expiry, resend).

use chrono::{Duration, Utc};
use platform::identity::entities::{one_time_token, user};
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::*;

const RESET: &str = "/api/v1/auth/reset-password";
const VERIFY: &str = "/api/v1/auth/verify-email";

async fn request_reset(app: &TestApp, email: &str) -> Resp {
    app.post(RESET, None, json!({ "email": email })).await
}

async fn complete_reset(app: &TestApp, token: &str, password: &str) -> Resp {
    app.post(RESET, None, json!({ "token": token, "password": password }))
        .await
}

async fn login_status(app: &TestApp, email: &str, password: &str) -> u16 {
    app.post(
        "/api/v1/auth/login",
        None,
        json!({ "email": email, "password": password }),
    )
    .await
    .status
    .as_u16()
}

async fn me(app: &TestApp, token: &str) -> Resp {
    app.get("/api/v1/auth/me", Some(token)).await
}

/// Sets `expires_at` of every one-time token of `user` for `purpose` into the past.
async fn expire_tokens(app: &TestApp, user: Uuid, purpose: &str) {
    let res = one_time_token::Entity::update_many()
        .col_expr(
            one_time_token::Column::ExpiresAt,
            Expr::value(Utc::now() - Duration::seconds(1)),
        )
        .filter(one_time_token::Column::UserId.eq(user))
        .filter(one_time_token::Column::Purpose.eq(purpose))
        .exec(&app.ctx.db)
        .await
        .unwrap();
    assert!(res.rows_affected >= 1, "no {purpose} token to expire");
}

/// Registers over HTTP (unverified, with a verification mail); returns `(user id, access token)`.
async fn register(app: &TestApp, email: &str) -> (Uuid, String) {
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({ "email": email, "password": PASSWORD, "name": "Reg" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = Uuid::parse_str(r.body["user"]["id"].as_str().unwrap()).unwrap();
    (id, r.body["accessToken"].as_str().unwrap().to_owned())
}

/// The token of the newest reset mail to `email`, waiting for it: the reset mail is sent after
/// the response, and the address may already hold other mail.
async fn reset_token(app: &TestApp, email: &str) -> String {
    for _ in 0..100 {
        if app
            .mails_to(email)
            .await
            .iter()
            .any(|(s, _)| s.contains("Reset"))
        {
            return app.token_from_mail(email, "Reset").await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("no reset mail to {email}");
}

async fn confirm_mails(app: &TestApp, email: &str) -> Vec<String> {
    app.mails_to(email)
        .await
        .into_iter()
        .filter(|(s, _)| s.contains("Confirm"))
        .map(|(_, b)| b)
        .collect()
}

// ---------------------------------------------------------------- reset

#[tokio::test]
async fn reset_request_answers_the_same_for_known_and_unknown_addresses() {
    let app = spawn_app().await;
    let ann = app.create_user("ann@example.com", "viewer").await;
    let known = request_reset(&app, "ann@example.com").await;
    let unknown = request_reset(&app, "nobody@example.com").await;
    assert_eq!(known.status, 200, "{}", known.text);
    assert_eq!(known.body, json!({ "success": true }));
    assert_eq!(known.status, unknown.status);
    assert_eq!(known.text, unknown.text);

    // The known address gets a mail with a link and token; the unknown one gets nothing.
    let token = app.token_from_mail("ann@example.com", "Reset").await;
    assert!(token.len() >= 32, "{token}");
    let mails = app.mails_to("ann@example.com").await;
    assert!(
        mails[0].1.contains("http://app.test/reset-password?token="),
        "{}",
        mails[0].1
    );
    assert!(app.mails_to("nobody@example.com").await.is_empty());
    // The token is stored hashed, for ann, expiring in about an hour.
    let rows = one_time_token::Entity::find()
        .filter(one_time_token::Column::UserId.eq(ann.id))
        .filter(one_time_token::Column::Purpose.eq("reset_password"))
        .all(&app.ctx.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_ne!(rows[0].token_hash, token);
    let ttl = rows[0].expires_at - rows[0].created_at;
    assert!(
        ttl > Duration::minutes(59) && ttl <= Duration::minutes(61),
        "{ttl}"
    );
    let (events, _) = app.ctx.identity.security_log(ann.id, 1, 100).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.event_type == "password_reset_requested")
    );
}

#[tokio::test]
async fn reset_request_finds_the_account_whatever_the_case_of_the_address() {
    let app = spawn_app().await;
    app.create_user("ann@example.com", "viewer").await;
    assert_eq!(request_reset(&app, " ANN@Example.com ").await.status, 200);
    let token = app.token_from_mail("ann@example.com", "Reset").await;
    assert_eq!(
        complete_reset(&app, &token, "a fresh password")
            .await
            .status,
        200
    );
    assert_eq!(
        login_status(&app, "ann@example.com", "a fresh password").await,
        200
    );
}

#[tokio::test]
async fn completing_a_reset_sets_the_password_and_ends_every_session() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let phone = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({ "email": "ann@example.com", "password": PASSWORD }),
        )
        .await;
    let phone_access = phone.body["accessToken"].as_str().unwrap().to_owned();
    assert_eq!(request_reset(&app, "ann@example.com").await.status, 200);
    let token = app.token_from_mail("ann@example.com", "Reset").await;

    let r = complete_reset(&app, &token, "a fresh password").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({ "success": true }));

    // Every session is gone, access and refresh alike.
    expect_error(&me(&app, &ann.access).await, 401, "unauthenticated");
    expect_error(&me(&app, &phone_access).await, 401, "unauthenticated");
    let rr = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refreshToken": ann.refresh }),
        )
        .await;
    expect_error(&rr, 401, "unauthenticated");
    assert!(
        app.ctx
            .identity
            .sessions(ann.user.id)
            .await
            .unwrap()
            .is_empty()
    );
    // Old password out, new password in.
    assert_eq!(login_status(&app, "ann@example.com", PASSWORD).await, 401);
    assert_eq!(
        login_status(&app, "ann@example.com", "a fresh password").await,
        200
    );
    let (events, _) = app
        .ctx
        .identity
        .security_log(ann.user.id, 1, 100)
        .await
        .unwrap();
    assert!(events.iter().any(|e| e.event_type == "password_reset"));
}

#[tokio::test]
async fn a_reset_token_works_once() {
    let app = spawn_app().await;
    app.create_user("ann@example.com", "viewer").await;
    request_reset(&app, "ann@example.com").await;
    let token = app.token_from_mail("ann@example.com", "Reset").await;
    assert_eq!(
        complete_reset(&app, &token, "first new password")
            .await
            .status,
        200
    );
    let again = complete_reset(&app, &token, "second new password").await;
    expect_error(&again, 400, "invalid_argument");
    assert_eq!(
        login_status(&app, "ann@example.com", "first new password").await,
        200
    );
    assert_eq!(
        login_status(&app, "ann@example.com", "second new password").await,
        401
    );
}

#[tokio::test]
async fn concurrent_uses_of_a_reset_token_succeed_once() {
    let app = spawn_app().await;
    app.create_user("ann@example.com", "viewer").await;
    request_reset(&app, "ann@example.com").await;
    let token = app.token_from_mail("ann@example.com", "Reset").await;
    let (a, b) = tokio::join!(
        complete_reset(&app, &token, "password number one"),
        complete_reset(&app, &token, "password number two"),
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 400], "{} / {}", a.text, b.text);
    let winner = if a.status == 200 {
        "password number one"
    } else {
        "password number two"
    };
    let loser = if a.status == 200 {
        "password number two"
    } else {
        "password number one"
    };
    assert_eq!(login_status(&app, "ann@example.com", winner).await, 200);
    assert_eq!(login_status(&app, "ann@example.com", loser).await, 401);
}

#[tokio::test]
async fn an_expired_reset_token_is_refused() {
    let app = spawn_app().await;
    let ann = app.create_user("ann@example.com", "viewer").await;
    request_reset(&app, "ann@example.com").await;
    let token = app.token_from_mail("ann@example.com", "Reset").await;
    expire_tokens(&app, ann.id, "reset_password").await;
    let r = complete_reset(&app, &token, "a fresh password").await;
    expect_error(&r, 400, "invalid_argument");
    assert_eq!(login_status(&app, "ann@example.com", PASSWORD).await, 200);
    assert_eq!(
        login_status(&app, "ann@example.com", "a fresh password").await,
        401
    );
}

#[tokio::test]
async fn an_unknown_reset_token_is_refused() {
    let app = spawn_app().await;
    app.create_user("ann@example.com", "viewer").await;
    let r = complete_reset(&app, "made-up-token", "a fresh password").await;
    expect_error(&r, 400, "invalid_argument");
    assert_eq!(login_status(&app, "ann@example.com", PASSWORD).await, 200);
}

#[tokio::test]
async fn a_reset_with_a_short_password_keeps_the_token_usable() {
    let app = spawn_app().await;
    app.create_user("ann@example.com", "viewer").await;
    request_reset(&app, "ann@example.com").await;
    let token = app.token_from_mail("ann@example.com", "Reset").await;
    let r = complete_reset(&app, &token, "short").await;
    expect_error(&r, 400, "invalid_argument");
    assert!(
        error_fields(&r).contains(&"password".to_owned()),
        "{}",
        r.text
    );
    assert_eq!(login_status(&app, "ann@example.com", PASSWORD).await, 200);
    assert_eq!(
        complete_reset(&app, &token, "long enough now").await.status,
        200
    );
}

#[tokio::test]
async fn reset_body_must_be_an_email_or_a_token_and_password() {
    let app = spawn_app().await;
    app.create_user("ann@example.com", "viewer").await;
    request_reset(&app, "ann@example.com").await;
    let token = app.token_from_mail("ann@example.com", "Reset").await;
    for body in [
        json!({}),
        json!({ "token": token }),
        json!({ "password": "a fresh password" }),
        json!({ "email": "ann@example.com", "password": "a fresh password" }),
        json!({ "email": null }),
    ] {
        let r = app.post(RESET, None, body).await;
        expect_error(&r, 400, "invalid_argument");
    }
    let r = app.request(Method::POST, RESET, None, None).await;
    expect_error(&r, 400, "invalid_argument");
    // None of that spent the token or changed the password.
    assert_eq!(login_status(&app, "ann@example.com", PASSWORD).await, 200);
    assert_eq!(
        complete_reset(&app, &token, "a fresh password")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn tokens_only_serve_their_own_purpose() {
    let app = spawn_app().await;
    let (id, _) = register(&app, "reg@example.com").await;
    let verify_token = app.token_from_mail("reg@example.com", "Confirm").await;
    // A verification token cannot reset the password.
    let r = complete_reset(&app, &verify_token, "a fresh password").await;
    expect_error(&r, 400, "invalid_argument");
    assert_eq!(login_status(&app, "reg@example.com", PASSWORD).await, 200);
    // A reset token cannot verify the address.
    request_reset(&app, "reg@example.com").await;
    let reset_token = reset_token(&app, "reg@example.com").await;
    let r = app
        .post(VERIFY, None, json!({ "token": reset_token }))
        .await;
    expect_error(&r, 400, "invalid_argument");
    assert!(
        !app.ctx
            .identity
            .user(id)
            .await
            .unwrap()
            .unwrap()
            .email_verified
    );
    // Both still work for what they are.
    assert_eq!(
        app.post(VERIFY, None, json!({ "token": verify_token }))
            .await
            .status,
        200
    );
    assert_eq!(
        complete_reset(&app, &reset_token, "a fresh password")
            .await
            .status,
        200
    );
}

// ---------------------------------------------------------------- verify email

#[tokio::test]
async fn the_registration_mail_verifies_the_email_once() {
    let app = spawn_app().await;
    let (id, access) = register(&app, "reg@example.com").await;
    assert_eq!(me(&app, &access).await.body["emailVerified"], false);
    let token = app.token_from_mail("reg@example.com", "Confirm").await;
    let rows = one_time_token::Entity::find()
        .filter(one_time_token::Column::UserId.eq(id))
        .filter(one_time_token::Column::Purpose.eq("verify_email"))
        .all(&app.ctx.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let ttl = rows[0].expires_at - rows[0].created_at;
    assert!(
        ttl > Duration::hours(23) && ttl <= Duration::hours(25),
        "{ttl}"
    );

    // Anonymous use of the token is enough (the link is opened from the mail).
    let r = app.post(VERIFY, None, json!({ "token": token })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({ "success": true }));
    assert_eq!(me(&app, &access).await.body["emailVerified"], true);
    let stored = user::Entity::find_by_id(id)
        .one(&app.ctx.db)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.email_verified);
    let (events, _) = app.ctx.identity.security_log(id, 1, 100).await.unwrap();
    assert!(events.iter().any(|e| e.event_type == "email_verified"));

    let again = app.post(VERIFY, None, json!({ "token": token })).await;
    expect_error(&again, 400, "invalid_argument");
}

#[tokio::test]
async fn an_expired_verification_token_is_refused() {
    let app = spawn_app().await;
    let (id, access) = register(&app, "reg@example.com").await;
    let token = app.token_from_mail("reg@example.com", "Confirm").await;
    expire_tokens(&app, id, "verify_email").await;
    let r = app
        .post(VERIFY, Some(&access), json!({ "token": token }))
        .await;
    expect_error(&r, 400, "invalid_argument");
    assert_eq!(me(&app, &access).await.body["emailVerified"], false);
}

#[tokio::test]
async fn an_unknown_verification_token_is_refused() {
    let app = spawn_app().await;
    let (_, access) = register(&app, "reg@example.com").await;
    for token in ["made-up", ""] {
        let r = app
            .post(VERIFY, Some(&access), json!({ "token": token }))
            .await;
        expect_error(&r, 400, "invalid_argument");
    }
    assert_eq!(me(&app, &access).await.body["emailVerified"], false);
}

#[tokio::test]
async fn a_signed_in_user_without_a_token_gets_a_new_verification_mail() {
    let app = spawn_app().await;
    let (_, access) = register(&app, "reg@example.com").await;
    let first = app.token_from_mail("reg@example.com", "Confirm").await;
    assert_eq!(confirm_mails(&app, "reg@example.com").await.len(), 1);

    // No body at all.
    let r = app.request(Method::POST, VERIFY, Some(&access), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({ "success": true }));
    assert_eq!(confirm_mails(&app, "reg@example.com").await.len(), 2);
    let second = app.token_from_mail("reg@example.com", "Confirm").await;
    assert_ne!(first, second);

    // `{}` does the same.
    let r = app.post(VERIFY, Some(&access), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(confirm_mails(&app, "reg@example.com").await.len(), 3);
    let third = app.token_from_mail("reg@example.com", "Confirm").await;
    assert_ne!(third, second);

    // The new link verifies.
    let r = app.post(VERIFY, None, json!({ "token": third })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(me(&app, &access).await.body["emailVerified"], true);
}

#[tokio::test]
async fn an_anonymous_request_without_a_token_is_unauthenticated() {
    let app = spawn_app().await;
    register(&app, "reg@example.com").await;
    let r = app.request(Method::POST, VERIFY, None, None).await;
    expect_error(&r, 401, "unauthenticated");
    let r = app.post(VERIFY, None, json!({})).await;
    expect_error(&r, 401, "unauthenticated");
    // No extra mail was sent.
    assert_eq!(confirm_mails(&app, "reg@example.com").await.len(), 1);
    let total = one_time_token::Entity::find()
        .count(&app.ctx.db)
        .await
        .unwrap();
    assert_eq!(total, 1);
}

#[tokio::test]
async fn a_bad_bearer_token_on_verify_email_is_unauthenticated() {
    let app = spawn_app().await;
    register(&app, "reg@example.com").await;
    let r = app
        .request(Method::POST, VERIFY, Some("garbage"), None)
        .await;
    expect_error(&r, 401, "unauthenticated");
    assert_eq!(confirm_mails(&app, "reg@example.com").await.len(), 1);
}

// ---------------------------------------------------------------- address changes

async fn change_email(app: &TestApp, id: Uuid, email: &str) {
    let root = app.login_as("root@example.com", "admin").await;
    let r = app
        .request(
            Method::PUT,
            &format!("/api/v1/users/{id}"),
            Some(&root.access),
            Some(json!({ "email": email })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["user"]["email"], email);
}

#[tokio::test]
async fn a_verification_link_for_an_old_address_does_not_verify_a_new_one() {
    let app = spawn_app().await;
    let (id, _) = register(&app, "old@example.com").await;
    let token = app.token_from_mail("old@example.com", "Confirm").await;
    change_email(&app, id, "new@example.com").await;
    // The link proves control of old@, not of new@.
    let r = app.post(VERIFY, None, json!({ "token": token })).await;
    expect_error(&r, 400, "invalid_argument");
    let stored = app.ctx.identity.user(id).await.unwrap().unwrap();
    assert_eq!(stored.email, "new@example.com");
    assert!(
        !stored.email_verified,
        "new@example.com was marked verified by a link mailed to old@example.com"
    );
}

#[tokio::test]
async fn a_reset_link_mailed_to_an_old_address_stops_working_after_an_email_change() {
    let app = spawn_app().await;
    let ann = app.create_user("old@example.com", "viewer").await;
    assert_eq!(request_reset(&app, "old@example.com").await.status, 200);
    let token = reset_token(&app, "old@example.com").await;
    change_email(&app, ann.id, "new@example.com").await;
    // Whoever reads old@example.com must not be able to take over the account any more.
    let r = complete_reset(&app, &token, "taken over password").await;
    expect_error(&r, 400, "invalid_argument");
    assert_eq!(login_status(&app, "new@example.com", PASSWORD).await, 200);
}

#[tokio::test]
async fn a_password_reset_keeps_two_factor_on() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let s = app
        .post("/api/v1/auth/2fa/setup", Some(&ann.access), json!({}))
        .await;
    let secret = s.body["secret"].as_str().unwrap().to_owned();
    let v = app
        .post(
            "/api/v1/auth/2fa/verify",
            Some(&ann.access),
            json!({ "code": totp_now(&secret) }),
        )
        .await;
    assert_eq!(v.status, 200, "{}", v.text);
    assert_eq!(request_reset(&app, "ann@example.com").await.status, 200);
    let token = reset_token(&app, "ann@example.com").await;
    assert_eq!(
        complete_reset(&app, &token, "a fresh password")
            .await
            .status,
        200
    );
    let r = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({ "email": "ann@example.com", "password": "a fresh password" }),
        )
        .await;
    expect_error(&r, 401, "unauthenticated");
    assert_eq!(r.body["details"]["twoFactorRequired"], true);
}
