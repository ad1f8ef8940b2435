//! Account endpoints: register, login, me, logout, refresh (rotation and reuse detection),
//! profile, permissions and password change.

use chrono::{Duration, Utc};
use platform::identity::{
    crypto::{self, Claims, JwtKeys},
    entities::{refresh_token, session},
};
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::*;
use platform::validate::Paging;

/// The JWT secret `spawn_app` configures.
const JWT_SECRET: &[u8] = b"test-secret-0123456789abcdef0123456789";

async fn register(app: &TestApp, email: &str, password: &str, name: &str) -> Resp {
    app.post(
        "/api/v1/auth/register",
        None,
        json!({ "email": email, "password": password, "name": name }),
    )
    .await
}

async fn login(app: &TestApp, email: &str, password: &str) -> Resp {
    app.post(
        "/api/v1/auth/login",
        None,
        json!({ "email": email, "password": password }),
    )
    .await
}

async fn refresh(app: &TestApp, token: &str) -> Resp {
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({ "refreshToken": token }),
    )
    .await
}

async fn patch_profile(app: &TestApp, token: &str, body: Value) -> Resp {
    app.request(
        Method::PATCH,
        "/api/v1/auth/profile",
        Some(token),
        Some(body),
    )
    .await
}

async fn me_status(app: &TestApp, token: &str) -> u16 {
    app.get("/api/v1/auth/me", Some(token))
        .await
        .status
        .as_u16()
}

fn is_rfc3339(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok())
}

/// The id of the newest live session of `user`.
async fn newest_session(app: &TestApp, user: Uuid) -> Uuid {
    session::Entity::find()
        .filter(session::Column::UserId.eq(user))
        .all(&app.ctx.db)
        .await
        .unwrap()
        .into_iter()
        .max_by_key(|s| (s.created_at, s.id))
        .expect("a session")
        .id
}

/// Moves the rotation time of a refresh token `secs` seconds into the past.
async fn age_rotation(app: &TestApp, token: &str, secs: i64) {
    let res = refresh_token::Entity::update_many()
        .col_expr(
            refresh_token::Column::RotatedAt,
            Expr::value(Some(Utc::now() - Duration::seconds(secs))),
        )
        .filter(refresh_token::Column::TokenHash.eq(crypto::token_hash(token)))
        .exec(&app.ctx.db)
        .await
        .unwrap();
    assert_eq!(res.rows_affected, 1, "the refresh token row exists");
}

fn b64url(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn claims_for(user: Uuid, sid: Uuid, issuer: &str, exp_in: i64) -> Claims {
    let now = Utc::now().timestamp();
    Claims {
        sub: user,
        sid,
        iss: issuer.into(),
        aud: issuer.into(),
        iat: now,
        nbf: now,
        exp: now + exp_in,
        imp: None,
    }
}

// ---------------------------------------------------------------- register

#[tokio::test]
async fn registration_returns_a_viewer_session_and_mails_a_verification_link() {
    let app = spawn_app().await;
    let r = register(&app, "New.Person@Example.com", PASSWORD, "New Person").await;
    assert_eq!(r.status, 201, "{}", r.text);
    let body = r.body.as_object().unwrap();
    for key in ["accessToken", "refreshToken", "user", "expiresIn"] {
        assert!(body.contains_key(key), "{key} missing in {}", r.text);
    }
    assert!(!body.contains_key("access_token") && !body.contains_key("refresh_token"));
    assert_eq!(r.body["expiresIn"], 900);
    let user = &r.body["user"];
    let mut keys: Vec<_> = user
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "avatarUrl",
            "createdAt",
            "email",
            "emailVerified",
            "id",
            "lastLoginAt",
            "name",
            "permissions",
            "phone",
            "role",
            "timezone",
            "twoFactorEnabled",
        ],
        "UserProfile fields (and nothing secret): {}",
        r.text
    );
    assert_eq!(user["email"], "new.person@example.com");
    assert_eq!(user["name"], "New Person");
    assert_eq!(user["role"], "viewer");
    assert_eq!(user["emailVerified"], false);
    assert_eq!(user["twoFactorEnabled"], false);
    assert_eq!(user["phone"], Value::Null);
    assert_eq!(user["timezone"], Value::Null);
    assert_eq!(user["avatarUrl"], Value::Null);
    assert!(Uuid::parse_str(user["id"].as_str().unwrap()).is_ok());
    assert!(is_rfc3339(&user["createdAt"]), "{}", user["createdAt"]);
    assert!(
        user["createdAt"].as_str().unwrap().ends_with('Z'),
        "UTC: {}",
        user["createdAt"]
    );
    assert!(is_rfc3339(&user["lastLoginAt"]), "{}", user["lastLoginAt"]);
    let perms = user["permissions"].as_array().expect("permissions array");
    assert!(
        perms
            .iter()
            .any(|p| p["resource"] == "campaigns" && p["actions"] == json!(["read"]))
    );
    assert!(
        !perms
            .iter()
            .any(|p| p["resource"] == "users" || p["resource"] == "admin")
    );

    // The stored account matches.
    let stored = app
        .ctx
        .identity
        .user_by_email("new.person@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.role, "viewer");
    assert!(!stored.email_verified);
    assert_ne!(
        stored.password_hash.as_deref(),
        Some(PASSWORD),
        "password stored hashed"
    );
    assert!(stored.password_hash.unwrap().starts_with("$argon2id$"));

    // A verification mail was recorded with a link carrying a token.
    let mails = app.mails_to("new.person@example.com").await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].0.contains("Confirm"), "{:?}", mails[0]);
    assert!(
        mails[0].1.contains("http://app.test/verify-email?token="),
        "{}",
        mails[0].1
    );

    // Both tokens work.
    let access = r.body["accessToken"].as_str().unwrap();
    let me = app.get("/api/v1/auth/me", Some(access)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["id"], user["id"]);
    let refreshed = refresh(&app, r.body["refreshToken"].as_str().unwrap()).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
}

