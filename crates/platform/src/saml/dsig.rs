//! XML-DSig enveloped signatures, the one shape SAML uses: a `ds:Signature` that is a direct
//! child of the element it signs, with one `Reference` to that element's `ID` whose transforms
//! are enveloped-signature and then a canonicalisation, or enveloped-signature alone (which
//! means Canonical XML 1.0). We verify and create exactly that shape with RSA-SHA256 and
//! SHA-256, and refuse every other algorithm and every other way of pointing at content (no ID
//! lookup elsewhere, no XPath, no whole-document reference). `KeyInfo` is never read: the
//! caller says which key to trust.

use roxmltree::{Document, Node};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{
    SamlError,
    c14n::{self, C14n},
    keys::{IdpKey, IdpSigner},
    xml::{self, NS_DS, NS_EXC_C14N, at_most_one, is, plain_text},
};

const ALG_RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const ALG_RSA_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
const ALG_SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
const ALG_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
const ALG_ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

/// The enveloped signature of `element`: its `ds:Signature` child, if it has one.
pub(crate) fn enveloped_signature<'a, 'i>(
    element: Node<'a, 'i>,
) -> Result<Option<Node<'a, 'i>>, SamlError> {
    at_most_one(element, NS_DS, "Signature", "two signatures on one element")
}

/// Checks that `signature`, a direct child of `element`, is a valid RSA-SHA256 signature of
/// `element` by `key`. On `Ok`, everything inside `element` (except the signature itself) is
/// what the key holder signed.
pub(crate) fn verify(element: Node, signature: Node, key: &IdpKey) -> Result<(), SamlError> {
    if signature.parent() != Some(element) {
        return Err(SamlError::Signature("the signature is not enveloped"));
    }
    let parts = SignatureParts::read(signature)?;

    // The reference must name the element that holds the signature, by its own ID. Resolving
    // the URI anywhere else is how signature wrapping works, so we do not resolve it at all.
    let id = element
        .attribute("ID")
        .filter(|id| !id.is_empty())
        .ok_or(SamlError::Malformed("a signed element has no ID"))?;
    if parts.reference_uri.strip_prefix('#') != Some(id) {
        return Err(SamlError::Signature(
            "the signature does not reference the element that carries it",
        ));
    }

    let signed_info = c14n::canonicalize(parts.signed_info, None, &parts.signed_info_c14n)?;
    key.verify_rsa_sha256(&signed_info, &parts.signature_value)?;

    let content = c14n::canonicalize(element, Some(signature), &parts.reference_c14n)?;
    let digest = Sha256::digest(&content);
    if !bool::from(digest.as_slice().ct_eq(&parts.digest_value)) {
        return Err(SamlError::Signature("the signed content was changed"));
    }
    Ok(())
}

/// What a `ds:Signature` says, after checking it has exactly the shape we accept.
struct SignatureParts<'a, 'i> {
    signed_info: Node<'a, 'i>,
    signed_info_c14n: C14n,
    reference_uri: &'a str,
    reference_c14n: C14n,
    digest_value: Vec<u8>,
    signature_value: Vec<u8>,
}

