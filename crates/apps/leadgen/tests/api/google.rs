//! Google sign-in (`POST /api/auth/google`): the mock provider end to end, organizations for
//! new people, linking rules, validation, and a live ID token from testkit's fake Google for an
//! address Google has not verified.

use platform::{datamode::Mode, identity::google};
use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::oidc::{self, FakeGoogle};

use crate::helpers::*;

async fn google(app: &TestApp, body: Value) -> Resp {
    app.post("/api/auth/google", None, body).await
}

#[tokio::test]
async fn a_new_person_signs_in_with_the_mock_provider_and_gets_an_organization() {
    let app = spawn_app().await;
    let email = unique_email("gina");
    let code = app.mock_code(&email).await;
    let r = google(&app, json!({ "code": code, "redirectUri": REDIRECT })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["user"]["email"], email.as_str());
    assert_eq!(r.body["user"]["emailVerified"], true);
    assert!(
        r.body["refreshToken"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    let org_id = r.body["organization"]["id"].clone();
    assert_eq!(app.organizations().await.len(), 1);
    assert_eq!(app.profiles().await.len(), 1);
    let me = app.me(r.body["accessToken"].as_str().unwrap()).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);

    // Again, with a fresh code: the same person and organization, nothing new created.
    let code = app.mock_code(&email).await;
    let again = google(&app, json!({ "code": code })).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.body["user"]["id"], r.body["user"]["id"]);
    assert_eq!(again.body["organization"]["id"], org_id);
    assert_eq!(app.organizations().await.len(), 1);
}

#[tokio::test]
async fn a_code_works_once() {
    let app = spawn_app().await;
    let code = app.mock_code(&unique_email("once")).await;
    let first = google(&app, json!({ "code": code })).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let second = google(&app, json!({ "code": code })).await;
    expect_error(&second, 401, "unauthenticated");
}

#[tokio::test]
async fn the_mock_token_endpoint_yields_a_credential_the_sign_in_accepts() {
    let app = spawn_app().await;
    let email = unique_email("cred");
    let code = app.mock_code(&email).await;
    let t = app
        .post("/api/auth/google/mock/token", None, json!({ "code": code }))
        .await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.text);
    let credential = t.body["idToken"].as_str().unwrap().to_owned();
    let r = google(&app, json!({ "credential": credential })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["user"]["email"], email.as_str());
    // A credential is not consumed, but a forged one (payload swapped) fails the signature.
    let mut parts: Vec<&str> = credential.split('.').collect();
    let forged_payload = base64url(
        &json!({ "iss": google::MOCK_ISSUER, "aud": google::MOCK_CLIENT_ID, "sub": "x",
                 "email": "ceo@example.com", "email_verified": true, "exp": 4_000_000_000u64 })
        .to_string(),
    );
    parts[1] = &forged_payload;
    let forged = google(&app, json!({ "credential": parts.join(".") })).await;
    expect_error(&forged, 401, "unauthenticated");
}

#[tokio::test]
async fn an_unverified_password_account_is_not_taken_over_and_a_verified_one_is_linked() {
    let app = spawn_app().await;
    let unverified = unique_email("unverified");
    app.register_ok(&unverified, "Una", None).await;
    let code = app.mock_code(&unverified).await;
    let r = google(&app, json!({ "code": code })).await;
    expect_error(&r, 409, "already_exists");

    let verified = unique_email("verified");
    let (user, org) = app.create_user(&verified, "user", true).await;
    let code = app.mock_code(&verified).await;
    let r = google(&app, json!({ "code": code })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["user"]["id"], user.id.to_string());
    assert_eq!(r.body["organization"]["id"], org.id.to_string());
}

#[tokio::test]
async fn credential_and_code_are_exclusive() {
    let app = spawn_app().await;
    for body in [
        json!({}),
        json!({ "credential": "a", "code": "b" }),
        json!({ "credential": "  " }),
    ] {
        let r = google(&app, body.clone()).await;
        expect_error(&r, 400, "invalid_argument");
        assert_eq!(error_fields(&r), ["credential"], "{body}");
    }
    let r = google(&app, json!({ "code": "c", "codeVerifier": "short" })).await;
    expect_error(&r, 400, "invalid_argument");
    assert_eq!(error_fields(&r), ["codeVerifier"]);
}

#[tokio::test]
async fn the_mock_provider_is_closed_in_live_mode() {
    let app = spawn_app_with(|s| s.data_mode = Mode::Live).await;
    let r = app
        .post(
            "/api/auth/google/mock/authorize",
            None,
            json!({ "email": unique_email("live"), "redirectUri": REDIRECT }),
        )
        .await;
    expect_error(&r, 400, "failed_precondition");
    let r = app
        .post("/api/auth/google/mock/token", None, json!({ "code": "x" }))
        .await;
    expect_error(&r, 400, "failed_precondition");
    // Unconfigured Google in LIVE mode says what is missing.
    let r = google(&app, json!({ "credential": "x.y.z" })).await;
    expect_error(&r, 503, "unavailable");
    assert!(
        r.error()["message"]
            .as_str()
            .unwrap()
            .contains("GOOGLE_CLIENT_ID")
    );
}

#[tokio::test]
async fn live_google_must_have_verified_the_address_of_a_new_person() {
    let fake = FakeGoogle::start().await;
    fake.serve_keys(None).await;
    let app = spawn_app_with(|s| fake.configure(s)).await;
    let claims = |email: &str, verified: bool| {
        let mut c = fake.claims(&format!("sub-{email}"), email);
        c["email_verified"] = json!(verified);
        c
    };
    let token = |claims: &Value| fake.id_token(oidc::KID, claims);
    let unverified = unique_email("nov");
    let r = google(
        &app,
        json!({ "credential": token(&claims(&unverified, false)) }),
    )
    .await;
    expect_error(&r, 403, "permission_denied");
    assert_eq!(r.error()["details"]["emailNotVerified"], true);
    assert!(app.organizations().await.is_empty(), "no account was made");

    let verified = unique_email("yes");
    let r = google(
        &app,
        json!({ "credential": token(&claims(&verified, true)) }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["user"]["email"], verified.as_str());
    assert_eq!(app.organizations().await.len(), 1);

    let mut other_audience = claims(&verified, true);
    other_audience["aud"] = json!("someone-else");
    let r = google(&app, json!({ "credential": token(&other_audience) })).await;
    expect_error(&r, 401, "unauthenticated");
}

fn base64url(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}
