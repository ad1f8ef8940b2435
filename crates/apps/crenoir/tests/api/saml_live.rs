//! SAML sign-in in LIVE mode against the fixture IdP: the tests sign its responses (and
//! spoil them) with the fixture key whose certificate the product trusts. Also the SP
//! metadata, and LIVE mode without an IdP.

use base64::{Engine, engine::general_purpose::STANDARD};
use platform::{
    datamode::Mode,
    saml::{IdpSigner, ResponseSpec, SignTarget, SpConfig},
};
use serde_json::json;

use crate::helpers::*;

/// A valid answer of the fixture IdP to `start`, for `email`, named Ada Admin.
fn answer(app: &TestApp, start: &SamlStart, email: &str) -> ResponseSpec {
    let mut spec = ResponseSpec::new(IDP_ENTITY_ID, &app.sp(), email, chrono::Utc::now());
    spec.in_response_to = Some(start.request_id());
    spec.attributes = vec![
        ("givenName".into(), vec!["Ada".into()]),
        ("sn".into(), vec!["Admin".into()]),
    ];
    spec
}

/// The XML of a base64 response.
fn xml_of(response: &str) -> String {
    String::from_utf8(STANDARD.decode(response).unwrap()).unwrap()
}

/// Replaces `from` by `to` inside a base64 response, keeping its signature.
fn tamper(response: &str, from: &str, to: &str) -> String {
    let xml = xml_of(response);
    assert!(xml.contains(from), "{from} not in the response");
    STANDARD.encode(xml.replace(from, to))
}

/// A signed response with its signature element cut out.
fn unsigned(response: &str) -> String {
    let xml = xml_of(response);
    let start = xml.find("<ds:Signature").expect("a signature");
    let end = xml.find("</ds:Signature>").expect("its end") + "</ds:Signature>".len();
    STANDARD.encode(format!("{}{}", &xml[..start], &xml[end..]))
}

// ---------------------------------------------------------------- valid responses

#[tokio::test]
async fn live_saml_starts_at_the_configured_idp() {
    let app = spawn_app_with(live_saml).await;
    let start = app.saml_start(Some("http://app.test/calendar")).await;
    assert!(
        start
            .url
            .as_str()
            .starts_with(&format!("{IDP_SSO_URL}?SAMLRequest=")),
        "{}",
        start.url
    );
    assert_eq!(
        start.relay_state.as_deref(),
        Some("http://app.test/calendar")
    );
    let req = platform::saml::decode_redirect_request(&start.saml_request).unwrap();
    assert_eq!(req.issuer, Some(app.sp().entity_id));
    assert_eq!(req.acs_url, Some(app.sp().acs_url));
}

#[tokio::test]
async fn a_valid_live_response_signs_in_and_provisions_a_member() {
    let app = spawn_app_with(live_saml).await;
    let start = app.saml_start(Some("http://app.test/welcome")).await;
    let response = idp_signer().signed_response(&answer(&app, &start, "ada@corp.test"));
    let r = app.acs(&response, start.relay_state.as_deref()).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(r.header("location"), Some("http://app.test/welcome"));
    let s = Session::from_resp(&r);
    let p = app.profile(&s.access).await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert_eq!(p.body["data"]["email"], "ada@corp.test");
    assert_eq!(p.body["data"]["name"], "Ada Admin");
    assert_eq!(p.body["data"]["role"], "member");
    let user = app
        .ctx
        .identity
        .user_by_email("ada@corp.test")
        .await
        .unwrap()
        .expect("provisioned");
    let links = app.ctx.identity.external_identities(user.id).await.unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].provider, "saml");
    assert_eq!(links[0].subject, format!("{IDP_ENTITY_ID}|ada@corp.test"));

    // The next sign-in of the same NameID is the same account.
    let start = app.saml_start(None).await;
    let response = idp_signer().signed_response(&answer(&app, &start, "ada@corp.test"));
    let r = app.acs_json(&response).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["data"]["user"]["id"], user.id.to_string());
}

#[tokio::test]
async fn a_response_signed_on_the_response_element_is_accepted_too() {
    let app = spawn_app_with(live_saml).await;
    for sign in [SignTarget::Response, SignTarget::Both] {
        let start = app.saml_start(None).await;
        let mut spec = answer(&app, &start, "both@corp.test");
        spec.sign = sign;
        let r = app.acs(&idp_signer().signed_response(&spec), None).await;
        assert_eq!(r.status, 303, "{sign:?}: {}", r.text);
    }
}

