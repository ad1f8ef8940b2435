//! A small, strict SAML 2.0 service provider (SP-initiated Web Browser SSO: HTTP-Redirect
//! AuthnRequest out, HTTP-POST Response in) and the mock identity provider of MOCK mode, in
//! pure Rust. It knows no web framework and no database: the caller stores what must be
//! remembered between requests.
//!
//! | module     | owns                                                                      |
//! |------------|---------------------------------------------------------------------------|
//! | `sp`       | AuthnRequest, HTTP-Redirect encoding (both ways), SP metadata             |
//! | `validate` | `validate_response`: every rule a Response must pass                      |
//! | `idp`      | the mock IdP: `ResponseSpec` and `IdpSigner::signed_response`            |
//! | `dsig`     | XML-DSig enveloped signatures, verify and create (RSA-SHA256, SHA-256)    |
//! | `c14n`     | Exclusive XML Canonicalization 1.0 and Canonical XML 1.0, no comments     |
//! | `keys`     | the IdP's public key (`IdpKey`) and the mock IdP's key pair (`IdpSigner`) |
//! | `prescan`  | the structural caps (below), checked in one linear pass before parsing    |
//! | `xml`      | the one way we parse, strict navigation and escaping shared by the above  |
//!
//! # What `validate_response` guarantees
//!
//! An `Ok(Assertion)` means all of this held:
//!
//! - The document is at most [`MAX_RESPONSE_BYTES`], UTF-8, without a DTD, within the
//!   structural limits below, and its root is a `samlp:Response` of SAML 2.0 whose `Status` is
//!   `Success`.
//! - It holds exactly one `saml:Assertion` anywhere (an `EncryptedAssertion` is
//!   [`SamlError::Unsupported`]), as a direct child of the Response, and no two elements share
//!   an `ID`. With these, a signature cannot be made to vouch for one element while the data
//!   is read from another (XML signature wrapping).
//! - The Response or the Assertion (or both) carries an enveloped `ds:Signature` as a direct
//!   child, with exactly one `Reference` whose URI is `#` + the `ID` of that very element; every
//!   such signature present verifies with the configured [`IdpKey`] (RSA-SHA256, SHA-256
//!   digest, exclusive or inclusive canonicalisation without comments). The Reference's
//!   transforms are enveloped-signature then a canonicalisation, or enveloped-signature alone,
//!   which XML-DSig defines as Canonical XML 1.0 without comments (the default when a node-set
//!   must become octets). `KeyInfo` in the message is ignored: the key is only ever the
//!   configured one.
//! - `Destination` equals the ACS URL (it must be present when the Response itself is signed);
//!   the Response `Issuer`, if any, and the Assertion `Issuer` equal the IdP entity id.
//! - `Conditions` hold (`NotBefore`/`NotOnOrAfter` with [`CLOCK_SKEW`]), with an
//!   `AudienceRestriction` naming our entity id and no condition we do not understand.
//! - The Subject has exactly one `NameID` made of a single text node (a comment inside it, the
//!   2018 "comment truncation" attack, is refused) and a bearer `SubjectConfirmation` whose
//!   data names our ACS URL as `Recipient`, has not expired, and agrees with the Response's
//!   `InResponseTo`.
//!
//! # Limits: what a hostile response can cost
//!
//! A response larger than [`MAX_RESPONSE_BYTES`] is refused before it is even decoded. Then,
//! before the XML parser runs, one linear pass over the text (`prescan`) refuses, as
//! [`SamlError::TooComplex`], a document over any of these:
//!
//! | limit                                                  | constant                                   | value  |
//! |--------------------------------------------------------|--------------------------------------------|--------|
//! | element depth                                          | [`MAX_DEPTH`]                              | 64     |
//! | elements                                               | [`MAX_ELEMENTS`]                           | 10,000 |
//! | attributes on one element (`xmlns` not counted)        | [`MAX_ATTRIBUTES_PER_ELEMENT`]             | 32     |
//! | namespace declarations on one element                  | [`MAX_NAMESPACE_DECLARATIONS_PER_ELEMENT`] | 16     |
//! | namespace declarations on an element and its ancestors | [`MAX_NAMESPACES_IN_SCOPE`]                | 32     |
//! | namespace declarations in the document                 | [`MAX_NAMESPACE_DECLARATIONS`]             | 2,048  |
//! | entries of an `InclusiveNamespaces PrefixList`         | [`MAX_PREFIX_LIST`]                        | 32     |
//!
//! Real responses stay far below (about ten deep, a handful of namespaces in scope; Okta's
//! two declarations per `AttributeValue` fit a thousand values). Within them parsing is
//! near-linear and canonicalisation (`c14n`) is linear in the document and its namespace
//! declarations, so a response costs milliseconds whatever its shape. Servers call
//! [`validate_response_off_runtime`], which also runs the work outside the async runtime
//! under `crate::untrusted`'s concurrency cap and time budget.
//!
//! # What the caller must still do
//!
//! - Issue a fresh, unguessable request id per sign-in ([`new_id`]), keep it as outstanding,
//!   and accept a response only if [`Assertion::in_response_to`] is one of them, spending it.
//!   `in_response_to` is only ever taken from signed content, so `None` means unsolicited.
//! - Remember [`Assertion::id`] (with the issuer) until [`Assertion::not_on_or_after`] plus
//!   [`CLOCK_SKEW`] and refuse it if it comes again (replay).
//! - Keep [`SpConfig`] values exact: `Destination`, `Recipient` and `Audience` are compared as
//!   plain strings, as the IdP was told them through our metadata.

