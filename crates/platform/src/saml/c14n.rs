//! Canonical XML for signatures: Exclusive XML Canonicalization 1.0 (with its
//! InclusiveNamespaces PrefixList) and Canonical XML 1.0, both without comments, over one
//! element's subtree minus an optional excluded element (the enveloped `ds:Signature`).
//!
//! roxmltree has already done what the XPath data model asks of a parser (line endings,
//! attribute-value normalisation, character and entity references, CDATA as text), but it
//! does not keep prefixes, which canonical output must reproduce: we read them back from the
//! source text through node positions.

use roxmltree::{Node, NodeType};

use super::{SamlError, xml::NS_EXC_C14N};

pub(crate) const ALG_EXC_C14N: &str = NS_EXC_C14N;
pub(crate) const ALG_C14N: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
const ALG_EXC_C14N_COMMENTS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";
const ALG_C14N_COMMENTS: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments";
const ALG_C14N_11: &str = "http://www.w3.org/2006/12/xml-c14n11";
const ALG_C14N_11_COMMENTS: &str = "http://www.w3.org/2006/12/xml-c14n11#WithComments";
const NS_XML: &str = "http://www.w3.org/XML/1998/namespace";

/// A canonicalisation algorithm we implement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum C14n {
    /// Exclusive C14N 1.0; the prefixes (`""` for `#default`) are treated as inclusive C14N
    /// treats every namespace.
    Exclusive { inclusive_prefixes: Vec<String> },
    /// Canonical XML 1.0.
    Inclusive,
}

impl C14n {
    /// Exclusive C14N without a PrefixList: what we sign with.
    pub(crate) fn exclusive() -> Self {
        C14n::Exclusive {
            inclusive_prefixes: Vec::new(),
        }
    }

    /// The algorithm named by `uri`, with the `PrefixList` of an `ec:InclusiveNamespaces`
    /// child if there was one.
    pub(crate) fn from_algorithm(uri: &str, prefix_list: Option<&str>) -> Result<Self, SamlError> {
        match uri {
            ALG_EXC_C14N => Ok(C14n::Exclusive {
                inclusive_prefixes: prefix_list
                    .unwrap_or("")
                    .split_ascii_whitespace()
                    .map(|p| if p == "#default" { "" } else { p }.to_owned())
                    .collect(),
            }),
            ALG_C14N if prefix_list.is_none() => Ok(C14n::Inclusive),
            ALG_C14N => Err(SamlError::Malformed(
                "InclusiveNamespaces outside exclusive c14n",
            )),
            ALG_EXC_C14N_COMMENTS | ALG_C14N_COMMENTS | ALG_C14N_11_COMMENTS => Err(
                SamlError::Unsupported("canonicalization with comments is not accepted"),
            ),
            ALG_C14N_11 => Err(SamlError::Unsupported("canonical XML 1.1 is not supported")),
            _ => Err(SamlError::Unsupported("unknown canonicalization algorithm")),
        }
    }
}

/// The canonical form of `apex` and its descendants, leaving out `exclude` and everything in
/// it, and leaving out comments.
pub(crate) fn canonicalize(
    apex: Node,
    exclude: Option<Node>,
    method: &C14n,
) -> Result<Vec<u8>, SamlError> {
    if !apex.is_element() {
        return Err(SamlError::Malformed("canonicalization of a non-element"));
    }
    let mut out = String::with_capacity(apex.range().len());
    // Namespace declarations rendered by output ancestors, innermost last: (prefix, uri),
    // prefix "" for the default namespace. Each open element records how many it pushed.
    let mut rendered: Vec<(String, String)> = Vec::new();
    let mut pushed: Vec<usize> = Vec::new();

    // Iterative walk, so a deep document cannot exhaust the stack.
    enum Step<'a, 'i> {
        Open(Node<'a, 'i>),
        Close(Node<'a, 'i>),
    }
    let mut steps = vec![Step::Open(apex)];
    while let Some(step) = steps.pop() {
        match step {
            Step::Open(node) => match node.node_type() {
                NodeType::Element => {
                    if exclude == Some(node) {
                        continue;
                    }
                    let before = rendered.len();
                    start_tag(node, node == apex, method, &mut rendered, &mut out)?;
                    pushed.push(rendered.len() - before);
                    steps.push(Step::Close(node));
                    let kids: Vec<_> = node.children().collect();
                    steps.extend(kids.into_iter().rev().map(Step::Open));
                }
                NodeType::Text => escape_text(node.text().unwrap_or(""), &mut out),
                NodeType::PI => {
                    if let Some(pi) = node.pi() {
                        out.push_str("<?");
                        out.push_str(pi.target);
                        if let Some(value) = pi.value.filter(|v| !v.is_empty()) {
                            out.push(' ');
                            out.push_str(value);
                        }
                        out.push_str("?>");
                    }
                }
                NodeType::Comment | NodeType::Root => {}
            },
            Step::Close(node) => {
                let (prefix, local) = element_qname(node)?;
                out.push_str("</");
                push_qname(prefix, local, &mut out);
                out.push('>');
                let n = pushed.pop().unwrap_or(0);
                rendered.truncate(rendered.len().saturating_sub(n));
            }
        }
    }
    Ok(out.into_bytes())
}