#[tokio::test]
async fn registering_a_taken_email_in_any_case_is_user_already_exists() {
    let app = spawn_app().await;
    assert_eq!(
        register(&app, "ann@example.com", PASSWORD, "Ann")
            .await
            .status,
        201
    );
    for email in ["ann@example.com", "ANN@Example.COM", "  ann@example.com "] {
        let r = register(&app, email, "another password", "Impostor").await;
        expect_error(&r, 400, "invalid_argument");
        assert_eq!(r.body["message"], "User already exists", "{}", r.text);
    }
    // The first account is untouched: same name, original password still the one that works.
    let u = app
        .ctx
        .identity
        .user_by_email("ann@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(u.name, "Ann");
    assert_eq!(login(&app, "ann@example.com", PASSWORD).await.status, 200);
    assert_eq!(
        login(&app, "ann@example.com", "another password")
            .await
            .status,
        401
    );
    let users = platform::identity::entities::user::Entity::find()
        .count(&app.ctx.db)
        .await
        .unwrap();
    assert_eq!(users, 1);
}

#[tokio::test]
async fn registration_cannot_choose_its_own_role() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({ "email": "eve@example.com", "password": PASSWORD, "name": "Eve", "role": "admin" }),
        )
        .await;
    // Either refused, or created as the least-privileged role: never an admin.
    if r.status == 201 {
        assert_eq!(r.body["user"]["role"], "viewer", "{}", r.text);
    } else {
        expect_error(&r, 400, "invalid_argument");
    }
    if let Some(u) = app
        .ctx
        .identity
        .user_by_email("eve@example.com")
        .await
        .unwrap()
    {
        assert_eq!(u.role, "viewer");
    }
}

