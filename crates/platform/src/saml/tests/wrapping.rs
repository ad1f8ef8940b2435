//! XML signature wrapping, comment truncation, DTDs and garbage.

use base64::{Engine, engine::general_purpose::STANDARD};

use super::{decode, encode, replace_once, signer, slice, spec, validate};
use crate::saml::{MAX_RESPONSE_BYTES, ResponseSpec, SamlError, SignTarget};

/// An unsigned copy of `assertion` for someone else, with a new ID.
fn evil_twin(assertion: &str, id: &str, new_id: &str) -> String {
    let evil = assertion
        .replace(&format!("ID=\"{id}\""), &format!("ID=\"{new_id}\""))
        .replace(">ada@example.com<", ">eve@example.com<");
    match evil.find("<ds:Signature") {
        Some(_) => {
            let signature = slice(&evil, "<ds:Signature", "</ds:Signature>").to_owned();
            evil.replace(&signature, "")
        }
        None => evil,
    }
}

#[test]
fn a_signed_assertion_moved_into_extensions_behind_an_evil_one_is_refused() {
    let spec = spec();
    let xml = decode(&signer().signed_response(&spec));
    let signed = slice(&xml, "<saml:Assertion", "</saml:Assertion>").to_owned();
    let evil = evil_twin(&signed, &spec.assertion_id, "_evil");
    let wrapped = replace_once(&xml, &signed, &evil).replacen(
        "<samlp:Status>",
        &format!("<samlp:Extensions>{signed}</samlp:Extensions><samlp:Status>"),
        1,
    );
    assert_eq!(
        validate(&encode(&wrapped)),
        Err(SamlError::Malformed("expected exactly one assertion"))
    );
}

#[test]
fn a_signed_assertion_hidden_in_a_signature_object_is_refused() {
    // The classic wrapping: the evil assertion carries the original signature, and the signed
    // original sits in that signature's ds:Object, where a naive ID lookup still finds it.
    let spec = spec();
    let xml = decode(&signer().signed_response(&spec));
    let signed = slice(&xml, "<saml:Assertion", "</saml:Assertion>").to_owned();
    let signature = slice(&signed, "<ds:Signature", "</ds:Signature>").to_owned();
    let with_object = replace_once(
        &signature,
        "</ds:Signature>",
        &format!("<ds:Object>{signed}</ds:Object></ds:Signature>"),
    );
    for (evil_id, refusal) in [
        ("_evil", "expected exactly one assertion"),
        (spec.assertion_id.as_str(), "two elements share an ID"),
    ] {
        let evil = evil_twin(&signed, &spec.assertion_id, evil_id).replacen(
            "</saml:Issuer>",
            &format!("</saml:Issuer>{with_object}"),
            1,
        );
        let wrapped = replace_once(&xml, &signed, &evil);
        assert_eq!(
            validate(&encode(&wrapped)),
            Err(SamlError::Malformed(refusal)),
            "evil ID {evil_id}"
        );
    }
}

#[test]
fn a_signed_response_wrapped_in_an_evil_one_is_refused() {
    // A new root keeps the original Response signature; the signed original is tucked into
    // Extensions where an ID lookup would find it.
    let spec = ResponseSpec {
        sign: SignTarget::Response,
        ..spec()
    };
    let original = decode(&signer().signed_response(&spec));
    let signed_assertion = slice(&original, "<saml:Assertion", "</saml:Assertion>").to_owned();
    let evil_assertion = evil_twin(&signed_assertion, &spec.assertion_id, "_evil");
    for (root_id, refusal) in [
        ("_evil_response", "expected exactly one assertion"),
        (spec.response_id.as_str(), "two elements share an ID"),
    ] {
        let evil = original
            .replacen(
                &format!("ID=\"{}\"", spec.response_id),
                &format!("ID=\"{root_id}\""),
                1,
            )
            .replace(&signed_assertion, &evil_assertion)
            .replacen(
                "<samlp:Status>",
                &format!("<samlp:Extensions>{original}</samlp:Extensions><samlp:Status>"),
                1,
            );
        assert_eq!(
            validate(&encode(&evil)),
            Err(SamlError::Malformed(refusal)),
            "root ID {root_id}"
        );
    }
}

#[test]
fn duplicate_ids_are_refused() {
    let spec = spec();
    let xml = decode(&signer().signed_response(&spec));
    let duplicated = replace_once(
        &xml,
        "<samlp:Status>",
        &format!(
            "<samlp:Extensions><x xmlns=\"urn:x\" ID=\"{}\"/></samlp:Extensions><samlp:Status>",
            spec.assertion_id
        ),
    );
    assert_eq!(
        validate(&encode(&duplicated)),
        Err(SamlError::Malformed("two elements share an ID"))
    );
}

