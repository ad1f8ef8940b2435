//! Responses signed by xmlsec1, a real XML-DSig implementation (see fixtures/README.md).

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use super::{IDP_CRT, decode, encode, replace_once, signer, slice, spec};
use crate::saml::{
    IdpConfig, IdpKey, IdpSigner, ResponseSpec, SamlError, SignTarget, SpConfig, validate_response,
};

fn fixture_sp() -> SpConfig {
    SpConfig {
        entity_id: "https://sp.example.com/saml/metadata".into(),
        acs_url: "https://sp.example.com/saml/acs".into(),
        idp: IdpConfig {
            entity_id: String::new(),
            sso_url: "https://idp.example.com/sso".into(),
            key: IdpKey::from_certificate_pem(IDP_CRT).unwrap(),
        },
    }
}

fn okta_sp() -> SpConfig {
    let mut sp = fixture_sp();
    sp.idp.entity_id = "http://www.okta.com/exk1fixture".into();
    sp
}

fn adfs_sp() -> SpConfig {
    let mut sp = fixture_sp();
    sp.idp.entity_id = "http://adfs.example.com/adfs/services/trust".into();
    sp
}

const OKTA: &str = include_str!("../fixtures/okta_response.xml");
const ADFS: &str = include_str!("../fixtures/adfs_response.xml");
const DEFAULT_C14N: &str = include_str!("../fixtures/default_c14n_response.xml");

fn default_c14n_sp() -> SpConfig {
    let mut sp = fixture_sp();
    sp.idp.entity_id = "https://sso.example.org/idp".into();
    sp
}

fn default_c14n_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 9, 1, 0).unwrap()
}

fn okta_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 12, 1, 0).unwrap()
}

fn adfs_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 10, 1, 0).unwrap()
}

#[test]
fn an_xmlsec1_signed_assertion_with_a_prefix_list_validates() {
    let assertion = validate_response(&okta_sp(), &encode(OKTA), okta_now()).unwrap();
    assert_eq!(assertion.id, "id1759fixtureassertion");
    assert_eq!(assertion.in_response_to.as_deref(), Some("_req-fixture-1"));
    assert_eq!(assertion.name_id, "ada.lovelace@example.com");
    assert_eq!(
        assertion.session_index.as_deref(),
        Some("_session-fixture-1")
    );
    assert_eq!(
        assertion.not_on_or_after,
        Utc.with_ymd_and_hms(2024, 5, 1, 12, 5, 0).unwrap() + TimeDelta::milliseconds(215)
    );
    assert_eq!(assertion.attributes["lastName"], vec!["Lovelace & <Byron>"]);
    assert_eq!(
        assertion.attributes["groups"],
        vec!["engineering", "analytical-engines"]
    );
    assert_eq!(
        assertion.email().as_deref(),
        Some("ada.lovelace@example.com")
    );
    assert_eq!(
        assertion.display_name().as_deref(),
        Some("Ada Lovelace & <Byron>")
    );
}

#[test]
fn an_xmlsec1_signed_response_with_default_namespaces_and_inclusive_c14n_validates() {
    // Response signed with exc-c14n, Assertion with inclusive c14n (which pulls the
    // Response's namespaces and xml:lang into the Assertion's canonical form).
    let assertion = validate_response(&adfs_sp(), &encode(ADFS), adfs_now()).unwrap();
    assert_eq!(assertion.id, "_adfs-fixture-assertion");
    assert_eq!(assertion.in_response_to.as_deref(), Some("_req-fixture-2"));
    assert_eq!(assertion.name_id, "EXAMPLE\\ada A");
    assert_eq!(assertion.email().as_deref(), Some("ada@example.com"));
    assert_eq!(
        assertion.display_name().as_deref(),
        Some("Ada <the first> Lovelace")
    );
    assert_eq!(
        assertion.not_on_or_after,
        Utc.with_ymd_and_hms(2024, 5, 1, 10, 5, 0).unwrap() + TimeDelta::milliseconds(500)
    );
}

