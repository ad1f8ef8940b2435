//! Which account an external identity reaches: its (provider, subject) link first, then its
//! address compared as stored, with only the ASCII letters case-folded. No Unicode case
//! mapping or normalisation turns one address into another's (the Kelvin sign U+212A, the
//! dotted capital I U+0130, fullwidth letters), through Google ID tokens or SAML assertions.

use platform::identity::google::{MOCK_CLIENT_ID, MOCK_ISSUER};
use platform::saml::ResponseSpec;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::*;

/// A Google ID token of the mock issuer (signed with the product's mock key) naming `sub`
/// with the verified address `email`.
async fn credential(app: &TestApp, sub: &str, email: &str) -> String {
    let claims = json!({
        "iss": MOCK_ISSUER, "aud": MOCK_CLIENT_ID, "sub": sub, "email": email,
        "email_verified": true, "name": "Some One", "iat": unix_now(), "exp": unix_now() + 600,
    });
    let idp = app.ctx.mock_idp().await.expect("mock key");
    signed_jwt(idp.signer(), "basalt-mock-1", &claims)
}

async fn google_as(app: &TestApp, sub: &str, email: &str) -> Resp {
    let token = credential(app, sub, email).await;
    app.google_login(json!({ "credential": token })).await
}

fn user_id(r: &Resp) -> Value {
    r.body["data"]["user"]["id"].clone()
}

/// Nothing reached `owner`: no session, no linked identity.
async fn untouched(app: &TestApp, owner: Uuid) {
    assert!(app.sessions_of(owner).await.is_empty(), "a session opened");
    let links = app.ctx.identity.external_identities(owner).await.unwrap();
    assert!(links.is_empty(), "an identity was linked: {links:?}");
}

/// The account whose session cookies `r` set.
async fn signed_in_as(app: &TestApp, r: &Resp) -> String {
    let p = app.profile(&Session::from_resp(r).access).await;
    assert_eq!(p.status, 200, "{}", p.text);
    p.body["data"]["id"].as_str().unwrap().to_owned()
}

// ---------------------------------------------------------------- Google

#[tokio::test]
async fn a_google_address_with_the_kelvin_sign_does_not_sign_in_the_k_account() {
    let app = spawn_app().await;
    let kelly = app.existing_user("kelly@example.com", "admin", true).await;
    for (sub, email) in [
        ("g-kelvin-1", "\u{212A}elly@example.com"),
        ("g-kelvin-2", "\u{212A}ELLY@EXAMPLE.COM"),
    ] {
        let r = google_as(&app, sub, email).await;
        expect_error(&r, 400, "invalid_argument");
        assert!(r.cookie("access_token").is_none(), "{email}: {}", r.text);
    }
    untouched(&app, kelly.id).await;
    let look = |e: &'static str| app.ctx.identity.user_by_email(e);
    assert!(look("\u{212A}elly@example.com").await.unwrap().is_none());

    // The control: the same token with an ASCII capital K is kelly's address.
    let r = google_as(&app, "g-ascii", "Kelly@Example.com").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(user_id(&r), kelly.id.to_string());
}

#[tokio::test]
async fn dotted_capital_i_and_fullwidth_addresses_are_accounts_of_their_own() {
    let app = spawn_app().await;
    let ilker = app.existing_user("ilker@example.com", "admin", true).await;
    let kim = app.existing_user("kim@example.com", "admin", true).await;
    for (sub, email, lookalike) in [
        ("g-dotted", "\u{0130}lker@example.com", &ilker),
        ("g-dotted-lower", "i\u{0307}lker@example.com", &ilker),
        ("g-fullwidth", "\u{FF4B}im@example.com", &kim),
        ("g-fullwidth-capital", "\u{FF2B}im@example.com", &kim),
    ] {
        let r = google_as(&app, sub, email).await;
        assert_eq!(r.status, 200, "{email}: {}", r.text);
        assert_ne!(user_id(&r), lookalike.id.to_string(), "{email}");
        assert_eq!(r.body["data"]["user"]["email"], email, "stored as sent");
        assert_eq!(r.body["data"]["user"]["role"], "member", "a new account");
    }
    untouched(&app, ilker.id).await;
    untouched(&app, kim.id).await;
}