#[tokio::test]
async fn registration_validation_lists_the_offending_fields() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({ "email": "not-an-email", "password": PASSWORD, "name": "A" }),
            "email",
        ),
        (
            json!({ "email": "a@example", "password": PASSWORD, "name": "A" }),
            "email",
        ),
        (
            json!({ "email": "a@example.com", "password": "short", "name": "A" }),
            "password",
        ),
        (
            json!({ "email": "a@example.com", "password": "x".repeat(1025), "name": "A" }),
            "password",
        ),
        (
            json!({ "email": "a@example.com", "password": PASSWORD, "name": "" }),
            "name",
        ),
        (
            json!({ "email": "a@example.com", "password": PASSWORD, "name": "   " }),
            "name",
        ),
        (
            json!({ "email": "a@example.com", "password": PASSWORD, "name": "n".repeat(101) }),
            "name",
        ),
    ];
    for (body, field) in cases {
        let r = app.post("/api/v1/auth/register", None, body.clone()).await;
        expect_error(&r, 400, "invalid_argument");
        assert!(
            error_fields(&r).contains(&field.to_owned()),
            "{body} -> {}",
            r.text
        );
    }
    // All problems at once are all reported.
    let r = register(&app, "nope", "short", "").await;
    expect_error(&r, 400, "invalid_argument");
    let mut fields = error_fields(&r);
    fields.sort();
    assert_eq!(fields, ["email", "name", "password"], "{}", r.text);
    // Nothing was created and nothing was mailed.
    let users = platform::identity::entities::user::Entity::find()
        .count(&app.ctx.db)
        .await
        .unwrap();
    assert_eq!(users, 0);
    assert!(
        app.ctx
            .outbox
            .page(Paging::new(1, 100))
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn a_password_of_exactly_1024_characters_is_taken_whole() {
    let app = spawn_app().await;
    let long = "p".repeat(1023) + "q";
    assert_eq!(
        register(&app, "long@example.com", &long, "Long")
            .await
            .status,
        201
    );
    assert_eq!(login(&app, "long@example.com", &long).await.status, 200);
    // A password differing only in the last character is a different password.
    let other = "p".repeat(1024);
    assert_eq!(login(&app, "long@example.com", &other).await.status, 401);
}

#[tokio::test]
async fn registration_without_a_name_is_invalid_argument_naming_the_field() {
    let app = spawn_app().await;
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
        error_fields(&r).contains(&"name".to_owned()),
        "details.fields should name `name`: {}",
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

// ---------------------------------------------------------------- login

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let app = spawn_app().await;
    app.create_user("ann@example.com", "viewer").await;
    let wrong = login(&app, "ann@example.com", "wrong password!").await;
    let unknown = login(&app, "nobody@example.com", PASSWORD).await;
    expect_error(&wrong, 401, "unauthenticated");
    assert_eq!(wrong.body["message"], "Invalid credentials");
    assert_eq!(wrong.text, unknown.text);
    assert_eq!(wrong.status, unknown.status);
    // No session was started for the failed attempt.
    let sessions = session::Entity::find().count(&app.ctx.db).await.unwrap();
    assert_eq!(sessions, 0);
}

#[tokio::test]
async fn an_account_without_a_password_cannot_sign_in_with_one() {
    let app = spawn_app().await;
    app.ctx
        .identity
        .create_user(platform::identity::NewUser {
            email: "oauth@example.com".into(),
            password: None,
            name: "OAuth Only".into(),
            role: "viewer".into(),
            email_verified: true,
        })
        .await
        .unwrap();
    let r = login(&app, "oauth@example.com", PASSWORD).await;
    let unknown = login(&app, "nobody@example.com", PASSWORD).await;
    expect_error(&r, 401, "unauthenticated");
    assert_eq!(r.text, unknown.text);
    let r = login(&app, "oauth@example.com", "").await;
    assert_eq!(r.status, 401, "{}", r.text);
}

#[tokio::test]
async fn login_records_last_login_and_ignores_email_case() {
    let app = spawn_app().await;
    let u = app.create_user("ann@example.com", "analyst").await;
    assert!(u.last_login_at.is_none());
    let before = Utc::now() - Duration::seconds(1);
    let r = login(&app, "  ANN@Example.Com ", PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["expiresIn"], 900);
    assert!(
        r.body["refreshToken"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    assert_eq!(r.body["user"]["email"], "ann@example.com");
    assert_eq!(r.body["user"]["role"], "analyst");
    assert!(is_rfc3339(&r.body["user"]["lastLoginAt"]), "{}", r.text);
    let stored = app.ctx.identity.user(u.id).await.unwrap().unwrap();
    let last = stored.last_login_at.expect("last_login_at set");
    assert!(
        last >= before && last <= Utc::now() + Duration::seconds(1),
        "{last}"
    );
    let me = app
        .get("/api/v1/auth/me", r.body["accessToken"].as_str())
        .await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["email"], "ann@example.com");
    assert!(is_rfc3339(&me.body["lastLoginAt"]));
}

#[tokio::test]
async fn login_with_missing_fields_is_invalid_argument() {
    let app = spawn_app().await;
    for body in [
        json!({ "email": "ann@example.com" }),
        json!({ "password": PASSWORD }),
        json!({}),
    ] {
        let r = app.post("/api/v1/auth/login", None, body).await;
        expect_error(&r, 400, "invalid_argument");
    }
}

// ---------------------------------------------------------------- me

#[tokio::test]
async fn me_without_a_valid_token_is_unauthenticated() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;

    let r = app.get("/api/v1/auth/me", None).await;
    expect_error(&r, 401, "unauthenticated");
    for bad in ["garbage", "a.b.c", "", &format!("{}x", ann.access)] {
        let r = app.get("/api/v1/auth/me", Some(bad)).await;
        expect_error(&r, 401, "unauthenticated");
    }
    // A valid token under another scheme is not a bearer token.
    let r = app
        .client
        .get(app.url("/api/v1/auth/me"))
        .header("authorization", format!("Basic {}", ann.access))
        .send()
        .await
        .unwrap();
    expect_error(&read(r).await, 401, "unauthenticated");
    // Control: the real token works.
    assert_eq!(me_status(&app, &ann.access).await, 200);
}

#[tokio::test]
async fn a_token_signed_for_another_product_is_refused() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let sid = newest_session(&app, ann.user.id).await;
    // Same secret, live session, right subject: only the issuer/audience differ.
    let foreign = JwtKeys::new(JWT_SECRET, "pawfect")
        .sign(&claims_for(ann.user.id, sid, "pawfect", 600))
        .unwrap();
    let r = app.get("/api/v1/auth/me", Some(&foreign)).await;
    expect_error(&r, 401, "unauthenticated");
    // Control: the same claims under War Room's issuer are accepted, so only the issuer mattered.
    let ours = JwtKeys::new(JWT_SECRET, "warroom")
        .sign(&claims_for(ann.user.id, sid, "warroom", 600))
        .unwrap();
    assert_eq!(me_status(&app, &ours).await, 200);
}

