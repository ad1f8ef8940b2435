//! Accounts through the API: registration, sign-in, `me`, password reset and email
//! verification, with their mails in the outbox and their effects on sessions.

use platform::identity::entities::one_time_token;
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::*;
use platform::validate::{Page, Paging};

fn register_body(email: &str, password: &str, name: &str) -> Value {
    json!({ "email": email, "password": password, "name": name })
}

#[tokio::test]
async fn register_creates_a_user_with_role_user_and_mails_a_verification_link() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            register_body(" Ann@Example.COM ", PASSWORD, "  Ann Smith "),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let user = &r.body["user"];
    assert_eq!(user["email"], "ann@example.com", "email normalised: {user}");
    assert_eq!(user["name"], "Ann Smith");
    assert_eq!(user["role"], "user");
    assert_eq!(user["emailVerified"], false);
    assert!(uuid::Uuid::parse_str(user["id"].as_str().unwrap()).is_ok());
    assert!(
        chrono::DateTime::parse_from_rfc3339(user["createdAt"].as_str().unwrap()).is_ok(),
        "{user}"
    );
    assert!(user.as_object().unwrap().contains_key("lastLoginAt"));
    assert!(
        !r.text.to_lowercase().contains("argon") && !r.text.contains("passwordHash"),
        "password material in the body: {}",
        r.text
    );
    // Stored as the body says, with an argon2id hash.
    let stored = app
        .ctx
        .identity
        .user_by_email("ann@example.com")
        .await
        .unwrap()
        .expect("user stored");
    assert_eq!(stored.role, "user");
    assert!(!stored.email_verified);
    assert!(
        stored
            .password_hash
            .as_deref()
            .is_some_and(|h| h.starts_with("$argon2id$"))
    );
    // The verification mail links to the web app with a token.
    let mails = app.wait_for_mails("ann@example.com", 1).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    let (subject, body) = &mails[0];
    assert!(subject.contains("Confirm"), "{subject}");
    assert!(
        body.contains("http://app.test/verify-email?token="),
        "{body}"
    );
    // The new account can sign in with any spelling of its address.
    let r = app.login(MOBILE, "ANN@example.com", PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["user"]["id"], user["id"]);
}

#[tokio::test]
async fn registering_a_taken_email_is_409_and_leaves_the_account_alone() {
    let app = spawn_app().await;
    app.web_register("ann@example.com").await;
    for (base, email) in [
        (WEB, "ann@example.com"),
        (MOBILE, "ann@example.com"),
        (WEB, "ANN@Example.com"),
    ] {
        let r = app
            .post(
                &format!("{base}/auth/register"),
                None,
                register_body(email, "another password", "Mallory"),
            )
            .await;
        expect_error(&r, 409, "already_exists");
        assert!(r.cookie("refresh_token").is_none());
        assert!(r.body.get("accessToken").is_none());
    }
    let user = app
        .ctx
        .identity
        .user_by_email("ann@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.name, "Web User");
    assert_eq!(
        app.login(WEB, "ann@example.com", PASSWORD).await.status,
        200
    );
    expect_error(
        &app.login(WEB, "ann@example.com", "another password").await,
        401,
        "unauthenticated",
    );
}

#[tokio::test]
async fn a_kelvin_sign_address_neither_registers_nor_signs_in_as_the_k_account() {
    let app = spawn_app().await;
    let kim = app.web_register("kim@example.com").await;
    // U+212A KELVIN SIGN: Unicode lower-cases it to ASCII `k` and NFC maps it to `K`.
    for email in ["\u{212A}im@example.com", "\u{212A}IM@EXAMPLE.COM"] {
        let r = app
            .post(
                &format!("{WEB}/auth/register"),
                None,
                register_body(email, "another password", "Mallory"),
            )
            .await;
        expect_error(&r, 400, "invalid_argument");
        assert_eq!(error_fields(&r), ["email"], "{}", r.text);
        let r = app.login(WEB, email, PASSWORD).await;
        expect_error(&r, 401, "unauthenticated");
    }
    // A fullwidth `ｋ` is NFC and a different address: an account of its own.
    let other = app.web_register("\u{FF4B}im@example.com").await;
    assert_ne!(other.user["id"], kim.user["id"]);
    assert_eq!(other.user["email"], "\u{FF4B}im@example.com");
    let r = app.login(WEB, "KIM@example.com", PASSWORD).await;
    assert_eq!(
        r.body["user"]["id"], kim.user["id"],
        "ASCII case still folds"
    );
}

#[tokio::test]
async fn fields_a_request_does_not_define_are_refused_by_name_on_both_mounts() {
    let app = spawn_app().await;
    for base in [WEB, MOBILE] {
        for (path, body, field) in [
            (
                "register",
                json!({ "email": "a@example.com", "password": PASSWORD, "name": "A", "role": "admin" }),
                "role",
            ),
            (
                "login",
                json!({ "email": "a@example.com", "password": PASSWORD, "rememberMe": true }),
                "rememberMe",
            ),
            ("refresh", json!({ "refresh_token": "x" }), "refresh_token"),
            (
                "forgot-password",
                json!({ "email": "a@example.com", "captcha": "" }),
                "captcha",
            ),
            (
                "reset-password",
                json!({ "token": "x", "password": PASSWORD, "confirmPassword": PASSWORD }),
                "confirmPassword",
            ),
            (
                "verify-email",
                json!({ "token": "x", "email": "a@example.com" }),
                "email",
            ),
        ] {
            let r = app.post(&format!("{base}/auth/{path}"), None, body).await;
            expect_error(&r, 400, "invalid_argument");
            assert_eq!(error_fields(&r), [field], "{base}/auth/{path}: {}", r.text);
        }
    }
    let none = app.ctx.identity.user_by_email("a@example.com").await;
    assert!(
        none.unwrap().is_none(),
        "the refused registration stored nothing"
    );
}

#[tokio::test]
async fn register_validation_failures_are_400_naming_every_field() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            register_body("not-an-email", "short", "   "),
        )
        .await;
    expect_error(&r, 400, "invalid_argument");
    let mut fields = error_fields(&r);
    fields.sort();
    assert_eq!(fields, ["email", "name", "password"], "{}", r.text);
    for f in r.body["details"]["fields"].as_array().unwrap() {
        assert!(f["message"].as_str().is_some_and(|m| !m.is_empty()), "{f}");
    }
    for (body, field) in [
        (
            register_body("ann@example.com", &"p".repeat(1025), "Ann"),
            "password",
        ),
        (
            register_body("ann@example.com", "1234567", "Ann"),
            "password",
        ),
        (
            register_body("ann@example.com", PASSWORD, &"n".repeat(101)),
            "name",
        ),
        (register_body("ann@", PASSWORD, "Ann"), "email"),
    ] {
        let r = app.post("/api/auth/register", None, body).await;
        expect_error(&r, 400, "invalid_argument");
        assert_eq!(error_fields(&r), [field], "{}", r.text);
    }
    assert!(
        app.ctx
            .identity
            .user_by_email("ann@example.com")
            .await
            .unwrap()
            .is_none(),
        "an invalid registration created a user"
    );
    assert!(app.mails_now("ann@example.com").await.is_empty());
}

