//! SAML sign-in in MOCK mode: the built-in IdP walked as a browser does (start, the IdP's
//! page, its form, the mailed link, the auto-posted response), the consumer's answers (303
//! for a form, a session body for JSON), and what the start, the IdP and the consumer refuse.

use base64::{Engine, engine::general_purpose::STANDARD};
use platform::saml::SpConfig;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;

// ---------------------------------------------------------------- end to end

#[tokio::test]
async fn mock_saml_signs_in_end_to_end_and_lands_on_redirect_to() {
    let app = spawn_app().await;
    let land = "http://app.test/pipeline?tab=review&x=1";

    // The app sends the browser to the built-in IdP with an AuthnRequest and the relay state.
    let start = app.saml_start(Some(land)).await;
    assert_eq!(
        format!(
            "{}{}",
            start.url.origin().ascii_serialization(),
            start.url.path()
        ),
        app.url("/auth/saml/mock/sso")
    );
    assert_eq!(start.relay_state.as_deref(), Some(land));
    let req = platform::saml::decode_redirect_request(&start.saml_request).unwrap();
    assert_eq!(req.issuer.as_deref(), Some(app.sp().entity_id.as_str()));
    assert_eq!(req.acs_url.as_deref(), Some(app.sp().acs_url.as_str()));

    // The IdP's page asks who you are, carrying the request along.
    let page = app.get(&start.path_and_query(), None).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.header("content-type")
            .is_some_and(|v| v.starts_with("text/html"))
    );
    assert_eq!(
        input_value(&page.text, "SAMLRequest").as_deref(),
        Some(start.saml_request.as_str())
    );
    assert_eq!(input_value(&page.text, "RelayState").as_deref(), Some(land));

    // Submitting it mails a link; nothing is signed in yet.
    let token = app
        .mock_sso_submit(&start, "Sam@Corp.test", Some("Sam Saml"))
        .await;
    let none = app.ctx.identity.user_by_email("sam@corp.test").await;
    assert!(none.unwrap().is_none());

    // The link answers a page that posts a signed response to our consumer.
    let page = app.mock_continue(&token).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(form_action(&page.text), Some(app.sp().acs_url));
    let response = input_value(&page.text, "SAMLResponse").expect("SAMLResponse");
    let relay = input_value(&page.text, "RelayState");
    assert_eq!(relay.as_deref(), Some(land));

    let r = app.acs(&response, relay.as_deref()).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(r.header("location"), Some(land));
    let s = Session::from_resp(&r);
    assert!(r.cookie("refresh_token").unwrap().http_only());
    assert!(!r.text.contains(&s.access));

    let p = app.profile(&s.access).await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert_eq!(p.body["data"]["email"], "sam@corp.test");
    assert_eq!(p.body["data"]["name"], "Sam Saml");
    assert_eq!(p.body["data"]["role"], "member");
    assert_eq!(p.body["data"]["emailVerified"], true);
    // The session refreshes like any other.
    app.refresh_ok(&s).await;
}

#[tokio::test]
async fn without_redirect_to_the_consumer_lands_on_the_app() {
    let app = spawn_app().await;
    let (response, relay) = app.mock_saml_response("home@corp.test", None, None).await;
    assert_eq!(relay, None);
    let r = app.acs(&response, None).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(r.header("location"), Some(APP));
    let s = Session::from_resp(&r);
    // No display name: the local part of the address.
    assert_eq!(app.profile(&s.access).await.body["data"]["name"], "home");
}

#[tokio::test]
async fn the_relay_state_posted_back_does_not_choose_the_landing_page() {
    // The landing page is the one recorded at start, not whatever the form carries.
    let app = spawn_app().await;
    let (response, _) = app
        .mock_saml_response("relay@corp.test", None, Some("http://app.test/ok"))
        .await;
    let r = app.acs(&response, Some("https://evil.example/phish")).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(r.header("location"), Some("http://app.test/ok"));
}