#[tokio::test]
async fn expired_forged_and_unsigned_tokens_are_refused() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let sid = newest_session(&app, ann.user.id).await;
    let expired = JwtKeys::new(JWT_SECRET, "warroom")
        .sign(&claims_for(ann.user.id, sid, "warroom", -5))
        .unwrap();
    expect_error(
        &app.get("/api/v1/auth/me", Some(&expired)).await,
        401,
        "unauthenticated",
    );
    let other_key = JwtKeys::new(b"some-other-secret-0123456789abcdef", "warroom")
        .sign(&claims_for(ann.user.id, sid, "warroom", 600))
        .unwrap();
    expect_error(
        &app.get("/api/v1/auth/me", Some(&other_key)).await,
        401,
        "unauthenticated",
    );
    let claims = serde_json::to_vec(&claims_for(ann.user.id, sid, "warroom", 600)).unwrap();
    let unsigned = format!(
        "{}.{}.",
        b64url(br#"{"alg":"none","typ":"JWT"}"#),
        b64url(&claims)
    );
    expect_error(
        &app.get("/api/v1/auth/me", Some(&unsigned)).await,
        401,
        "unauthenticated",
    );
}

#[tokio::test]
async fn issued_access_tokens_carry_nbf_and_a_token_not_yet_valid_is_refused() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let claims = testkit::jwt_claims(&ann.access);
    let (iat, nbf) = (claims["iat"].as_i64(), claims["nbf"].as_i64());
    assert!(nbf.is_some(), "no nbf in {claims}");
    assert_eq!(nbf, iat, "valid from the moment it is issued");
    let sid = newest_session(&app, ann.user.id).await;
    let keys = JwtKeys::new(JWT_SECRET, "warroom");
    let mut early = claims_for(ann.user.id, sid, "warroom", 600);
    early.nbf += 120;
    let early = keys.sign(&early).unwrap();
    expect_error(
        &app.get("/api/v1/auth/me", Some(&early)).await,
        401,
        "unauthenticated",
    );
    // Control: the same claims valid from now are accepted.
    let now = keys
        .sign(&claims_for(ann.user.id, sid, "warroom", 600))
        .unwrap();
    assert_eq!(me_status(&app, &now).await, 200);
}

#[tokio::test]
async fn a_token_whose_subject_does_not_own_its_session_is_refused() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let bob = app.create_user("bob@example.com", "admin").await;
    let ann_sid = newest_session(&app, ann.user.id).await;
    let token = JwtKeys::new(JWT_SECRET, "warroom")
        .sign(&claims_for(bob.id, ann_sid, "warroom", 600))
        .unwrap();
    expect_error(
        &app.get("/api/v1/auth/me", Some(&token)).await,
        401,
        "unauthenticated",
    );
}

// ---------------------------------------------------------------- logout

#[tokio::test]
async fn logout_revokes_the_session_at_once() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let other = login(&app, "ann@example.com", PASSWORD).await;
    let other_access = other.body["accessToken"].as_str().unwrap().to_owned();

    let r = app
        .post("/api/v1/auth/logout", Some(&ann.access), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({ "success": true }));

    // The very same access token is dead immediately.
    expect_error(
        &app.get("/api/v1/auth/me", Some(&ann.access)).await,
        401,
        "unauthenticated",
    );
    // Its refresh token too.
    expect_error(&refresh(&app, &ann.refresh).await, 401, "unauthenticated");
    // Logging out again with it is refused.
    let again = app
        .post("/api/v1/auth/logout", Some(&ann.access), json!({}))
        .await;
    expect_error(&again, 401, "unauthenticated");
    // The session row is revoked; the other device is unaffected.
    let revoked = session::Entity::find()
        .filter(session::Column::UserId.eq(ann.user.id))
        .filter(session::Column::RevokedAt.is_not_null())
        .count(&app.ctx.db)
        .await
        .unwrap();
    assert_eq!(revoked, 1);
    assert_eq!(me_status(&app, &other_access).await, 200);
}

