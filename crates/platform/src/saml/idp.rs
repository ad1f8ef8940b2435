//! The mock identity provider: builds a `samlp:Response` from a `ResponseSpec` and signs it
//! with an `IdpSigner`, exactly as a real IdP would, so MOCK mode and tests exercise the same
//! validation as LIVE mode.

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use roxmltree::{Document, Node};

use super::{
    IdpSigner, NAMEID_FORMAT_EMAIL, SamlError, SpConfig, dsig, new_id,
    xml::{self, NS_SAML, NS_SAMLP, is},
};

const DEFAULT_VALIDITY: TimeDelta = TimeDelta::minutes(5);

/// Which elements of a Response carry an enveloped signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignTarget {
    Assertion,
    Response,
    /// The Assertion, then the Response around it.
    Both,
}

/// Everything a mock Response says. [`ResponseSpec::new`] gives a valid answer to `sp`;
/// tests change fields to produce invalid ones.
#[derive(Clone, Debug)]
pub struct ResponseSpec {
    pub idp_entity_id: String,
    /// `Response/@Destination`; `None` leaves it out.
    pub destination: Option<String>,
    pub audience: String,
    /// `SubjectConfirmationData/@Recipient`.
    pub recipient: String,
    /// On both the Response and the SubjectConfirmationData.
    pub in_response_to: Option<String>,
    pub name_id: String,
    pub name_id_format: Option<String>,
    pub session_index: Option<String>,
    pub attributes: Vec<(String, Vec<String>)>,
    pub issue_instant: DateTime<Utc>,
    /// `Conditions/@NotBefore`.
    pub not_before: DateTime<Utc>,
    /// `Conditions/@NotOnOrAfter` and `SubjectConfirmationData/@NotOnOrAfter`.
    pub not_on_or_after: DateTime<Utc>,
    pub assertion_id: String,
    pub response_id: String,
    pub sign: SignTarget,
    /// `false` answers `Responder/AuthnFailed` without an assertion.
    pub status_success: bool,
}

impl ResponseSpec {
    /// A successful, unsolicited answer from `idp_entity_id` to `sp` for `name_id` (an email
    /// address), valid for five minutes from `now`, with fresh ids and a signed Assertion.
    pub fn new(idp_entity_id: &str, sp: &SpConfig, name_id: &str, now: DateTime<Utc>) -> Self {
        ResponseSpec {
            idp_entity_id: idp_entity_id.to_owned(),
            destination: Some(sp.acs_url.clone()),
            audience: sp.entity_id.clone(),
            recipient: sp.acs_url.clone(),
            in_response_to: None,
            name_id: name_id.to_owned(),
            name_id_format: Some(NAMEID_FORMAT_EMAIL.to_owned()),
            session_index: Some(new_id()),
            attributes: Vec::new(),
            issue_instant: now,
            not_before: now,
            not_on_or_after: now + DEFAULT_VALIDITY,
            assertion_id: new_id(),
            response_id: new_id(),
            sign: SignTarget::Assertion,
            status_success: true,
        }
    }
}

impl IdpSigner {
    /// The base64 `SAMLResponse` for `spec`, signed as `spec.sign` says.
    ///
    /// Every field is escaped (characters XML cannot carry become U+FFFD), so any spec yields
    /// a well-formed document; the only failure left would be a bug here, hence no `Result`.
    /// Use [`IdpSigner::try_signed_response`] to handle even that.
    #[allow(
        clippy::expect_used,
        reason = "escaped fields always make a well-formed, signable document (see above)"
    )]
    pub fn signed_response(&self, spec: &ResponseSpec) -> String {
        self.try_signed_response(spec)
            .expect("a Response built from escaped fields is well-formed and signable")
    }

    /// [`IdpSigner::signed_response`], reporting an internal failure instead of panicking.
    pub fn try_signed_response(&self, spec: &ResponseSpec) -> Result<String, SamlError> {
        let mut xml = response_xml(spec);
        if spec.status_success && matches!(spec.sign, SignTarget::Assertion | SignTarget::Both) {
            xml = dsig::sign(xml, the_assertion, self)?;
        }
        if matches!(spec.sign, SignTarget::Response | SignTarget::Both) {
            xml = dsig::sign(xml, the_response, self)?;
        }
        Ok(STANDARD.encode(xml))
    }
}

