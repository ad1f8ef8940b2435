//! Our side of the conversation before a response arrives: the `AuthnRequest`, its
//! HTTP-Redirect encoding (and decoding, for the mock IdP), and our SP metadata.

use std::io::{Read, Write};

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{DateTime, SecondsFormat, Utc};
use flate2::{Compression, read::DeflateDecoder, write::DeflateEncoder};
use url::form_urlencoded;

use super::{
    NAMEID_FORMAT_EMAIL, SamlError, SpConfig,
    xml::{self, NS_MD, NS_SAML, NS_SAMLP, at_most_one, is, plain_text},
};

const BINDING_HTTP_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
/// Largest inflated AuthnRequest we read: a real one is under 1 KiB; this stops DEFLATE bombs.
const MAX_REQUEST_BYTES: u64 = 64 * 1024;

/// An AuthnRequest ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthnRequest {
    /// The request's `ID`: store this value (not the one passed in) as outstanding; the
    /// response's `InResponseTo` will carry it.
    pub id: String,
    pub xml: String,
    pub issue_instant: DateTime<Utc>,
}

/// An AuthnRequest for `sp`'s IdP, asking for an email NameID posted back to our ACS URL.
///
/// `id` should be fresh and unguessable ([`super::new_id`]). It must be an `xs:ID` (NCName);
/// one that is not (say, a UUID starting with a digit) becomes `_` + the id with characters
/// outside `[A-Za-z0-9._-]` replaced by `_`: the returned [`AuthnRequest::id`] is the one sent.
pub fn authn_request(sp: &SpConfig, id: &str, now: DateTime<Utc>) -> AuthnRequest {
    let id = as_ncname(id);
    let xml = format!(
        concat!(
            r#"<samlp:AuthnRequest xmlns:samlp="{samlp}" xmlns:saml="{saml}" ID="{id}" Version="2.0" "#,
            r#"IssueInstant="{instant}" Destination="{destination}" ProtocolBinding="{binding}" "#,
            r#"AssertionConsumerServiceURL="{acs}">"#,
            r#"<saml:Issuer>{issuer}</saml:Issuer>"#,
            r#"<samlp:NameIDPolicy Format="{format}" AllowCreate="true"/>"#,
            r#"</samlp:AuthnRequest>"#,
        ),
        samlp = NS_SAMLP,
        saml = NS_SAML,
        id = xml::attr(&id),
        instant = now.to_rfc3339_opts(SecondsFormat::Secs, true),
        destination = xml::attr(&sp.idp.sso_url),
        binding = BINDING_HTTP_POST,
        acs = xml::attr(&sp.acs_url),
        issuer = xml::text(&sp.entity_id),
        format = NAMEID_FORMAT_EMAIL,
    );
    AuthnRequest {
        id,
        xml,
        issue_instant: now,
    }
}

/// `id` if it is an NCName (ASCII subset), else a sanitised NCName derived from it.
fn as_ncname(id: &str) -> String {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    let starts_well = id
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if starts_well && id.chars().all(allowed) {
        return id.to_owned();
    }
    let cleaned: String = id
        .chars()
        .map(|c| if allowed(c) { c } else { '_' })
        .collect();
    format!("_{cleaned}")
}

/// The IdP URL to send the browser to (HTTP-Redirect binding): the request DEFLATEd (raw,
/// RFC 1951), base64-encoded and URL-encoded as `SAMLRequest`, plus `RelayState`, appended to
/// the IdP's SSO URL after any query it already has. The binding limits `RelayState` to 80
/// bytes; most IdPs accept more, and we pass it as given.
pub fn redirect_url(sp: &SpConfig, req: &AuthnRequest, relay_state: Option<&str>) -> String {
    let mut deflater = DeflateEncoder::new(Vec::new(), Compression::default());
    // Writing into a Vec cannot fail.
    let deflated = deflater
        .write_all(req.xml.as_bytes())
        .and_then(|()| deflater.finish())
        .unwrap_or_default();
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("SAMLRequest", &STANDARD.encode(deflated));
    if let Some(relay_state) = relay_state {
        query.append_pair("RelayState", relay_state);
    }
    let query = query.finish();

    let (base, fragment) = match sp.idp.sso_url.split_once('#') {
        Some((base, fragment)) => (base, Some(fragment)),
        None => (sp.idp.sso_url.as_str(), None),
    };
    let separator = match base.find('?') {
        None => "?",
        Some(_) if base.ends_with('?') || base.ends_with('&') => "",
        Some(_) => "&",
    };
    let mut url = format!("{base}{separator}{query}");
    if let Some(fragment) = fragment {
        url.push('#');
        url.push_str(fragment);
    }
    url
}