#[tokio::test]
async fn logout_without_a_token_is_unauthenticated() {
    let app = spawn_app().await;
    let r = app.post("/api/v1/auth/logout", None, json!({})).await;
    expect_error(&r, 401, "unauthenticated");
}

// ---------------------------------------------------------------- refresh

#[tokio::test]
async fn refresh_rotates_the_token_and_issues_a_working_access_token() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let r = refresh(&app, &ann.refresh).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let obj = r.body.as_object().unwrap();
    let mut keys: Vec<_> = obj.keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["accessToken", "expiresIn", "refreshToken"],
        "{}",
        r.text
    );
    assert_eq!(r.body["expiresIn"], 900);
    let new_refresh = r.body["refreshToken"].as_str().unwrap();
    assert!(!new_refresh.is_empty());
    assert_ne!(new_refresh, ann.refresh);
    let access = r.body["accessToken"].as_str().unwrap();
    let me = app.get("/api/v1/auth/me", Some(access)).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["email"], "ann@example.com");
    // The new token refreshes in turn, into yet another token of the same session.
    let r2 = refresh(&app, new_refresh).await;
    assert_eq!(r2.status, 200, "{}", r2.text);
    assert_ne!(r2.body["refreshToken"], r.body["refreshToken"]);
    let live = app.ctx.identity.sessions(ann.user.id).await.unwrap();
    assert_eq!(live.len(), 1, "rotation stays in one session");
    // Only the hash is stored.
    let stored = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(new_refresh))
        .count(&app.ctx.db)
        .await
        .unwrap();
    assert_eq!(stored, 0, "refresh tokens must be stored hashed");
}

#[tokio::test]
async fn a_rotated_refresh_token_is_honoured_within_the_grace_window() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    // Two tabs refresh with the same token at about the same time.
    let tab1 = refresh(&app, &ann.refresh).await;
    let tab2 = refresh(&app, &ann.refresh).await;
    assert_eq!(tab1.status, 200, "{}", tab1.text);
    assert_eq!(tab2.status, 200, "{}", tab2.text);
    let t1 = tab1.body["refreshToken"].as_str().unwrap().to_owned();
    let t2 = tab2.body["refreshToken"].as_str().unwrap().to_owned();
    assert_eq!(
        t1, t2,
        "both tabs get the one successor: the family does not branch"
    );
    // The family stays alive: every access token works, and the successor rotates.
    assert_eq!(me_status(&app, &ann.access).await, 200);
    assert_eq!(
        me_status(&app, tab1.body["accessToken"].as_str().unwrap()).await,
        200
    );
    assert_eq!(
        me_status(&app, tab2.body["accessToken"].as_str().unwrap()).await,
        200
    );
    let t3 = refresh(&app, &t1).await;
    assert_eq!(t3.status, 200, "{}", t3.text);
    // The second tab, a moment later, presents the same successor: inside its grace too.
    assert_eq!(
        refresh(&app, &t2).await.body["refreshToken"],
        t3.body["refreshToken"]
    );
    let live = app.ctx.identity.sessions(ann.user.id).await.unwrap();
    assert_eq!(live.len(), 1);
    assert!(live[0].revoked_at.is_none());
}