mod c14n;
mod dsig;
mod idp;
mod keys;
mod prescan;
mod sp;
mod validate;
mod xml;

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};

pub use idp::{ResponseSpec, SignTarget};
pub use keys::{IdpKey, IdpSigner};
pub use sp::{
    AuthnRequest, ReceivedAuthnRequest, authn_request, decode_redirect_request, redirect_url,
    sp_metadata,
};
pub use validate::{validate_response, validate_response_off_runtime};

/// How far our clock may disagree with the IdP's when checking validity windows.
pub const CLOCK_SKEW: TimeDelta = TimeDelta::minutes(2);

/// The largest decoded `SAMLResponse` we parse. Real responses are a few KiB.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// The deepest element nesting we accept; a Response is about ten deep.
pub const MAX_DEPTH: usize = 64;

/// The most elements in a document; a response with a thousand attribute values has about
/// three thousand.
pub const MAX_ELEMENTS: usize = 10_000;

/// The most attributes on one element, namespace declarations not counted.
pub const MAX_ATTRIBUTES_PER_ELEMENT: usize = 32;

/// The most namespace declarations (`xmlns`, `xmlns:p`) on one element.
pub const MAX_NAMESPACE_DECLARATIONS_PER_ELEMENT: usize = 16;

/// The most namespace declarations on an element and its ancestors together: an upper bound
/// of the namespaces in scope, which is what parsing and canonicalisation cost grows with.
pub const MAX_NAMESPACES_IN_SCOPE: usize = 32;

/// The most namespace declarations in a document.
pub const MAX_NAMESPACE_DECLARATIONS: usize = 2_048;

/// The most prefixes in an `ec:InclusiveNamespaces PrefixList` (real ones name one to five).
pub const MAX_PREFIX_LIST: usize = 32;

/// `urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress`.
pub const NAMEID_FORMAT_EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

/// Our service provider and the identity provider it trusts.
#[derive(Clone, Debug)]
pub struct SpConfig {
    /// Our entity id: the `Audience` the IdP must name, and the `Issuer` of our requests.
    pub entity_id: String,
    /// Our Assertion Consumer Service URL (HTTP-POST binding), exactly as in our metadata.
    pub acs_url: String,
    pub idp: IdpConfig,
}

/// The identity provider, as its operator configured it.
#[derive(Clone, Debug)]
pub struct IdpConfig {
    /// The IdP's entity id: the `Issuer` of its responses and assertions.
    pub entity_id: String,
    /// The IdP's single sign-on URL for the HTTP-Redirect binding.
    pub sso_url: String,
    /// The only key whose signatures we accept.
    pub key: IdpKey,
}

/// A validated assertion: who signed in, and what the caller needs to refuse replays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assertion {
    /// The Assertion's `ID`; remember it (with `issuer`) to refuse replays.
    pub id: String,
    pub issuer: String,
    /// The request this answers, from signed content only; `None` for an unsolicited response.
    pub in_response_to: Option<String>,
    pub name_id: String,
    pub name_id_format: Option<String>,
    /// The IdP's session (`AuthnStatement/@SessionIndex`), for single logout.
    pub session_index: Option<String>,
    /// The earliest end of the Conditions and SubjectConfirmationData windows.
    pub not_on_or_after: DateTime<Utc>,
    /// Attribute `Name` → its plain-text values, in document order.
    pub attributes: BTreeMap<String, Vec<String>>,
}

