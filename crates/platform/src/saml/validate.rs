//! `validate_response`: every rule a posted `SAMLResponse` must pass before we believe the
//! assertion in it. The rules, and what is left to the caller, are listed in the `saml`
//! module docs.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use roxmltree::Node;

use crate::untrusted;

use super::{
    Assertion, CLOCK_SKEW, MAX_RESPONSE_BYTES, SamlError, SpConfig, dsig,
    xml::{self, NS_SAML, NS_SAMLP, at_most_one, children, exactly_one, is, plain_text},
};

const STATUS_PREFIX: &str = "urn:oasis:names:tc:SAML:2.0:status:";
const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const NAMEID_FORMAT_ENTITY: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity";
const CM_BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";

/// [`validate_response`] as a server must call it: on a thread of the process's
/// untrusted-input pool ([`crate::untrusted::shared`]), off the async runtime, within its
/// concurrency cap and time budget. The outer error is the pool's refusal (busy, over the
/// budget), which converts into a 503 `ApiError`; the inner result is the validation's.
///
/// The structural limits (see the module docs) keep the work itself to milliseconds; the pool
/// keeps even a mistake in them from stalling other requests, the request timeout or a stop.
pub async fn validate_response_off_runtime(
    sp: &SpConfig,
    saml_response_b64: &str,
    now: DateTime<Utc>,
) -> Result<Result<Assertion, SamlError>, untrusted::Refused> {
    // Checked here too, so an oversized post costs no copy and no thread.
    if saml_response_b64.len() > MAX_RESPONSE_BYTES * 2 {
        return Ok(Err(SamlError::Malformed("the response is too large")));
    }
    let sp = sp.clone();
    let posted = saml_response_b64.to_owned();
    untrusted::shared()
        .run("saml", move || validate_response(&sp, &posted, now))
        .await
}

/// Validates a base64 `SAMLResponse` (HTTP-POST binding) for `sp` at `now` and returns the
/// assertion it carries. CPU work without an await point: servers call
/// [`validate_response_off_runtime`]. See the `saml` module docs for the rules and for what the caller
/// must still check (`in_response_to`, replay of `id`).
pub fn validate_response(
    sp: &SpConfig,
    saml_response_b64: &str,
    now: DateTime<Utc>,
) -> Result<Assertion, SamlError> {
    // Base64 grows data by 4/3; allow line breaks on top before even decoding.
    if saml_response_b64.len() > MAX_RESPONSE_BYTES * 2 {
        return Err(SamlError::Malformed("the response is too large"));
    }
    let bytes = xml::decode_base64(saml_response_b64)
        .ok_or(SamlError::Malformed("SAMLResponse is not base64"))?;
    if bytes.len() > MAX_RESPONSE_BYTES {
        return Err(SamlError::Malformed("the response is too large"));
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| SamlError::Malformed("the response is not UTF-8"))?;
    let doc = xml::parse(text)?;

    let response = doc.root_element();
    if !is(response, NS_SAMLP, "Response") {
        return Err(SamlError::Malformed("the document is not a samlp:Response"));
    }
    check_version(response)?;
    required_id(response)?;
    instant_attribute(response, "IssueInstant")?
        .ok_or(SamlError::Malformed("the response has no IssueInstant"))?;
    check_unique_ids(&doc)?;

    // An IdP's "no" is usually unsigned and carries no assertion: report it as such. A forged
    // status can only make a sign-in fail, which a forger can do anyway.
    check_status(response)?;

    let destination = response.attribute("Destination");
    if destination.is_some_and(|d| d != sp.acs_url) {
        return Err(SamlError::Destination);
    }
    if let Some(issuer) = at_most_one(response, NS_SAML, "Issuer", "two Response issuers")? {
        check_issuer(issuer, &sp.idp.entity_id)?;
    }

    // Exactly one assertion in the whole document, directly in the Response: with unique IDs
    // and references that must name their own parent, a valid signature cannot be moved to
    // vouch for other content (signature wrapping).
    if doc
        .descendants()
        .any(|n| is(n, NS_SAML, "EncryptedAssertion"))
    {
        return Err(SamlError::Unsupported(
            "encrypted assertions are not supported",
        ));
    }
    let mut assertions = doc.descendants().filter(|n| is(*n, NS_SAML, "Assertion"));
    let (Some(assertion), None) = (assertions.next(), assertions.next()) else {
        return Err(SamlError::Malformed("expected exactly one assertion"));
    };
    if assertion.parent() != Some(response) {
        return Err(SamlError::Malformed(
            "the assertion must be a direct child of the response",
        ));
    }

    // Every signature present must verify, and at least one must be there. Either covers the
    // assertion node we read below: it is the Assertion itself or its parent.
    let response_signature = dsig::enveloped_signature(response)?;
    let assertion_signature = dsig::enveloped_signature(assertion)?;
    if response_signature.is_none() && assertion_signature.is_none() {
        return Err(SamlError::Signature(
            "neither the response nor the assertion is signed",
        ));
    }
    if let Some(signature) = response_signature {
        dsig::verify(response, signature, &sp.idp.key)?;
        // The POST binding requires Destination on a signed message (§3.5.5.2).
        if destination.is_none() {
            return Err(SamlError::Destination);
        }
    }
    if let Some(signature) = assertion_signature {
        dsig::verify(assertion, signature, &sp.idp.key)?;
    }

    // `InResponseTo` of an unsigned Response envelope is anyone's to write: use it only when
    // the Response signature covers it.
    let response_in_response_to = response.attribute("InResponseTo");
    let signed_response_in_response_to =
        response_in_response_to.filter(|_| response_signature.is_some());
    read_assertion(
        sp,
        assertion,
        response_in_response_to,
        signed_response_in_response_to,
        now,
    )
}

