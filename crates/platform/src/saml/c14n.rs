//! Canonical XML for signatures: Exclusive XML Canonicalization 1.0 (with its
//! InclusiveNamespaces PrefixList) and Canonical XML 1.0, both without comments, over one
//! element's subtree minus an optional excluded element (the enveloped `ds:Signature`).
//!
//! roxmltree has already done what the XPath data model asks of a parser (line endings,
//! attribute-value normalisation, character and entity references, CDATA as text), but it
//! does not keep prefixes, which canonical output must reproduce: we read them back from the
//! source text through node positions.

use std::collections::{HashMap, HashSet};

use roxmltree::{Node, NodeType};

use super::{MAX_PREFIX_LIST, SamlError, prescan, xml::NS_EXC_C14N};

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
            ALG_EXC_C14N => {
                let prefixes = prefix_list.unwrap_or("").split_ascii_whitespace();
                if prefixes.clone().count() > MAX_PREFIX_LIST {
                    return Err(SamlError::TooComplex {
                        what: "PrefixList entries",
                        max: MAX_PREFIX_LIST,
                    });
                }
                Ok(C14n::Exclusive {
                    inclusive_prefixes: prefixes
                        .map(|p| if p == "#default" { "" } else { p }.to_owned())
                        .collect(),
                })
            }
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
    canonicalize_counting(apex, exclude, method).map(|(bytes, _)| bytes)
}

/// [`canonicalize`], also returning how many namespace entries it looked at: the work that
/// grew quadratically with the namespaces in scope before, which the tests hold linear.
pub(crate) fn canonicalize_counting(
    apex: Node,
    exclude: Option<Node>,
    method: &C14n,
) -> Result<(Vec<u8>, usize), SamlError> {
    if !apex.is_element() {
        return Err(SamlError::Malformed("canonicalization of a non-element"));
    }
    let mut c = Canonicalizer {
        method,
        listed: match method {
            C14n::Exclusive { inclusive_prefixes } => {
                inclusive_prefixes.iter().map(String::as_str).collect()
            }
            C14n::Inclusive => HashSet::new(),
        },
        rendered: ScopedMap::default(),
        out: String::with_capacity(apex.range().len()),
        work: 0,
    };

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
                    c.rendered.open();
                    c.start_tag(node, node == apex)?;
                    steps.push(Step::Close(node));
                    let kids: Vec<_> = node.children().collect();
                    steps.extend(kids.into_iter().rev().map(Step::Open));
                }
                NodeType::Text => escape_text(node.text().unwrap_or(""), &mut c.out),
                NodeType::PI => {
                    if let Some(pi) = node.pi() {
                        c.out.push_str("<?");
                        c.out.push_str(pi.target);
                        if let Some(value) = pi.value.filter(|v| !v.is_empty()) {
                            c.out.push(' ');
                            c.out.push_str(value);
                        }
                        c.out.push_str("?>");
                    }
                }
                NodeType::Comment | NodeType::Root => {}
            },
            Step::Close(node) => {
                let (prefix, local) = element_qname(node)?;
                c.out.push_str("</");
                push_qname(prefix, local, &mut c.out);
                c.out.push('>');
                c.rendered.close();
            }
        }
    }
    Ok((c.out.into_bytes(), c.work))
}

/// One canonicalisation in progress.
///
/// Linear in the namespaces: an element looks only at the prefixes it uses and the
/// declarations it carries (its own start tag), never at everything in scope; only the apex
/// looks at its whole in-scope set, once. What output ancestors rendered is a scoped map, so
/// "already rendered with this value?" is one lookup, and leaving an element undoes its
/// entries.
struct Canonicalizer<'m, 'a> {
    method: &'m C14n,
    /// Exclusive c14n's PrefixList (`""` for `#default`).
    listed: HashSet<&'m str>,
    /// Namespace declarations rendered by output ancestors: prefix (`""` for the default
    /// namespace) → URI.
    rendered: ScopedMap<'a>,
    out: String,
    /// Namespace entries looked at (see [`canonicalize_counting`]).
    work: usize,
}