#[tokio::test]
async fn reused_refresh_token_revokes_the_family() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let laptop = login(&app, "ann@example.com", PASSWORD).await;
    let laptop_access = laptop.body["accessToken"].as_str().unwrap().to_owned();
    let laptop_refresh = laptop.body["refreshToken"].as_str().unwrap().to_owned();

    let r = refresh(&app, &ann.refresh).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let current_refresh = r.body["refreshToken"].as_str().unwrap().to_owned();
    let current_access = r.body["accessToken"].as_str().unwrap().to_owned();
    // The rotation happened longer ago than the 10-second grace window.
    age_rotation(&app, &ann.refresh, 11).await;

    let replay = refresh(&app, &ann.refresh).await;
    expect_error(&replay, 401, "unauthenticated");
    assert!(replay.body.get("refreshToken").is_none());
    // The whole family is dead: the newest refresh token and every access token of it.
    expect_error(
        &refresh(&app, &current_refresh).await,
        401,
        "unauthenticated",
    );
    expect_error(
        &app.get("/api/v1/auth/me", Some(&current_access)).await,
        401,
        "unauthenticated",
    );
    expect_error(
        &app.get("/api/v1/auth/me", Some(&ann.access)).await,
        401,
        "unauthenticated",
    );
    // Other sessions of the same user are not part of the family.
    assert_eq!(me_status(&app, &laptop_access).await, 200);
    assert_eq!(refresh(&app, &laptop_refresh).await.status, 200);
    let live = app.ctx.identity.sessions(ann.user.id).await.unwrap();
    assert_eq!(live.len(), 1);
    // The reuse is on record.
    let (events, _) = app
        .ctx
        .identity
        .security_log(ann.user.id, 1, 100)
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.event_type == "refresh_reuse_detected"),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_token_rotated_nine_seconds_ago_is_still_honoured() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let first = refresh(&app, &ann.refresh).await;
    assert_eq!(first.status, 200);
    age_rotation(&app, &ann.refresh, 9).await;
    let second = refresh(&app, &ann.refresh).await;
    assert_eq!(
        second.status, 200,
        "inside the 10-second grace window: {}",
        second.text
    );
    assert_eq!(
        me_status(&app, first.body["accessToken"].as_str().unwrap()).await,
        200
    );
    assert_eq!(
        refresh(&app, first.body["refreshToken"].as_str().unwrap())
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn reuse_just_past_the_grace_window_still_revokes() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let r = refresh(&app, &ann.refresh).await;
    assert_eq!(r.status, 200);
    age_rotation(&app, &ann.refresh, 3600).await;
    assert_eq!(refresh(&app, &ann.refresh).await.status, 401);
    let next = r.body["refreshToken"].as_str().unwrap();
    assert_eq!(refresh(&app, next).await.status, 401);
}

#[tokio::test]
async fn an_unknown_or_expired_refresh_token_is_refused() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    expect_error(&refresh(&app, "not-a-token").await, 401, "unauthenticated");
    expect_error(&refresh(&app, "").await, 401, "unauthenticated");
    let r = app.post("/api/v1/auth/refresh", None, json!({})).await;
    expect_error(&r, 400, "invalid_argument");
    // An access token is not a refresh token.
    expect_error(&refresh(&app, &ann.access).await, 401, "unauthenticated");
    // A refresh token past its expiry is refused.
    refresh_token::Entity::update_many()
        .col_expr(
            refresh_token::Column::ExpiresAt,
            Expr::value(Utc::now() - Duration::seconds(1)),
        )
        .filter(refresh_token::Column::TokenHash.eq(crypto::token_hash(&ann.refresh)))
        .exec(&app.ctx.db)
        .await
        .unwrap();
    expect_error(&refresh(&app, &ann.refresh).await, 401, "unauthenticated");
}

// ---------------------------------------------------------------- profile

#[tokio::test]
async fn profile_update_changes_the_self_editable_fields() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let r = patch_profile(
        &app,
        &ann.access,
        json!({
            "name": "  Ann Other ",
            "phone": "+14155550100",
            "timezone": "Europe/Paris",
            "avatarUrl": "https://cdn.example.com/ann.png",
        }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["name"], "Ann Other");
    assert_eq!(r.body["phone"], "+14155550100");
    assert_eq!(r.body["timezone"], "Europe/Paris");
    assert_eq!(r.body["avatarUrl"], "https://cdn.example.com/ann.png");
    assert_eq!(r.body["email"], "ann@example.com");
    assert_eq!(r.body["role"], "viewer");
    assert!(r.body["permissions"].is_array());
    // Persisted, and a partial update leaves the other fields alone.
    let r = patch_profile(&app, &ann.access, json!({ "timezone": "America/New_York" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let me = app.get("/api/v1/auth/me", Some(&ann.access)).await;
    assert_eq!(me.body["name"], "Ann Other");
    assert_eq!(me.body["phone"], "+14155550100");
    assert_eq!(me.body["timezone"], "America/New_York");
    assert_eq!(me.body["avatarUrl"], "https://cdn.example.com/ann.png");
    let stored = app.ctx.identity.user(ann.user.id).await.unwrap().unwrap();
    assert_eq!(stored.name, "Ann Other");
    assert_eq!(stored.profile["phone"], "+14155550100");
}

#[tokio::test]
async fn an_empty_phone_clears_it() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    assert_eq!(
        patch_profile(&app, &ann.access, json!({ "phone": "+442071838750" }))
            .await
            .status,
        200
    );
    let r = patch_profile(&app, &ann.access, json!({ "phone": "" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["phone"], Value::Null);
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&ann.access)).await.body["phone"],
        Value::Null
    );
}

#[tokio::test]
async fn profile_update_refuses_role_and_email_and_changes_nothing() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    for body in [
        json!({ "name": "Boss", "role": "admin" }),
        json!({ "name": "Boss", "email": "boss@example.com" }),
        json!({ "name": "Boss", "emailVerified": true }),
        json!({ "name": "Boss", "twoFactorEnabled": false }),
    ] {
        let r = patch_profile(&app, &ann.access, body.clone()).await;
        expect_error(&r, 400, "invalid_argument");
        let stored = app.ctx.identity.user(ann.user.id).await.unwrap().unwrap();
        assert_eq!(stored.role, "viewer", "{body}");
        assert_eq!(stored.email, "ann@example.com", "{body}");
        assert_eq!(stored.name, "Test viewer", "{body}");
    }
    let me = app.get("/api/v1/auth/me", Some(&ann.access)).await;
    assert_eq!(me.body["role"], "viewer");
    let perms = app.get("/api/v1/auth/permissions", Some(&ann.access)).await;
    assert!(
        !perms
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["resource"] == "users")
    );
}