#[tokio::test]
async fn a_json_start_answers_the_idp_url() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/auth/saml/login",
            None,
            json!({ "redirectTo": "http://app.test/docs" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    app.keep_saml_binding(&r);
    let url = r.body["data"]["redirectUrl"].as_str().expect("redirectUrl");
    let start = SamlStart::parse(url);
    assert!(url.starts_with(&app.url("/auth/saml/mock/sso?")), "{url}");
    assert_eq!(start.relay_state.as_deref(), Some("http://app.test/docs"));
    assert!(start.request_id().starts_with('_'));

    let r = app.post("/auth/saml/login", None, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["data"]["redirectUrl"].is_string());
}

#[tokio::test]
async fn a_json_saml_response_answers_a_session_body() {
    let app = spawn_app().await;
    let (response, _) = app
        .mock_saml_response("script@corp.test", Some("Scripted"), None)
        .await;
    let r = app.acs_json(&response).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let s = Session::from_resp(&r);
    assert_eq!(r.body["data"]["user"]["email"], "script@corp.test");
    assert_eq!(r.body["data"]["user"]["name"], "Scripted");
    assert_eq!(r.body["data"]["csrfToken"], s.csrf.as_str());
    assert_eq!(r.body["data"]["expiresIn"], ACCESS_TTL);
    assert!(!r.text.contains(&s.access) && !r.text.contains(&s.refresh));
}

#[tokio::test]
async fn an_empty_json_saml_response_is_a_validation_error() {
    // `/openapi.json` documents `samlResponse` with minLength 1.
    let app = spawn_app().await;
    let r = app
        .post("/auth/saml/login", None, json!({ "samlResponse": "" }))
        .await;
    expect_error(&r, 422, "invalid_argument");
    assert_eq!(error_fields(&r), ["samlResponse"]);
}

// ---------------------------------------------------------------- single use

#[tokio::test]
async fn a_continue_link_works_once() {
    let app = spawn_app().await;
    let start = app.saml_start(None).await;
    let token = app.mock_sso_submit(&start, "twice@corp.test", None).await;
    assert_eq!(app.mock_continue(&token).await.status, 200);
    let r = app.mock_continue(&token).await;
    expect_error(&r, 401, "unauthenticated");
    expect_error(
        &app.mock_continue("made-up-token").await,
        401,
        "unauthenticated",
    );
}

#[tokio::test]
async fn an_expired_continue_link_is_refused() {
    let app = spawn_app().await;
    let start = app.saml_start(None).await;
    let token = app.mock_sso_submit(&start, "slow@corp.test", None).await;
    app.expire_one_time_tokens("saml_mock_consent").await;
    expect_error(&app.mock_continue(&token).await, 401, "unauthenticated");
}

#[tokio::test]
async fn a_mock_response_is_consumed_once() {
    let app = spawn_app().await;
    let (response, _) = app.mock_saml_response("replay@corp.test", None, None).await;
    assert_eq!(app.acs(&response, None).await.status, 303);
    let r = app.acs(&response, None).await;
    expect_error(&r, 401, "unauthenticated");
    assert!(r.cookie("access_token").is_none());
}

// ---------------------------------------------------------------- the built-in IdP

#[tokio::test]
async fn the_mock_idp_answers_only_our_own_requests() {
    let app = spawn_app().await;
    // An AuthnRequest naming another consumer (someone else's SP using our IdP as theirs).
    let evil = SpConfig {
        acs_url: "https://evil.example/acs".into(),
        ..app.sp()
    };
    let req = platform::saml::authn_request(&evil, "_evil1", chrono::Utc::now());
    let foreign = SamlStart::parse(&platform::saml::redirect_url(&evil, &req, None));
    let r = app
        .post_form(
            "/auth/saml/mock/sso",
            &[
                ("SAMLRequest", foreign.saml_request.as_str()),
                ("email", "victim@corp.test"),
            ],
        )
        .await;
    expect_error(&r, 422, "invalid_argument");
    assert_eq!(error_fields(&r), ["SAMLRequest"]);

    // Another issuer.
    let other = SpConfig {
        entity_id: "https://other-sp.example".into(),
        ..app.sp()
    };
    let req = platform::saml::authn_request(&other, "_other1", chrono::Utc::now());
    let foreign = SamlStart::parse(&platform::saml::redirect_url(&other, &req, None));
    let r = app
        .post_form(
            "/auth/saml/mock/sso",
            &[
                ("SAMLRequest", foreign.saml_request.as_str()),
                ("email", "victim@corp.test"),
            ],
        )
        .await;
    expect_error(&r, 422, "invalid_argument");
    assert_eq!(error_fields(&r), ["SAMLRequest"]);

    // Not an AuthnRequest at all.
    let r = app
        .post_form(
            "/auth/saml/mock/sso",
            &[
                ("SAMLRequest", "bm90IGRlZmxhdGU="),
                ("email", "victim@corp.test"),
            ],
        )
        .await;
    expect_error(&r, 422, "invalid_argument");
    assert_eq!(error_fields(&r), ["SAMLRequest"]);
    assert!(app.settled_mails("victim@corp.test").await.is_empty());
}

#[tokio::test]
async fn the_mock_idp_page_escapes_what_it_echoes() {
    let app = spawn_app().await;
    let evil = r#""><script>alert(1)</script>"#;
    let path = format!(
        "/auth/saml/mock/sso?{}",
        form(&[("SAMLRequest", evil), ("RelayState", evil)])
    );
    let r = app.get(&path, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!r.text.contains("<script>alert(1)"), "{}", r.text);
    assert_eq!(input_value(&r.text, "RelayState").as_deref(), Some(evil));
}

#[tokio::test]
async fn the_mock_idp_form_is_validated() {
    let app = spawn_app().await;
    let r = app.post_form("/auth/saml/mock/sso", &[]).await;
    expect_error(&r, 422, "invalid_argument");
    let mut fields = error_fields(&r);
    fields.sort();
    assert_eq!(fields, ["SAMLRequest", "email"]);

    let start = app.saml_start(None).await;
    let r = app
        .post_form(
            "/auth/saml/mock/sso",
            &[
                ("SAMLRequest", start.saml_request.as_str()),
                ("email", "not-an-address"),
            ],
        )
        .await;
    expect_error(&r, 422, "invalid_argument");
    assert_eq!(error_fields(&r), ["email"]);
}

#[tokio::test]
async fn the_mock_idp_is_closed_in_live_mode() {
    let app = spawn_app_with(live_saml).await;
    let r = app.get("/auth/saml/mock/sso?SAMLRequest=abc", None).await;
    expect_error(&r, 400, "failed_precondition");
    let r = app
        .post_form(
            "/auth/saml/mock/sso",
            &[("SAMLRequest", "abc"), ("email", "x@corp.test")],
        )
        .await;
    expect_error(&r, 400, "failed_precondition");
    let r = app.mock_continue("whatever").await;
    expect_error(&r, 400, "failed_precondition");
    assert!(app.settled_mails("x@corp.test").await.is_empty());
}

// ---------------------------------------------------------------- start and consumer

#[tokio::test]
async fn redirect_to_outside_the_app_is_refused() {
    let app = spawn_app().await;
    for to in [
        "https://evil.example/",
        "//evil.example/x",
        "javascript:alert(1)",
        "http://app.test.evil.example/",
    ] {
        let path = format!("/auth/saml/login?{}", form(&[("redirectTo", to)]));
        let r = app.get(&path, None).await;
        expect_error(&r, 422, "invalid_argument");
        assert_eq!(error_fields(&r), ["redirectTo"], "{to}: {}", r.text);
        assert!(r.header("location").is_none());

        let r = app
            .post("/auth/saml/login", None, json!({ "redirectTo": to }))
            .await;
        expect_error(&r, 422, "invalid_argument");
        assert_eq!(error_fields(&r), ["redirectTo"], "{to}: {}", r.text);
    }
}

#[tokio::test]
async fn the_consumer_needs_a_saml_response() {
    let app = spawn_app().await;
    for pairs in [
        vec![],
        vec![("RelayState", "http://app.test/")],
        vec![("SAMLResponse", "")],
    ] {
        let r = app.post_form("/auth/saml/login", &pairs).await;
        expect_error(&r, 422, "invalid_argument");
        assert_eq!(error_fields(&r), ["SAMLResponse"], "{pairs:?}: {}", r.text);
    }
    // Garbage is not a validation problem but a refused sign-in.
    let r = app.acs("not base64 !!", None).await;
    expect_error(&r, 401, "unauthenticated");
    let r = app.acs(&STANDARD.encode("<notsaml/>"), None).await;
    expect_error(&r, 401, "unauthenticated");
}

#[tokio::test]
async fn an_oversized_saml_form_is_413() {
    let app = spawn_app().await;
    let big = "A".repeat(2 * 1024 * 1024);
    let r = app.acs(&big, None).await;
    expect_error(&r, 413, "resource_exhausted");
}

#[tokio::test]
async fn a_chunked_saml_form_over_the_limit_is_413_in_crenoir_shape() {
    // No Content-Length to refuse up front: the limit is found while reading (it was 400).
    let app = spawn_app().await;
    let chunk = "A".repeat(64 * 1024);
    let mut body = String::from("d\r\nSAMLResponse=\r\n");
    for _ in 0..20 {
        body.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    body.push_str("0\r\n\r\n");
    let head = "POST /auth/saml/login HTTP/1.1\r\nhost: test\r\n\
                content-type: application/x-www-form-urlencoded\r\n\
                transfer-encoding: chunked\r\nconnection: close\r\n\r\n";
    let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    // The server may answer and close before it has read everything.
    let _ = s.write_all(body.as_bytes()).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(30), s.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out);
    let (headers, rest) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(headers.starts_with("HTTP/1.1 413"), "{headers}");
    let json = &rest[rest.find('{').unwrap_or(0)..rest.rfind('}').map_or(rest.len(), |i| i + 1)];
    let v: serde_json::Value =
        serde_json::from_str(json).unwrap_or_else(|_| panic!("not JSON: {rest}"));
    assert_eq!(v["error"]["code"], "resource_exhausted", "{rest}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
}