impl<'a> Canonicalizer<'_, 'a> {
    fn start_tag(&mut self, node: Node<'a, '_>, is_apex: bool) -> Result<(), SamlError> {
        let (prefix, local) = element_qname(node)?;

        let mut attributes = Vec::new();
        // The namespaces this element may need to declare: (prefix, URI in scope here).
        let mut candidates: Vec<(&'a str, &'a str)> = Vec::new();
        let exclusive = matches!(self.method, C14n::Exclusive { .. });
        if exclusive {
            // Visibly utilised: the element's prefix and its attributes' prefixes.
            candidates.push((prefix, node.tag_name().namespace().unwrap_or("")));
        }
        for attribute in node.attributes() {
            let (attr_prefix, attr_local) = attribute_qname(node, &attribute)?;
            let uri = attribute.namespace().unwrap_or("");
            if exclusive && !attr_prefix.is_empty() && attr_prefix != "xml" {
                candidates.push((attr_prefix, uri));
            }
            attributes.push((
                uri.to_owned(),
                attr_local,
                attr_prefix,
                attribute.value().to_owned(),
            ));
        }
        // Namespaces treated inclusively (all of them in c14n 1.0, the PrefixList's in
        // exclusive c14n): at the apex every one in scope; below it only those this element
        // declares, since whatever it inherits its output parent has already rendered.
        if is_apex {
            for ns in node.namespaces() {
                self.work += 1;
                let p = ns.name().unwrap_or("");
                if !exclusive || self.listed.contains(p) {
                    candidates.push((p, ns.uri()));
                }
            }
        } else if !exclusive || !self.listed.is_empty() {
            for (p, uri) in own_declarations(node)? {
                self.work += 1;
                if !exclusive || self.listed.contains(p) {
                    candidates.push((p, uri));
                }
            }
        }
        if !exclusive && is_apex {
            inherit_xml_attributes(node, &mut attributes);
        }
        candidates.sort_unstable_by_key(|(p, _)| *p);
        candidates.dedup_by_key(|(p, _)| *p);

        // A namespace is declared here when no output ancestor already declared it with the
        // same value (the default namespace counts as declared "" when nobody declared it, so
        // this also yields `xmlns=""` under a rendered non-empty default).
        self.out.push('<');
        push_qname(prefix, local, &mut self.out);
        // Declarations in prefix order, the default namespace ("") first.
        for (p, uri) in candidates {
            self.work += 1;
            if p == "xml" {
                continue;
            }
            if !p.is_empty() && uri.is_empty() {
                return Err(SamlError::Malformed("a namespace prefix is undeclared"));
            }
            let current = self
                .rendered
                .get(p)
                .or(if p.is_empty() { Some("") } else { None });
            if current == Some(uri) {
                continue;
            }
            if p.is_empty() {
                self.out.push_str(" xmlns=\"");
            } else {
                self.out.push_str(" xmlns:");
                self.out.push_str(p);
                self.out.push_str("=\"");
            }
            escape_attribute(uri, &mut self.out);
            self.out.push('"');
            self.rendered.set(p, uri);
        }
        // Attributes by namespace URI then local name; unqualified ones ("" URI) first.
        attributes.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        for (_, attr_local, attr_prefix, value) in &attributes {
            self.out.push(' ');
            push_qname(attr_prefix, attr_local, &mut self.out);
            self.out.push_str("=\"");
            escape_attribute(value, &mut self.out);
            self.out.push('"');
        }
        self.out.push('>');
        Ok(())
    }
}

/// The namespaces `node` itself declares, `(prefix, URI)` with `""` for the default
/// namespace, in source order. The prefixes come from its start tag in the source; the URIs
/// (with references resolved) from roxmltree, which lists an element's own declarations
/// first, in source order, before those it inherits. That layout is checked name by name,
/// so a parser that did otherwise would make this fail, never return a wrong namespace.
fn own_declarations<'a>(node: Node<'a, '_>) -> Result<Vec<(&'a str, &'a str)>, SamlError> {
    const INCONSISTENT: SamlError = SamlError::Malformed("inconsistent namespace declarations");
    let source: &'a str = node.document().input_text();
    let tag = prescan::StartTag::read(source, node.range().start)?;
    let mut in_scope = node.namespaces();
    let mut own = Vec::with_capacity(tag.declarations);
    // roxmltree does not list the (always implicit) `xml` prefix.
    for prefix in tag.declared_prefixes.into_iter().filter(|p| *p != "xml") {
        let ns = in_scope.next().ok_or(INCONSISTENT)?;
        if ns.name().unwrap_or("") != prefix {
            return Err(INCONSISTENT);
        }
        own.push((prefix, ns.uri()));
    }
    Ok(own)
}

/// A prefix → URI map with nested scopes: [`ScopedMap::close`] undoes every
/// [`ScopedMap::set`] since the matching [`ScopedMap::open`].
#[derive(Default)]
struct ScopedMap<'a> {
    current: HashMap<&'a str, &'a str>,
    undo: Vec<(&'a str, Option<&'a str>)>,
    scopes: Vec<usize>,
}

impl<'a> ScopedMap<'a> {
    fn open(&mut self) {
        self.scopes.push(self.undo.len());
    }

    fn set(&mut self, key: &'a str, value: &'a str) {
        let previous = self.current.insert(key, value);
        self.undo.push((key, previous));
    }