impl<'a, 'i> SignatureParts<'a, 'i> {
    fn read(signature: Node<'a, 'i>) -> Result<Self, SamlError> {
        // Signature: SignedInfo, SignatureValue, then KeyInfo / Object which we ignore.
        let mut kids = signature.children().filter(Node::is_element);
        let signed_info = kids
            .next()
            .filter(|n| is(*n, NS_DS, "SignedInfo"))
            .ok_or(SamlError::Malformed("Signature must start with SignedInfo"))?;
        let signature_value = kids
            .next()
            .filter(|n| is(*n, NS_DS, "SignatureValue"))
            .ok_or(SamlError::Malformed(
                "SignatureValue must follow SignedInfo",
            ))?;
        if !kids.all(|n| is(n, NS_DS, "KeyInfo") || is(n, NS_DS, "Object")) {
            return Err(SamlError::Malformed("unexpected element in Signature"));
        }
        let signature_value = base64_content(signature_value)?;

        // SignedInfo: CanonicalizationMethod, SignatureMethod, exactly one Reference.
        let parts: Vec<_> = signed_info.children().filter(Node::is_element).collect();
        let [c14n_method, signature_method, reference] = parts[..] else {
            return Err(SamlError::Malformed(
                "SignedInfo must hold a canonicalization method, a signature method and one reference",
            ));
        };
        if !is(c14n_method, NS_DS, "CanonicalizationMethod")
            || !is(signature_method, NS_DS, "SignatureMethod")
            || !is(reference, NS_DS, "Reference")
        {
            return Err(SamlError::Malformed("unexpected element in SignedInfo"));
        }
        let signed_info_c14n = c14n_of(c14n_method)?;
        match algorithm(signature_method)? {
            ALG_RSA_SHA256 if no_element_children(signature_method) => {}
            ALG_RSA_SHA256 => {
                return Err(SamlError::Malformed(
                    "unexpected SignatureMethod parameters",
                ));
            }
            ALG_RSA_SHA1 => return Err(SamlError::Unsupported("RSA-SHA1 signatures are refused")),
            _ => {
                return Err(SamlError::Unsupported(
                    "only RSA-SHA256 signatures are accepted",
                ));
            }
        }

        // Reference: Transforms (enveloped, then an optional canonicalisation), DigestMethod,
        // DigestValue.
        let reference_uri = reference
            .attribute("URI")
            .ok_or(SamlError::Signature("the reference has no URI"))?;
        let parts: Vec<_> = reference.children().filter(Node::is_element).collect();
        let [transforms, digest_method, digest_value] = parts[..] else {
            return Err(SamlError::Malformed(
                "Reference must hold Transforms, DigestMethod and DigestValue",
            ));
        };
        if !is(transforms, NS_DS, "Transforms")
            || !is(digest_method, NS_DS, "DigestMethod")
            || !is(digest_value, NS_DS, "DigestValue")
        {
            return Err(SamlError::Malformed("unexpected element in Reference"));
        }
        const TRANSFORMS: SamlError = SamlError::Unsupported(
            "transforms must be enveloped-signature, optionally followed by a canonicalization",
        );
        let steps: Vec<_> = transforms.children().filter(Node::is_element).collect();
        let (enveloped, canonicalize) = match steps[..] {
            [enveloped] => (enveloped, None),
            [enveloped, canonicalize] => (enveloped, Some(canonicalize)),
            _ => return Err(TRANSFORMS),
        };
        if !steps.iter().all(|t| is(*t, NS_DS, "Transform")) {
            return Err(SamlError::Malformed("unexpected element in Transforms"));
        }
        if algorithm(enveloped)? != ALG_ENVELOPED || !no_element_children(enveloped) {
            return Err(TRANSFORMS);
        }
        // Enveloped-signature alone leaves a node-set, which XML-DSig turns into the octets to
        // digest with Canonical XML 1.0 without comments (§4.3.3.2, §6.6.1).
        let reference_c14n = match canonicalize {
            Some(method) => c14n_of(method)?,
            None => C14n::Inclusive,
        };
        match algorithm(digest_method)? {
            ALG_SHA256 if no_element_children(digest_method) => {}
            ALG_SHA256 => return Err(SamlError::Malformed("unexpected DigestMethod parameters")),
            ALG_SHA1 => return Err(SamlError::Unsupported("SHA-1 digests are refused")),
            _ => return Err(SamlError::Unsupported("only SHA-256 digests are accepted")),
        }
        let digest_value = base64_content(digest_value)?;
        if digest_value.len() != 32 {
            return Err(SamlError::Signature("the digest is not a SHA-256 digest"));
        }

        Ok(SignatureParts {
            signed_info,
            signed_info_c14n,
            reference_uri,
            reference_c14n,
            digest_value,
            signature_value,
        })
    }
}

fn algorithm<'a>(node: Node<'a, '_>) -> Result<&'a str, SamlError> {
    node.attribute("Algorithm")
        .ok_or(SamlError::Malformed("an algorithm is not named"))
}

fn no_element_children(node: Node) -> bool {
    !node.children().any(|c| c.is_element())
}

/// The canonicalisation a `CanonicalizationMethod` or `Transform` names, with its
/// `ec:InclusiveNamespaces` PrefixList (its only allowed parameter).
fn c14n_of(method: Node) -> Result<C14n, SamlError> {
    let params: Vec<_> = method.children().filter(Node::is_element).collect();
    let prefix_list = match params[..] {
        [] => None,
        [p] if is(p, NS_EXC_C14N, "InclusiveNamespaces") => Some(p.attribute("PrefixList").ok_or(
            SamlError::Malformed("InclusiveNamespaces without PrefixList"),
        )?),
        _ => {
            return Err(SamlError::Malformed(
                "unexpected canonicalization parameters",
            ));
        }
    };
    C14n::from_algorithm(algorithm(method)?, prefix_list)
}