#[tokio::test]
async fn passwords_of_8_and_1024_characters_are_accepted() {
    let app = spawn_app().await;
    let long = "é".repeat(1024);
    for (email, password) in [
        ("eight@example.com", "12345678"),
        ("long@example.com", &long),
    ] {
        let r = app
            .post(
                "/api/v1/auth/register",
                None,
                register_body(email, password, "Ann"),
            )
            .await;
        assert_eq!(r.status, 201, "{email}: {}", r.text);
        assert_eq!(app.login(MOBILE, email, password).await.status, 200);
    }
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_401() {
    let app = spawn_app().await;
    app.create_user("ann@example.com", "user").await;
    let wrong = app.login(WEB, "ann@example.com", "wrong password").await;
    let unknown = app.login(WEB, "nobody@example.com", PASSWORD).await;
    expect_error(&wrong, 401, "unauthenticated");
    expect_error(&unknown, 401, "unauthenticated");
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.body["message"], "Invalid credentials");
    for r in [&wrong, &unknown] {
        assert!(r.set_cookies().is_empty(), "{:?}", r.headers);
    }
    let mobile = app.login(MOBILE, "ann@example.com", "wrong password").await;
    assert_eq!(mobile.body, wrong.body);
}

#[tokio::test]
async fn login_records_the_sign_in_time() {
    let app = spawn_app().await;
    let user = app.create_user("ann@example.com", "user").await;
    assert!(user.last_login_at.is_none());
    let s = app.mobile_login("ann@example.com").await;
    assert!(s.user["lastLoginAt"].is_string(), "{}", s.user);
    let stored = app.ctx.identity.user(user.id).await.unwrap().unwrap();
    assert!(stored.last_login_at.is_some());
}