#[test]
fn the_only_assertion_must_sit_directly_in_the_response() {
    let xml = decode(&signer().signed_response(&spec()));
    let signed = slice(&xml, "<saml:Assertion", "</saml:Assertion>").to_owned();
    let moved = replace_once(&xml, &signed, "").replacen(
        "<samlp:Status>",
        &format!("<samlp:Extensions>{signed}</samlp:Extensions><samlp:Status>"),
        1,
    );
    assert_eq!(
        validate(&encode(&moved)),
        Err(SamlError::Malformed(
            "the assertion must be a direct child of the response"
        ))
    );
}

#[test]
fn a_signature_moved_from_the_assertion_to_the_response_is_refused() {
    let xml = decode(&signer().signed_response(&spec()));
    let signature = slice(&xml, "<ds:Signature", "</ds:Signature>").to_owned();
    let moved = replace_once(&xml, &signature, "").replacen(
        "<samlp:Status>",
        &format!("{signature}<samlp:Status>"),
        1,
    );
    assert_eq!(
        validate(&encode(&moved)),
        Err(SamlError::Signature(
            "the signature does not reference the element that carries it"
        ))
    );
}

#[test]
fn two_assertions_and_encrypted_assertions_are_refused() {
    let spec = spec();
    let xml = decode(&signer().signed_response(&spec));
    let signed = slice(&xml, "<saml:Assertion", "</saml:Assertion>").to_owned();
    let evil = evil_twin(&signed, &spec.assertion_id, "_second");
    let two = replace_once(
        &xml,
        "</samlp:Response>",
        &format!("{evil}</samlp:Response>"),
    );
    assert_eq!(
        validate(&encode(&two)),
        Err(SamlError::Malformed("expected exactly one assertion"))
    );
    let encrypted = replace_once(
        &xml,
        "</samlp:Response>",
        "<saml:EncryptedAssertion/></samlp:Response>",
    );
    assert!(matches!(
        validate(&encode(&encrypted)),
        Err(SamlError::Unsupported(_))
    ));
}

#[test]
fn a_comment_inside_the_name_id_is_refused_though_the_signature_still_verifies() {
    // The attacker registers ada@example.com.evil.com, gets it signed, and splits the text
    // with a comment: canonical XML drops comments, so the signature stays valid, and a
    // parser reading the first text node would see ada@example.com.
    let spec = ResponseSpec {
        name_id: "ada@example.com.evil.com".into(),
        ..spec()
    };
    let xml = decode(&signer().signed_response(&spec));
    let split = replace_once(
        &xml,
        ">ada@example.com.evil.com<",
        ">ada@example.com<!---->.evil.com<",
    );
    assert_eq!(
        validate(&encode(&split)),
        Err(SamlError::Malformed("NameID must be plain text"))
    );
}

#[test]
fn attribute_values_split_by_comments_are_dropped() {
    let spec = ResponseSpec {
        attributes: vec![("email".into(), vec!["ada@example.com.evil.com".into()])],
        name_id_format: Some("urn:oasis:names:tc:SAML:2.0:nameid-format:persistent".into()),
        name_id: "p-123".into(),
        ..spec()
    };
    let xml = decode(&signer().signed_response(&spec));
    let split = replace_once(
        &xml,
        ">ada@example.com.evil.com<",
        ">ada@example.com<!---->.evil.com<",
    );
    let assertion = validate(&encode(&split)).unwrap();
    assert_eq!(assertion.attributes["email"], Vec::<String>::new());
    assert_eq!(assertion.email(), None);
}

#[test]
fn a_doctype_is_refused() {
    let xml = decode(&signer().signed_response(&spec()));
    let bomb = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE samlp:Response [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]>{}",
        xml.replacen(">ada@example.com<", ">&b;<", 1)
    );
    assert_eq!(
        validate(&encode(&bomb)),
        Err(SamlError::Malformed("a DTD is not allowed"))
    );
    let empty = format!("<!DOCTYPE samlp:Response>{xml}");
    assert!(matches!(
        validate(&encode(&empty)),
        Err(SamlError::Malformed(_))
    ));
}

#[test]
fn garbage_is_malformed() {
    for input in [
        "!!! not base64 !!!".to_owned(),
        encode("not xml"),
        encode("<samlp:Response xmlns:samlp=\"urn:x\"/>"),
        STANDARD.encode([0xff, 0xfe, 0x00]),
        "A".repeat(MAX_RESPONSE_BYTES * 2 + 1),
        encode(&format!("<r>{}</r>", " ".repeat(MAX_RESPONSE_BYTES))),
    ] {
        assert!(
            matches!(validate(&input), Err(SamlError::Malformed(_))),
            "{}",
            &input[..input.len().min(40)]
        );
    }
}