#[test]
fn a_reference_with_only_the_enveloped_signature_transform_means_canonical_xml_1_0() {
    // Both signatures: a Reference whose only transform is enveloped-signature, SignedInfo in
    // Canonical XML 1.0, as .NET's SignedXml and several IdPs write them. The Assertion's
    // canonical form then carries the four namespaces the Response declares.
    let assertion = validate_response(
        &default_c14n_sp(),
        &encode(DEFAULT_C14N),
        default_c14n_now(),
    )
    .unwrap();
    assert_eq!(assertion.id, "_dflt-fixture-assertion");
    assert_eq!(assertion.in_response_to.as_deref(), Some("_req-fixture-3"));
    assert_eq!(assertion.name_id, "grace.hopper@example.org");
    assert_eq!(assertion.display_name().as_deref(), Some("Grace Hopper"));

    // The default is inclusive: the namespaces in scope at the Assertion are part of what its
    // signature covers, even one it does not use (exclusive c14n would leave it out).
    let only_assertion_signed = {
        let response_signature = slice(DEFAULT_C14N, "<ds:Signature", "</ds:Signature>");
        replace_once(DEFAULT_C14N, response_signature, "")
    };
    assert!(
        validate_response(
            &default_c14n_sp(),
            &encode(&only_assertion_signed),
            default_c14n_now()
        )
        .is_ok()
    );
    let unused = replace_once(
        &only_assertion_signed,
        "<samlp:Response ",
        "<samlp:Response xmlns:unused=\"urn:unused\" ",
    );
    // (SignedInfo, in Canonical XML 1.0 too, inherits it as well, so the signature value
    // fails before the digest is compared.)
    assert!(matches!(
        validate_response(&default_c14n_sp(), &encode(&unused), default_c14n_now()),
        Err(SamlError::Signature(_))
    ));
    let tampered = replace_once(
        DEFAULT_C14N,
        ">grace.hopper@example.org</saml:NameID>",
        ">eve@example.org</saml:NameID>",
    );
    assert!(matches!(
        validate_response(&default_c14n_sp(), &encode(&tampered), default_c14n_now()),
        Err(SamlError::Signature(_))
    ));
}

#[test]
fn xmlsec1_signed_fixtures_detect_tampering() {
    let tampered = replace_once(OKTA, "ada.lovelace@example.com", "eve@example.com");
    assert!(matches!(
        validate_response(&okta_sp(), &encode(&tampered), okta_now()),
        Err(SamlError::Signature(_))
    ));
    // Inside the inclusively canonicalised Assertion, via the Response signature too.
    let tampered = replace_once(
        ADFS,
        "<AttributeValue>ada@example.com<",
        "<AttributeValue>eve@example.com<",
    );
    assert!(matches!(
        validate_response(&adfs_sp(), &encode(&tampered), adfs_now()),
        Err(SamlError::Signature(_))
    ));
    // An inherited xml:lang is part of the inclusive form of the Assertion.
    let tampered = replace_once(ADFS, "xml:lang=\"en\"", "xml:lang=\"fr\"");
    assert!(matches!(
        validate_response(&adfs_sp(), &encode(&tampered), adfs_now()),
        Err(SamlError::Signature(_))
    ));
    // The comment-truncation attack on a real signature: still verifies, still refused.
    let split = replace_once(
        OKTA,
        ">ada.lovelace@example.com<",
        ">ada.lovelace@<!---->example.com<",
    );
    assert_eq!(
        validate_response(&okta_sp(), &encode(&split), okta_now()),
        Err(SamlError::Malformed("NameID must be plain text"))
    );
}

#[test]
fn the_certificate_in_key_info_is_not_trusted() {
    // The fixture carries its certificate in KeyInfo; an SP configured with another key
    // must still refuse it.
    let mut sp = okta_sp();
    sp.idp.key = IdpSigner::generate().unwrap().public_key();
    assert_eq!(
        validate_response(&sp, &encode(OKTA), okta_now()),
        Err(SamlError::Signature("the signature does not verify"))
    );
}

/// Writes responses of our mock IdP for a manual check with xmlsec1 (see fixtures/README.md).
#[test]
#[ignore = "writes files for a manual xmlsec1 --verify check"]
fn write_mock_responses_for_xmlsec1() {
    let dir = std::env::temp_dir().join("basalt-saml-interop");
    std::fs::create_dir_all(&dir).unwrap();
    let signer = signer();
    for target in [
        SignTarget::Assertion,
        SignTarget::Response,
        SignTarget::Both,
    ] {
        let spec = ResponseSpec {
            sign: target,
            assertion_id: "_mock-assertion".into(),
            response_id: "_mock-response".into(),
            ..spec()
        };
        let path = dir.join(format!("{target:?}.xml").to_lowercase());
        std::fs::write(&path, decode(&signer.signed_response(&spec))).unwrap();
        println!("{}", path.display());
    }
}
