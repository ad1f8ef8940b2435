//! Google sign-in (`POST /api/auth/google`): the mock provider end to end, organizations for
//! new people, linking rules, validation, and a live ID token from a fake issuer whose address
//! Google has not verified.

use aws_lc_rs::{
    rand::SystemRandom,
    rsa::{KeyPair, KeySize},
    signature::{KeyPair as _, RSA_PKCS1_SHA256},
};
use platform::{datamode::Mode, identity::google};
use reqwest::StatusCode;
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, ResponseTemplate, matchers};

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
async fn google_sign_in_is_limited_like_login() {
    let app = spawn_app().await;
    for i in 0..20 {
        let r = google(&app, json!({})).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "request {i}: {}", r.text);
    }
    assert_limited(&google(&app, json!({})).await, 20, 60);
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

/// A fake Google: its key set on a local server, tokens signed with its key.
struct FakeGoogle {
    key: KeyPair,
    server: MockServer,
}

impl FakeGoogle {
    async fn start() -> Self {
        let key = KeyPair::generate(KeySize::Rsa2048).unwrap();
        let p = key.public_key();
        let jwk = google::rsa_jwk(
            "k1",
            p.modulus().big_endian_without_leading_zero(),
            p.exponent().big_endian_without_leading_zero(),
        );
        let server = MockServer::start().await;
        Mock::given(matchers::method("GET"))
            .and(matchers::path("/certs"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "keys": [jwk] })))
            .mount(&server)
            .await;
        Self { key, server }
    }

    fn token(&self, claims: Value) -> String {
        google::rs256_jwt("k1", &claims, |msg| {
            let mut sig = vec![0; self.key.public_modulus_len()];
            self.key
                .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), msg, &mut sig)
                .unwrap();
            sig
        })
    }
}

#[tokio::test]
async fn live_google_must_have_verified_the_address_of_a_new_person() {
    let fake = FakeGoogle::start().await;
    let jwks = format!("{}/certs", fake.server.uri());
    let app = spawn_app_with(|s| {
        s.data_mode = Mode::Live;
        s.google.client_id = Some("leadgen-client".into());
        s.google.client_secret = Some(platform::secrets::Secret::new("s3cret"));
        s.google.jwks_url = Some(jwks);
        s.google.issuers = vec!["https://accounts.google.com".into()];
    })
    .await;
    let now = chrono_now();
    let claims = |email: &str, verified: bool| {
        json!({ "iss": "https://accounts.google.com", "aud": "leadgen-client", "sub": format!("sub-{email}"),
                "email": email, "email_verified": verified, "iat": now, "exp": now + 600 })
    };
    let unverified = unique_email("nov");
    let r = google(
        &app,
        json!({ "credential": fake.token(claims(&unverified, false)) }),
    )
    .await;
    expect_error(&r, 403, "permission_denied");
    assert_eq!(r.error()["details"]["emailNotVerified"], true);
    assert!(app.organizations().await.is_empty(), "no account was made");

    let verified = unique_email("yes");
    let r = google(
        &app,
        json!({ "credential": fake.token(claims(&verified, true)) }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["user"]["email"], verified.as_str());
    assert_eq!(app.organizations().await.len(), 1);

    let other_audience = json!({ "iss": "https://accounts.google.com", "aud": "someone-else", "sub": "s",
        "email": verified, "email_verified": true, "iat": now, "exp": now + 600 });
    let r = google(&app, json!({ "credential": fake.token(other_audience) })).await;
    expect_error(&r, 401, "unauthenticated");
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn base64url(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}
