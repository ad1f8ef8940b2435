//! XML plumbing shared by the SAML modules: the one way we parse untrusted XML (structural
//! caps first, no DTD), strict navigation helpers, and escaping for the documents we write.

use std::borrow::Cow;

use roxmltree::{Document, Node, ParsingOptions};

use super::{MAX_ELEMENTS, SamlError, prescan};

pub(crate) const NS_SAMLP: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub(crate) const NS_SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub(crate) const NS_MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
pub(crate) const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";
pub(crate) const NS_EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

/// Parses untrusted XML: first the structural caps (`prescan`, one linear pass; it also
/// refuses any DTD, even an empty `<!DOCTYPE>` that roxmltree lets through, and namespace
/// undeclarations of a prefix, `xmlns:p=""`, XML 1.1 only, which canonicalisation cannot
/// render), then roxmltree without DTD support.
pub(crate) fn parse(text: &str) -> Result<Document<'_>, SamlError> {
    prescan::check(text)?;
    let options = ParsingOptions {
        allow_dtd: false,
        // A backstop only: the scan's element cap already bounds the nodes (text and
        // comment nodes come between elements).
        nodes_limit: u32::try_from(8 * MAX_ELEMENTS).unwrap_or(u32::MAX),
        ..ParsingOptions::default()
    };
    Document::parse_with_options(text, options)
        .map_err(|_| SamlError::Malformed("not well-formed XML"))
}

/// The namespace URI of an element, `""` for none (roxmltree reports `xmlns=""` as `Some("")`).
pub(crate) fn ns<'a>(node: Node<'a, '_>) -> &'a str {
    node.tag_name().namespace().unwrap_or("")
}

/// Is `node` the element `{ns}local`?
pub(crate) fn is(node: Node, namespace: &str, local: &str) -> bool {
    node.is_element() && node.tag_name().name() == local && ns(node) == namespace
}

/// The element children of `node` named `{ns}local`.
pub(crate) fn children<'a, 'i>(
    node: Node<'a, 'i>,
    namespace: &'static str,
    local: &'static str,
) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(move |c| is(*c, namespace, local))
}

/// The one child `{ns}local` of `node`, if any; two of them are `Malformed(what)`.
pub(crate) fn at_most_one<'a, 'i>(
    node: Node<'a, 'i>,
    namespace: &'static str,
    local: &'static str,
    what: &'static str,
) -> Result<Option<Node<'a, 'i>>, SamlError> {
    let mut found = children(node, namespace, local);
    let first = found.next();
    match found.next() {
        Some(_) => Err(SamlError::Malformed(what)),
        None => Ok(first),
    }
}

/// The one child `{ns}local` of `node`; none or two are `Malformed(what)`.
pub(crate) fn exactly_one<'a, 'i>(
    node: Node<'a, 'i>,
    namespace: &'static str,
    local: &'static str,
    what: &'static str,
) -> Result<Node<'a, 'i>, SamlError> {
    at_most_one(node, namespace, local, what)?.ok_or(SamlError::Malformed(what))
}

/// The text of an element made of at most one text node and nothing else. `None` when it also
/// holds comments, processing instructions or elements: text split by a comment is how the
/// 2018 "comment truncation" attacks fooled parsers that read only the first text node.
pub(crate) fn plain_text<'a>(node: Node<'a, '_>) -> Option<&'a str> {
    let mut kids = node.children();
    match (kids.next(), kids.next()) {
        (None, _) => Some(""),
        (Some(only), None) if only.is_text() => only.text(),
        _ => None,
    }
}

/// Base64 as XML carries it: line breaks and spaces allowed anywhere.
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::{Engine, engine::general_purpose::STANDARD};
    let compact: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '\t' | '\r' | '\n'))
        .collect();
    STANDARD.decode(compact).ok()
}

/// Escapes text content for the documents we write. Characters XML 1.0 cannot carry at all
/// (most C0 controls, U+FFFE, U+FFFF) become U+FFFD, so whatever a caller puts in a field the
/// document stays well-formed.
pub(crate) fn text(s: &str) -> Cow<'_, str> {
    escape(s, false)
}

/// Escapes an attribute value (double-quoted) for the documents we write.
pub(crate) fn attr(s: &str) -> Cow<'_, str> {
    escape(s, true)
}

fn escape(s: &str, in_attribute: bool) -> Cow<'_, str> {
    let needs =
        |c: char| matches!(c, '&' | '<' | '>' | '"' | '\r' | '\t' | '\n') || !is_xml_char(c);
    if !s.chars().any(needs) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if in_attribute => out.push_str("&quot;"),
            '\r' => out.push_str("&#xD;"),
            '\t' if in_attribute => out.push_str("&#x9;"),
            '\n' if in_attribute => out.push_str("&#xA;"),
            c if !is_xml_char(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// XML 1.0 `Char` (Rust `char` already excludes surrogates).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::saml::MAX_DEPTH;

    #[test]
    fn a_doctype_is_refused_even_when_empty() {
        let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>
<lolz>&lol2;</lolz>"#;
        assert!(matches!(parse(bomb), Err(SamlError::Malformed(_))));
        assert!(matches!(
            parse("<!DOCTYPE r><r/>"),
            Err(SamlError::Malformed(_))
        ));
        // roxmltree on its own refuses the entity declarations too; keep it that way.
        assert!(Document::parse(bomb).is_err());
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = format!(
            "{}{}",
            "<a>".repeat(MAX_DEPTH + 2),
            "</a>".repeat(MAX_DEPTH + 2)
        );
        assert!(parse(&deep).is_err());
        let fine = format!("{}{}", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
        assert!(parse(&fine).is_ok());
    }

    #[test]
    fn prefix_undeclaration_is_refused() {
        assert!(parse(r#"<a xmlns:p="urn:x"><b xmlns:p=""/></a>"#).is_err());
    }

    #[test]
    fn plain_text_refuses_text_split_by_a_comment() {
        let doc =
            parse("<r><a>x@evil.com<!---->.good.com</a><b>plain</b><c/><d>x<e/></d></r>").unwrap();
        let kids: Vec<_> = doc.root_element().children().collect();
        assert_eq!(plain_text(kids[0]), None);
        assert_eq!(plain_text(kids[1]), Some("plain"));
        assert_eq!(plain_text(kids[2]), Some(""));
        assert_eq!(plain_text(kids[3]), None);
    }

    #[test]
    fn escaping_keeps_any_input_well_formed() {
        let nasty = "a&b<c>d\"e\r\n\tf\u{0}g\u{FFFF}";
        let xml = format!("<r a=\"{}\">{}</r>", attr(nasty), text(nasty));
        let doc = parse(&xml).unwrap();
        let r = doc.root_element();
        assert_eq!(r.attribute("a"), Some("a&b<c>d\"e\r\n\tf\u{FFFD}g\u{FFFD}"));
        assert_eq!(r.text(), Some("a&b<c>d\"e\r\n\tf\u{FFFD}g\u{FFFD}"));
    }
}