#[tokio::test]
async fn a_linked_identity_signs_in_its_own_account_whatever_address_it_brings() {
    let app = spawn_app().await;
    let first = google_as(&app, "g-ann", "ann@example.com").await;
    assert_eq!(first.status, 200, "{}", first.text);
    let bob = app.existing_user("bob@example.com", "admin", true).await;
    // Google now says this subject's address is bob's: the subject's link wins.
    let r = google_as(&app, "g-ann", "bob@example.com").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(user_id(&r), user_id(&first));
    untouched(&app, bob.id).await;
}

#[tokio::test]
async fn another_subject_with_the_address_of_a_linked_account_is_refused() {
    let app = spawn_app().await;
    let first = google_as(&app, "g-cara-1", "cara@example.com").await;
    assert_eq!(first.status, 200, "{}", first.text);
    // The address has changed hands at Google: a new subject does not get cara's account.
    let r = google_as(&app, "g-cara-2", "cara@example.com").await;
    expect_error(&r, 409, "already_exists");
    assert!(r.cookie("access_token").is_none());
    let cara: Uuid = user_id(&first).as_str().unwrap().parse().unwrap();
    let links = app.ctx.identity.external_identities(cara).await.unwrap();
    assert_eq!(links.len(), 1, "{links:?}");
    assert_eq!(links[0].subject, "g-cara-1");
    assert_eq!(
        app.sessions_of(cara).await.len(),
        1,
        "only the first sign-in"
    );
}

// ---------------------------------------------------------------- SAML

#[tokio::test]
async fn a_saml_assertion_for_the_kelvin_sign_address_does_not_sign_in_the_k_account() {
    let app = spawn_app_with(live_saml).await;
    let kelly = app.existing_user("kelly@corp.test", "admin", true).await;
    let answer = |start: &SamlStart, name_id: &str| {
        let mut spec = ResponseSpec::new(IDP_ENTITY_ID, &app.sp(), name_id, chrono::Utc::now());
        spec.in_response_to = Some(start.request_id());
        spec.attributes = vec![("email".into(), vec![name_id.into()])];
        idp_signer().signed_response(&spec)
    };
    for name_id in ["\u{212A}elly@corp.test", "\u{212A}ELLY@CORP.TEST"] {
        let start = app.saml_start(None).await;
        let r = app.acs(&answer(&start, name_id), None).await;
        expect_error(&r, 400, "invalid_argument");
        assert!(r.cookie("access_token").is_none(), "{name_id}: {}", r.text);
    }
    untouched(&app, kelly.id).await;

    // A fullwidth k is an address of its own: a new account, not kelly's.
    let start = app.saml_start(None).await;
    let r = app
        .acs(&answer(&start, "\u{FF4B}elly@corp.test"), None)
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let who = signed_in_as(&app, &r).await;
    assert_ne!(who, kelly.id.to_string());
    untouched(&app, kelly.id).await;

    // The control: ASCII case is folded, so the IdP's `Kelly@corp.test` is kelly.
    let start = app.saml_start(None).await;
    let r = app.acs(&answer(&start, "Kelly@corp.test"), None).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(signed_in_as(&app, &r).await, kelly.id.to_string());
}

#[tokio::test]
async fn a_kelvin_sign_address_in_a_saml_attribute_does_not_sign_in_the_k_account() {
    // The address read from an attribute (the NameID an opaque persistent id) follows the
    // same rule as one read from the NameID.
    let app = spawn_app_with(live_saml).await;
    let kelly = app.existing_user("kelly@corp.test", "admin", true).await;
    let start = app.saml_start(None).await;
    let mut spec = ResponseSpec::new(
        IDP_ENTITY_ID,
        &app.sp(),
        "8f14e45fceea167a5a36dedd4bea2543",
        chrono::Utc::now(),
    );
    spec.name_id_format = Some("urn:oasis:names:tc:SAML:2.0:nameid-format:persistent".into());
    spec.in_response_to = Some(start.request_id());
    spec.attributes = vec![("mail".into(), vec!["\u{212A}elly@corp.test".into()])];
    let r = app.acs(&idp_signer().signed_response(&spec), None).await;
    expect_error(&r, 400, "invalid_argument");
    assert!(r.cookie("access_token").is_none(), "{}", r.text);
    untouched(&app, kelly.id).await;
}