#[tokio::test]
async fn a_long_display_name_from_the_idp_does_not_block_the_sign_in() {
    // The directory's display name is the IdP's business; the account's name allows 100.
    let app = spawn_app_with(live_saml).await;
    let start = app.saml_start(None).await;
    let mut spec = answer(&app, &start, "verbose@corp.test");
    spec.attributes = vec![("displayName".into(), vec!["Maximilian ".repeat(15)])];
    let r = app.acs(&idp_signer().signed_response(&spec), None).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let s = Session::from_resp(&r);
    let p = app.profile(&s.access).await;
    let name = p.body["data"]["name"].as_str().unwrap();
    assert!(
        !name.trim().is_empty() && name.chars().count() <= 100,
        "{name}"
    );
}

// ---------------------------------------------------------------- refused responses

#[tokio::test]
async fn spoiled_live_responses_are_refused_without_effect() {
    let app = spawn_app_with(live_saml).await;
    let start = app.saml_start(None).await;
    let signer = idp_signer();
    let stranger = IdpSigner::generate().unwrap();
    let now = chrono::Utc::now();
    let spec = || answer(&app, &start, "eve@corp.test");
    let with = |f: &dyn Fn(&mut ResponseSpec)| {
        let mut s = spec();
        f(&mut s);
        signer.signed_response(&s)
    };

    let cases: Vec<(&str, String)> = vec![
        (
            "tampered NameID",
            tamper(
                &signer.signed_response(&spec()),
                ">eve@corp.test<",
                ">mallory@corp.test<",
            ),
        ),
        (
            "tampered attribute",
            tamper(&signer.signed_response(&spec()), ">Ada<", ">Mallory<"),
        ),
        ("signed by another key", stranger.signed_response(&spec())),
        (
            "expired",
            with(&|s| {
                s.issue_instant = now - chrono::Duration::hours(1);
                s.not_before = now - chrono::Duration::hours(1);
                s.not_on_or_after = now - chrono::Duration::minutes(10);
            }),
        ),
        (
            "not yet valid",
            with(&|s| s.not_before = now + chrono::Duration::minutes(10)),
        ),
        (
            "wrong audience",
            with(&|s| s.audience = "https://another-sp.example/metadata".into()),
        ),
        (
            "wrong recipient",
            with(&|s| s.recipient = "https://another-sp.example/acs".into()),
        ),
        (
            "wrong destination",
            with(&|s| s.destination = Some("https://another-sp.example/acs".into())),
        ),
        (
            "another issuer",
            with(&|s| s.idp_entity_id = "https://evil-idp.example".into()),
        ),
        ("failed status", with(&|s| s.status_success = false)),
        ("unsigned", unsigned(&signer.signed_response(&spec()))),
        (
            "unsigned and tampered",
            tamper(
                &unsigned(&signer.signed_response(&spec())),
                ">eve@corp.test<",
                ">mallory@corp.test<",
            ),
        ),
    ];
    for (case, response) in cases {
        let r = app.acs(&response, None).await;
        assert_eq!(r.status, 401, "{case}: {}", r.text);
        expect_error(&r, 401, "unauthenticated");
        assert!(r.cookie("access_token").is_none(), "{case}");
    }
    for email in ["eve@corp.test", "mallory@corp.test"] {
        let none = app.ctx.identity.user_by_email(email).await.unwrap();
        assert!(none.is_none(), "{email} was provisioned");
    }
    // The control: refusals spent nothing, and the untouched answer to the same request passes.
    let r = app.acs(&signer.signed_response(&spec()), None).await;
    assert_eq!(r.status, 303, "{}", r.text);
}

