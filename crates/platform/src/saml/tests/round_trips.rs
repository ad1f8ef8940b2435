//! Responses of our mock IdP that must validate, and what they yield.

use chrono::{TimeDelta, TimeZone, Utc};

use super::{IDP, decode, encode, now, replace_once, signed_after, signer, spec, validate};
use crate::saml::{NAMEID_FORMAT_EMAIL, ResponseSpec, SamlError, SignTarget};

#[test]
fn a_signed_response_validates_for_every_sign_target() {
    for target in [
        SignTarget::Assertion,
        SignTarget::Response,
        SignTarget::Both,
    ] {
        let spec = ResponseSpec {
            sign: target,
            ..spec()
        };
        let assertion = validate(&signer().signed_response(&spec))
            .unwrap_or_else(|e| panic!("{target:?}: {e}"));
        assert_eq!(assertion.id, spec.assertion_id);
        assert_eq!(assertion.issuer, IDP);
        assert_eq!(assertion.in_response_to.as_deref(), Some("_req1"));
        assert_eq!(assertion.name_id, "ada@example.com");
        assert_eq!(
            assertion.name_id_format.as_deref(),
            Some(NAMEID_FORMAT_EMAIL)
        );
        assert_eq!(assertion.session_index, spec.session_index);
        assert_eq!(assertion.not_on_or_after, now() + TimeDelta::minutes(5));
        assert_eq!(assertion.attributes["groups"], vec!["a", "b & c"]);
        assert_eq!(assertion.email().as_deref(), Some("ada@example.com"));
        assert_eq!(assertion.display_name().as_deref(), Some("Ada Lovelace"));
    }
}

#[test]
fn an_unsolicited_response_has_no_in_response_to() {
    let spec = ResponseSpec {
        in_response_to: None,
        ..spec()
    };
    assert_eq!(
        validate(&signer().signed_response(&spec))
            .unwrap()
            .in_response_to,
        None
    );
}

#[test]
fn in_response_to_of_an_unsigned_envelope_is_not_believed() {
    // Only the Assertion is signed and it answers no request: an InResponseTo added to the
    // envelope must not turn it into an answer to one of our requests.
    let spec = ResponseSpec {
        in_response_to: None,
        ..spec()
    };
    let xml = decode(&signer().signed_response(&spec));
    let xml = replace_once(
        &xml,
        "Destination=\"https://sp.example.com/acs\"",
        "Destination=\"https://sp.example.com/acs\" InResponseTo=\"_stolen\"",
    );
    assert_eq!(validate(&encode(&xml)).unwrap().in_response_to, None);
}

#[test]
fn in_response_to_must_agree_between_response_and_assertion() {
    let xml = decode(&signer().signed_response(&spec()));
    let xml = replace_once(&xml, "InResponseTo=\"_req1\">", "InResponseTo=\"_other\">");
    assert_eq!(validate(&encode(&xml)), Err(SamlError::InResponseTo));
}

#[test]
fn base64_with_line_breaks_is_accepted() {
    let b64 = signer().signed_response(&spec());
    let wrapped: Vec<String> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    assert!(validate(&wrapped.join("\r\n")).is_ok());
}

#[test]
fn times_with_offsets_and_fractions_are_understood() {
    let b64 = signed_after(&spec(), |xml| {
        xml.replace(
            "NotOnOrAfter=\"2024-05-01T12:05:00Z\"",
            "NotOnOrAfter=\"2024-05-01T14:04:59.25+02:00\"",
        )
    });
    let assertion = validate(&b64).unwrap();
    assert_eq!(
        assertion.not_on_or_after,
        Utc.with_ymd_and_hms(2024, 5, 1, 12, 4, 59).unwrap() + TimeDelta::milliseconds(250)
    );
    let b64 = signed_after(&spec(), |xml| {
        xml.replace("2024-05-01T12:05:00Z", "2024-05-01T12:05:00")
    });
    assert!(matches!(validate(&b64), Err(SamlError::Malformed(_))));
}

#[test]
fn the_earliest_end_of_validity_is_reported() {
    let b64 = signed_after(&spec(), |xml| {
        replace_once(
            &xml,
            "Conditions NotBefore=\"2024-05-01T12:00:00Z\" NotOnOrAfter=\"2024-05-01T12:05:00Z\"",
            "Conditions NotBefore=\"2024-05-01T12:00:00Z\" NotOnOrAfter=\"2024-05-01T12:03:00Z\"",
        )
    });
    assert_eq!(
        validate(&b64).unwrap().not_on_or_after,
        now() + TimeDelta::minutes(3)
    );
}

#[test]
fn any_field_content_yields_a_well_formed_response() {
    let spec = ResponseSpec {
        name_id: "odd\u{1}<name>&\"".into(),
        attributes: vec![("displayName".into(), vec!["tab\tnul\u{0}".into()])],
        ..spec()
    };
    let assertion = validate(&signer().signed_response(&spec)).unwrap();
    assert_eq!(assertion.name_id, "odd\u{FFFD}<name>&\"");
    assert_eq!(
        assertion.attributes["displayName"],
        vec!["tab\tnul\u{FFFD}"]
    );
}