fn start_tag(
    node: Node,
    is_apex: bool,
    method: &C14n,
    rendered: &mut Vec<(String, String)>,
    out: &mut String,
) -> Result<(), SamlError> {
    let (prefix, local) = element_qname(node)?;

    // Which namespace prefixes this element may need to declare.
    let mut candidates: Vec<&str> = vec![prefix];
    let mut attributes = Vec::new();
    for attribute in node.attributes() {
        let (attr_prefix, attr_local) = attribute_qname(node, &attribute)?;
        if !attr_prefix.is_empty() && attr_prefix != "xml" {
            candidates.push(attr_prefix);
        }
        attributes.push((
            attribute.namespace().unwrap_or("").to_owned(),
            attr_local,
            attr_prefix,
            attribute.value().to_owned(),
        ));
    }
    match method {
        C14n::Exclusive { inclusive_prefixes } => {
            candidates.extend(inclusive_prefixes.iter().map(String::as_str));
        }
        C14n::Inclusive => {
            candidates.push("");
            candidates.extend(node.namespaces().filter_map(|n| n.name()));
            if is_apex {
                inherit_xml_attributes(node, &mut attributes);
            }
        }
    }
    candidates.sort_unstable();
    candidates.dedup();

    // A namespace is declared here when it is in scope (the default namespace always is, as
    // "" when undeclared) and no output ancestor already declared it with the same value.
    // For the default namespace that also yields `xmlns=""` under a non-empty default.
    let mut declarations: Vec<(&str, &str)> = Vec::new();
    for candidate in candidates {
        if candidate == "xml" {
            continue;
        }
        let uri = if candidate.is_empty() {
            node.default_namespace().unwrap_or("")
        } else {
            match node.lookup_namespace_uri(Some(candidate)) {
                Some(uri) if !uri.is_empty() => uri,
                Some(_) => return Err(SamlError::Malformed("a namespace prefix is undeclared")),
                // Only a PrefixList entry can name a prefix that is not in scope: nothing to do.
                None => continue,
            }
        };
        let current = rendered
            .iter()
            .rev()
            .find(|(p, _)| p == candidate)
            .map(|(_, u)| u.as_str());
        let current = match (candidate.is_empty(), current) {
            (true, None) => Some(""),
            (_, current) => current,
        };
        if current != Some(uri) {
            declarations.push((candidate, uri));
        }
    }

    out.push('<');
    push_qname(prefix, local, out);
    // Declarations in prefix order, the default namespace ("") first.
    for (p, uri) in &declarations {
        if p.is_empty() {
            out.push_str(" xmlns=\"");
        } else {
            out.push_str(" xmlns:");
            out.push_str(p);
            out.push_str("=\"");
        }
        escape_attribute(uri, out);
        out.push('"');
        rendered.push(((*p).to_owned(), (*uri).to_owned()));
    }
    // Attributes by namespace URI then local name; unqualified ones ("" URI) first.
    attributes.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    for (_, attr_local, attr_prefix, value) in &attributes {
        out.push(' ');
        push_qname(attr_prefix, attr_local, out);
        out.push_str("=\"");
        escape_attribute(value, out);
        out.push('"');
    }
    out.push('>');
    Ok(())
}

/// Canonical XML 1.0 copies the `xml:*` attributes of ancestors outside the subset onto the
/// apex (the nearest wins) unless the apex has its own.
fn inherit_xml_attributes<'a>(
    apex: Node<'a, '_>,
    attributes: &mut Vec<(String, &'a str, &'a str, String)>,
) {
    for ancestor in apex.ancestors().skip(1).filter(Node::is_element) {
        for attribute in ancestor.attributes() {
            if attribute.namespace() != Some(NS_XML) {
                continue;
            }
            let local = attribute.name();
            if attributes
                .iter()
                .any(|(uri, l, _, _)| uri == NS_XML && *l == local)
            {
                continue;
            }
            attributes.push((
                NS_XML.to_owned(),
                local,
                "xml",
                attribute.value().to_owned(),
            ));
        }
    }
}