/// The checks and reads of the Assertion, once a verified signature covers it.
fn read_assertion(
    sp: &SpConfig,
    assertion: Node,
    response_in_response_to: Option<&str>,
    signed_response_in_response_to: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Assertion, SamlError> {
    check_version(assertion)?;
    let id = required_id(assertion)?;
    instant_attribute(assertion, "IssueInstant")?
        .ok_or(SamlError::Malformed("the assertion has no IssueInstant"))?;
    let issuer = exactly_one(
        assertion,
        NS_SAML,
        "Issuer",
        "the assertion needs one Issuer",
    )?;
    check_issuer(issuer, &sp.idp.entity_id)?;

    let conditions_end = check_conditions(sp, assertion, now)?;

    let subject = exactly_one(
        assertion,
        NS_SAML,
        "Subject",
        "the assertion needs one Subject",
    )?;
    if children(subject, NS_SAML, "EncryptedID").next().is_some() {
        return Err(SamlError::Unsupported(
            "encrypted NameIDs are not supported",
        ));
    }
    let name_id = exactly_one(subject, NS_SAML, "NameID", "the subject needs one NameID")?;
    let name_id_value = plain_text(name_id)
        .ok_or(SamlError::Malformed("NameID must be plain text"))?
        .trim();
    if name_id_value.is_empty() {
        return Err(SamlError::Malformed("NameID is empty"));
    }
    let confirmation = bearer_confirmation(sp, subject, response_in_response_to, now)?;

    // The Web Browser SSO profile requires an AuthnStatement (§4.1.4.2).
    let authn_statement = children(assertion, NS_SAML, "AuthnStatement")
        .next()
        .ok_or(SamlError::Malformed("the assertion has no AuthnStatement"))?;

    let not_on_or_after = match conditions_end {
        Some(end) => end.min(confirmation.not_on_or_after),
        None => confirmation.not_on_or_after,
    };
    Ok(Assertion {
        id: id.to_owned(),
        issuer: sp.idp.entity_id.clone(),
        in_response_to: confirmation
            .in_response_to
            .or(signed_response_in_response_to)
            .map(str::to_owned),
        name_id: name_id_value.to_owned(),
        name_id_format: name_id.attribute("Format").map(str::to_owned),
        session_index: authn_statement.attribute("SessionIndex").map(str::to_owned),
        not_on_or_after,
        attributes: attributes(assertion),
    })
}

fn check_version(node: Node) -> Result<(), SamlError> {
    match node.attribute("Version") {
        Some("2.0") => Ok(()),
        Some(_) => Err(SamlError::Unsupported("only SAML 2.0 is supported")),
        None => Err(SamlError::Malformed("Version is missing")),
    }
}

fn required_id<'a>(node: Node<'a, '_>) -> Result<&'a str, SamlError> {
    node.attribute("ID")
        .filter(|id| !id.is_empty())
        .ok_or(SamlError::Malformed("an element has no ID"))
}

/// No two elements may share an identifier, so no resolver anywhere (ours, an IdP's, a
/// proxy's) can pick a different element for the same reference.
fn check_unique_ids(doc: &roxmltree::Document) -> Result<(), SamlError> {
    let mut seen = HashSet::new();
    for node in doc.descendants().filter(Node::is_element) {
        for name in ["ID", "Id", "AssertionID"] {
            if let Some(id) = node.attribute(name)
                && !seen.insert(id)
            {
                return Err(SamlError::Malformed("two elements share an ID"));
            }
        }
    }
    Ok(())
}

fn check_status(response: Node) -> Result<(), SamlError> {
    let status = exactly_one(
        response,
        NS_SAMLP,
        "Status",
        "the response needs one Status",
    )?;
    let code = exactly_one(
        status,
        NS_SAMLP,
        "StatusCode",
        "Status needs one StatusCode",
    )?;
    let value = code
        .attribute("Value")
        .ok_or(SamlError::Malformed("StatusCode has no Value"))?;
    if value == STATUS_SUCCESS {
        return Ok(());
    }
    // Only known-shaped names go into the message: it may reach a browser.
    let name = |v: &str| {
        v.strip_prefix(STATUS_PREFIX)
            .filter(|n| {
                !n.is_empty() && n.len() <= 40 && n.chars().all(|c| c.is_ascii_alphanumeric())
            })
            .unwrap_or("unknown")
            .to_owned()
    };
    let mut code_name = name(value);
    if let Some(v) = children(code, NS_SAMLP, "StatusCode")
        .next()
        .and_then(|second| second.attribute("Value"))
    {
        code_name = format!("{code_name}/{}", name(v));
    }
    Err(SamlError::Status { code: code_name })
}

fn check_issuer(issuer: Node, expected: &str) -> Result<(), SamlError> {
    if issuer
        .attribute("Format")
        .is_some_and(|f| f != NAMEID_FORMAT_ENTITY)
    {
        return Err(SamlError::Issuer);
    }
    let value = plain_text(issuer).ok_or(SamlError::Malformed("Issuer must be plain text"))?;
    if value.trim() != expected {
        return Err(SamlError::Issuer);
    }
    Ok(())
}

/// Conditions must exist, hold at `now`, restrict the audience to include us, and contain
/// nothing we do not understand (SAML core §2.5.1.5: unknown conditions make the assertion
/// invalid). Returns `NotOnOrAfter` if there is one.
fn check_conditions(
    sp: &SpConfig,
    assertion: Node,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, SamlError> {
    let conditions = exactly_one(
        assertion,
        NS_SAML,
        "Conditions",
        "the assertion needs one Conditions",
    )?;
    check_window(conditions, now)?;
    let mut restrictions = 0;
    for condition in conditions.children().filter(Node::is_element) {
        if is(condition, NS_SAML, "AudienceRestriction") {
            restrictions += 1;
            // Several restrictions must all hold; within one, any audience may match.
            let mut named = false;
            for audience in children(condition, NS_SAML, "Audience") {
                let value = plain_text(audience)
                    .ok_or(SamlError::Malformed("Audience must be plain text"))?;
                named |= value.trim() == sp.entity_id;
            }
            if !named {
                return Err(SamlError::Audience);
            }
        } else if is(condition, NS_SAML, "OneTimeUse") || is(condition, NS_SAML, "ProxyRestriction")
        {
            // OneTimeUse: the caller's replay cache already makes every assertion single-use.
            // ProxyRestriction limits re-issuing assertions, which we never do.
        } else {
            return Err(SamlError::Unsupported(
                "the assertion has a condition we do not understand",
            ));
        }
    }
    if restrictions == 0 {
        return Err(SamlError::Audience);
    }
    instant_attribute(conditions, "NotOnOrAfter")
}

/// `NotBefore ≤ now + skew` and `now < NotOnOrAfter + skew`, for whichever are present.
fn check_window(node: Node, now: DateTime<Utc>) -> Result<(), SamlError> {
    if let Some(not_before) = instant_attribute(node, "NotBefore")?
        && now + CLOCK_SKEW < not_before
    {
        return Err(SamlError::NotYetValid);
    }
    if let Some(not_on_or_after) = instant_attribute(node, "NotOnOrAfter")?
        && now - CLOCK_SKEW >= not_on_or_after
    {
        return Err(SamlError::Expired);
    }
    Ok(())
}

struct Confirmation<'a> {
    in_response_to: Option<&'a str>,
    not_on_or_after: DateTime<Utc>,
}

/// The first bearer SubjectConfirmation whose data holds: `Recipient` is our ACS URL,
/// `NotOnOrAfter` is present and not past, and `InResponseTo` agrees with the Response's.
/// If none holds, the first one's reason is reported.
fn bearer_confirmation<'a>(
    sp: &SpConfig,
    subject: Node<'a, '_>,
    response_in_response_to: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Confirmation<'a>, SamlError> {
    let mut first_error = None;
    for confirmation in children(subject, NS_SAML, "SubjectConfirmation")
        .filter(|c| c.attribute("Method") == Some(CM_BEARER))
    {
        let checked = (|| {
            let data = exactly_one(
                confirmation,
                NS_SAML,
                "SubjectConfirmationData",
                "a bearer confirmation needs one SubjectConfirmationData",
            )?;
            if data.attribute("Recipient") != Some(sp.acs_url.as_str()) {
                return Err(SamlError::Recipient);
            }
            let not_on_or_after = instant_attribute(data, "NotOnOrAfter")?.ok_or(
                SamlError::Malformed("a bearer confirmation needs NotOnOrAfter"),
            )?;
            check_window(data, now)?;
            let in_response_to = data.attribute("InResponseTo");
            if let (Some(ours), Some(theirs)) = (in_response_to, response_in_response_to)
                && ours != theirs
            {
                return Err(SamlError::InResponseTo);
            }
            Ok(Confirmation {
                in_response_to,
                not_on_or_after,
            })
        })();
        match checked {
            Ok(confirmation) => return Ok(confirmation),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or(SamlError::Malformed(
        "the subject has no bearer confirmation",
    )))
}

/// `Attribute/@Name` → plain-text values, merged across statements. Values that are not plain
/// text (structured values, or text split by comments) are left out rather than mangled.
fn attributes(assertion: Node) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for statement in children(assertion, NS_SAML, "AttributeStatement") {
        for attribute in children(statement, NS_SAML, "Attribute") {
            let Some(name) = attribute.attribute("Name") else {
                continue;
            };
            let values = children(attribute, NS_SAML, "AttributeValue")
                .filter_map(plain_text)
                .map(str::to_owned);
            out.entry(name.to_owned()).or_default().extend(values);
        }
    }
    out
}

/// An `xs:dateTime` attribute: a time zone is required (`Z` or an offset), fractions allowed.
fn instant_attribute(node: Node, name: &str) -> Result<Option<DateTime<Utc>>, SamlError> {
    node.attribute(name)
        .map(|value| {
            DateTime::parse_from_rfc3339(value.trim())
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| SamlError::Malformed("invalid time value"))
        })
        .transpose()
}