const EMAIL_ATTRIBUTES: &[&str] = &[
    "email",
    "mail",
    "emailAddress",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "urn:oid:0.9.2342.19200300.100.1.3",
    "urn:oid:1.2.840.113549.1.9.1",
];
const DISPLAY_NAME_ATTRIBUTES: &[&str] = &[
    "displayName",
    "http://schemas.microsoft.com/identity/claims/displayname",
    "urn:oid:2.16.840.1.113730.3.1.241",
    "cn",
    "urn:oid:2.5.4.3",
];
const GIVEN_NAME_ATTRIBUTES: &[&str] = &[
    "givenName",
    "firstName",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
    "urn:oid:2.5.4.42",
];
const SURNAME_ATTRIBUTES: &[&str] = &[
    "sn",
    "surname",
    "lastName",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
    "urn:oid:2.5.4.4",
];
// Last resort only: Entra ID sends the user principal name under the `name` claim.
const NAME_ATTRIBUTES: &[&str] = &[
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
    "name",
];

impl Assertion {
    /// The person's email address: the NameID when its format is `emailAddress`, or when it
    /// has no format (or `unspecified`) and looks like an address; otherwise the first
    /// address-like value of a usual email attribute. Persistent and transient NameIDs are
    /// opaque identifiers and never read as addresses.
    pub fn email(&self) -> Option<String> {
        let name_id = self.name_id.trim();
        let format = self.name_id_format.as_deref();
        let name_id_may_be_email = match format {
            Some(NAMEID_FORMAT_EMAIL) => true,
            None | Some("urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified") => true,
            Some(_) => false,
        };
        if name_id_may_be_email && looks_like_email(name_id) {
            return Some(name_id.to_owned());
        }
        EMAIL_ATTRIBUTES
            .iter()
            .flat_map(|name| self.values(name))
            .find(|v| looks_like_email(v))
            .map(str::to_owned)
    }

    /// A name to greet the person by: a display-name attribute, else given name and surname,
    /// else a `name` claim.
    pub fn display_name(&self) -> Option<String> {
        if let Some(name) = self.first_value(DISPLAY_NAME_ATTRIBUTES) {
            return Some(name.to_owned());
        }
        let given = self.first_value(GIVEN_NAME_ATTRIBUTES);
        let surname = self.first_value(SURNAME_ATTRIBUTES);
        match (given, surname) {
            (Some(g), Some(s)) => return Some(format!("{g} {s}")),
            (Some(one), None) | (None, Some(one)) => return Some(one.to_owned()),
            (None, None) => {}
        }
        self.first_value(NAME_ATTRIBUTES).map(str::to_owned)
    }

    /// Trimmed, non-empty values of the attribute `name` (compared case-insensitively, as IdPs
    /// disagree on `mail` vs `Mail`).
    fn values<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        self.attributes
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .flat_map(|(_, vs)| vs.iter())
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn first_value<'a>(&'a self, names: &[&str]) -> Option<&'a str> {
        names.iter().find_map(|name| self.values(name).next())
    }
}

/// One `@`, something on each side, a dot in the domain, no whitespace.
fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !s.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// A fresh SAML identifier: `_` and 128 random bits, a valid `xs:ID` as SAML core §1.3.4 asks.
pub fn new_id() -> String {
    format!("_{}", uuid::Uuid::new_v4().simple())
}

/// Why a SAML message or key was refused. Messages are fixed text safe to show a client: they
/// never echo key material or message content (a status code is reduced to its known name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamlError {
    /// Not a well-formed or schema-shaped SAML message (bad base64, DTD, missing element...).
    #[error("malformed SAML message: {0}")]
    Malformed(&'static str),
    /// Over one of the structural limits (see "Limits" in the module docs), refused before
    /// parsing.
    #[error("the SAML message exceeds a limit: {what} (at most {max})")]
    TooComplex { what: &'static str, max: usize },
    /// Well-formed, but uses something we deliberately do not implement.
    #[error("unsupported SAML message: {0}")]
    Unsupported(&'static str),
    /// Unsigned, or a signature that does not verify with the configured key.
    #[error("SAML signature refused: {0}")]
    Signature(&'static str),
    #[error("the SAML assertion has expired")]
    Expired,
    #[error("the SAML assertion is not yet valid")]
    NotYetValid,
    #[error("the SAML assertion is not meant for this service provider (audience)")]
    Audience,
    #[error("the SAML response was sent to another destination")]
    Destination,
    #[error("the SAML assertion was issued for another recipient")]
    Recipient,
    #[error("the SAML message comes from an unexpected issuer")]
    Issuer,
    /// The Assertion answers a different request than the Response around it.
    #[error("the SAML assertion answers a different request than the response")]
    InResponseTo,
    /// The IdP answered with a non-success status, e.g. `Responder/AuthnFailed`.
    #[error("the identity provider refused the sign-in (status {code})")]
    Status { code: String },
    /// A key or certificate that cannot be used.
    #[error("unusable key: {0}")]
    Key(&'static str),
    /// The cryptographic library failed (key generation).
    #[error("cryptographic operation failed")]
    Crypto,
}

#[cfg(test)]
mod tests;
