//! `Assertion::email` and `Assertion::display_name`.

use super::now;
use crate::saml::{Assertion, NAMEID_FORMAT_EMAIL, new_id};

fn assertion_with(name_id: &str, format: Option<&str>, attrs: &[(&str, &[&str])]) -> Assertion {
    Assertion {
        id: "_a".into(),
        issuer: "idp".into(),
        in_response_to: None,
        name_id: name_id.into(),
        name_id_format: format.map(str::to_owned),
        session_index: None,
        not_on_or_after: now(),
        attributes: attrs
            .iter()
            .map(|(k, vs)| (k.to_string(), vs.iter().map(|v| v.to_string()).collect()))
            .collect(),
    }
}

#[test]
fn email_comes_from_an_email_name_id_first() {
    let a = assertion_with(
        "ann@example.com",
        Some(NAMEID_FORMAT_EMAIL),
        &[("mail", &["other@example.com"])],
    );
    assert_eq!(a.email().as_deref(), Some("ann@example.com"));
}

#[test]
fn a_persistent_name_id_is_never_read_as_an_email() {
    let persistent = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
    let a = assertion_with("ann@example.com", Some(persistent), &[]);
    assert_eq!(a.email(), None);
    let a = assertion_with(
        "ann@example.com",
        Some(persistent),
        &[("Mail", &["  ann@corp.example  "])],
    );
    assert_eq!(a.email().as_deref(), Some("ann@corp.example"));
}

#[test]
fn email_falls_back_to_claim_and_oid_attributes() {
    let claim = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress";
    let a = assertion_with("1234", None, &[(claim, &["", "bob@example.org"])]);
    assert_eq!(a.email().as_deref(), Some("bob@example.org"));
    let a = assertion_with(
        "1234",
        None,
        &[("urn:oid:0.9.2342.19200300.100.1.3", &["c@example.org"])],
    );
    assert_eq!(a.email().as_deref(), Some("c@example.org"));
    let a = assertion_with("not an address", None, &[("email", &["nope"])]);
    assert_eq!(a.email(), None);
}

#[test]
fn display_name_prefers_display_name_then_given_and_surname() {
    let a = assertion_with("x", None, &[("givenName", &["Ada"]), ("sn", &["Lovelace"])]);
    assert_eq!(a.display_name().as_deref(), Some("Ada Lovelace"));
    let a = assertion_with(
        "x",
        None,
        &[("displayName", &["The Countess"]), ("givenName", &["Ada"])],
    );
    assert_eq!(a.display_name().as_deref(), Some("The Countess"));
    let a = assertion_with(
        "x",
        None,
        &[(
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
            &["ada@example.com"],
        )],
    );
    assert_eq!(a.display_name().as_deref(), Some("ada@example.com"));
    assert_eq!(assertion_with("x", None, &[]).display_name(), None);
}

#[test]
fn new_ids_are_distinct_ncnames() {
    let (a, b) = (new_id(), new_id());
    assert_ne!(a, b);
    assert!(a.starts_with('_') && a.len() == 33);
}