/// What the mock IdP needs from an incoming AuthnRequest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedAuthnRequest {
    /// The request `ID`, to answer with `InResponseTo`.
    pub id: String,
    /// The requesting SP's entity id.
    pub issuer: Option<String>,
    /// Where the SP wants the response posted.
    pub acs_url: Option<String>,
}

/// Reads an AuthnRequest from its HTTP-Redirect encoding (the `SAMLRequest` query value,
/// already URL-decoded). For the mock IdP: unsigned, so it proves nothing about who sent it;
/// check `issuer` and `acs_url` against the SP you will answer.
pub fn decode_redirect_request(saml_request: &str) -> Result<ReceivedAuthnRequest, SamlError> {
    let deflated = xml::decode_base64(saml_request)
        .ok_or(SamlError::Malformed("SAMLRequest is not base64"))?;
    let mut inflated = Vec::new();
    DeflateDecoder::new(deflated.as_slice())
        .take(MAX_REQUEST_BYTES + 1)
        .read_to_end(&mut inflated)
        .map_err(|_| SamlError::Malformed("SAMLRequest is not DEFLATE data"))?;
    if inflated.len() as u64 > MAX_REQUEST_BYTES {
        return Err(SamlError::Malformed("SAMLRequest is too large"));
    }
    let text = std::str::from_utf8(&inflated)
        .map_err(|_| SamlError::Malformed("SAMLRequest is not UTF-8"))?;
    let doc = xml::parse(text)?;
    let root = doc.root_element();
    if !is(root, NS_SAMLP, "AuthnRequest") {
        return Err(SamlError::Malformed("not an AuthnRequest"));
    }
    if root.attribute("Version") != Some("2.0") {
        return Err(SamlError::Unsupported("only SAML 2.0 is supported"));
    }
    let id = root
        .attribute("ID")
        .filter(|id| !id.is_empty())
        .ok_or(SamlError::Malformed("the AuthnRequest has no ID"))?;
    let issuer = match at_most_one(root, NS_SAML, "Issuer", "two issuers")? {
        Some(node) => Some(
            plain_text(node)
                .ok_or(SamlError::Malformed("Issuer is not plain text"))?
                .trim()
                .to_owned(),
        ),
        None => None,
    };
    Ok(ReceivedAuthnRequest {
        id: id.to_owned(),
        issuer,
        acs_url: root
            .attribute("AssertionConsumerServiceURL")
            .map(str::to_owned),
    })
}