/// The element's prefix (`""` for none) and local name as written in the source.
fn element_qname<'i>(node: Node<'_, 'i>) -> Result<(&'i str, &'i str), SamlError> {
    let source: &'i str = node.document().input_text();
    let qname = source
        .get(node.range().start..)
        .and_then(|rest| rest.strip_prefix('<'))
        .map(|rest| {
            let end = rest
                .find([' ', '\t', '\r', '\n', '/', '>'])
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .ok_or(SamlError::Malformed("element name not found in the source"))?;
    split_qname(qname, node.tag_name().name())
}

/// The attribute's prefix (`""` for none) and local name as written in the source.
fn attribute_qname<'a, 'i>(
    node: Node<'a, 'i>,
    attribute: &roxmltree::Attribute<'a, 'i>,
) -> Result<(&'i str, &'i str), SamlError> {
    let source: &'i str = node.document().input_text();
    let qname = source
        .get(attribute.range_qname())
        .ok_or(SamlError::Malformed(
            "attribute name not found in the source",
        ))?;
    split_qname(qname, attribute.name())
}

/// Splits `prefix:local`, checking the local part is what the parser saw, so a position that
/// does not point where we think can never yield a wrong name.
fn split_qname<'i>(qname: &'i str, expected_local: &str) -> Result<(&'i str, &'i str), SamlError> {
    let (prefix, local) = qname.split_once(':').unwrap_or(("", qname));
    if local != expected_local || local.contains(':') {
        return Err(SamlError::Malformed(
            "inconsistent element or attribute name",
        ));
    }
    Ok((prefix, local))
}

fn push_qname(prefix: &str, local: &str, out: &mut String) {
    if !prefix.is_empty() {
        out.push_str(prefix);
        out.push(':');
    }
    out.push_str(local);
}