#[tokio::test]
async fn me_without_a_valid_token_is_401() {
    let app = spawn_app().await;
    let s = app.web_register("ann@example.com").await;
    for base in [WEB, MOBILE] {
        let path = format!("{base}/auth/me");
        expect_error(&app.get(&path, None).await, 401, "unauthenticated");
        expect_error(
            &app.get(&path, Some("not.a.jwt")).await,
            401,
            "unauthenticated",
        );
        // A tampered token (signature of another payload).
        let mut parts: Vec<&str> = s.access.split('.').collect();
        let other_email = if base == WEB {
            "w@example.com"
        } else {
            "m@example.com"
        };
        let other = app.mobile_register(other_email).await;
        let other_parts: Vec<&str> = other.access.split('.').collect();
        parts[1] = other_parts[1];
        expect_error(
            &app.get(&path, Some(&parts.join("."))).await,
            401,
            "unauthenticated",
        );
        // The refresh token is not an access token.
        expect_error(
            &app.get(&path, Some(&s.refresh)).await,
            401,
            "unauthenticated",
        );
        let r = app
            .call(Method::GET, &path)
            .header("authorization", &format!("Basic {}", s.access))
            .send()
            .await;
        expect_error(&r, 401, "unauthenticated");
    }
    let me = app.me(&s.access).await;
    assert_eq!(me.status, 200, "{}", me.text);
    let mut keys: Vec<_> = me.body.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "createdAt",
            "email",
            "emailVerified",
            "id",
            "lastLoginAt",
            "name",
            "role"
        ]
    );
}

#[tokio::test]
async fn forgot_password_answers_the_same_for_known_and_unknown_emails_and_mails_only_the_known() {
    let app = spawn_app().await;
    app.create_user("ann@example.com", "user").await;
    let unknown = app
        .post(
            "/api/v1/auth/forgot-password",
            None,
            json!({ "email": "nobody@example.com" }),
        )
        .await;
    let known = app
        .post(
            "/api/v1/auth/forgot-password",
            None,
            json!({ "email": "Ann@Example.com" }),
        )
        .await;
    assert_eq!(known.status, 200, "{}", known.text);
    assert_eq!(unknown.status, known.status);
    assert_eq!(unknown.body, known.body);
    assert_eq!(known.body, json!({ "success": true }));
    let mails = app.wait_for_mails("ann@example.com", 1).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].0.contains("Reset"), "{}", mails[0].0);
    assert!(
        mails[0].1.contains("http://app.test/reset-password?token="),
        "{}",
        mails[0].1
    );
    assert!(app.mails_now("nobody@example.com").await.is_empty());
    let Page {
        items: all, total, ..
    } = app.ctx.outbox.page(Paging::new(1, 100)).await.unwrap();
    assert_eq!(total, 1, "{all:?}");
    // One token was issued, living one hour.
    let tokens = one_time_token::Entity::find()
        .filter(one_time_token::Column::Purpose.eq("reset_password"))
        .all(&app.ctx.db)
        .await
        .unwrap();
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    let life = (tokens[0].expires_at - tokens[0].created_at).num_seconds();
    assert!((3595..=3605).contains(&life), "reset token lives {life}s");
}

