//! What one posted `SAMLResponse` costs `platform::saml::validate_response`, hostile or not:
//!
//! ```sh
//! cargo bench -p platform --bench saml_limits            # optimised
//! cargo bench -p platform --bench saml_limits --profile dev   # as the tests build it
//! ```
//!
//! Prints the median and the slowest of repeated runs of each shape. It asserts nothing
//! about time (the tests hold the limits by counting work, never by the clock); the figures
//! in docs/crenoir.md ("Limits") come from here.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark: a failed step is a failed run"
)]

use std::time::{Duration, Instant};

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{TimeZone, Utc};
use platform::saml::{
    IdpConfig, IdpSigner, MAX_ATTRIBUTES_PER_ELEMENT, MAX_NAMESPACE_DECLARATIONS,
    MAX_NAMESPACES_IN_SCOPE, MAX_RESPONSE_BYTES, ResponseSpec, SpConfig, validate_response,
};

const RESPONSE_OPEN: &str = r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r" Version="2.0" IssueInstant="2024-05-01T12:00:00Z">"#;

fn hostile(inner: &str) -> String {
    STANDARD.encode(format!("{RESPONSE_OPEN}{inner}</samlp:Response>"))
}

/// `levels` nested elements, each declaring `per_level` new prefixes, around `core`.
fn nested(levels: usize, per_level: usize, core: &str) -> String {
    let mut xml = String::new();
    for level in 0..levels {
        xml.push_str("<x");
        for i in 0..per_level {
            xml.push_str(&format!(r#" xmlns:n{level}x{i}="u{level}x{i}""#));
        }
        xml.push('>');
    }
    xml.push_str(core);
    xml.push_str(&"</x>".repeat(levels));
    xml
}

fn main() {
    let signer = IdpSigner::generate().expect("RSA key");
    let sp = SpConfig {
        entity_id: "https://sp.example.com/metadata".into(),
        acs_url: "https://sp.example.com/acs".into(),
        idp: IdpConfig {
            entity_id: "https://idp.example.com".into(),
            sso_url: "https://idp.example.com/sso".into(),
            key: signer.public_key(),
        },
    };
    let now = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
    let signed = |values: usize| {
        let mut spec = ResponseSpec::new("https://idp.example.com", &sp, "ada@example.com", now);
        spec.attributes = vec![(
            "groups".into(),
            (0..values).map(|i| format!("group-{i}")).collect(),
        )];
        signer.signed_response(&spec)
    };
    let prefix_list = {
        let xml = String::from_utf8(STANDARD.decode(signed(5)).unwrap()).unwrap();
        let list: Vec<String> = (0..12_000).map(|i| format!("p{i}")).collect();
        STANDARD.encode(xml.replacen(
            r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#,
            &format!(
                r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"><ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="{}"/></ds:Transform>"#,
                list.join(" ")
            ),
            1,
        ))
    };
    // The most an admissible document can ask of the parser: every namespace in scope that
    // the limit allows at the bottom of a chain (the Response declares one), and every
    // declaration left spent on leaves that each copy them all...
    let chain = (MAX_NAMESPACES_IN_SCOPE - 2) / 2;
    let worst_namespaces = {
        let leaf = r#"<y xmlns:a="u:a"/>"#;
        let leaves = MAX_NAMESPACE_DECLARATIONS - 2 * chain - 1;
        hostile(&nested(chain, 2, &leaf.repeat(leaves)))
    };
    // ...or on leaves with the most prefixed attributes, each resolved against them.
    let worst_attributes = {
        let attributes: String = (0..MAX_ATTRIBUTES_PER_ELEMENT)
            .map(|i| format!(r#" n{}x0:a{i}="""#, i % chain))
            .collect();
        let leaf = format!("<y{attributes}/>");
        let leaves = (MAX_RESPONSE_BYTES - 4096) / leaf.len();
        hostile(&nested(chain, 2, &leaf.repeat(leaves)))
    };

    let shapes: Vec<(&str, String)> = vec![
        ("valid: signed assertion, 5 attribute values", signed(5)),
        (
            "valid: signed assertion, 1,000 attribute values",
            signed(1_000),
        ),
        (
            "refused: 6,000 nested namespace declarations",
            hostile(&nested(6_000, 1, "")),
        ),
        (
            "refused: 62 levels of 8 namespace declarations",
            hostile(&nested(62, 8, "")),
        ),
        (
            "refused: 10,000 declarations on one element",
            hostile(&nested(1, 10_000, "")),
        ),
        ("refused: a 12,000-entry PrefixList", prefix_list),
        (
            "admissible: one text of CDATA sections and references",
            hostile(&format!(
                "<x>{}</x>",
                "<![CDATA[<]]>&amp;&#x41;".repeat(10_000)
            )),
        ),
        (
            "admissible: most namespaces copied (parsed, no Status)",
            worst_namespaces,
        ),
        (
            "admissible: most prefixed attributes (parsed, no Status)",
            worst_attributes,
        ),
    ];
    println!(
        "{:<58} {:>5} {:>10} {:>10}",
        "shape", "KiB", "median", "slowest"
    );
    for (name, b64) in shapes {
        let mut runs = Vec::new();
        let started = Instant::now();
        while runs.len() < 5 || (started.elapsed() < Duration::from_secs(1) && runs.len() < 200) {
            let t = Instant::now();
            let outcome = validate_response(&sp, &b64, now);
            runs.push(t.elapsed());
            let _ = std::hint::black_box(outcome);
        }
        runs.sort();
        let outcome = match validate_response(&sp, &b64, now) {
            Ok(_) => "accepted".to_owned(),
            Err(e) => e.to_string(),
        };
        println!(
            "{name:<58} {:>5.0} {:>8.2}ms {:>8.2}ms  {outcome}",
            b64.len() as f64 * 0.75 / 1024.0,
            runs[runs.len() / 2].as_secs_f64() * 1e3,
            runs[runs.len() - 1].as_secs_f64() * 1e3,
        );
    }
}
