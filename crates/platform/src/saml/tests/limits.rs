//! The structural limits end to end: hostile shapes refused before parsing (finding 9 of
//! issue 12: each of these cost seconds to minutes of CPU before), admissible ones at the
//! limits still validating, and the off-runtime entry point servers use.

use super::{decode, encode, replace_once, signed_after, signer, spec, validate};
use crate::saml::{
    MAX_ATTRIBUTES_PER_ELEMENT, MAX_DEPTH, MAX_NAMESPACE_DECLARATIONS,
    MAX_NAMESPACE_DECLARATIONS_PER_ELEMENT, MAX_NAMESPACES_IN_SCOPE, MAX_PREFIX_LIST, SamlError,
    validate_response_off_runtime,
};

const RESPONSE_OPEN: &str = r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r" Version="2.0" IssueInstant="2024-05-01T12:00:00Z">"#;

/// A Response whose body is `inner`, as an attacker posts it (no valid signature needed: the
/// cost came before any signature was looked at).
fn hostile(inner: &str) -> String {
    encode(&format!("{RESPONSE_OPEN}{inner}</samlp:Response>"))
}

/// `levels` nested elements, each declaring `per_level` new prefixes.
fn nested(levels: usize, per_level: usize) -> String {
    let mut xml = String::new();
    for level in 0..levels {
        xml.push_str("<x");
        for i in 0..per_level {
            xml.push_str(&format!(r#" xmlns:n{level}x{i}="u{level}x{i}""#));
        }
        xml.push('>');
    }
    xml.push_str(&"</x>".repeat(levels));
    xml
}

fn limit(what: &'static str, max: usize) -> Result<crate::saml::Assertion, SamlError> {
    Err(SamlError::TooComplex { what, max })
}

#[test]
fn thousands_of_nested_namespace_declarations_are_refused_before_parsing() {
    // The probe's shape: a new namespace on each of thousands of nested elements (61 KB: 5 s
    // of CPU in the parser; 254 KB: over a minute).
    assert_eq!(
        validate(&hostile(&nested(6_000, 1))),
        limit("namespace declarations in scope", MAX_NAMESPACES_IN_SCOPE)
    );
    // Many per level, a few levels deep.
    assert_eq!(
        validate(&hostile(&nested(5, 8))),
        limit("namespace declarations in scope", MAX_NAMESPACES_IN_SCOPE)
    );
    // Nesting alone.
    assert_eq!(
        validate(&hostile(&nested(6_000, 0))),
        limit("element depth", MAX_DEPTH)
    );
    // Thousands on one element.
    assert_eq!(
        validate(&hostile(&nested(1, 10_000))),
        limit(
            "namespace declarations on one element",
            MAX_NAMESPACE_DECLARATIONS_PER_ELEMENT
        )
    );
    // Thousands spread over siblings, each within the per-element and in-scope limits.
    assert_eq!(
        validate(&hostile(
            &nested(1, 4).repeat(MAX_NAMESPACE_DECLARATIONS / 4)
        )),
        limit("namespace declarations", MAX_NAMESPACE_DECLARATIONS)
    );
}

#[test]
fn a_huge_prefix_list_is_refused_before_canonicalisation() {
    // 12,000 entries cost 3.2 s of canonicalisation per request before. Here on a response
    // our IdP signed, so everything but the list is valid.
    let list = (0..12_000).map(|i| format!("p{i}")).collect::<Vec<_>>();
    let b64 = signed_after(&spec(), |xml| xml);
    let xml = decode(&b64);
    let with_list = replace_once(
        &xml,
        r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#,
        &format!(
            r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"><ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="{}"/></ds:Transform>"#,
            list.join(" ")
        ),
    );
    assert_eq!(
        validate(&encode(&with_list)),
        limit("PrefixList entries", MAX_PREFIX_LIST)
    );
}

#[test]
fn attributes_beyond_the_limit_are_refused() {
    let attributes: String = (0..=MAX_ATTRIBUTES_PER_ELEMENT)
        .map(|i| format!(r#" a{i}="v""#))
        .collect();
    assert_eq!(
        validate(&hostile(&format!("<x{attributes}/>"))),
        limit("attributes on one element", MAX_ATTRIBUTES_PER_ELEMENT)
    );
}

#[test]
fn a_response_with_many_namespaces_within_the_limits_validates() {
    // Okta-like: two declarations on every AttributeValue (500 values), plus generous
    // declarations on the Response and the Assertion.
    let mut spec = spec();
    spec.attributes = vec![(
        "groups".into(),
        (0..500).map(|i| format!("group-{i}")).collect(),
    )];
    let extra = |tag: &str, n: usize| -> String {
        let declarations: String = (0..n)
            .map(|i| format!(r#" xmlns:{tag}{i}="urn:{tag}:{i}""#))
            .collect();
        declarations
    };
    let b64 = signed_after(&spec, |xml| {
        let xml = replace_once(
            &xml,
            "<samlp:Response ",
            &format!("<samlp:Response{} ", extra("r", 10)),
        );
        let xml = replace_once(
            &xml,
            "<saml:Assertion ",
            &format!("<saml:Assertion{} ", extra("a", 10)),
        );
        xml.replace(
            "<saml:AttributeValue>",
            r#"<saml:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">"#,
        )
    });
    let assertion = validate(&b64).unwrap();
    assert_eq!(assertion.attributes["groups"].len(), 500);
}

#[tokio::test]
async fn servers_validate_off_the_runtime_with_the_same_answers() {
    let sp = super::sp();
    let good = signer().signed_response(&spec());
    let off = validate_response_off_runtime(&sp, &good, super::now()).await;
    assert_eq!(off, Ok(validate(&good)));
    assert!(matches!(off, Ok(Ok(_))));

    let bad = hostile(&nested(6_000, 1));
    let off = validate_response_off_runtime(&sp, &bad, super::now()).await;
    assert_eq!(
        off,
        Ok(limit(
            "namespace declarations in scope",
            MAX_NAMESPACES_IN_SCOPE
        ))
    );

    let huge = "A".repeat(crate::saml::MAX_RESPONSE_BYTES * 2 + 1);
    let off = validate_response_off_runtime(&sp, &huge, super::now()).await;
    assert_eq!(
        off,
        Ok(Err(SamlError::Malformed("the response is too large")))
    );
}
