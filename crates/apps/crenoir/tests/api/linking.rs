//! Signing in to an account that already exists under the address (made by `basalt user
//! create`, or by another provider): linked when both sides verified the address, else 409.

use serde_json::json;

use crate::helpers::*;

// ---------------------------------------------------------------- Google

#[tokio::test]
async fn google_links_to_an_existing_verified_account() {
    let app = spawn_app().await;
    let existing = app.existing_user("boss@example.com", "admin", true).await;
    let s = app.google_sign_in("Boss@Example.com").await;
    assert_eq!(s.user_id(), existing.id.to_string());
    // The account keeps its role and name.
    assert_eq!(s.data["user"]["role"], "admin");
    assert_eq!(s.data["user"]["name"], "Existing admin");
    let links = app
        .ctx
        .identity
        .external_identities(existing.id)
        .await
        .unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].provider, "google");
}

#[tokio::test]
async fn google_does_not_take_over_an_unverified_account() {
    let app = spawn_app().await;
    let existing = app
        .existing_user("squat@example.com", "member", false)
        .await;
    let code = app.mock_code("squat@example.com", None).await;
    let r = app
        .google_login(json!({ "code": code, "redirectUri": REDIRECT }))
        .await;
    expect_error(&r, 409, "already_exists");
    assert!(r.cookie("access_token").is_none());
    let links = app
        .ctx
        .identity
        .external_identities(existing.id)
        .await
        .unwrap();
    assert!(links.is_empty());
    assert!(app.sessions_of(existing.id).await.is_empty());
}

#[tokio::test]
async fn a_live_unverified_google_address_does_not_link() {
    let fake = FakeGoogle::start().await;
    let app = live_google_app(&fake, None).await;
    let existing = app.existing_user("owner@corp.test", "manager", true).await;
    let mut claims = fake.claims("g-9", "owner@corp.test");
    claims["email_verified"] = json!(false);
    let r = app
        .google_login(json!({ "credential": fake.id_token(KID, &claims) }))
        .await;
    expect_error(&r, 409, "already_exists");
    assert!(app.sessions_of(existing.id).await.is_empty());
}

// ---------------------------------------------------------------- SAML

#[tokio::test]
async fn saml_links_to_an_existing_account_under_the_address() {
    let app = spawn_app().await;
    let existing = app.existing_user("chief@corp.test", "admin", true).await;
    let s = app.saml_sign_in("Chief@Corp.test", Some("The Chief")).await;
    let p = app.profile(&s.access).await;
    assert_eq!(p.body["data"]["id"], existing.id.to_string());
    assert_eq!(p.body["data"]["role"], "admin");
}