#[tokio::test]
async fn profile_update_validates_its_fields_and_changes_nothing_on_error() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let cases = [
        (json!({ "name": "New", "phone": "4155550100" }), "phone"),
        (
            json!({ "name": "New", "phone": "+1 415 555 0100" }),
            "phone",
        ),
        (json!({ "name": "New", "phone": "+12" }), "phone"),
        (
            json!({ "name": "New", "avatarUrl": "javascript:alert(1)" }),
            "avatarUrl",
        ),
        (
            json!({ "name": "New", "avatarUrl": "not a url" }),
            "avatarUrl",
        ),
        (
            json!({ "name": "New", "timezone": "not a zone!" }),
            "timezone",
        ),
        (json!({ "name": "" }), "name"),
        (json!({ "name": "n".repeat(101) }), "name"),
    ];
    for (body, field) in cases {
        let r = patch_profile(&app, &ann.access, body.clone()).await;
        expect_error(&r, 400, "invalid_argument");
        assert!(
            error_fields(&r).contains(&field.to_owned()),
            "{body} -> {}",
            r.text
        );
        let stored = app.ctx.identity.user(ann.user.id).await.unwrap().unwrap();
        assert_eq!(stored.name, "Test viewer", "{body} changed the name");
        assert_eq!(stored.profile, json!({}), "{body} changed the profile");
    }
    let r = patch_profile(&app, &ann.access, json!({ "phone": 14155550100u64 })).await;
    expect_error(&r, 400, "invalid_argument");
}

#[tokio::test]
async fn profile_update_requires_a_token() {
    let app = spawn_app().await;
    let r = app
        .request(
            Method::PATCH,
            "/api/v1/auth/profile",
            None,
            Some(json!({ "name": "X" })),
        )
        .await;
    expect_error(&r, 401, "unauthenticated");
}

// ---------------------------------------------------------------- permissions

fn table(rows: &[(&str, &[&str])]) -> Value {
    Value::Array(
        rows.iter()
            .map(|(r, a)| json!({ "resource": r, "actions": a }))
            .collect(),
    )
}