/// Our metadata for the IdP's administrator: unsigned requests, signed assertions wanted, an
/// email NameID, and the ACS URL for HTTP-POST.
pub fn sp_metadata(sp: &SpConfig) -> String {
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            "\n",
            r#"<md:EntityDescriptor xmlns:md="{md}" entityID="{entity_id}">"#,
            "\n  ",
            r#"<md:SPSSODescriptor AuthnRequestsSigned="false" WantAssertionsSigned="true" "#,
            r#"protocolSupportEnumeration="{samlp}">"#,
            "\n    ",
            r#"<md:NameIDFormat>{format}</md:NameIDFormat>"#,
            "\n    ",
            r#"<md:AssertionConsumerService Binding="{binding}" Location="{acs}" index="0" isDefault="true"/>"#,
            "\n  ",
            r#"</md:SPSSODescriptor>"#,
            "\n",
            r#"</md:EntityDescriptor>"#,
            "\n",
        ),
        md = NS_MD,
        entity_id = xml::attr(&sp.entity_id),
        samlp = NS_SAMLP,
        format = NAMEID_FORMAT_EMAIL,
        binding = BINDING_HTTP_POST,
        acs = xml::attr(&sp.acs_url),
    )
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::saml::{IdpConfig, IdpKey, xml::children};

    fn sp(sso_url: &str) -> SpConfig {
        SpConfig {
            entity_id: "https://sp.example/metadata".into(),
            acs_url: "https://sp.example/acs?x=1&y=2".into(),
            idp: IdpConfig {
                entity_id: "https://idp.example".into(),
                sso_url: sso_url.into(),
                key: IdpKey::none(),
            },
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap()
    }

    fn query_of(url: &str) -> Vec<(String, String)> {
        let url = url::Url::parse(url).unwrap();
        url.query_pairs().into_owned().collect()
    }

    #[test]
    fn authn_request_is_well_formed_and_keeps_an_ncname_id() {
        let req = authn_request(&sp("https://idp.example/sso"), "_abc-1.2", now());
        assert_eq!(req.id, "_abc-1.2");
        let doc = xml::parse(&req.xml).unwrap();
        let root = doc.root_element();
        assert!(is(root, NS_SAMLP, "AuthnRequest"));
        assert_eq!(root.attribute("ID"), Some("_abc-1.2"));
        assert_eq!(root.attribute("IssueInstant"), Some("2024-05-01T12:00:00Z"));
        assert_eq!(
            root.attribute("AssertionConsumerServiceURL"),
            Some("https://sp.example/acs?x=1&y=2")
        );
        assert_eq!(
            root.attribute("Destination"),
            Some("https://idp.example/sso")
        );
        let issuer = children(root, NS_SAML, "Issuer").next().unwrap();
        assert_eq!(issuer.text(), Some("https://sp.example/metadata"));
    }

    #[test]
    fn an_id_that_is_not_an_ncname_is_prefixed_and_cleaned() {
        let req = authn_request(&sp("https://idp.example/sso"), "1f\"<x>", now());
        assert_eq!(req.id, "_1f__x_");
        assert!(xml::parse(&req.xml).is_ok());
        assert_eq!(as_ncname(""), "_");
    }

    #[test]
    fn redirect_url_round_trips_through_the_mock_idp_decoder() {
        let sp = sp("https://idp.example/sso");
        let req = authn_request(&sp, "_r1", now());
        let url = redirect_url(&sp, &req, Some("https://app.example/back?a=b&c=d"));
        assert!(url.starts_with("https://idp.example/sso?SAMLRequest="));
        let q = query_of(&url);
        assert_eq!(q[0].0, "SAMLRequest");
        assert_eq!(
            q[1],
            (
                "RelayState".into(),
                "https://app.example/back?a=b&c=d".into()
            )
        );
        let received = decode_redirect_request(&q[0].1).unwrap();
        assert_eq!(
            received,
            ReceivedAuthnRequest {
                id: "_r1".into(),
                issuer: Some(sp.entity_id.clone()),
                acs_url: Some(sp.acs_url.clone()),
            }
        );
    }

    #[test]
    fn redirect_url_respects_an_existing_query_and_fragment() {
        let req = authn_request(&sp("https://idp.example/sso?tenant=a%20b"), "_r", now());
        let url = redirect_url(&sp("https://idp.example/sso?tenant=a%20b"), &req, None);
        assert!(url.starts_with("https://idp.example/sso?tenant=a%20b&SAMLRequest="));
        assert_eq!(query_of(&url).len(), 2);
        let url = redirect_url(&sp("https://idp.example/sso?"), &req, None);
        assert!(url.starts_with("https://idp.example/sso?SAMLRequest="));
        let url = redirect_url(&sp("https://idp.example/sso#frag"), &req, None);
        assert!(url.starts_with("https://idp.example/sso?SAMLRequest="));
        assert!(url.ends_with("#frag"));
    }

    #[test]
    fn decoding_refuses_garbage_and_deflate_bombs() {
        assert!(decode_redirect_request("%%%").is_err());
        assert!(decode_redirect_request(&STANDARD.encode(b"not deflate")).is_err());
        let mut bomb = DeflateEncoder::new(Vec::new(), Compression::best());
        bomb.write_all(&vec![b' '; 10 * 1024 * 1024]).unwrap();
        let bomb = STANDARD.encode(bomb.finish().unwrap());
        assert_eq!(
            decode_redirect_request(&bomb),
            Err(SamlError::Malformed("SAMLRequest is too large"))
        );
    }

    #[test]
    fn metadata_describes_the_sp() {
        let sp = sp("https://idp.example/sso");
        let xml = sp_metadata(&sp);
        let doc = xml::parse(&xml).unwrap();
        let root = doc.root_element();
        assert!(is(root, NS_MD, "EntityDescriptor"));
        assert_eq!(
            root.attribute("entityID"),
            Some("https://sp.example/metadata")
        );
        let desc = children(root, NS_MD, "SPSSODescriptor").next().unwrap();
        assert_eq!(desc.attribute("AuthnRequestsSigned"), Some("false"));
        assert_eq!(desc.attribute("WantAssertionsSigned"), Some("true"));
        let acs = children(desc, NS_MD, "AssertionConsumerService")
            .next()
            .unwrap();
        assert_eq!(
            acs.attribute("Location"),
            Some("https://sp.example/acs?x=1&y=2")
        );
        assert_eq!(acs.attribute("Binding"), Some(BINDING_HTTP_POST));
        let format = children(desc, NS_MD, "NameIDFormat").next().unwrap();
        assert_eq!(format.text(), Some(NAMEID_FORMAT_EMAIL));
    }
}
