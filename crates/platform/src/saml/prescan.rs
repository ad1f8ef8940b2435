//! The structural caps of untrusted XML, checked by one linear pass over the text before the
//! XML parser sees it: element depth and count, attributes and namespace declarations per
//! element, namespace declarations in the document and in scope, `PrefixList` entries. Also
//! the start-tag reader that canonicalisation uses to find an element's own declarations.
//!
//! Why before the parser: roxmltree copies the namespaces in scope into every element that
//! declares one and checks each copy against the others, so thousands of nested declarations
//! cost it cubic time (a 61 KB response took 5 s of CPU). The scan costs a few operations per
//! byte whatever the input, and every document it lets through is cheap for the parser and
//! for canonicalisation.
//!
//! The scan is not a parser: it reads markup just well enough to count it. On well-formed XML
//! its counts are exact; on anything else it may refuse with its own message or let the
//! parser refuse, but it never lets more structure through than it counted.

use super::{
    MAX_ATTRIBUTES_PER_ELEMENT, MAX_DEPTH, MAX_ELEMENTS, MAX_NAMESPACE_DECLARATIONS,
    MAX_NAMESPACE_DECLARATIONS_PER_ELEMENT, MAX_NAMESPACES_IN_SCOPE, MAX_PREFIX_LIST, SamlError,
};

const NOT_WELL_FORMED: SamlError = SamlError::Malformed("not well-formed XML");

fn too_complex(what: &'static str, max: usize) -> SamlError {
    SamlError::TooComplex { what, max }
}

/// Checks every cap of the `saml` module docs ("Limits") on `text`, in one pass.
pub(crate) fn check(text: &str) -> Result<(), SamlError> {
    let bytes = text.as_bytes();
    // Namespace declarations of each open element, outermost first.
    let mut open: Vec<usize> = Vec::new();
    let mut in_scope = 0usize;
    let mut elements = 0usize;
    let mut declarations = 0usize;
    let mut at = 0usize;
    while let Some(found) = find_byte(bytes, at, b'<') {
        at = found;
        let rest = &bytes[at..];
        if rest.starts_with(b"<?") {
            at = after(bytes, at + 2, b"?>")?;
        } else if rest.starts_with(b"<!--") {
            at = after(bytes, at + 4, b"-->")?;
        } else if rest.starts_with(b"<![CDATA[") {
            at = after(bytes, at + 9, b"]]>")?;
        } else if rest.starts_with(b"<!DOCTYPE") {
            return Err(SamlError::Malformed("a DTD is not allowed"));
        } else if rest.starts_with(b"<!") {
            return Err(NOT_WELL_FORMED);
        } else if rest.starts_with(b"</") {
            at = after(bytes, at + 2, b">")?;
            let closed = open.pop().ok_or(NOT_WELL_FORMED)?;
            in_scope -= closed;
        } else {
            let tag = StartTag::read(text, at)?;
            elements += 1;
            if elements > MAX_ELEMENTS {
                return Err(too_complex("elements", MAX_ELEMENTS));
            }
            if open.len() + 1 > MAX_DEPTH {
                return Err(too_complex("element depth", MAX_DEPTH));
            }
            let declared = tag.declarations;
            declarations += declared;
            if declarations > MAX_NAMESPACE_DECLARATIONS {
                return Err(too_complex(
                    "namespace declarations",
                    MAX_NAMESPACE_DECLARATIONS,
                ));
            }
            if in_scope + declared > MAX_NAMESPACES_IN_SCOPE {
                return Err(too_complex(
                    "namespace declarations in scope",
                    MAX_NAMESPACES_IN_SCOPE,
                ));
            }
            if !tag.empty {
                open.push(declared);
                in_scope += declared;
            }
            at = tag.end;
        }
    }
    Ok(())
}

/// What the scan knows of one start tag.
pub(crate) struct StartTag<'i> {
    /// The prefixes it declares, in source order (`""` for the default namespace).
    pub(crate) declared_prefixes: Vec<&'i str>,
    /// `declared_prefixes.len()`.
    pub(crate) declarations: usize,
    /// `<e/>`.
    pub(crate) empty: bool,
    /// The position after its `>`.
    pub(crate) end: usize,
}

