//! Refusals about time, audience, addressing, issuer and status.

use chrono::TimeDelta;

use super::{
    IDP, decode, encode, now, replace_once, signed_after, signer, slice, sp, spec, validate,
};
use crate::saml::{CLOCK_SKEW, ResponseSpec, SamlError, SignTarget, validate_response};

#[test]
fn validity_windows_allow_the_clock_skew_and_no_more() {
    let b64 = signer().signed_response(&spec());
    let end = now() + TimeDelta::minutes(5);
    let at = |t| validate_response(&sp(), &b64, t);
    assert!(at(end + CLOCK_SKEW - TimeDelta::seconds(1)).is_ok());
    assert_eq!(at(end + CLOCK_SKEW), Err(SamlError::Expired));
    assert!(at(now() - CLOCK_SKEW).is_ok());
    assert_eq!(
        at(now() - CLOCK_SKEW - TimeDelta::seconds(1)),
        Err(SamlError::NotYetValid)
    );
}

#[test]
fn an_expired_subject_confirmation_is_refused() {
    let b64 = signed_after(&spec(), |xml| {
        replace_once(
            &xml,
            "NotOnOrAfter=\"2024-05-01T12:05:00Z\" Recipient",
            "NotOnOrAfter=\"2024-05-01T11:00:00Z\" Recipient",
        )
    });
    assert_eq!(validate(&b64), Err(SamlError::Expired));
}

#[test]
fn a_wrong_or_missing_audience_is_refused() {
    let spec = ResponseSpec {
        audience: "https://other-sp.example.com".into(),
        ..spec()
    };
    assert_eq!(
        validate(&signer().signed_response(&spec)),
        Err(SamlError::Audience)
    );

    let b64 = signed_after(&spec, |xml| {
        let restriction = slice(
            &xml,
            "<saml:AudienceRestriction>",
            "</saml:AudienceRestriction>",
        )
        .to_owned();
        replace_once(&xml, &restriction, "")
    });
    assert_eq!(validate(&b64), Err(SamlError::Audience));

    let b64 = signed_after(&spec, |xml| {
        let conditions = slice(&xml, "<saml:Conditions", "</saml:Conditions>").to_owned();
        replace_once(&xml, &conditions, "")
    });
    assert!(matches!(validate(&b64), Err(SamlError::Malformed(_))));
}

#[test]
fn every_audience_restriction_must_name_us() {
    let b64 = signed_after(&spec(), |xml| {
        replace_once(
            &xml,
            "</saml:Conditions>",
            "<saml:AudienceRestriction><saml:Audience>urn:someone:else</saml:Audience></saml:AudienceRestriction></saml:Conditions>",
        )
    });
    assert_eq!(validate(&b64), Err(SamlError::Audience));
}

#[test]
fn an_unknown_condition_is_refused() {
    let b64 = signed_after(&spec(), |xml| {
        replace_once(
            &xml,
            "</saml:Conditions>",
            "<saml:Condition xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:x=\"urn:x\" xsi:type=\"x:Only\"/></saml:Conditions>",
        )
    });
    assert!(matches!(validate(&b64), Err(SamlError::Unsupported(_))));
}

#[test]
fn a_wrong_or_missing_destination_is_refused() {
    for target in [SignTarget::Assertion, SignTarget::Response] {
        let spec = ResponseSpec {
            destination: Some("https://evil.example.com/acs".into()),
            sign: target,
            ..spec()
        };
        assert_eq!(
            validate(&signer().signed_response(&spec)),
            Err(SamlError::Destination)
        );
    }
    // The binding requires Destination on a signed Response; an unsigned envelope may omit it.
    let response_signed = ResponseSpec {
        destination: None,
        sign: SignTarget::Response,
        ..spec()
    };
    assert_eq!(
        validate(&signer().signed_response(&response_signed)),
        Err(SamlError::Destination)
    );
    let assertion_signed = ResponseSpec {
        destination: None,
        sign: SignTarget::Assertion,
        ..spec()
    };
    assert!(validate(&signer().signed_response(&assertion_signed)).is_ok());
}

#[test]
fn a_wrong_recipient_is_refused() {
    let spec = ResponseSpec {
        recipient: "https://sp.example.com/acs/".into(),
        ..spec()
    };
    assert_eq!(
        validate(&signer().signed_response(&spec)),
        Err(SamlError::Recipient)
    );
}

#[test]
fn a_confirmation_that_is_not_bearer_does_not_count() {
    let b64 = signed_after(&spec(), |xml| {
        replace_once(&xml, "cm:bearer", "cm:holder-of-key")
    });
    assert_eq!(
        validate(&b64),
        Err(SamlError::Malformed(
            "the subject has no bearer confirmation"
        ))
    );
}

#[test]
fn a_wrong_issuer_is_refused() {
    let spec = ResponseSpec {
        idp_entity_id: "https://evil.example.com".into(),
        ..spec()
    };
    assert_eq!(
        validate(&signer().signed_response(&spec)),
        Err(SamlError::Issuer)
    );

    // The envelope's Issuer is checked even when only the Assertion is signed.
    let xml = decode(&signer().signed_response(&self::spec()));
    let xml = xml.replacen(
        &format!("<saml:Issuer>{IDP}</saml:Issuer>"),
        "<saml:Issuer>https://evil.example.com</saml:Issuer>",
        1,
    );
    assert_eq!(validate(&encode(&xml)), Err(SamlError::Issuer));
}

#[test]
fn a_failed_status_is_reported_with_its_code() {
    let spec = ResponseSpec {
        status_success: false,
        ..spec()
    };
    let error = validate(&signer().signed_response(&spec)).unwrap_err();
    assert_eq!(
        error,
        SamlError::Status {
            code: "Responder/AuthnFailed".into()
        }
    );
    assert!(error.to_string().contains("Responder/AuthnFailed"));
}

#[test]
fn a_status_code_from_elsewhere_is_not_echoed() {
    let spec = ResponseSpec {
        status_success: false,
        sign: SignTarget::Response,
        ..spec()
    };
    let xml = decode(&signer().signed_response(&spec));
    let xml = replace_once(
        &xml,
        "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
    );
    assert_eq!(
        validate(&encode(&xml)),
        Err(SamlError::Status {
            code: "Responder/unknown".into()
        })
    );
}
