//! Sign-in with Google and Meta: the MOCK provider end to end (mailed single-use codes), and the
//! LIVE adapters against a local fake provider (testkit's fake Google; Meta on wiremock).

use std::collections::HashMap;

use platform::{
    datamode::Mode,
    identity::{NewUser, User},
    secrets::Secret,
    settings::ProductSettings,
};
use reqwest::Method;
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{header, method, path, query_param},
};

use crate::helpers::*;
use platform::identity::UserFilter;
use platform::validate::Paging;
use testkit::oidc::{self, FakeGoogle};

async fn oauth(app: &TestApp, provider: &str, token: Option<&str>, body: Value) -> Resp {
    app.post(&format!("/api/v1/auth/oauth/{provider}"), token, body)
        .await
}

async fn linked(app: &TestApp, token: &str, provider: &str) -> Value {
    let r = app.get("/api/v1/auth/oauth/status", Some(token)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider"] == provider)
        .cloned()
        .unwrap_or_else(|| panic!("no {provider} in {}", r.text))
}

async fn unverified_user(app: &TestApp, email: &str) -> User {
    app.ctx
        .identity
        .create_user(NewUser {
            email: email.into(),
            password: Some(PASSWORD.into()),
            name: "Unverified".into(),
            role: "viewer".into(),
            email_verified: false,
        })
        .await
        .unwrap()
}

async fn event_types(app: &TestApp, token: &str) -> Vec<String> {
    let r = app
        .get("/api/v1/auth/security-log?limit=100", Some(token))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

// ---------------------------------------------------------------- MOCK provider

#[tokio::test]
async fn mock_authorize_mails_a_link_to_the_redirect_uri_with_code_and_state() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v1/auth/oauth/mock/authorize",
            None,
            json!({ "provider": "google", "email": "gus@example.com", "redirectUri": REDIRECT, "state": "xyz" }),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.body, json!({ "sent": true }));
    let mails = app.mails_to("gus@example.com").await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    let body = &mails[0].1;
    let link = body
        .split_whitespace()
        .find(|w| w.starts_with(REDIRECT))
        .unwrap_or_else(|| panic!("no link to {REDIRECT} in {body}"));
    let url = url::Url::parse(link).unwrap();
    let q: HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert!(q.get("code").is_some_and(|c| c.len() >= 20), "{link}");
    assert_eq!(q.get("state").map(String::as_str), Some("xyz"), "{link}");
    // Nobody else got it, and no account exists yet.
    assert_eq!(
        app.ctx.outbox.page(Paging::new(1, 10)).await.unwrap().total,
        1
    );
    assert!(
        app.ctx
            .identity
            .user_by_email("gus@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn the_mailed_code_signs_up_a_new_user_with_a_verified_email() {
    let app = spawn_app().await;
    let code = app.mock_code("google", "gus@example.com").await;
    let r = oauth(
        &app,
        "google",
        None,
        json!({ "code": code, "redirectUri": REDIRECT }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.body["accessToken"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    assert!(
        r.body["refreshToken"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    assert!(
        r.body["expiresIn"]
            .as_i64()
            .is_some_and(|e| e > 0 && e <= 900),
        "{}",
        r.text
    );
    let user = &r.body["user"];
    assert_eq!(user["email"], "gus@example.com");
    assert_eq!(user["emailVerified"], true);
    assert_eq!(user["role"], "viewer");
    assert_eq!(user["name"], "Mock Person");

    let token = r.body["accessToken"].as_str().unwrap();
    let me = app.get("/api/v1/auth/me", Some(token)).await;
    assert_eq!(me.body["id"], user["id"]);
    let g = linked(&app, token, "google").await;
    assert_eq!(g["linked"], true, "{g}");
    assert_eq!(g["email"], "gus@example.com");
    assert!(g["linkedAt"].is_string(), "{g}");
    assert_eq!(linked(&app, token, "meta").await["linked"], false);
    let events = event_types(&app, token).await;
    assert!(events.contains(&"oauth_login".to_owned()), "{events:?}");
    // The refresh token works like any other.
    let r = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refreshToken": r.body["refreshToken"] }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn signing_in_again_with_the_same_provider_reaches_the_same_account() {
    let app = spawn_app().await;
    let first = oauth(
        &app,
        "google",
        None,
        json!({ "code": app.mock_code("google", "gus@example.com").await }),
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.text);
    let code = {
        let r = app
            .post(
                "/api/v1/auth/oauth/mock/authorize",
                None,
                json!({ "provider": "google", "email": "GUS@example.com", "redirectUri": REDIRECT }),
            )
            .await;
        assert_eq!(r.status, 202, "{}", r.text);
        let mails = app.mails_to("gus@example.com").await;
        assert_eq!(mails.len(), 2);
        extract_param(&mails[0].1, "code").unwrap()
    };
    let second = oauth(&app, "google", None, json!({ "code": code })).await;
    assert_eq!(second.status, 200, "{}", second.text);
    assert_eq!(second.body["user"]["id"], first.body["user"]["id"]);
    let total = app
        .ctx
        .identity
        .users(&UserFilter::default(), Paging::new(1, 10))
        .await
        .unwrap()
        .total;
    assert_eq!(total, 1);
}

#[tokio::test]
async fn a_mock_code_works_once() {
    let app = spawn_app().await;
    let code = app.mock_code("google", "gus@example.com").await;
    assert_eq!(
        oauth(&app, "google", None, json!({ "code": code }))
            .await
            .status,
        200
    );
    let r = oauth(&app, "google", None, json!({ "code": code })).await;
    expect_error(&r, 401, "unauthenticated");
}

#[tokio::test]
async fn a_google_code_is_refused_at_meta() {
    let app = spawn_app().await;
    let code = app.mock_code("google", "gus@example.com").await;
    let r = oauth(&app, "meta", None, json!({ "code": code })).await;
    expect_error(&r, 401, "unauthenticated");
    assert!(
        app.ctx
            .identity
            .user_by_email("gus@example.com")
            .await
            .unwrap()
            .is_none()
    );
    let code = app.mock_code("meta", "mia@example.com").await;
    let r = oauth(&app, "google", None, json!({ "code": code })).await;
    expect_error(&r, 401, "unauthenticated");
    assert!(
        app.ctx
            .identity
            .user_by_email("mia@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_made_up_code_is_refused() {
    let app = spawn_app().await;
    for code in [
        "made-up",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        " ",
    ] {
        for p in ["google", "meta"] {
            let r = oauth(&app, p, None, json!({ "code": code })).await;
            expect_error(&r, 401, "unauthenticated");
        }
    }
    let r = oauth(&app, "google", None, json!({})).await;
    expect_error(&r, 400, "invalid_argument");
    let r = app
        .post("/api/v1/auth/oauth/github", None, json!({ "code": "x" }))
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(
        app.ctx
            .identity
            .users(&UserFilter::default(), Paging::new(1, 10))
            .await
            .unwrap()
            .total,
        0
    );
}

#[tokio::test]
async fn a_meta_mock_sign_in_creates_a_meta_linked_account() {
    let app = spawn_app().await;
    let code = app.mock_code("meta", "mia@example.com").await;
    let r = oauth(&app, "meta", None, json!({ "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let token = r.body["accessToken"].as_str().unwrap();
    assert_eq!(linked(&app, token, "meta").await["linked"], true);
    assert_eq!(linked(&app, token, "google").await["linked"], false);
}

#[tokio::test]
async fn an_unverified_password_account_is_not_taken_over() {
    let app = spawn_app().await;
    let owner = unverified_user(&app, "ann@example.com").await;
    let code = app.mock_code("google", "ann@example.com").await;
    let r = oauth(&app, "google", None, json!({ "code": code })).await;
    expect_error(&r, 409, "already_exists");
    assert!(r.body.get("accessToken").is_none());
    let ids = app
        .ctx
        .identity
        .external_identities(owner.id)
        .await
        .unwrap();
    assert!(ids.is_empty(), "{ids:?}");
    assert_eq!(app.ctx.identity.sessions(owner.id).await.unwrap().len(), 0);
}

#[tokio::test]
async fn a_verified_password_account_is_linked_when_the_provider_verified_the_email() {
    let app = spawn_app().await;
    let owner = app.create_user("ann@example.com", "analyst").await;
    let code = app.mock_code("google", "ann@example.com").await;
    let r = oauth(&app, "google", None, json!({ "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["user"]["id"], owner.id.to_string());
    assert_eq!(r.body["user"]["role"], "analyst");
    let token = r.body["accessToken"].as_str().unwrap();
    assert_eq!(linked(&app, token, "google").await["linked"], true);
    assert!(
        event_types(&app, token)
            .await
            .contains(&"oauth_linked".to_owned())
    );
    // The password still works.
    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({ "email": "ann@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(login.status, 200, "{}", login.text);
}

#[tokio::test]
async fn with_a_bearer_token_the_identity_is_linked_to_the_caller() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let code = app.mock_code("google", "ann.personal@gmail.com").await;
    let r = oauth(&app, "google", Some(&ann.access), json!({ "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["user"]["id"], ann.user.id.to_string());
    assert_eq!(r.body["user"]["email"], "ann@example.com");
    let g = linked(&app, &ann.access, "google").await;
    assert_eq!(g["linked"], true, "{g}");
    assert_eq!(g["email"], "ann.personal@gmail.com");
    assert!(
        app.ctx
            .identity
            .user_by_email("ann.personal@gmail.com")
            .await
            .unwrap()
            .is_none()
    );

    // Later, signing in with that Google account reaches Ann.
    let code = app.mock_code("google", "ann.personal@gmail.com").await;
    let r = oauth(&app, "google", None, json!({ "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["user"]["id"], ann.user.id.to_string());
}

#[tokio::test]
async fn an_identity_linked_to_someone_else_cannot_be_linked_again() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let bob = app.login_as("bob@example.com", "viewer").await;
    let code = app.mock_code("google", "shared@gmail.com").await;
    assert_eq!(
        oauth(&app, "google", Some(&ann.access), json!({ "code": code }))
            .await
            .status,
        200
    );
    let code = app_code_again(&app, "shared@gmail.com").await;
    let r = oauth(&app, "google", Some(&bob.access), json!({ "code": code })).await;
    expect_error(&r, 409, "already_exists");
    assert_eq!(linked(&app, &bob.access, "google").await["linked"], false);
    assert_eq!(linked(&app, &ann.access, "google").await["linked"], true);
}

/// The newest mock code mailed to `email` after a fresh authorize.
async fn app_code_again(app: &TestApp, email: &str) -> String {
    let r = app
        .post(
            "/api/v1/auth/oauth/mock/authorize",
            None,
            json!({ "provider": "google", "email": email, "redirectUri": REDIRECT }),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    extract_param(&app.mails_to(email).await[0].1, "code").unwrap()
}

#[tokio::test]
async fn a_bad_bearer_token_is_refused_rather_than_ignored() {
    let app = spawn_app().await;
    let code = app.mock_code("google", "gus@example.com").await;
    let r = oauth(&app, "google", Some("not-a-token"), json!({ "code": code })).await;
    expect_error(&r, 401, "unauthenticated");
    assert!(
        app.ctx
            .identity
            .user_by_email("gus@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn mock_authorize_is_refused_in_live_mode() {
    let app = spawn_app_with(|s| s.data_mode = Mode::Live).await;
    let r = app
        .post(
            "/api/v1/auth/oauth/mock/authorize",
            None,
            json!({ "provider": "google", "email": "gus@example.com", "redirectUri": REDIRECT }),
        )
        .await;
    expect_error(&r, 400, "failed_precondition");
    assert_eq!(
        app.ctx.outbox.page(Paging::new(1, 10)).await.unwrap().total,
        0
    );
}

#[tokio::test]
async fn a_mock_code_stops_working_once_the_app_goes_live() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let code = app.mock_code("google", "gus@example.com").await;
    let r = app
        .request(
            Method::POST,
            "/admin/toggle-mode",
            Some(&admin.access),
            Some(json!({ "mode": "LIVE" })),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = oauth(&app, "google", None, json!({ "code": code })).await;
    assert!(r.status == 503 || r.status == 401, "{}", r.text);
    assert!(
        app.ctx
            .identity
            .user_by_email("gus@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn mock_authorize_validates_its_input() {
    let app = spawn_app().await;
    for body in [
        json!({ "provider": "github", "email": "gus@example.com", "redirectUri": REDIRECT }),
        json!({ "provider": "google", "email": "not an email", "redirectUri": REDIRECT }),
        json!({ "provider": "google", "email": "gus@example.com", "redirectUri": "javascript:alert(1)" }),
        json!({ "provider": "google", "email": "gus@example.com", "redirectUri": "not a url" }),
        json!({ "provider": "google", "email": "gus@example.com" }),
    ] {
        let r = app
            .post("/api/v1/auth/oauth/mock/authorize", None, body.clone())
            .await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        expect_error(&r, 400, "invalid_argument");
    }
    assert_eq!(
        app.ctx.outbox.page(Paging::new(1, 10)).await.unwrap().total,
        0
    );
}

// ---------------------------------------------------------------- LIVE adapters

/// A fake Google whose code flow signs in `email` (verified or not) as subject
/// `google-sub-42`, named "Gina Live".
async fn live_google(email: &str, verified: bool) -> FakeGoogle {
    let fake = FakeGoogle::start().await;
    let mut claims = fake.claims("google-sub-42", email);
    claims["email_verified"] = json!(verified);
    claims["name"] = json!("Gina Live");
    fake.serve_code_flow(&claims).await;
    fake
}

fn live_meta(server: &MockServer) -> impl FnOnce(&mut ProductSettings) {
    let base = server.uri();
    move |s: &mut ProductSettings| {
        s.data_mode = Mode::Live;
        s.meta.client_id = Some("meta-app".into());
        s.meta.client_secret = Some(Secret::new("meta-secret"));
        s.meta.token_url = format!("{base}/v19.0/oauth/access_token");
        s.meta.userinfo_url = format!("{base}/v19.0/me");
    }
}

fn form(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

#[tokio::test]
async fn live_google_exchanges_the_code_with_a_form_post_and_reads_userinfo_with_the_bearer() {
    let fake = live_google("gina@example.com", true).await;
    let app = spawn_app_with(|s| fake.configure(s)).await;

    let r = oauth(
        &app,
        "google",
        None,
        json!({ "code": "auth-code-1", "redirectUri": REDIRECT, "codeVerifier": "pkce-verifier-1" }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["user"]["email"], "gina@example.com");
    assert_eq!(r.body["user"]["emailVerified"], true);
    assert_eq!(r.body["user"]["name"], "Gina Live");

    let reqs = fake.server.received_requests().await.unwrap();
    let token_req = reqs
        .iter()
        .find(|r| r.url.path() == oidc::TOKEN_PATH)
        .expect("token request");
    assert_eq!(token_req.method.as_str(), "POST");
    let ct = token_req
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(ct.starts_with("application/x-www-form-urlencoded"), "{ct}");
    let f = form(&token_req.body);
    let want = [
        ("grant_type", "authorization_code"),
        ("code", "auth-code-1"),
        ("client_id", oidc::CLIENT_ID),
        ("client_secret", oidc::CLIENT_SECRET),
        ("redirect_uri", REDIRECT),
        ("code_verifier", "pkce-verifier-1"),
    ];
    for (k, v) in want {
        assert_eq!(f.get(k).map(String::as_str), Some(v), "{k} in {f:?}");
    }
    let info = reqs
        .iter()
        .find(|r| r.url.path() == oidc::USERINFO_PATH)
        .expect("userinfo request");
    assert_eq!(info.method.as_str(), "GET");
    assert_eq!(
        info.headers.get("authorization").unwrap().to_str().unwrap(),
        format!("Bearer {}", oidc::ACCESS_TOKEN)
    );
    assert_eq!(reqs.len(), 2);

    // The same Google subject signs in to the same account next time.
    let again = oauth(
        &app,
        "google",
        None,
        json!({ "code": "auth-code-2", "redirectUri": REDIRECT }),
    )
    .await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["user"]["id"], r.body["user"]["id"]);
}

#[tokio::test]
async fn live_google_uses_the_configured_redirect_uri_when_the_client_sends_none() {
    let fake = live_google("gina@example.com", true).await;
    let app = spawn_app_with(|s| {
        fake.configure(s);
        s.google.redirect_uri = Some("http://app.test/default-cb".into());
    })
    .await;
    let r = oauth(&app, "google", None, json!({ "code": "auth-code-1" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let reqs = fake.server.received_requests().await.unwrap();
    let f = form(&reqs[0].body);
    assert_eq!(
        f.get("redirect_uri").map(String::as_str),
        Some("http://app.test/default-cb"),
        "{f:?}"
    );
    assert!(
        !f.contains_key("code_verifier"),
        "no verifier was given: {f:?}"
    );
}

#[tokio::test]
async fn a_provider_400_on_the_token_is_our_401() {
    let fake = FakeGoogle::start().await;
    Mock::given(method("POST"))
        .and(path(oidc::TOKEN_PATH))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({ "error": "invalid_grant" })))
        .mount(&fake.server)
        .await;
    let app = spawn_app_with(|s| fake.configure(s)).await;
    let r = oauth(
        &app,
        "google",
        None,
        json!({ "code": "bad-code", "redirectUri": REDIRECT }),
    )
    .await;
    expect_error(&r, 401, "unauthenticated");
    assert_eq!(
        app.ctx
            .identity
            .users(&UserFilter::default(), Paging::new(1, 10))
            .await
            .unwrap()
            .total,
        0
    );
}

#[tokio::test]
async fn a_provider_500_is_our_503() {
    let fake = FakeGoogle::start().await;
    Mock::given(method("POST"))
        .and(path(oidc::TOKEN_PATH))
        .respond_with(ResponseTemplate::new(500))
        .mount(&fake.server)
        .await;
    let app = spawn_app_with(|s| fake.configure(s)).await;
    let r = oauth(
        &app,
        "google",
        None,
        json!({ "code": "c", "redirectUri": REDIRECT }),
    )
    .await;
    expect_error(&r, 503, "unavailable");
}

#[tokio::test]
async fn a_failing_userinfo_endpoint_is_our_503() {
    let fake = FakeGoogle::start().await;
    fake.serve_token(oidc::ACCESS_TOKEN, &fake.claims("g", "g@example.com"))
        .await;
    Mock::given(method("GET"))
        .and(path(oidc::USERINFO_PATH))
        .respond_with(ResponseTemplate::new(502))
        .mount(&fake.server)
        .await;
    let app = spawn_app_with(|s| fake.configure(s)).await;
    let r = oauth(
        &app,
        "google",
        None,
        json!({ "code": "c", "redirectUri": REDIRECT }),
    )
    .await;
    expect_error(&r, 503, "unavailable");
    assert_eq!(
        app.ctx
            .identity
            .users(&UserFilter::default(), Paging::new(1, 10))
            .await
            .unwrap()
            .total,
        0
    );
}

#[tokio::test]
async fn an_unreachable_provider_is_our_503() {
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let app = spawn_app_with(|s| {
        s.data_mode = Mode::Live;
        s.google.client_id = Some("google-client".into());
        s.google.client_secret = Some(Secret::new("google-secret"));
        s.google.token_url = format!("http://127.0.0.1:{port}/token");
        s.google.userinfo_url = format!("http://127.0.0.1:{port}/userinfo");
    })
    .await;
    let r = oauth(
        &app,
        "google",
        None,
        json!({ "code": "c", "redirectUri": REDIRECT }),
    )
    .await;
    expect_error(&r, 503, "unavailable");
}

#[tokio::test]
async fn an_unconfigured_provider_in_live_mode_is_503_naming_the_setting() {
    let app = spawn_app_with(|s| s.data_mode = Mode::Live).await;
    let r = oauth(&app, "google", None, json!({ "code": "c" })).await;
    expect_error(&r, 503, "unavailable");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("GOOGLE_CLIENT_ID"),
        "{}",
        r.text
    );
    let r = oauth(&app, "meta", None, json!({ "code": "c" })).await;
    expect_error(&r, 503, "unavailable");
    assert!(
        r.body["message"].as_str().unwrap().contains("META_APP_ID"),
        "{}",
        r.text
    );
    let admin = app.login_as("admin@example.com", "admin").await;
    let g = linked(&app, &admin.access, "google").await;
    assert_eq!(g["state"], "unconfigured", "{g}");
}

#[tokio::test]
async fn live_google_with_an_unverified_email_does_not_take_over_an_account() {
    let fake = live_google("ann@example.com", false).await;
    let app = spawn_app_with(|s| fake.configure(s)).await;
    let ann = app.create_user("ann@example.com", "admin").await;
    let r = oauth(
        &app,
        "google",
        None,
        json!({ "code": "c", "redirectUri": REDIRECT }),
    )
    .await;
    expect_error(&r, 409, "already_exists");
    assert!(
        app.ctx
            .identity
            .external_identities(ann.id)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn live_google_with_a_verified_email_links_a_verified_account() {
    let fake = live_google("ann@example.com", true).await;
    let app = spawn_app_with(|s| fake.configure(s)).await;
    let ann = app.create_user("ann@example.com", "analyst").await;
    let r = oauth(
        &app,
        "google",
        None,
        json!({ "code": "c", "redirectUri": REDIRECT }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["user"]["id"], ann.id.to_string());
    let ids = app.ctx.identity.external_identities(ann.id).await.unwrap();
    assert_eq!(ids.len(), 1);
    assert_eq!(ids[0].subject, "google-sub-42");
}

#[tokio::test]
async fn live_google_with_a_verified_email_does_not_take_over_an_unverified_account() {
    let fake = live_google("ann@example.com", true).await;
    let app = spawn_app_with(|s| fake.configure(s)).await;
    let ann = unverified_user(&app, "ann@example.com").await;
    let r = oauth(
        &app,
        "google",
        None,
        json!({ "code": "c", "redirectUri": REDIRECT }),
    )
    .await;
    expect_error(&r, 409, "already_exists");
    assert!(
        app.ctx
            .identity
            .external_identities(ann.id)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn meta_ok(server: &MockServer, email: &str) {
    Mock::given(method("GET"))
        .and(path("/v19.0/oauth/access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({ "access_token": "meta-access-1", "token_type": "bearer", "expires_in": 5183944 }),
        ))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v19.0/me"))
        .and(query_param("fields", "id,name,email"))
        .and(header("authorization", "Bearer meta-access-1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": "meta-id-7", "name": "Mia Meta", "email": email })),
        )
        .mount(server)
        .await;
}

#[tokio::test]
async fn live_meta_gets_the_token_with_query_parameters_and_reads_me_with_fields_and_bearer() {
    let server = MockServer::start().await;
    meta_ok(&server, "mia@example.com").await;
    let app = spawn_app_with(live_meta(&server)).await;
    let r = oauth(
        &app,
        "meta",
        None,
        json!({ "code": "meta-code-1", "redirectUri": REDIRECT }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["user"]["email"], "mia@example.com");
    assert_eq!(r.body["user"]["name"], "Mia Meta");
    assert_eq!(
        r.body["user"]["emailVerified"], false,
        "Meta does not vouch for emails"
    );

    let reqs = server.received_requests().await.unwrap();
    let token_req = reqs
        .iter()
        .find(|r| r.url.path() == "/v19.0/oauth/access_token")
        .expect("token request");
    assert_eq!(token_req.method.as_str(), "GET");
    let q: HashMap<String, String> = token_req.url.query_pairs().into_owned().collect();
    for (k, v) in [
        ("code", "meta-code-1"),
        ("client_id", "meta-app"),
        ("client_secret", "meta-secret"),
        ("redirect_uri", REDIRECT),
    ] {
        assert_eq!(q.get(k).map(String::as_str), Some(v), "{k} in {q:?}");
    }
    let me = reqs
        .iter()
        .find(|r| r.url.path() == "/v19.0/me")
        .expect("me request");
    let q: HashMap<String, String> = me.url.query_pairs().into_owned().collect();
    assert_eq!(q.get("fields").map(String::as_str), Some("id,name,email"));
    assert_eq!(
        me.headers.get("authorization").unwrap().to_str().unwrap(),
        "Bearer meta-access-1"
    );
}

#[tokio::test]
async fn live_meta_emails_are_unverified_so_a_verified_account_is_not_auto_linked() {
    let server = MockServer::start().await;
    meta_ok(&server, "ann@example.com").await;
    let app = spawn_app_with(live_meta(&server)).await;
    let ann = app.create_user("ann@example.com", "admin").await;
    let r = oauth(
        &app,
        "meta",
        None,
        json!({ "code": "meta-code-1", "redirectUri": REDIRECT }),
    )
    .await;
    expect_error(&r, 409, "already_exists");
    assert!(
        app.ctx
            .identity
            .external_identities(ann.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(app.ctx.identity.sessions(ann.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn live_meta_links_to_a_signed_in_caller() {
    let server = MockServer::start().await;
    meta_ok(&server, "ann@example.com").await;
    let app = spawn_app_with(live_meta(&server)).await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let r = oauth(
        &app,
        "meta",
        Some(&ann.access),
        json!({ "code": "meta-code-1", "redirectUri": REDIRECT }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["user"]["id"], ann.user.id.to_string());
    let m = linked(&app, &ann.access, "meta").await;
    assert_eq!(
        (m["linked"].as_bool(), m["state"].as_str()),
        (Some(true), Some("live")),
        "{m}"
    );
}

#[tokio::test]
async fn a_provider_400_on_meta_is_our_401() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v19.0/oauth/access_token"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json!({ "error": { "message": "bad code" } })),
        )
        .mount(&server)
        .await;
    let app = spawn_app_with(live_meta(&server)).await;
    let r = oauth(
        &app,
        "meta",
        None,
        json!({ "code": "x", "redirectUri": REDIRECT }),
    )
    .await;
    expect_error(&r, 401, "unauthenticated");
}

/// The mock provider mails a working code to whatever `redirectUri` the requester chose; a
/// link to a foreign site would hand the victim's code to that site when they click it.
#[tokio::test]
async fn mock_authorize_refuses_a_redirect_uri_outside_the_app() {
    let app = spawn_app().await;
    app.create_user("victim@example.com", "admin").await;
    let r = app
        .post(
            "/api/v1/auth/oauth/mock/authorize",
            None,
            json!({ "provider": "google", "email": "victim@example.com",
                    "redirectUri": "https://evil.example/steal" }),
        )
        .await;
    expect_error(&r, 400, "invalid_argument");
    let mails = app.mails_to("victim@example.com").await;
    assert!(
        mails.iter().all(|(_, b)| !b.contains("evil.example")),
        "a sign-in code was mailed towards a foreign site: {mails:?}"
    );
}

#[tokio::test]
async fn a_mock_code_lives_ten_minutes_and_is_refused_once_expired() {
    use platform::identity::entities::one_time_token as ott;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};

    let app = spawn_app().await;
    let code = app.mock_code("google", "gus@example.com").await;
    let rows = ott::Entity::find()
        .filter(ott::Column::Purpose.eq("oauth_mock"))
        .all(&app.ctx.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let ttl = rows[0].expires_at - rows[0].created_at;
    assert!(
        (599..=601).contains(&ttl.num_seconds()),
        "mock code TTL is {ttl}"
    );
    assert!(
        !rows[0].token_hash.contains(&code),
        "the code is stored in clear"
    );

    ott::Entity::update_many()
        .col_expr(
            ott::Column::ExpiresAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::seconds(1)),
        )
        .filter(ott::Column::Purpose.eq("oauth_mock"))
        .exec(&app.ctx.db)
        .await
        .unwrap();
    let r = oauth(&app, "google", None, json!({ "code": code })).await;
    expect_error(&r, 401, "unauthenticated");
    assert!(
        app.ctx
            .identity
            .user_by_email("gus@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

/// Impersonation is short-lived and cannot be refreshed (docs/warroom.md). Linking a provider
/// with an impersonation token would give the admin a permanent way into the user's account
/// (and a refreshable session that no longer names the admin).
#[tokio::test]
async fn an_impersonation_token_cannot_link_a_provider_to_the_user() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let viewer = app.create_user("viewer@example.com", "viewer").await;
    let r = app
        .post(
            "/api/v1/auth/impersonate",
            Some(&admin.access),
            json!({ "userId": viewer.id }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let imp = r.body["accessToken"].as_str().unwrap().to_owned();

    let code = app.mock_code("google", "admin.private@gmail.com").await;
    let r = oauth(&app, "google", Some(&imp), json!({ "code": code })).await;
    expect_error(&r, 403, "permission_denied");
    let ids = app
        .ctx
        .identity
        .external_identities(viewer.id)
        .await
        .unwrap();
    assert!(
        ids.is_empty(),
        "a provider was linked during impersonation: {ids:?}"
    );
}
