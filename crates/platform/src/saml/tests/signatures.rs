//! Refusals about signatures: tampering, keys, algorithms, references.

use super::{decode, encode, now, replace_once, signed_after, signer, slice, sp, spec, validate};
use crate::saml::{
    IdpConfig, IdpKey, IdpSigner, ResponseSpec, SamlError, SignTarget, SpConfig, validate_response,
};

#[test]
fn tampering_after_signing_is_detected() {
    for target in [
        SignTarget::Assertion,
        SignTarget::Response,
        SignTarget::Both,
    ] {
        let xml = decode(&signer().signed_response(&ResponseSpec {
            sign: target,
            ..spec()
        }));
        let name = replace_once(&xml, ">ada@example.com<", ">eve@example.com<");
        assert!(
            matches!(validate(&encode(&name)), Err(SamlError::Signature(_))),
            "{target:?}"
        );
        let attribute = replace_once(&xml, ">b &amp; c<", ">admins<");
        assert!(
            matches!(validate(&encode(&attribute)), Err(SamlError::Signature(_))),
            "{target:?}"
        );
    }
}

#[test]
fn a_signature_by_another_key_is_refused() {
    let other = IdpSigner::generate().unwrap();
    for target in [SignTarget::Assertion, SignTarget::Response] {
        let spec = ResponseSpec {
            sign: target,
            ..spec()
        };
        assert_eq!(
            validate(&other.signed_response(&spec)),
            Err(SamlError::Signature("the signature does not verify"))
        );
    }
    let unconfigured = SpConfig {
        idp: IdpConfig {
            key: IdpKey::none(),
            ..sp().idp
        },
        ..sp()
    };
    assert!(matches!(
        validate_response(&unconfigured, &signer().signed_response(&spec()), now()),
        Err(SamlError::Signature(_))
    ));
}

#[test]
fn an_unsigned_response_is_refused() {
    let xml = decode(&signer().signed_response(&spec()));
    let signature = slice(&xml, "<ds:Signature", "</ds:Signature>").to_owned();
    let unsigned = replace_once(&xml, &signature, "");
    assert_eq!(
        validate(&encode(&unsigned)),
        Err(SamlError::Signature(
            "neither the response nor the assertion is signed"
        ))
    );
}

#[test]
fn a_bad_response_signature_fails_even_with_a_good_assertion_signature() {
    let xml = decode(&signer().signed_response(&ResponseSpec {
        sign: SignTarget::Both,
        ..spec()
    }));
    let xml = replace_once(&xml, "<samlp:Status>", "<samlp:Extensions/><samlp:Status>");
    assert_eq!(
        validate(&encode(&xml)),
        Err(SamlError::Signature("the signed content was changed"))
    );
}

#[test]
fn sha1_algorithms_are_refused() {
    let b64 = signed_after(&spec(), |xml| {
        xml.replace(
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        )
    });
    assert_eq!(
        validate(&b64),
        Err(SamlError::Unsupported("RSA-SHA1 signatures are refused"))
    );
    let b64 = signed_after(&spec(), |xml| {
        xml.replace(
            "http://www.w3.org/2001/04/xmlenc#sha256",
            "http://www.w3.org/2000/09/xmldsig#sha1",
        )
    });
    assert_eq!(
        validate(&b64),
        Err(SamlError::Unsupported("SHA-1 digests are refused"))
    );
}

#[test]
fn a_reference_must_name_the_element_carrying_the_signature() {
    let spec = spec();
    for uri in ["", "#_elsewhere", "#xpointer(/)"] {
        let b64 = signed_after(&spec, |xml| {
            replace_once(
                &xml,
                &format!("URI=\"#{}\"", spec.assertion_id),
                &format!("URI=\"{uri}\""),
            )
        });
        assert_eq!(
            validate(&b64),
            Err(SamlError::Signature(
                "the signature does not reference the element that carries it"
            )),
            "URI={uri:?}"
        );
    }
}

#[test]
fn signed_info_must_hold_exactly_one_reference() {
    let b64 = signed_after(&spec(), |xml| {
        let reference = slice(&xml, "<ds:Reference", "</ds:Reference>").to_owned();
        replace_once(&xml, &reference, &format!("{reference}{reference}"))
    });
    assert!(matches!(validate(&b64), Err(SamlError::Malformed(_))));
}

#[test]
fn other_transforms_are_refused() {
    let b64 = signed_after(&spec(), |xml| {
        replace_once(
            &xml,
            "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>",
            "<ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xpath-19991116\"><ds:XPath>1</ds:XPath></ds:Transform>",
        )
    });
    assert!(matches!(validate(&b64), Err(SamlError::Unsupported(_))));
}

#[test]
fn transforms_must_be_enveloped_then_at_most_a_canonicalization() {
    const ENVELOPED: &str =
        "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>";
    const EXC: &str = "<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>";
    for transforms in [
        String::new(),
        EXC.to_owned(),
        format!("{EXC}{ENVELOPED}"),
        format!("{ENVELOPED}{EXC}{EXC}"),
    ] {
        let b64 = signed_after(&spec(), |xml| {
            replace_once(&xml, &format!("{ENVELOPED}{EXC}"), &transforms)
        });
        assert!(
            matches!(validate(&b64), Err(SamlError::Unsupported(_))),
            "{transforms}"
        );
    }
}

#[test]
fn two_signatures_on_one_element_are_refused() {
    let xml = decode(&signer().signed_response(&spec()));
    let signature = slice(&xml, "<ds:Signature", "</ds:Signature>").to_owned();
    let doubled = replace_once(&xml, &signature, &format!("{signature}{signature}"));
    assert_eq!(
        validate(&encode(&doubled)),
        Err(SamlError::Malformed("two signatures on one element"))
    );
}