async fn request_reset(app: &TestApp, email: &str) -> String {
    let n = app.mails_now(email).await.len();
    let r = app
        .post("/api/auth/forgot-password", None, json!({ "email": email }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mails = app.wait_for_mails(email, n + 1).await;
    assert!(mails.len() > n, "no reset mail to {email}");
    app.token_from_mail(email, "Reset").await
}

#[tokio::test]
async fn reset_password_with_the_mailed_token_works_once_and_ends_every_session() {
    let app = spawn_app().await;
    let web = app.web_register("ann@example.com").await;
    let mobile = app.mobile_login("ann@example.com").await;
    let token = request_reset(&app, "ann@example.com").await;

    let r = app
        .post(
            "/api/v1/auth/reset-password",
            None,
            json!({ "token": token, "password": "a brand new password" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({ "success": true }));

    // Every session ended, on both mounts.
    expect_error(&app.me(&web.access).await, 401, "unauthenticated");
    expect_error(&app.me(&mobile.access).await, 401, "unauthenticated");
    expect_error(
        &app.mobile_refresh(&mobile.refresh).await,
        401,
        "unauthenticated",
    );
    let r = app
        .web_refresh(Some(&web.refresh), Some(&web.csrf), Some(&web.csrf))
        .await;
    expect_error(&r, 401, "unauthenticated");
    assert!(app.session_of(&web.refresh).await.revoked_at.is_some());

    // The new password is the password now.
    expect_error(
        &app.login(WEB, "ann@example.com", PASSWORD).await,
        401,
        "unauthenticated",
    );
    assert_eq!(
        app.login(WEB, "ann@example.com", "a brand new password")
            .await
            .status,
        200
    );
    // The token is spent.
    let r = app
        .post(
            "/api/v1/auth/reset-password",
            None,
            json!({ "token": token, "password": "a third password" }),
        )
        .await;
    expect_error(&r, 400, "invalid_argument");
    assert_eq!(
        app.login(WEB, "ann@example.com", "a brand new password")
            .await
            .status,
        200
    );
    // Reading the mail proved the address.
    let r = app
        .login(MOBILE, "ann@example.com", "a brand new password")
        .await;
    assert_eq!(r.body["user"]["emailVerified"], true, "{}", r.text);
}

#[tokio::test]
async fn a_too_short_new_password_is_refused_without_spending_the_token() {
    let app = spawn_app().await;
    app.create_user("ann@example.com", "user").await;
    let token = request_reset(&app, "ann@example.com").await;
    let r = app
        .post(
            "/api/auth/reset-password",
            None,
            json!({ "token": token, "password": "short" }),
        )
        .await;
    expect_error(&r, 400, "invalid_argument");
    assert_eq!(error_fields(&r), ["password"], "{}", r.text);
    let r = app
        .post(
            "/api/auth/reset-password",
            None,
            json!({ "token": token, "password": "long enough now" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        app.login(MOBILE, "ann@example.com", "long enough now")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn an_expired_or_unknown_reset_token_is_400_and_changes_nothing() {
    let app = spawn_app().await;
    app.create_user("ann@example.com", "user").await;
    let token = request_reset(&app, "ann@example.com").await;
    app.expire_one_time_tokens("reset_password").await;
    for t in [token.as_str(), "not-a-token", ""] {
        let r = app
            .post(
                "/api/v1/auth/reset-password",
                None,
                json!({ "token": t, "password": "a brand new password" }),
            )
            .await;
        expect_error(&r, 400, "invalid_argument");
    }
    assert_eq!(
        app.login(WEB, "ann@example.com", PASSWORD).await.status,
        200
    );
}

#[tokio::test]
async fn a_verification_token_cannot_reset_a_password() {
    let app = spawn_app().await;
    app.web_register("ann@example.com").await;
    let token = app.token_from_mail("ann@example.com", "Confirm").await;
    let r = app
        .post(
            "/api/v1/auth/reset-password",
            None,
            json!({ "token": token, "password": "a brand new password" }),
        )
        .await;
    expect_error(&r, 400, "invalid_argument");
    assert_eq!(
        app.login(WEB, "ann@example.com", PASSWORD).await.status,
        200
    );
    // And the verification token is still good for its own purpose.
    let r = app
        .post("/api/v1/auth/verify-email", None, json!({ "token": token }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn verify_email_with_the_mailed_token_marks_the_address_verified_once() {
    let app = spawn_app().await;
    let s = app.mobile_register("ann@example.com").await;
    assert_eq!(s.user["emailVerified"], false);
    let mails = app.mails_to("ann@example.com").await;
    assert!(mails[0].0.contains("Confirm"), "{mails:?}");
    let token = app.token_from_mail("ann@example.com", "Confirm").await;
    // No session needed: the link is opened from the mailbox.
    let r = app
        .post("/api/auth/verify-email", None, json!({ "token": token }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({ "success": true }));
    let me = app.me(&s.access).await;
    assert_eq!(me.body["emailVerified"], true, "{}", me.text);
    let r = app
        .post("/api/auth/verify-email", None, json!({ "token": token }))
        .await;
    expect_error(&r, 400, "invalid_argument");
}

#[tokio::test]
async fn an_expired_verification_token_is_400() {
    let app = spawn_app().await;
    let s = app.web_register("ann@example.com").await;
    let token = app.token_from_mail("ann@example.com", "Confirm").await;
    app.expire_one_time_tokens("verify_email").await;
    let r = app
        .post("/api/v1/auth/verify-email", None, json!({ "token": token }))
        .await;
    expect_error(&r, 400, "invalid_argument");
    assert_eq!(app.me(&s.access).await.body["emailVerified"], false);
}

#[tokio::test]
async fn an_authenticated_empty_verify_email_sends_a_new_link_that_works() {
    let app = spawn_app().await;
    let s = app.web_register("ann@example.com").await;
    let first = app.token_from_mail("ann@example.com", "Confirm").await;
    let r = app
        .call(Method::POST, "/api/v1/auth/verify-email")
        .bearer(&s.access)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({ "success": true }));
    let mails = app.wait_for_mails("ann@example.com", 2).await;
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert!(mails.iter().all(|(subject, _)| subject.contains("Confirm")));
    let second = app.token_from_mail("ann@example.com", "Confirm").await;
    assert_ne!(first, second, "the resent mail carries a new token");
    let r = app
        .post(
            "/api/v1/auth/verify-email",
            None,
            json!({ "token": second }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.me(&s.access).await.body["emailVerified"], true);
}

#[tokio::test]
async fn an_anonymous_empty_verify_email_is_401_and_sends_nothing() {
    let app = spawn_app().await;
    app.web_register("ann@example.com").await;
    app.wait_for_mails("ann@example.com", 1).await;
    let r = app
        .call(Method::POST, "/api/v1/auth/verify-email")
        .send()
        .await;
    expect_error(&r, 401, "unauthenticated");
    let r = app.post("/api/auth/verify-email", None, json!({})).await;
    expect_error(&r, 401, "unauthenticated");
    assert_eq!(app.mails_now("ann@example.com").await.len(), 1);
}
