//! End-to-end tests of `validate_response`: responses from our mock IdP (round trips and every
//! refusal), and responses signed by xmlsec1, a real XML-DSig implementation (fixtures). This
//! file holds the shared helpers.

mod assertion;
mod conditions;
mod interop;
mod limits;
mod round_trips;
mod signatures;
mod wrapping;

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{DateTime, TimeZone, Utc};

use super::{
    Assertion, IdpConfig, IdpSigner, ResponseSpec, SamlError, SignTarget, SpConfig, dsig, idp,
    validate_response,
};

const IDP: &str = "https://idp.example.com/metadata";
const IDP_KEY: &str = include_str!("../fixtures/idp.key");
const IDP_CRT: &str = include_str!("../fixtures/idp.crt");

fn signer() -> IdpSigner {
    IdpSigner::from_pkcs8_pem(IDP_KEY).unwrap()
}

fn sp() -> SpConfig {
    SpConfig {
        entity_id: "https://sp.example.com/metadata".into(),
        acs_url: "https://sp.example.com/acs".into(),
        idp: IdpConfig {
            entity_id: IDP.into(),
            sso_url: "https://idp.example.com/sso".into(),
            key: signer().public_key(),
        },
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap()
}

fn spec() -> ResponseSpec {
    let mut spec = ResponseSpec::new(IDP, &sp(), "ada@example.com", now());
    spec.in_response_to = Some("_req1".into());
    spec.attributes = vec![
        ("displayName".into(), vec!["Ada Lovelace".into()]),
        ("groups".into(), vec!["a".into(), "b & c".into()]),
    ];
    spec
}

fn validate(b64: &str) -> Result<Assertion, SamlError> {
    validate_response(&sp(), b64, now())
}

fn decode(b64: &str) -> String {
    String::from_utf8(STANDARD.decode(b64).unwrap()).unwrap()
}

fn encode(xml: &str) -> String {
    STANDARD.encode(xml)
}

/// `haystack` with the one occurrence of `from` replaced: a test edit that silently matched
/// nothing would prove nothing.
fn replace_once(haystack: &str, from: &str, to: &str) -> String {
    assert_eq!(haystack.matches(from).count(), 1, "expected one {from:?}");
    haystack.replacen(from, to, 1)
}

/// The text from the first `start` to the end of the first `end` after it.
fn slice<'a>(xml: &'a str, start: &str, end: &str) -> &'a str {
    let from = xml.find(start).unwrap();
    let to = from + xml[from..].find(end).unwrap() + end.len();
    &xml[from..to]
}

/// A response built from `spec`, edited by `edit` before it is signed, then signed as
/// `spec.sign` says: for well-signed documents that break a rule.
fn signed_after(spec: &ResponseSpec, edit: impl Fn(String) -> String) -> String {
    let mut xml = edit(idp::response_xml(spec));
    if matches!(spec.sign, SignTarget::Assertion | SignTarget::Both) {
        xml = dsig::sign(xml, idp::the_assertion, &signer()).unwrap();
    }
    if matches!(spec.sign, SignTarget::Response | SignTarget::Both) {
        xml = dsig::sign(xml, idp::the_response, &signer()).unwrap();
    }
    encode(&xml)
}
