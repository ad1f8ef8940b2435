//! `POST /auth/google/login` in MOCK mode: the mock provider end to end (mailed single-use
//! codes bound to the redirect URI and the PKCE challenge, mock ID tokens as `credential`),
//! the session cookies a sign-in sets, validation, and the mock endpoints once LIVE.

use platform::{
    datamode::Mode,
    identity::{google::MOCK_CLIENT_ID, google::MOCK_ISSUER, oauth::pkce_challenge},
    saml::IdpSigner,
};
use serde_json::{Value, json};

use crate::helpers::*;

/// Claims of the mock issuer for `email`, expiring `exp_in` seconds from now.
fn mock_claims(email: &str, exp_in: i64) -> Value {
    json!({
        "iss": MOCK_ISSUER, "aud": MOCK_CLIENT_ID, "sub": "mock-handmade", "email": email,
        "email_verified": true, "name": "Hand Made", "iat": unix_now(), "exp": unix_now() + exp_in,
    })
}

/// A token signed with the product's own mock identity key.
async fn mock_signed(app: &TestApp, claims: &Value) -> String {
    let idp = app.ctx.mock_idp().await.expect("mock key");
    signed_jwt(idp.signer(), "basalt-mock-1", claims)
}

// ---------------------------------------------------------------- code flow

#[tokio::test]
async fn mock_code_flow_signs_a_new_person_in_as_a_member_with_cookies_only() {
    let app = spawn_app().await;
    let r = app
        .mock_authorize(json!({
            "email": "Gina@Example.com", "name": "Gina", "redirectUri": REDIRECT, "state": "s-123",
        }))
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.body, json!({ "data": { "sent": true } }));

    // The link goes to the redirect URI with the code and the state.
    let mails = app.mails_to("gina@example.com").await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    let link = mails[0]
        .1
        .split_whitespace()
        .find(|w| w.starts_with(REDIRECT))
        .unwrap_or_else(|| panic!("no link to {REDIRECT} in {}", mails[0].1));
    let link = url::Url::parse(link).unwrap();
    assert_eq!(query_param(&link, "state").as_deref(), Some("s-123"));
    let code = query_param(&link, "code").expect("code in link");
    // Knowing the address created nothing yet.
    let none = app.ctx.identity.user_by_email("gina@example.com").await;
    assert!(none.unwrap().is_none());

    let r = app
        .google_login(json!({ "code": code, "redirectUri": REDIRECT }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let s = Session::from_resp(&r);
    let user = &r.body["data"]["user"];
    assert_eq!(user["email"], "gina@example.com");
    assert_eq!(user["name"], "Gina");
    assert_eq!(user["role"], "member");
    assert_eq!(user["emailVerified"], true);
    assert!(user["lastLoginAt"].is_string(), "{}", r.text);
    assert_eq!(r.body["data"]["expiresIn"], ACCESS_TTL);
    assert_eq!(r.body["data"]["csrfToken"], s.csrf.as_str());
    let mut keys: Vec<_> = r.body["data"].as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["csrfToken", "expiresIn", "user"]);
    assert_eq!(
        r.body.as_object().unwrap().len(),
        1,
        "only data: {}",
        r.text
    );
    // No token in the body.
    assert!(!r.text.contains(&s.access) && !r.text.contains(&s.refresh));

    // The access cookie is the session.
    let p = app.profile(&s.access).await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert_eq!(p.body["data"]["id"], user["id"]);
    assert_eq!(p.body["data"]["email"], "gina@example.com");
    assert!(!p.text.contains(&s.access));
}