fn sorted(v: &Value) -> Vec<(String, Vec<String>)> {
    let mut rows: Vec<_> = v
        .as_array()
        .expect("Permission[]")
        .iter()
        .map(|p| {
            let mut actions: Vec<String> = p["actions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect();
            actions.sort();
            (p["resource"].as_str().unwrap().to_owned(), actions)
        })
        .collect();
    rows.sort();
    rows
}

#[tokio::test]
async fn permissions_follow_the_role_table() {
    let app = spawn_app().await;
    let viewer_table = table(&[
        ("campaigns", &["read"]),
        ("monitoring", &["read"]),
        ("alerts", &["read"]),
        ("reports", &["read"]),
        ("documents", &["read"]),
        ("intelligence", &["read"]),
    ]);
    let analyst_table = table(&[
        ("campaigns", &["read"]),
        ("monitoring", &["read"]),
        ("alerts", &["read", "update"]),
        ("reports", &["read", "create"]),
        ("documents", &["read", "create"]),
        ("intelligence", &["read", "create"]),
        ("integrations", &["read"]),
    ]);
    let manager_table = table(&[
        ("campaigns", &["read", "create", "update", "delete"]),
        ("monitoring", &["read", "update"]),
        ("alerts", &["read", "update", "send"]),
        ("reports", &["read", "create"]),
        ("documents", &["read", "create", "delete"]),
        ("intelligence", &["read", "create"]),
        ("integrations", &["read", "update"]),
    ]);
    let admin_table = table(&[
        ("users", &["read", "create", "update", "delete"]),
        ("campaigns", &["read", "create", "update", "delete"]),
        ("monitoring", &["read", "update"]),
        ("alerts", &["read", "update", "send"]),
        ("reports", &["read", "create"]),
        ("documents", &["read", "create", "delete"]),
        ("intelligence", &["read", "create"]),
        ("integrations", &["read", "update"]),
        ("admin", &["read", "update"]),
    ]);
    for (role, expected) in [
        ("viewer", viewer_table),
        ("analyst", analyst_table),
        ("manager", manager_table),
        ("admin", admin_table),
    ] {
        let who = app.login_as(&format!("{role}@example.com"), role).await;
        let r = app.get("/api/v1/auth/permissions", Some(&who.access)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(sorted(&r.body), sorted(&expected), "{role}: {}", r.text);
        // `me` reports the same row.
        let me = app.get("/api/v1/auth/me", Some(&who.access)).await;
        assert_eq!(
            sorted(&me.body["permissions"]),
            sorted(&expected),
            "{role} me"
        );
    }
    let anon = app.get("/api/v1/auth/permissions", None).await;
    expect_error(&anon, 401, "unauthenticated");
}

// ---------------------------------------------------------------- change password

async fn change_password(app: &TestApp, token: &str, current: &str, new: &str) -> Resp {
    app.post(
        "/api/v1/auth/change-password",
        Some(token),
        json!({ "currentPassword": current, "newPassword": new }),
    )
    .await
}

#[tokio::test]
async fn change_password_with_a_wrong_current_password_changes_nothing() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let phone = login(&app, "ann@example.com", PASSWORD).await;
    let phone_access = phone.body["accessToken"].as_str().unwrap().to_owned();
    let r = change_password(&app, &ann.access, "not my password", "brand new password").await;
    expect_error(&r, 400, "invalid_argument");
    assert_eq!(login(&app, "ann@example.com", PASSWORD).await.status, 200);
    assert_eq!(
        login(&app, "ann@example.com", "brand new password")
            .await
            .status,
        401
    );
    assert_eq!(
        me_status(&app, &phone_access).await,
        200,
        "other sessions survive a failed change"
    );
    assert_eq!(me_status(&app, &ann.access).await, 200);
}

#[tokio::test]
async fn change_password_keeps_this_session_and_ends_the_others() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let phone = login(&app, "ann@example.com", PASSWORD).await;
    let phone_access = phone.body["accessToken"].as_str().unwrap().to_owned();
    let phone_refresh = phone.body["refreshToken"].as_str().unwrap().to_owned();

    let r = change_password(&app, &ann.access, PASSWORD, "brand new password").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({ "success": true }));

    // This session carries on, access and refresh.
    assert_eq!(me_status(&app, &ann.access).await, 200);
    assert_eq!(refresh(&app, &ann.refresh).await.status, 200);
    // The other device is signed out at once.
    expect_error(
        &app.get("/api/v1/auth/me", Some(&phone_access)).await,
        401,
        "unauthenticated",
    );
    expect_error(&refresh(&app, &phone_refresh).await, 401, "unauthenticated");
    assert_eq!(
        app.ctx.identity.sessions(ann.user.id).await.unwrap().len(),
        1
    );
    // Only the new password signs in.
    expect_error(
        &login(&app, "ann@example.com", PASSWORD).await,
        401,
        "unauthenticated",
    );
    assert_eq!(
        login(&app, "ann@example.com", "brand new password")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn change_password_validates_the_new_password() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let r = change_password(&app, &ann.access, PASSWORD, "short").await;
    expect_error(&r, 400, "invalid_argument");
    assert!(
        error_fields(&r).contains(&"newPassword".to_owned()),
        "{}",
        r.text
    );
    let r = change_password(&app, &ann.access, PASSWORD, &"x".repeat(1025)).await;
    expect_error(&r, 400, "invalid_argument");
    assert_eq!(login(&app, "ann@example.com", PASSWORD).await.status, 200);
    let r = app
        .post(
            "/api/v1/auth/change-password",
            Some(&ann.access),
            json!({ "newPassword": "whatever123" }),
        )
        .await;
    expect_error(&r, 400, "invalid_argument");
    let r = change_password(&app, "", PASSWORD, "brand new password").await;
    expect_error(&r, 401, "unauthenticated");
    assert_eq!(login(&app, "ann@example.com", PASSWORD).await.status, 200);
}