pub(super) fn the_response<'a, 'i>(doc: &'a Document<'i>) -> Option<Node<'a, 'i>> {
    Some(doc.root_element())
}

pub(super) fn the_assertion<'a, 'i>(doc: &'a Document<'i>) -> Option<Node<'a, 'i>> {
    doc.root_element()
        .children()
        .find(|n| is(*n, NS_SAML, "Assertion"))
}

fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The unsigned Response, with empty signature templates where `spec.sign` wants them.
pub(super) fn response_xml(spec: &ResponseSpec) -> String {
    let mut out = format!(
        r#"<samlp:Response xmlns:samlp="{NS_SAMLP}" xmlns:saml="{NS_SAML}" ID="{}" Version="2.0" IssueInstant="{}""#,
        xml::attr(&spec.response_id),
        instant(spec.issue_instant),
    );
    if let Some(destination) = &spec.destination {
        out += &format!(r#" Destination="{}""#, xml::attr(destination));
    }
    if let Some(in_response_to) = &spec.in_response_to {
        out += &format!(r#" InResponseTo="{}""#, xml::attr(in_response_to));
    }
    out += &format!(
        "><saml:Issuer>{}</saml:Issuer>",
        xml::text(&spec.idp_entity_id)
    );
    if matches!(spec.sign, SignTarget::Response | SignTarget::Both) {
        out += &dsig::template(&spec.response_id);
    }
    if !spec.status_success {
        out += concat!(
            r#"<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder">"#,
            r#"<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"/>"#,
            r#"</samlp:StatusCode></samlp:Status></samlp:Response>"#,
        );
        return out;
    }
    out += r#"<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>"#;
    out += &assertion_xml(spec);
    out += "</samlp:Response>";
    out
}

fn assertion_xml(spec: &ResponseSpec) -> String {
    let mut out = format!(
        r#"<saml:Assertion ID="{}" Version="2.0" IssueInstant="{}"><saml:Issuer>{}</saml:Issuer>"#,
        xml::attr(&spec.assertion_id),
        instant(spec.issue_instant),
        xml::text(&spec.idp_entity_id),
    );
    if matches!(spec.sign, SignTarget::Assertion | SignTarget::Both) {
        out += &dsig::template(&spec.assertion_id);
    }

    out += "<saml:Subject><saml:NameID";
    if let Some(format) = &spec.name_id_format {
        out += &format!(r#" Format="{}""#, xml::attr(format));
    }
    out += &format!(">{}</saml:NameID>", xml::text(&spec.name_id));
    out += r#"<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData"#;
    if let Some(in_response_to) = &spec.in_response_to {
        out += &format!(r#" InResponseTo="{}""#, xml::attr(in_response_to));
    }
    out += &format!(
        r#" NotOnOrAfter="{}" Recipient="{}"/></saml:SubjectConfirmation></saml:Subject>"#,
        instant(spec.not_on_or_after),
        xml::attr(&spec.recipient),
    );

    out += &format!(
        concat!(
            r#"<saml:Conditions NotBefore="{}" NotOnOrAfter="{}">"#,
            r#"<saml:AudienceRestriction><saml:Audience>{}</saml:Audience></saml:AudienceRestriction>"#,
            r#"</saml:Conditions>"#,
        ),
        instant(spec.not_before),
        instant(spec.not_on_or_after),
        xml::text(&spec.audience),
    );

    out += &format!(
        r#"<saml:AuthnStatement AuthnInstant="{}""#,
        instant(spec.issue_instant)
    );
    if let Some(session_index) = &spec.session_index {
        out += &format!(r#" SessionIndex="{}""#, xml::attr(session_index));
    }
    out += concat!(
        "><saml:AuthnContext><saml:AuthnContextClassRef>",
        "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
        "</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>",
    );

    if !spec.attributes.is_empty() {
        out += "<saml:AttributeStatement>";
        for (name, values) in &spec.attributes {
            out += &format!(
                r#"<saml:Attribute Name="{}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">"#,
                xml::attr(name)
            );
            for value in values {
                out += &format!(
                    "<saml:AttributeValue>{}</saml:AttributeValue>",
                    xml::text(value)
                );
            }
            out += "</saml:Attribute>";
        }
        out += "</saml:AttributeStatement>";
    }
    out += "</saml:Assertion>";
    out
}