fn escape_text(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn escape_attribute(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::saml::xml::parse;

    fn exc(xml: &str) -> String {
        let doc = parse(xml).unwrap();
        String::from_utf8(canonicalize(doc.root_element(), None, &C14n::exclusive()).unwrap())
            .unwrap()
    }

    /// Canonicalises the first element named `local` (and, if given, excludes the first
    /// element named `exclude`).
    fn subtree(xml: &str, local: &str, exclude: Option<&str>, method: &C14n) -> String {
        let doc = parse(xml).unwrap();
        let find = |name: &str| {
            doc.descendants()
                .find(|n| n.is_element() && n.tag_name().name() == name)
                .unwrap()
        };
        let apex = find(local);
        let exclude = exclude.map(find);
        String::from_utf8(canonicalize(apex, exclude, method).unwrap()).unwrap()
    }

    // The example of the exc-c14n recommendation, §2.2: the same subtree under both algorithms.
    const SPEC_EXAMPLE: &str = r#"<n0:local xmlns:n0="foo:bar" xmlns:n3="ftp://example.org"><n1:elem2 xmlns:n1="http://example.net" xml:lang="en">
    <n3:stuff xmlns:n3="ftp://example.org"/>
  </n1:elem2></n0:local>"#;

    #[test]
    fn exclusive_c14n_pushes_namespaces_down_to_where_they_are_used() {
        assert_eq!(
            subtree(SPEC_EXAMPLE, "elem2", None, &C14n::exclusive()),
            "<n1:elem2 xmlns:n1=\"http://example.net\" xml:lang=\"en\">\n    \
             <n3:stuff xmlns:n3=\"ftp://example.org\"></n3:stuff>\n  </n1:elem2>"
        );
    }

    #[test]
    fn inclusive_c14n_renders_every_namespace_in_scope_at_the_apex() {
        assert_eq!(
            subtree(SPEC_EXAMPLE, "elem2", None, &C14n::Inclusive),
            "<n1:elem2 xmlns:n0=\"foo:bar\" xmlns:n1=\"http://example.net\" \
             xmlns:n3=\"ftp://example.org\" xml:lang=\"en\">\n    \
             <n3:stuff></n3:stuff>\n  </n1:elem2>"
        );
    }

    #[test]
    fn inclusive_c14n_inherits_xml_attributes_onto_the_apex() {
        let xml = r#"<a xml:lang="fr" xml:space="preserve"><b xml:lang="en"><c/></b></a>"#;
        assert_eq!(
            subtree(xml, "c", None, &C14n::Inclusive),
            r#"<c xml:lang="en" xml:space="preserve"></c>"#
        );
        assert_eq!(subtree(xml, "c", None, &C14n::exclusive()), "<c></c>");
    }

    #[test]
    fn prefix_list_prefixes_are_rendered_inclusively() {
        let xml = r#"<r xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:unused="urn:u"><v xsi:type="xs:string">x</v></r>"#;
        let with_list = C14n::from_algorithm(ALG_EXC_C14N, Some("xs #default")).unwrap();
        assert_eq!(
            subtree(xml, "v", None, &with_list),
            r#"<v xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">x</v>"#
        );
        assert_eq!(
            subtree(xml, "v", None, &C14n::exclusive()),
            r#"<v xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">x</v>"#
        );
    }

    #[test]
    fn attributes_sort_by_namespace_uri_then_local_name() {
        // From the C14N 1.0 recommendation, §3.3 (start and end tags).
        let xml = r#"<e5 a:attr="out" b:attr="sorted" attr2="all" attr="I'm" xmlns:b="http://www.ietf.org" xmlns:a="http://www.w3.org" xmlns="http://example.org"/>"#;
        assert_eq!(
            exc(xml),
            r#"<e5 xmlns="http://example.org" xmlns:a="http://www.w3.org" xmlns:b="http://www.ietf.org" attr="I'm" attr2="all" b:attr="sorted" a:attr="out"></e5>"#
        );
    }

    #[test]
    fn escaping_follows_the_recommendation() {
        // From the C14N 1.0 recommendation, §3.4 (character modifications).
        let xml = "<doc><text>First line&#x0d;&#10;Second line</text><value>&#x32;</value>\
                   <compute><![CDATA[value>\"0\" && value<\"10\" ?\"valid\":\"error\"]]></compute>\
                   <compute expr='value>\"0\" &amp;&amp; value&lt;\"10\" ?\"valid\":\"error\"'>valid</compute>\
                   <norm attrib=' &apos;   &#x20;&#13;&#xa;&#9;   &apos; '/></doc>";
        assert_eq!(
            exc(xml),
            "<doc><text>First line&#xD;\nSecond line</text><value>2</value>\
             <compute>value&gt;\"0\" &amp;&amp; value&lt;\"10\" ?\"valid\":\"error\"</compute>\
             <compute expr=\"value>&quot;0&quot; &amp;&amp; value&lt;&quot;10&quot; ?&quot;valid&quot;:&quot;error&quot;\">valid</compute>\
             <norm attrib=\" '    &#xD;&#xA;&#x9;   ' \"></norm></doc>"
        );
    }

    #[test]
    fn empty_elements_get_end_tags_and_comments_go_but_pis_stay() {
        assert_eq!(
            exc("<a><!-- gone --><b/><?pi  data ?><?bare?></a>"),
            "<a><b></b><?pi data ?><?bare?></a>"
        );
    }

    #[test]
    fn default_namespace_is_undeclared_only_under_a_rendered_default() {
        let xml =
            r#"<a xmlns="urn:a"><b xmlns=""><c/></b><p:d xmlns:p="urn:p"><e xmlns=""/></p:d></a>"#;
        assert_eq!(
            exc(xml),
            r#"<a xmlns="urn:a"><b xmlns=""><c></c></b><p:d xmlns:p="urn:p"><e xmlns=""></e></p:d></a>"#
        );
        // As an apex, an element in no namespace needs no undeclaration.
        assert_eq!(
            subtree(xml, "b", None, &C14n::exclusive()),
            "<b><c></c></b>"
        );
        // exc-c14n: `p:d` does not use the default namespace, so it is not declared there;
        // `e` then needs no undeclaration.
        assert_eq!(
            subtree(xml, "d", None, &C14n::exclusive()),
            r#"<p:d xmlns:p="urn:p"><e></e></p:d>"#
        );
        // c14n 1.0 renders the default namespace on `p:d`, so `e` must undeclare it.
        assert_eq!(
            subtree(xml, "d", None, &C14n::Inclusive),
            r#"<p:d xmlns="urn:a" xmlns:p="urn:p"><e xmlns=""></e></p:d>"#
        );
    }

    #[test]
    fn a_redeclared_prefix_is_rendered_again_and_a_repeated_one_is_not() {
        let xml = r#"<p:a xmlns:p="urn:1"><p:b xmlns:p="urn:1"><p:c xmlns:p="urn:2"/></p:b></p:a>"#;
        assert_eq!(
            exc(xml),
            r#"<p:a xmlns:p="urn:1"><p:b><p:c xmlns:p="urn:2"></p:c></p:b></p:a>"#
        );
    }

    #[test]
    fn the_excluded_element_and_its_namespaces_leave_no_trace_but_whitespace_stays() {
        let xml = r#"<a ID="x" xmlns:ds="urn:ds">
  <ds:Signature><ds:Value>1</ds:Value></ds:Signature>
  <b/>
</a>"#;
        assert_eq!(
            subtree(xml, "a", Some("Signature"), &C14n::exclusive()),
            "<a ID=\"x\">\n  \n  <b></b>\n</a>"
        );
    }

    #[test]
    fn unknown_and_commented_algorithms_are_refused() {
        assert!(matches!(
            C14n::from_algorithm(ALG_EXC_C14N_COMMENTS, None),
            Err(SamlError::Unsupported(_))
        ));
        assert!(matches!(
            C14n::from_algorithm(ALG_C14N_11, None),
            Err(SamlError::Unsupported(_))
        ));
        assert!(matches!(
            C14n::from_algorithm("urn:whatever", None),
            Err(SamlError::Unsupported(_))
        ));
    }
}