impl<'i> StartTag<'i> {
    /// Reads the start tag at `at` (its `<`), checking the per-element caps as it goes.
    pub(crate) fn read(text: &'i str, at: usize) -> Result<Self, SamlError> {
        let bytes = text.as_bytes();
        let mut i = at + 1;
        let tag_name_end = name_end(bytes, i);
        if tag_name_end == i {
            return Err(NOT_WELL_FORMED);
        }
        i = tag_name_end;
        let mut tag = StartTag {
            declared_prefixes: Vec::new(),
            declarations: 0,
            empty: false,
            end: 0,
        };
        let mut attributes = 0usize;
        loop {
            i = skip_space(bytes, i);
            match bytes.get(i) {
                Some(b'>') => {
                    tag.end = i + 1;
                    return Ok(tag);
                }
                Some(b'/') if bytes.get(i + 1) == Some(&b'>') => {
                    tag.empty = true;
                    tag.end = i + 2;
                    return Ok(tag);
                }
                Some(_) => {}
                None => return Err(NOT_WELL_FORMED),
            }
            let qname_start = i;
            i = name_end(bytes, i);
            if i == qname_start {
                return Err(NOT_WELL_FORMED);
            }
            let qname = &text[qname_start..i];
            i = skip_space(bytes, i);
            if bytes.get(i) != Some(&b'=') {
                return Err(NOT_WELL_FORMED);
            }
            i = skip_space(bytes, i + 1);
            let quote = match bytes.get(i) {
                Some(q @ (b'"' | b'\'')) => *q,
                _ => return Err(NOT_WELL_FORMED),
            };
            let value_end = find_byte(bytes, i + 1, quote).ok_or(NOT_WELL_FORMED)?;
            let value = &text[i + 1..value_end];
            if value.contains('<') {
                return Err(NOT_WELL_FORMED);
            }
            i = value_end + 1;

            let declared = match qname {
                "xmlns" => Some(""),
                _ => qname.strip_prefix("xmlns:"),
            };
            if let Some(prefix) = declared {
                tag.declarations += 1;
                if tag.declarations > MAX_NAMESPACE_DECLARATIONS_PER_ELEMENT {
                    return Err(too_complex(
                        "namespace declarations on one element",
                        MAX_NAMESPACE_DECLARATIONS_PER_ELEMENT,
                    ));
                }
                // `xmlns:p=""` is XML 1.1 only, and canonical XML cannot render it.
                if !prefix.is_empty() && value.is_empty() {
                    return Err(SamlError::Malformed("a namespace prefix is undeclared"));
                }
                tag.declared_prefixes.push(prefix);
                continue;
            }
            attributes += 1;
            if attributes > MAX_ATTRIBUTES_PER_ELEMENT {
                return Err(too_complex(
                    "attributes on one element",
                    MAX_ATTRIBUTES_PER_ELEMENT,
                ));
            }
            let local = qname.rsplit_once(':').map_or(qname, |(_, local)| local);
            if local == "PrefixList" && value.split_ascii_whitespace().count() > MAX_PREFIX_LIST {
                return Err(too_complex("PrefixList entries", MAX_PREFIX_LIST));
            }
        }
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn skip_space(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).copied().is_some_and(is_space) {
        i += 1;
    }
    i
}

/// The end of a name starting at `i`: the first space, `=`, `/`, `>`, `<` or quote.
fn name_end(bytes: &[u8], mut i: usize) -> usize {
    while let Some(&b) = bytes.get(i) {
        if is_space(b) || matches!(b, b'=' | b'/' | b'>' | b'<' | b'"' | b'\'') {
            break;
        }
        i += 1;
    }
    i
}

fn find_byte(bytes: &[u8], from: usize, byte: u8) -> Option<usize> {
    bytes
        .get(from..)?
        .iter()
        .position(|&b| b == byte)
        .map(|p| from + p)
}

/// The position after the first `pattern` at or after `from`.
fn after(bytes: &[u8], from: usize, pattern: &[u8]) -> Result<usize, SamlError> {
    bytes
        .get(from..)
        .and_then(|rest| rest.windows(pattern.len()).position(|w| w == pattern))
        .map(|p| from + p + pattern.len())
        .ok_or(NOT_WELL_FORMED)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `levels` nested elements, each declaring `per_level` new prefixes.
    fn nested(levels: usize, per_level: usize) -> String {
        let mut xml = String::new();
        for level in 0..levels {
            xml.push_str("<a");
            for i in 0..per_level {
                xml.push_str(&format!(" xmlns:p{level}x{i}=\"urn:{level}:{i}\""));
            }
            xml.push('>');
        }
        xml.push_str(&"</a>".repeat(levels));
        xml
    }

    fn nested_declarations(n: usize) -> String {
        nested(n, 1)
    }

    fn refused_for(xml: &str) -> &'static str {
        match check(xml) {
            Err(SamlError::TooComplex { what, .. }) => what,
            other => panic!("expected a cap, got {other:?}"),
        }
    }