#[tokio::test]
async fn session_cookies_are_flagged_and_scoped() {
    let app = spawn_app().await;
    let code = app.mock_code("flags@example.com", None).await;
    let r = app
        .google_login(json!({ "code": code, "redirectUri": REDIRECT }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let access = r.cookie("access_token").expect("access cookie");
    assert!(access.http_only() && access.secure(), "{}", access.raw);
    assert_eq!(access.path(), Some("/"));
    assert_eq!(access.same_site(), Some("Lax"));
    assert_eq!(access.max_age(), Some(ACCESS_TTL));

    let refresh = r.cookie("refresh_token").expect("refresh cookie");
    assert!(refresh.http_only() && refresh.secure(), "{}", refresh.raw);
    assert_eq!(refresh.path(), Some("/auth"));
    assert_eq!(refresh.same_site(), Some("Lax"));
    assert_eq!(refresh.max_age(), Some(REFRESH_TTL));

    let csrf = r.cookie("csrf_token").expect("csrf cookie");
    assert!(!csrf.http_only(), "script must read it: {}", csrf.raw);
    assert!(csrf.secure());
    assert_eq!(csrf.path(), Some("/"));
    assert_eq!(csrf.same_site(), Some("Lax"));
    assert!(csrf.value.len() >= 32, "{}", csrf.raw);
    assert_ne!(csrf.value, access.value);
}

#[tokio::test]
async fn a_code_works_once() {
    let app = spawn_app().await;
    let code = app.mock_code("once@example.com", None).await;
    let body = json!({ "code": code, "redirectUri": REDIRECT });
    assert_eq!(app.google_login(body.clone()).await.status, 200);
    let r = app.google_login(body).await;
    expect_error(&r, 401, "unauthenticated");
    assert!(r.cookie("access_token").is_none(), "no cookies on failure");
}

#[tokio::test]
async fn an_unknown_code_is_refused() {
    let app = spawn_app().await;
    let r = app
        .google_login(json!({ "code": "not-a-code", "redirectUri": REDIRECT }))
        .await;
    expect_error(&r, 401, "unauthenticated");
}

#[tokio::test]
async fn an_expired_mock_code_is_refused() {
    let app = spawn_app().await;
    let code = app.mock_code("stale@example.com", None).await;
    app.expire_one_time_tokens("oauth_mock").await;
    let r = app
        .google_login(json!({ "code": code, "redirectUri": REDIRECT }))
        .await;
    expect_error(&r, 401, "unauthenticated");
}

#[tokio::test]
async fn a_code_is_bound_to_its_redirect_uri() {
    let app = spawn_app().await;
    let code = app.mock_code("bound@example.com", None).await;
    let r = app
        .google_login(json!({ "code": code, "redirectUri": "http://app.test/elsewhere" }))
        .await;
    expect_error(&r, 401, "unauthenticated");
    let none = app.ctx.identity.user_by_email("bound@example.com").await;
    assert!(none.unwrap().is_none(), "nobody signed in");
}

#[tokio::test]
async fn mock_authorize_refuses_a_redirect_uri_outside_the_app() {
    let app = spawn_app().await;
    for uri in [
        "https://evil.example/cb",
        "http://app.test.evil.example/cb",
        "javascript:alert(1)",
        "not a url",
    ] {
        let r = app
            .mock_authorize(json!({ "email": "redir@example.com", "redirectUri": uri }))
            .await;
        expect_error(&r, 422, "invalid_argument");
        assert_eq!(error_fields(&r), ["redirectUri"], "{uri}: {}", r.text);
    }
    assert!(app.settled_mails("redir@example.com").await.is_empty());
}

#[tokio::test]
async fn mock_authorize_accepts_a_cors_origin_as_redirect() {
    let app = spawn_app_with(|s| s.cors_origins = vec!["http://localhost:5173".into()]).await;
    let r = app
        .mock_authorize(
            json!({ "email": "dev@example.com", "redirectUri": "http://localhost:5173/cb" }),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let code = app
        .mail_link("dev@example.com", "http://localhost:5173/cb?code=", "code")
        .await;
    let r = app
        .google_login(json!({ "code": code, "redirectUri": "http://localhost:5173/cb" }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn mock_authorize_validates_its_body() {
    let app = spawn_app().await;
    let r = app
        .mock_authorize(json!({ "email": "not-an-address", "redirectUri": REDIRECT }))
        .await;
    expect_error(&r, 422, "invalid_argument");
    assert_eq!(error_fields(&r), ["email"]);

    let r = app.mock_authorize(json!({ "redirectUri": REDIRECT })).await;
    expect_error(&r, 422, "invalid_argument");
    assert_eq!(error_fields(&r), ["email"]);

    let r = app
        .mock_authorize(json!({
            "email": "pkce@example.com", "redirectUri": REDIRECT, "codeChallenge": "short",
        }))
        .await;
    expect_error(&r, 422, "invalid_argument");
    assert_eq!(error_fields(&r), ["codeChallenge"]);
}

#[tokio::test]
async fn a_google_body_with_a_field_it_does_not_define_is_422_naming_it() {
    let app = spawn_app().await;
    for (path, body, field) in [
        (
            "/auth/google/login",
            json!({ "credential": "x", "nonce": "n" }),
            "nonce",
        ),
        (
            "/auth/google/mock/authorize",
            json!({ "email": "a@example.com", "redirectUri": REDIRECT, "scope": "openid" }),
            "scope",
        ),
        (
            "/auth/google/mock/token",
            json!({ "code": "x", "clientId": "c" }),
            "clientId",
        ),
    ] {
        let r = app.post(path, None, body).await;
        expect_error(&r, 422, "invalid_argument");
        assert_eq!(error_fields(&r), [field], "{path}: {}", r.text);
    }
    assert!(app.settled_mails("a@example.com").await.is_empty());
}

#[tokio::test]
async fn mock_authorize_enforces_the_documented_name_length() {
    // `/openapi.json` documents `name` as at most 100 characters.
    let app = spawn_app().await;
    let r = app
        .mock_authorize(json!({
            "email": "long@example.com", "redirectUri": REDIRECT, "name": "n".repeat(101),
        }))
        .await;
    expect_error(&r, 422, "invalid_argument");
    assert_eq!(error_fields(&r), ["name"]);
    assert!(app.settled_mails("long@example.com").await.is_empty());
}

#[tokio::test]
async fn mock_authorize_enforces_the_documented_state_length() {
    // `/openapi.json` documents `state` as at most 500 characters.
    let app = spawn_app().await;
    let r = app
        .mock_authorize(json!({
            "email": "long@example.com", "redirectUri": REDIRECT, "state": "s".repeat(501),
        }))
        .await;
    expect_error(&r, 422, "invalid_argument");
    assert_eq!(error_fields(&r), ["state"]);
    assert!(app.settled_mails("long@example.com").await.is_empty());
}

// ---------------------------------------------------------------- PKCE and the request body

#[tokio::test]
async fn a_pkce_code_needs_its_verifier() {
    let app = spawn_app().await;
    let challenge = pkce_challenge(PKCE_VERIFIER);
    let email = "pkce@example.com";

    // Without the verifier.
    let code = app.mock_code(email, Some(&challenge)).await;
    let r = app
        .google_login(json!({ "code": code, "redirectUri": REDIRECT }))
        .await;
    expect_error(&r, 401, "unauthenticated");

    // With another well-formed verifier.
    let code = app.mock_code(email, Some(&challenge)).await;
    let other = "x".repeat(43);
    let r = app
        .google_login(json!({ "code": code, "redirectUri": REDIRECT, "codeVerifier": other }))
        .await;
    expect_error(&r, 401, "unauthenticated");
    let none = app.ctx.identity.user_by_email(email).await;
    assert!(none.unwrap().is_none(), "nobody signed in");

    // With the right one.
    let code = app.mock_code(email, Some(&challenge)).await;
    let r = app
        .google_login(
            json!({ "code": code, "redirectUri": REDIRECT, "codeVerifier": PKCE_VERIFIER }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["data"]["user"]["email"], email);
}

#[tokio::test]
async fn a_malformed_code_verifier_is_a_validation_error() {
    let app = spawn_app().await;
    for bad in ["short", &"a".repeat(129), &format!("{}!", "a".repeat(43))] {
        let r = app
            .google_login(json!({ "code": "c", "codeVerifier": bad }))
            .await;
        expect_error(&r, 422, "invalid_argument");
        assert_eq!(error_fields(&r), ["codeVerifier"], "{bad}: {}", r.text);
    }
}

#[tokio::test]
async fn exactly_one_of_credential_and_code_is_required() {
    let app = spawn_app().await;
    for body in [
        json!({}),
        json!({ "credential": "", "code": "  " }),
        json!({ "credential": "a.b.c", "code": "c" }),
    ] {
        let r = app.google_login(body.clone()).await;
        expect_error(&r, 422, "invalid_argument");
        assert_eq!(error_fields(&r), ["credential"], "{body}: {}", r.text);
    }
}

// ---------------------------------------------------------------- credential

#[tokio::test]
async fn a_mock_id_token_signs_in_as_credential() {
    let app = spawn_app().await;
    let challenge = pkce_challenge(PKCE_VERIFIER);
    let code = app.mock_code("cred@example.com", Some(&challenge)).await;
    let r = app
        .post(
            "/auth/google/mock/token",
            None,
            json!({ "code": code, "redirectUri": REDIRECT, "codeVerifier": PKCE_VERIFIER }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let id_token = r.body["data"]["idToken"].as_str().expect("idToken");
    assert!(r.body["data"]["expiresIn"].as_i64().unwrap() > 0);
    let claims = testkit::jwt_claims(id_token);
    assert_eq!(claims["iss"], MOCK_ISSUER);
    assert_eq!(claims["aud"], MOCK_CLIENT_ID);
    assert_eq!(claims["email"], "cred@example.com");

    let r = app.google_login(json!({ "credential": id_token })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["data"]["user"]["email"], "cred@example.com");
    assert_eq!(r.body["data"]["user"]["name"], "Gina Google");
    let first = r.body["data"]["user"]["id"].clone();

    // The same person again is the same account.
    let r = app.google_login(json!({ "credential": id_token })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["data"]["user"]["id"], first);

    // The code was spent by the token endpoint.
    let r = app
        .post(
            "/auth/google/mock/token",
            None,
            json!({ "code": code, "codeVerifier": PKCE_VERIFIER }),
        )
        .await;
    expect_error(&r, 401, "unauthenticated");
}

#[tokio::test]
async fn the_mock_token_endpoint_checks_pkce_and_redirect_uri() {
    let app = spawn_app().await;
    let challenge = pkce_challenge(PKCE_VERIFIER);
    let code = app.mock_code("tok@example.com", Some(&challenge)).await;
    let r = app
        .post("/auth/google/mock/token", None, json!({ "code": code }))
        .await;
    expect_error(&r, 401, "unauthenticated");

    let code = app.mock_code("tok@example.com", None).await;
    let r = app
        .post(
            "/auth/google/mock/token",
            None,
            json!({ "code": code, "redirectUri": "http://app.test/other" }),
        )
        .await;
    expect_error(&r, 401, "unauthenticated");

    let r = app.post("/auth/google/mock/token", None, json!({})).await;
    expect_error(&r, 422, "invalid_argument");
    assert_eq!(error_fields(&r), ["code"]);
}

#[tokio::test]
async fn an_empty_mock_token_code_is_a_validation_error() {
    // `/openapi.json` documents `code` with minLength 1.
    let app = spawn_app().await;
    let r = app
        .post("/auth/google/mock/token", None, json!({ "code": "" }))
        .await;
    expect_error(&r, 422, "invalid_argument");
    assert_eq!(error_fields(&r), ["code"]);
}

#[tokio::test]
async fn a_handmade_token_with_the_mock_key_passes() {
    // The control for the refusals below: only the one thing each changes makes them fail.
    let app = spawn_app().await;
    let token = mock_signed(&app, &mock_claims("hand@example.com", 600)).await;
    let r = app.google_login(json!({ "credential": token })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["data"]["user"]["email"], "hand@example.com");
}

#[tokio::test]
async fn a_credential_signed_by_another_key_is_refused() {
    let app = spawn_app().await;
    let stranger = IdpSigner::generate().unwrap();
    let token = signed_jwt(
        &stranger,
        "basalt-mock-1",
        &mock_claims("forged@example.com", 600),
    );
    let r = app.google_login(json!({ "credential": token })).await;
    expect_error(&r, 401, "unauthenticated");
    assert!(r.cookie("access_token").is_none());
    let none = app.ctx.identity.user_by_email("forged@example.com").await;
    assert!(none.unwrap().is_none());
}

#[tokio::test]
async fn an_expired_credential_is_refused() {
    let app = spawn_app().await;
    let token = mock_signed(&app, &mock_claims("late@example.com", -3600)).await;
    let r = app.google_login(json!({ "credential": token })).await;
    expect_error(&r, 401, "unauthenticated");
}

#[tokio::test]
async fn a_credential_for_another_audience_or_issuer_is_refused() {
    let app = spawn_app().await;
    let mut claims = mock_claims("aud@example.com", 600);
    claims["aud"] = json!("someone-else.apps.googleusercontent.com");
    let token = mock_signed(&app, &claims).await;
    expect_error(
        &app.google_login(json!({ "credential": token })).await,
        401,
        "unauthenticated",
    );

    let mut claims = mock_claims("iss@example.com", 600);
    claims["iss"] = json!("https://accounts.google.com");
    let token = mock_signed(&app, &claims).await;
    expect_error(
        &app.google_login(json!({ "credential": token })).await,
        401,
        "unauthenticated",
    );
}

#[tokio::test]
async fn a_garbage_credential_is_refused() {
    let app = spawn_app().await;
    for garbage in ["x", "a.b.c", "eyJhbGciOiJub25lIn0.e30."] {
        let r = app.google_login(json!({ "credential": garbage })).await;
        expect_error(&r, 401, "unauthenticated");
    }
}

// ---------------------------------------------------------------- mock endpoints in LIVE

#[tokio::test]
async fn the_mock_provider_is_closed_in_live_mode() {
    let fake = FakeGoogle::start().await;
    let app = spawn_app_with(|s| fake.configure(s)).await;
    let r = app
        .mock_authorize(json!({ "email": "live@example.com", "redirectUri": REDIRECT }))
        .await;
    expect_error(&r, 400, "failed_precondition");
    let r = app
        .post("/auth/google/mock/token", None, json!({ "code": "c" }))
        .await;
    expect_error(&r, 400, "failed_precondition");
    assert!(app.settled_mails("live@example.com").await.is_empty());
}

#[tokio::test]
async fn a_mock_token_is_worthless_in_live_mode() {
    // Minted while the switch said MOCK, presented after an admin flipped it to LIVE.
    let fake = FakeGoogle::start().await;
    fake.serve_keys(None).await;
    let app = spawn_app_with(|s| {
        fake.configure(s);
        s.data_mode = Mode::Mock;
    })
    .await;
    let code = app.mock_code("flip@example.com", None).await;
    let r = app
        .post("/auth/google/mock/token", None, json!({ "code": code }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let token = r.body["data"]["idToken"].as_str().unwrap().to_owned();
    assert_eq!(testkit::jwt_claims(&token)["aud"], CLIENT_ID);

    app.ctx.data_mode.switch(Mode::Live, None).await.unwrap();
    let r = app.google_login(json!({ "credential": token })).await;
    expect_error(&r, 401, "unauthenticated");
}

#[tokio::test]
async fn live_google_without_client_settings_is_unavailable() {
    let app = spawn_app_with(|s| s.data_mode = Mode::Live).await;
    let r = app.google_login(json!({ "credential": "a.b.c" })).await;
    expect_error(&r, 503, "unavailable");
    assert!(
        r.error()["message"]
            .as_str()
            .unwrap()
            .contains("GOOGLE_CLIENT_ID")
    );
    let r = app
        .google_login(json!({ "code": "c", "redirectUri": REDIRECT }))
        .await;
    expect_error(&r, 503, "unavailable");
    assert!(
        r.error()["message"]
            .as_str()
            .unwrap()
            .contains("GOOGLE_CLIENT_SECRET")
    );
}
