//! `POST /auth/google/login` in LIVE mode against testkit's fake Google: ID tokens checked
//! against its JWKS (cached), authorization codes exchanged at its token endpoint with the
//! client secret, redirect URI and PKCE verifier, the person read from its userinfo endpoint.

use platform::saml::IdpSigner;
use serde_json::{Value, json};
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{body_string_contains, header, method, path},
};

use crate::helpers::*;

// ---------------------------------------------------------------- credential

#[tokio::test]
async fn a_live_credential_provisions_a_member_and_the_keys_are_fetched_once() {
    let fake = FakeGoogle::start().await;
    let app = live_google_app(&fake, Some(1)).await;
    let token = fake.id_token(KID, &fake.claims("g-1001", "Liv@Corp.test"));
    let r = app.google_login(json!({ "credential": token })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let user = &r.body["data"]["user"];
    assert_eq!(user["email"], "liv@corp.test");
    assert_eq!(user["name"], "Liv Live");
    assert_eq!(user["role"], "member");
    assert_eq!(user["emailVerified"], true);
    let s = Session::from_resp(&r);
    assert_eq!(app.profile(&s.access).await.status, 200);

    // A second sign-in uses the cached key set (`expect(1)` is checked when the fake drops).
    let r = app.google_login(json!({ "credential": token })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["data"]["user"]["id"], user["id"]);
    let stored = app
        .ctx
        .identity
        .user_by_email("liv@corp.test")
        .await
        .unwrap()
        .expect("provisioned");
    assert_eq!(stored.role, "member");
    let links = app
        .ctx
        .identity
        .external_identities(stored.id)
        .await
        .unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(
        (links[0].provider.as_str(), links[0].subject.as_str()),
        ("google", "g-1001")
    );
}

#[tokio::test]
async fn live_credentials_are_refused_unless_every_claim_holds() {
    let fake = FakeGoogle::start().await;
    let app = live_google_app(&fake, None).await;
    let base = fake.claims("g-7", "refused@corp.test");
    let with = |k: &str, v: Value| {
        let mut c = base.clone();
        c[k] = v;
        c
    };
    let stranger = IdpSigner::generate().unwrap();
    let cases = [
        (
            "wrong aud",
            fake.id_token(KID, &with("aud", json!("another-client"))),
        ),
        (
            "google's own issuer (not configured)",
            fake.id_token(KID, &with("iss", json!("https://accounts.google.com"))),
        ),
        (
            "wrong iss",
            fake.id_token(KID, &with("iss", json!("https://evil.example"))),
        ),
        (
            "expired",
            fake.id_token(KID, &with("exp", json!(unix_now() - 3600))),
        ),
        ("unknown kid", fake.id_token("rotated-away", &base)),
        ("another key", signed_jwt(&stranger, KID, &base)),
        ("no exp", {
            let mut c = base.clone();
            c.as_object_mut().unwrap().remove("exp");
            fake.id_token(KID, &c)
        }),
    ];
    for (case, token) in cases {
        let r = app.google_login(json!({ "credential": token })).await;
        assert_eq!(r.status, 401, "{case}: {}", r.text);
        expect_error(&r, 401, "unauthenticated");
    }
    let none = app.ctx.identity.user_by_email("refused@corp.test").await;
    assert!(none.unwrap().is_none(), "nobody was provisioned");
    // The control: the untouched claims pass.
    let r = app
        .google_login(json!({ "credential": fake.id_token(KID, &base) }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn an_unreachable_key_set_is_unavailable_not_unauthenticated() {
    let fake = FakeGoogle::start().await;
    Mock::given(method("GET"))
        .and(path(JWKS_PATH))
        .respond_with(ResponseTemplate::new(500))
        .mount(&fake.server)
        .await;
    let app = spawn_app_with(|s| fake.configure(s)).await;
    let token = fake.id_token(KID, &fake.claims("g-8", "down@corp.test"));
    let r = app.google_login(json!({ "credential": token })).await;
    expect_error(&r, 503, "unavailable");
}

#[tokio::test]
async fn a_long_google_name_does_not_block_the_sign_in() {
    // The person's name comes from Google; the account's name allows 100 characters.
    let fake = FakeGoogle::start().await;
    let app = live_google_app(&fake, None).await;
    let mut claims = fake.claims("g-long", "longname@corp.test");
    claims["name"] = json!("Maximilian ".repeat(15));
    let r = app
        .google_login(json!({ "credential": fake.id_token(KID, &claims) }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let name = r.body["data"]["user"]["name"].as_str().unwrap();
    assert!(
        !name.trim().is_empty() && name.chars().count() <= 100,
        "{name}"
    );
}

// ---------------------------------------------------------------- code + PKCE

#[tokio::test]
async fn a_live_code_is_exchanged_with_secret_redirect_and_verifier() {
    let fake = FakeGoogle::start().await;
    let redirect = "http://app.test/auth/google/callback";
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("code=live-code-1"))
        .and(body_string_contains(format!("client_id={CLIENT_ID}")))
        .and(body_string_contains(format!(
            "client_secret={CLIENT_SECRET}"
        )))
        .and(body_string_contains(format!(
            "redirect_uri={}",
            url::form_urlencoded::byte_serialize(redirect.as_bytes()).collect::<String>()
        )))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains(format!(
            "code_verifier={PKCE_VERIFIER}"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "ya29.fake-access", "token_type": "Bearer", "expires_in": 3599,
            "scope": "openid email profile"
        })))
        .expect(1)
        .mount(&fake.server)
        .await;
    Mock::given(method("GET"))
        .and(path(USERINFO_PATH))
        .and(header("authorization", "Bearer ya29.fake-access"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "sub": "g-2002", "email": "Coder@Corp.Test", "email_verified": true, "name": "Cody Code"
        })))
        .expect(1)
        .mount(&fake.server)
        .await;
    let app = spawn_app_with(|s| fake.configure(s)).await;
    let r = app
        .google_login(json!({
            "code": "live-code-1", "redirectUri": redirect, "codeVerifier": PKCE_VERIFIER,
        }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let user = &r.body["data"]["user"];
    assert_eq!(user["email"], "coder@corp.test");
    assert_eq!(user["name"], "Cody Code");
    // The linked identity keeps the address as the account does: normalised.
    let id = user["id"].as_str().unwrap().parse().unwrap();
    let links = app.ctx.identity.external_identities(id).await.unwrap();
    assert_eq!(links[0].email.as_deref(), Some("coder@corp.test"));
    assert_eq!(user["role"], "member");
    let s = Session::from_resp(&r);
    assert_eq!(app.profile(&s.access).await.body["data"]["id"], user["id"]);
    // The provider's access token stays between us and Google.
    assert!(!r.text.contains("ya29"));
}

#[tokio::test]
async fn a_code_google_refuses_is_unauthenticated_and_a_google_outage_unavailable() {
    let fake = FakeGoogle::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(body_string_contains("code=bad-code"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({ "error": "invalid_grant" })))
        .mount(&fake.server)
        .await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(body_string_contains("code=outage"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&fake.server)
        .await;
    let app = spawn_app_with(|s| fake.configure(s)).await;
    let r = app
        .google_login(json!({ "code": "bad-code", "redirectUri": REDIRECT }))
        .await;
    expect_error(&r, 401, "unauthenticated");
    let r = app
        .google_login(json!({ "code": "outage", "redirectUri": REDIRECT }))
        .await;
    expect_error(&r, 503, "unavailable");
}