    #[test]
    fn documents_within_the_caps_pass() {
        assert_eq!(check(&nested(MAX_DEPTH, 0)), Ok(()));
        assert_eq!(check(&nested_declarations(MAX_NAMESPACES_IN_SCOPE)), Ok(()));
        let xml = format!(
            r#"<?xml version="1.0"?><!-- c --><r xmlns="urn:r" a='1' b = "x>y"><![CDATA[<not a tag>]]><e/>{}</r>"#,
            "<v xmlns:xs=\"urn:xs\" xmlns:xsi=\"urn:xsi\"/>".repeat(100)
        );
        assert_eq!(check(&xml), Ok(()));
    }

    #[test]
    fn thousands_of_nested_namespace_declarations_are_refused() {
        // The shape that cost roxmltree cubic time: one new declaration per level.
        assert_eq!(
            refused_for(&nested_declarations(5_000)),
            "namespace declarations in scope"
        );
        // Without declarations, the depth cap stops the nesting.
        assert_eq!(refused_for(&nested(5_000, 0)), "element depth");
        assert_eq!(check(&nested(MAX_NAMESPACES_IN_SCOPE / 2, 2)), Ok(()));
        assert_eq!(
            refused_for(&nested_declarations(MAX_NAMESPACES_IN_SCOPE + 1)),
            "namespace declarations in scope"
        );
        // Many per element at a shallow depth.
        let mut wide = String::from("<r");
        for i in 0..5_000 {
            wide.push_str(&format!(" xmlns:p{i}=\"urn:{i}\""));
        }
        wide.push_str("/>");
        assert_eq!(refused_for(&wide), "namespace declarations on one element");
        // Many in total, each element within its own limits.
        let many = format!(
            "<r>{}</r>",
            "<v xmlns:a=\"urn:a\" xmlns:b=\"urn:b\"/>".repeat(MAX_NAMESPACE_DECLARATIONS)
        );
        assert_eq!(refused_for(&many), "namespace declarations");
    }

    #[test]
    fn depth_elements_attributes_and_prefix_lists_are_capped() {
        let deep = format!(
            "{}{}",
            "<a>".repeat(MAX_DEPTH + 1),
            "</a>".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(refused_for(&deep), "element depth");
        let many = format!("<r>{}</r>", "<e/>".repeat(MAX_ELEMENTS));
        assert_eq!(refused_for(&many), "elements");
        let attributes: String = (0..=MAX_ATTRIBUTES_PER_ELEMENT)
            .map(|i| format!(" a{i}=\"\""))
            .collect();
        assert_eq!(
            refused_for(&format!("<r{attributes}/>")),
            "attributes on one element"
        );
        let list = vec!["p"; MAX_PREFIX_LIST + 1].join(" ");
        assert_eq!(
            refused_for(&format!(r#"<ec:InclusiveNamespaces PrefixList="{list}"/>"#)),
            "PrefixList entries"
        );
        let list = vec!["p"; MAX_PREFIX_LIST].join(" ");
        assert_eq!(
            check(&format!(r#"<InclusiveNamespaces PrefixList="{list}"/>"#)),
            Ok(())
        );
    }

    #[test]
    fn markup_the_scan_cannot_count_is_refused() {
        for bad in [
            "<",
            "<r",
            "<r a>",
            "<r a=b/>",
            "<r a=\"<\"/>",
            "</r>",
            "<!-- open",
            "<![CDATA[ open",
            "<!ELEMENT r ANY>",
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
        assert_eq!(
            check("<!DOCTYPE r><r/>"),
            Err(SamlError::Malformed("a DTD is not allowed"))
        );
        assert_eq!(
            check(r#"<a xmlns:p="urn:x"><b xmlns:p=""/></a>"#),
            Err(SamlError::Malformed("a namespace prefix is undeclared"))
        );
    }

    #[test]
    fn a_start_tag_lists_its_own_declarations_in_order() {
        let text = r#"<p:e a="1" xmlns:p='urn:p' xmlns="urn:d" b:c="2" xmlns:b="urn:b"/>"#;
        let tag = StartTag::read(text, 0).unwrap();
        assert_eq!(tag.declared_prefixes, ["p", "", "b"]);
        assert!(tag.empty);
        assert_eq!(tag.end, text.len());
    }
}