#[tokio::test]
async fn hostile_xml_is_refused_by_the_limits_with_a_clear_401() {
    // Finding 9 of issue 12: thousands of nested namespace declarations pinned a core for
    // minutes, a 12,000-entry PrefixList took seconds. Both now stop at the structural limits,
    // before any parsing, and answer in Crenoir's shape.
    let app = spawn_app_with(live_saml).await;
    let start = app.saml_start(None).await;
    let mut nested = String::from(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_h" Version="2.0" IssueInstant="2024-05-01T12:00:00Z">"#,
    );
    for i in 0..6_000 {
        nested.push_str(&format!(r#"<x xmlns:n{i}="u{i}">"#));
    }
    nested.push_str(&"</x>".repeat(6_000));
    nested.push_str("</samlp:Response>");

    let list: Vec<String> = (0..12_000).map(|i| format!("p{i}")).collect();
    let signed = idp_signer().signed_response(&answer(&app, &start, "list@corp.test"));
    let prefix_list = tamper(
        &signed,
        r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#,
        &format!(
            r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"><ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="{}"/></ds:Transform>"#,
            list.join(" ")
        ),
    );
    for (case, response, limit) in [
        (
            "nested namespaces",
            STANDARD.encode(&nested),
            "namespace declarations in scope",
        ),
        ("PrefixList", prefix_list, "PrefixList entries"),
    ] {
        let r = app.acs(&response, None).await;
        expect_error(&r, 401, "unauthenticated");
        let message = r.error()["message"].as_str().unwrap();
        assert!(
            message.contains("exceeds a limit") && message.contains(limit),
            "{case}: {message}"
        );
        assert!(r.cookie("access_token").is_none(), "{case}");
    }
    // Nothing was spent: the untouched answer to the same request signs in.
    let r = app.acs(&signed, None).await;
    assert_eq!(r.status, 303, "{}", r.text);
}

#[tokio::test]
async fn a_replayed_live_response_is_refused() {
    let app = spawn_app_with(live_saml).await;
    let start = app.saml_start(None).await;
    let response = idp_signer().signed_response(&answer(&app, &start, "rep@corp.test"));
    let first = app.acs(&response, None).await;
    assert_eq!(first.status, 303, "{}", first.text);
    let again = app.acs(&response, None).await;
    expect_error(&again, 401, "unauthenticated");
    assert!(again.cookie("access_token").is_none());
}

#[tokio::test]
async fn a_replayed_assertion_id_is_refused_even_for_a_new_request() {
    // The replay cache, not only the single-use request, stops an assertion coming back.
    let app = spawn_app_with(live_saml).await;
    let first = app.saml_start(None).await;
    let spec = answer(&app, &first, "cache@corp.test");
    let r = app.acs(&idp_signer().signed_response(&spec), None).await;
    assert_eq!(r.status, 303, "{}", r.text);

    let second = app.saml_start(None).await;
    let mut again = answer(&app, &second, "cache@corp.test");
    again.assertion_id = spec.assertion_id.clone();
    let r = app.acs(&idp_signer().signed_response(&again), None).await;
    expect_error(&r, 401, "unauthenticated");
    assert!(
        r.error()["message"]
            .as_str()
            .unwrap()
            .contains("already used"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn unsolicited_and_unknown_responses_are_refused() {
    let app = spawn_app_with(live_saml).await;
    let start = app.saml_start(None).await;
    let signer = idp_signer();
    let cases = [
        ("unsolicited", None),
        (
            "unknown request",
            Some("_0123456789abcdef0123456789abcdef".to_owned()),
        ),
        ("not one of ours", Some("id-from-elsewhere".to_owned())),
    ];
    for (case, in_response_to) in cases {
        let mut spec = answer(&app, &start, "idp-init@corp.test");
        spec.in_response_to = in_response_to;
        let r = app.acs(&signer.signed_response(&spec), None).await;
        assert_eq!(r.status, 401, "{case}: {}", r.text);
        expect_error(&r, 401, "unauthenticated");
    }
    let none = app.ctx.identity.user_by_email("idp-init@corp.test").await;
    assert!(none.unwrap().is_none());
}

#[tokio::test]
async fn a_response_to_an_expired_request_is_refused() {
    let app = spawn_app_with(live_saml).await;
    let start = app.saml_start(None).await;
    app.expire_one_time_tokens("saml_request").await;
    let response = idp_signer().signed_response(&answer(&app, &start, "old@corp.test"));
    expect_error(&app.acs(&response, None).await, 401, "unauthenticated");
}

#[tokio::test]
async fn a_response_started_in_one_browser_is_refused_in_another() {
    // Login CSRF: the attacker starts a sign-in in their own browser, signs in at the IdP as
    // themselves, and makes the victim's browser post the response. Nothing of the start
    // (no cookie) reaches the consumer here, as in the victim's browser.
    let app = spawn_app_with(live_saml).await;
    let r = app.get("/auth/saml/login", None).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let start = SamlStart::parse(r.header("location").unwrap());
    let response = idp_signer().signed_response(&answer(&app, &start, "attacker@corp.test"));
    let r = app.acs(&response, None).await;
    expect_error(&r, 401, "unauthenticated");
    assert!(
        r.error()["message"]
            .as_str()
            .unwrap()
            .contains("not started in this browser")
    );

    // Nor when the victim's browser has a sign-in of its own under way: the cookie names that
    // one. The attacker's response still answers a live request, which the refusal did not spend.
    let _victims = app.saml_start(None).await;
    expect_error(&app.acs(&response, None).await, 401, "unauthenticated");
    let attacker = app.ctx.identity.user_by_email("attacker@corp.test").await;
    assert!(attacker.unwrap().is_none(), "nobody was signed in");
}

#[tokio::test]
async fn a_mock_idp_response_is_refused_once_live() {
    // The mock IdP's key is trusted in MOCK mode only: once LIVE, its response is refused.
    let app = spawn_app_with(|s| {
        live_saml(s);
        s.data_mode = Mode::Mock;
    })
    .await;
    let (response, _) = app.mock_saml_response("flip@corp.test", None, None).await;
    app.ctx.data_mode.switch(Mode::Live, None).await.unwrap();
    let r = app.acs(&response, None).await;
    expect_error(&r, 401, "unauthenticated");
}

// ---------------------------------------------------------------- configuration and metadata

#[tokio::test]
async fn live_saml_without_an_idp_is_unavailable() {
    let app = spawn_app_with(|s| s.data_mode = Mode::Live).await;
    let r = app.get("/auth/saml/login", None).await;
    expect_error(&r, 503, "unavailable");
    assert!(
        r.error()["message"]
            .as_str()
            .unwrap()
            .contains("SAML_IDP_CERT")
    );
    let r = app.post("/auth/saml/login", None, json!({})).await;
    expect_error(&r, 503, "unavailable");
    let r = app.acs("PHNhbWxwOlJlc3BvbnNlLz4=", None).await;
    expect_error(&r, 503, "unavailable");
}

#[tokio::test]
async fn a_certificate_that_does_not_parse_stops_the_start() {
    let r = try_spawn_app_with(|s| {
        live_saml(s);
        s.saml.idp_certificate =
            Some("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----".into());
    })
    .await;
    let err = r.err().expect("the build fails");
    assert!(format!("{err:#}").contains("SAML_IDP_CERT"), "{err:#}");
}

#[tokio::test]
async fn metadata_names_our_entity_id_and_consumer() {
    for live in [false, true] {
        let app = if live {
            spawn_app_with(live_saml).await
        } else {
            spawn_app().await
        };
        let r = app.get("/auth/saml/metadata", None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            r.header("content-type"),
            Some("application/samlmetadata+xml")
        );
        let sp = app.sp();
        assert!(
            r.text.contains(&format!(r#"entityID="{}""#, sp.entity_id)),
            "{}",
            r.text
        );
        assert!(
            r.text.contains(&format!(r#"Location="{}""#, sp.acs_url)),
            "{}",
            r.text
        );
        assert!(
            r.text
                .contains("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST")
        );
        assert!(r.text.contains(r#"WantAssertionsSigned="true""#));
    }
}

#[tokio::test]
async fn a_configured_sp_entity_id_is_used_in_metadata_requests_and_audience() {
    let custom = "urn:crenoir:test-sp";
    let app = spawn_app_with(|s| {
        live_saml(s);
        s.saml.sp_entity_id = Some(custom.into());
    })
    .await;
    let r = app.get("/auth/saml/metadata", None).await;
    assert!(
        r.text.contains(&format!(r#"entityID="{custom}""#)),
        "{}",
        r.text
    );

    let start = app.saml_start(None).await;
    let req = platform::saml::decode_redirect_request(&start.saml_request).unwrap();
    assert_eq!(req.issuer.as_deref(), Some(custom));

    // The default audience is now someone else's.
    let spec = answer(&app, &start, "aud@corp.test");
    let r = app.acs(&idp_signer().signed_response(&spec), None).await;
    expect_error(&r, 401, "unauthenticated");
    let sp = SpConfig {
        entity_id: custom.into(),
        ..app.sp()
    };
    let mut spec = ResponseSpec::new(IDP_ENTITY_ID, &sp, "aud@corp.test", chrono::Utc::now());
    spec.in_response_to = Some(start.request_id());
    let r = app.acs(&idp_signer().signed_response(&spec), None).await;
    assert_eq!(r.status, 303, "{}", r.text);
}