fn base64_content(node: Node) -> Result<Vec<u8>, SamlError> {
    plain_text(node)
        .and_then(xml::decode_base64)
        .filter(|bytes| !bytes.is_empty())
        .ok_or(SamlError::Malformed("invalid base64 in a signature"))
}

/// An empty enveloped-signature template for the element whose ID is `id`; put it where the
/// schema wants it (after `Issuer`) and pass the document to [`sign`].
pub(crate) fn template(id: &str) -> String {
    format!(
        concat!(
            r#"<ds:Signature xmlns:ds="{ds}"><ds:SignedInfo>"#,
            r#"<ds:CanonicalizationMethod Algorithm="{c14n}"/>"#,
            r#"<ds:SignatureMethod Algorithm="{rsa}"/>"#,
            r##"<ds:Reference URI="#{id}"><ds:Transforms>"##,
            r#"<ds:Transform Algorithm="{enveloped}"/>"#,
            r#"<ds:Transform Algorithm="{c14n}"/>"#,
            r#"</ds:Transforms><ds:DigestMethod Algorithm="{sha}"/>"#,
            r#"<ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo>"#,
            r#"<ds:SignatureValue></ds:SignatureValue></ds:Signature>"#,
        ),
        ds = NS_DS,
        c14n = c14n::ALG_EXC_C14N,
        rsa = ALG_RSA_SHA256,
        id = xml::attr(id),
        enveloped = ALG_ENVELOPED,
        sha = ALG_SHA256,
    )
}

/// Fills in the [`template`] signature of the element `locate` finds in `document`: digest
/// first, then the signature over `SignedInfo`, both through the canonicaliser that
/// verification uses. The values are spliced into the text at the positions the parser
/// reports, so nothing else in the document changes.
pub(crate) fn sign(
    document: String,
    locate: impl for<'a, 'i> Fn(&'a Document<'i>) -> Option<Node<'a, 'i>>,
    signer: &IdpSigner,
) -> Result<String, SamlError> {
    const TEMPLATE: SamlError = SamlError::Malformed("no signature template to fill");
    let find = |doc: &Document, local: &str| -> Result<std::ops::Range<usize>, SamlError> {
        let element = locate(doc).ok_or(TEMPLATE)?;
        let signature = enveloped_signature(element)?.ok_or(TEMPLATE)?;
        signature
            .descendants()
            .find(|n| is(*n, NS_DS, local))
            .map(|n| n.range())
            .ok_or(TEMPLATE)
    };

    let digest = {
        let doc = xml::parse(&document)?;
        let element = locate(&doc).ok_or(TEMPLATE)?;
        let signature = enveloped_signature(element)?.ok_or(TEMPLATE)?;
        let content = c14n::canonicalize(element, Some(signature), &C14n::exclusive())?;
        Sha256::digest(&content)
    };
    let at = find(&xml::parse(&document)?, "DigestValue")?;
    let document = splice(&document, at, "DigestValue", &digest);

    let signature = {
        let doc = xml::parse(&document)?;
        let element = locate(&doc).ok_or(TEMPLATE)?;
        let signature = enveloped_signature(element)?.ok_or(TEMPLATE)?;
        let signed_info = signature
            .children()
            .find(|n| is(*n, NS_DS, "SignedInfo"))
            .ok_or(TEMPLATE)?;
        signer.sign_rs256(&c14n::canonicalize(signed_info, None, &C14n::exclusive())?)
    };
    let at = find(&xml::parse(&document)?, "SignatureValue")?;
    Ok(splice(&document, at, "SignatureValue", &signature))
}

fn splice(document: &str, at: std::ops::Range<usize>, local: &str, bytes: &[u8]) -> String {
    use base64::{Engine, engine::general_purpose::STANDARD};
    format!(
        "{}<ds:{local}>{}</ds:{local}>{}",
        &document[..at.start],
        STANDARD.encode(bytes),
        &document[at.end..]
    )
}