    fn get(&self, key: &str) -> Option<&'a str> {
        self.current.get(key).copied()
    }

    fn close(&mut self) {
        let mark = self.scopes.pop().unwrap_or(0);
        while self.undo.len() > mark {
            let Some((key, previous)) = self.undo.pop() else {
                break;
            };
            match previous {
                Some(value) => self.current.insert(key, value),
                None => self.current.remove(key),
            };
        }
    }
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
    fn inclusive_c14n_renders_below_the_apex_only_what_changes() {
        let xml = r#"<r xmlns="urn:d" xmlns:p="urn:p"><a xmlns:p="urn:p"><b xmlns="urn:d" xmlns:q="urn:q"><p:c xmlns:p="urn:p2" xmlns=""/></b></a></r>"#;
        assert_eq!(
            subtree(xml, "a", None, &C14n::Inclusive),
            r#"<a xmlns="urn:d" xmlns:p="urn:p"><b xmlns:q="urn:q"><p:c xmlns="" xmlns:p="urn:p2"></p:c></b></a>"#
        );
    }

    #[test]
    fn a_listed_prefix_is_rendered_at_the_apex_and_again_where_it_changes() {
        let xml = r#"<r xmlns:xs="urn:xs1" xmlns:u="urn:u"><a><b xmlns:xs="urn:xs1"><c xmlns:xs="urn:xs2" xmlns:u="urn:u2"/></b></a></r>"#;
        let listed = C14n::from_algorithm(ALG_EXC_C14N, Some("xs")).unwrap();
        assert_eq!(
            subtree(xml, "a", None, &listed),
            r#"<a xmlns:xs="urn:xs1"><b><c xmlns:xs="urn:xs2"></c></b></a>"#
        );
    }

    #[test]
    fn a_prefix_list_over_the_cap_is_refused() {
        let list = vec!["p"; MAX_PREFIX_LIST + 1].join(" ");
        assert_eq!(
            C14n::from_algorithm(ALG_EXC_C14N, Some(&list)),
            Err(SamlError::TooComplex {
                what: "PrefixList entries",
                max: MAX_PREFIX_LIST
            })
        );
    }

    /// `levels` nested elements each declaring a new prefix it uses, then `leaves` elements
    /// under the innermost, each using every prefix in scope.
    fn nested(levels: usize, leaves: usize) -> String {
        let mut xml = String::new();
        for i in 0..levels {
            xml.push_str(&format!(
                r#"<p{i}:e xmlns:p{i}="urn:{i}" xmlns="urn:d{i}">"#
            ));
        }
        let attributes: String = (0..levels.min(20))
            .map(|i| format!(r#" p{i}:a="{i}""#))
            .collect();
        for _ in 0..leaves {
            xml.push_str(&format!("<leaf{attributes}/>"));
        }
        for i in (0..levels).rev() {
            xml.push_str(&format!("</p{i}:e>"));
        }
        xml
    }

    /// The namespace entries canonicalisation looks at, parsing with roxmltree alone (the
    /// structural caps would refuse the larger shapes before canonicalisation ever ran).
    fn work(xml: &str, method: &C14n) -> usize {
        let doc = roxmltree::Document::parse(xml).unwrap();
        canonicalize_counting(doc.root_element(), None, method)
            .unwrap()
            .1
    }

    #[test]
    fn canonicalisation_work_is_linear_in_the_namespaces() {
        // Before, every element looked up every namespace in scope in the stack of rendered
        // ones (and inclusive c14n considered every namespace in scope at every element):
        // quadratic, cubic for nested declarations, 4.4 s for 16,000 namespaces. Now an
        // element looks at its own declarations and the prefixes it uses; doubling the
        // namespaces doubles the work.
        let listed = C14n::from_algorithm(ALG_EXC_C14N, Some("p0 p1 #default")).unwrap();
        for method in [C14n::exclusive(), C14n::Inclusive, listed] {
            for (levels, leaves) in [(100, 0), (100, 100), (50, 400)] {
                let small = work(&nested(levels, leaves), &method);
                let large = work(&nested(2 * levels, 2 * leaves), &method);
                // Elements plus declarations plus attributes: what a linear walk looks at.
                let size = |l: usize, n: usize| l + n + 2 * l + n * l.min(20);
                assert!(
                    small <= 2 * size(levels, leaves),
                    "{method:?} {levels}x{leaves}: {small}"
                );
                assert!(
                    large <= 2 * small + 8,
                    "{method:?} {levels}x{leaves}: {small} then {large}"
                );
            }
        }
    }

    #[test]
    fn a_document_at_the_caps_canonicalises() {
        // Every namespace in scope that the caps allow, at the bottom of a chain, with the most
        // elements under it, each using some of them: what an admissible response can ask of
        // canonicalisation. It runs to the end (in milliseconds; see the `saml_limits` bench).
        use crate::saml::{MAX_ELEMENTS, MAX_NAMESPACES_IN_SCOPE};
        let per_level = 2;
        let levels = MAX_NAMESPACES_IN_SCOPE / per_level;
        let mut xml = String::new();
        for level in 0..levels {
            xml.push_str("<e");
            for i in 0..per_level {
                xml.push_str(&format!(r#" xmlns:p{level}x{i}="urn:{level}:{i}""#));
            }
            xml.push('>');
        }
        let leaf = format!(
            "<p0x0:leaf{}/>",
            (0..levels)
                .step_by(8)
                .map(|l| format!(r#" p{l}x1:a="v""#))
                .collect::<String>()
        );
        xml.push_str(&leaf.repeat(MAX_ELEMENTS - levels - 1));
        xml.push_str(&"</e>".repeat(levels));
        let doc = parse(&xml).unwrap();
        for method in [C14n::exclusive(), C14n::Inclusive] {
            let (bytes, work) = canonicalize_counting(doc.root_element(), None, &method).unwrap();
            assert!(!bytes.is_empty());
            assert!(work <= 40 * MAX_ELEMENTS, "{method:?}: {work}");
        }
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
