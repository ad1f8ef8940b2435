//! The error-shape table: bad input of every kind, generated from the OpenAPI document, must
//! be refused in the product's error shape with the catalogue's status — never a 5xx, never
//! axum's plain text. Probes that need a body or a path carry an admin's token, so that what
//! is judged is the input, not the caller; they are all refused before a handler runs, so no
//! probe changes anything.

use platform::{product::Product, ratelimit::KeyKind};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{
    Ctx, Document, Findings, Operation, Suite, admin_role,
    document::{resolve, types},
    fresh_ip, localhost, operator,
};
use crate::{
    errors::{error_problem, internals_problem},
    resp::Resp,
    server::TestServer,
};

/// A field no request body defines.
const UNKNOWN_FIELD: &str = "conformanceUnknownField";
/// A path segment no route has.
const NO_SUCH_SEGMENT: &str = "conformance-no-such-route";

/// Runs the error-shape table against the product of `S` (see the module docs of
/// `conformance`).
pub async fn error_shapes<S: Suite>() {
    let app = S::spawn(Box::new(|s| s.trusted_proxies = vec![localhost()])).await;
    let doc = Document::fetch(app.server()).await;
    let (_, admin) = operator(&app, admin_role::<S>()).await;
    let mut probe = Probe {
        app: &app,
        admin,
        per_user: false,
        doc: &doc,
        findings: Findings::default(),
    };
    for op in &doc.operations {
        // Probes count toward a per-user limit of the route like any request: each of them
        // comes from an admin of its own there, so none reaches the limit.
        probe.per_user = S::Product::RATE_LIMITS.iter().any(|r| {
            r.rule.key == KeyKind::User && r.route == op.path && r.method == op.method.as_str()
        });
        if op.takes_json() {
            probe.json_bodies(op).await;
            probe.wrong_types(op).await;
        }
        probe.path_params(op).await;
        probe.query_params(op).await;
    }
    for (path, methods) in doc.paths() {
        probe.undocumented_methods(&path, &methods).await;
        probe.extra_segment(&path).await;
    }
    probe.unknown_routes(S::Product::API_BASE).await;
    let strict = doc
        .operations
        .iter()
        .find(|op| op.takes_json() && op.refuses_unknown_fields());
    match strict {
        Some(op) => probe.body_limit_edges(op).await,
        None => probe.findings.fail(
            "body limit",
            "no JSON operation refuses unknown fields to probe with",
        ),
    }
    probe.findings.assert_none("error shapes");
}

/// A bad body: what it is, its content type, its bytes, and whether it is only bad where the
/// body is required.
type BodyCase = (
    &'static str,
    Option<&'static str>,
    Option<&'static [u8]>,
    bool,
);

struct Probe<'a, S> {
    app: &'a S,
    /// The token of the admin the probes come from.
    admin: String,
    /// The operation under probe has a per-user limit: each probe from a new admin.
    per_user: bool,
    doc: &'a Document,
    findings: Findings,
}

impl<S: Suite> Probe<'_, S> {
    fn server(&self) -> &TestServer<Ctx<S>> {
        self.app.server()
    }

    /// A request from an address of its own, with an admin's token.
    async fn send(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Resp {
        let token = if self.per_user {
            operator(self.app, admin_role::<S>()).await.1
        } else {
            self.admin.clone()
        };
        let mut call = self
            .server()
            .call(method, path)
            .bearer(&token)
            .header("x-forwarded-for", &fresh_ip());
        if let Some(t) = content_type {
            call = call.header("content-type", t);
        }
        if let Some(b) = body {
            call = call.raw(b);
        }
        call.send().await
    }

    /// `invalid_argument` with 400, or the product's validation status when it names fields;
    /// nothing internal in the message.
    fn invalid(&self, r: &Resp) -> Option<String> {
        let names_fields = r.error()["details"]["fields"]
            .as_array()
            .is_some_and(|f| !f.is_empty());
        let status = if names_fields {
            S::VALIDATION_STATUS
        } else {
            400
        };
        error_problem(r, status, "invalid_argument").or_else(|| internals_problem(r))
    }

    async fn json_bodies(&mut self, op: &Operation) {
        let path = op.concrete_path();
        let json = Some("application/json");
        let form = Some("application/x-www-form-urlencoded");
        let label = op.label();
        let takes_form = op.body_types.iter().any(|t| t.contains("form"));
        // A top-level value of a kind the schema admits (an optional body documented as
        // `null`) is no bad input: it would run the operation.
        let admitted = op
            .body_schema
            .as_ref()
            .map(|schema| admitted_kinds(&self.doc.raw, schema))
            .unwrap_or_default();
        // (case, content type, body, only where the body is required): an optional body that
        // is empty or has no content type counts as absent, and the operation would run.
        let cases: [BodyCase; 10] = [
            ("malformed JSON", json, Some(b"{\"conformance\": "), false),
            ("a body that is not UTF-8", json, Some(b"\xff\xfe"), false),
            ("a top-level array", json, Some(b"[]"), false),
            ("a top-level string", json, Some(b"\"conformance\""), false),
            ("a top-level null", json, Some(b"null"), false),
            ("a text/plain body", Some("text/plain"), Some(b"{}"), false),
            ("a form body", form, Some(b"a=1"), false),
            ("an empty JSON body", json, Some(b""), true),
            ("a body without a content type", None, Some(b"{}"), true),
            ("no body at all", None, None, true),
        ];
        for (case, content_type, body, only_required) in cases {
            let kind = case.strip_prefix("a top-level ");
            if (only_required && !op.body_required)
                || (content_type == form && takes_form)
                || kind.is_some_and(|k| admitted.iter().any(|a| a == k))
            {
                continue;
            }
            let body = body.map(<[u8]>::to_vec);
            let r = self
                .send(op.method.clone(), &path, content_type, body)
                .await;
            let problem = self.invalid(&r);
            self.findings.check(format!("{label} with {case}"), problem);
        }
        if op.refuses_unknown_fields() {
            let body = format!("{{\"{UNKNOWN_FIELD}\": true}}").into_bytes();
            let r = self.send(op.method.clone(), &path, json, Some(body)).await;
            let mut problem = self.invalid(&r);
            if problem.is_none() && !r.text.contains(UNKNOWN_FIELD) {
                problem = Some(format!("the refusal does not name the field: {}", r.text));
            }
            self.findings
                .check(format!("{label} with an unknown field"), problem);
        }
        let r = self
            .send(
                op.method.clone(),
                &path,
                json,
                Some(padded(S::BODY_LIMIT + 1)),
            )
            .await;
        let problem = error_problem(&r, 413, "resource_exhausted");
        self.findings
            .check(format!("{label} with a body over the limit"), problem);
    }

    async fn path_params(&mut self, op: &Operation) {
        for param in &op.params {
            let Some(bad) = param.malformed() else {
                continue;
            };
            let path = op.path_with(|p| {
                if p.name == param.name {
                    bad.to_owned()
                } else {
                    p.valid()
                }
            });
            let r = self.send(op.method.clone(), &path, None, None).await;
            // A malformed id is either refused as input or is no route at all (War Room's
            // `/campaigns/{id}`), never looked up.
            let problem = match r.status.as_u16() {
                404 => error_problem(&r, 404, "not_found"),
                _ => self.invalid(&r),
            };
            self.findings.check(
                format!("{} with {{{}}} = {bad}", op.label(), param.name),
                problem,
            );
        }
    }

    /// Each top-level field of the JSON body, alone and of a type its schema does not admit:
    /// refused, naming the field.
    async fn wrong_types(&mut self, op: &Operation) {
        let Some(schema) = &op.body_schema else {
            return;
        };
        let properties = schema["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let path = op.concrete_path();
        for (name, property) in &properties {
            let admitted = types(&self.doc.raw, property);
            let Some(wrong) = wrong_value(&admitted) else {
                continue;
            };
            let body = json!({ name.as_str(): wrong }).to_string().into_bytes();
            let r = self
                .send(
                    op.method.clone(),
                    &path,
                    Some("application/json"),
                    Some(body),
                )
                .await;
            let mut problem = self.invalid(&r);
            if problem.is_none() && !names(&r, name) {
                problem = Some(format!("the refusal does not name the field: {}", r.text));
            }
            self.findings.check(
                format!(
                    "{} with {name} = {wrong} (the schema admits {admitted:?})",
                    op.label()
                ),
                problem,
            );
        }
    }

    /// Each query parameter whose schema refuses some values, given one of those: refused.
    async fn query_params(&mut self, op: &Operation) {
        if op.effect.as_deref() == Some("endless-stream") {
            return;
        }
        let path = op.concrete_path();
        for param in &op.query {
            let Some(bad) = param.malformed() else {
                continue;
            };
            let uri = format!("{path}?{}={bad}", param.name);
            let sent = self.send(op.method.clone(), &uri, None, None);
            let what = format!("{} with ?{}={bad}", op.label(), param.name);
            let problem = match tokio::time::timeout(std::time::Duration::from_secs(10), sent).await
            {
                Ok(r) => self.invalid(&r),
                Err(_) => Some("no answer within 10 s (the value was not refused)".into()),
            };
            self.findings.check(what, problem);
        }
    }

    async fn undocumented_methods(&mut self, template: &str, documented: &[Method]) {
        let path = self.concrete(template);
        for method in super::document::METHODS {
            if documented.contains(&method) {
                continue;
            }
            // Anonymous: routing refuses the method before anything looks at the caller.
            let r = self
                .server()
                .call(method.clone(), &path)
                .header("x-forwarded-for", &fresh_ip())
                .send()
                .await;
            let problem = error_problem(&r, 405, "unimplemented");
            self.findings
                .check(format!("undocumented {method} {template}"), problem);
        }
    }

    async fn extra_segment(&mut self, template: &str) {
        let path = format!("{}/{NO_SUCH_SEGMENT}", self.concrete(template));
        if self.routed(&path) {
            return;
        }
        let r = self.server().get(&path, None).await;
        let problem = error_problem(&r, 404, "not_found");
        self.findings.check(format!("GET {path}"), problem);
    }

    async fn unknown_routes(&mut self, api_base: &str) {
        for base in [api_base.trim_end_matches('/'), ""] {
            let path = format!("{base}/{NO_SUCH_SEGMENT}");
            if self.routed(&path) {
                continue;
            }
            for method in [Method::GET, Method::POST, Method::DELETE] {
                for token in [None, Some(self.admin.clone())] {
                    let mut call = self.server().call(method.clone(), &path);
                    if let Some(t) = &token {
                        call = call.bearer(t);
                    }
                    let r = call.send().await;
                    let problem = error_problem(&r, 404, "not_found");
                    let who = if token.is_some() {
                        "admin"
                    } else {
                        "anonymous"
                    };
                    self.findings
                        .check(format!("{method} {path} ({who})"), problem);
                }
            }
        }
    }

    /// Just under the limit is read (and judged on its merits); over it, sent in chunks with
    /// no declared length, it is 413 all the same.
    async fn body_limit_edges(&mut self, op: &Operation) {
        let path = op.concrete_path();
        let r = self
            .send(
                op.method.clone(),
                &path,
                Some("application/json"),
                Some(padded(S::BODY_LIMIT - 1024)),
            )
            .await;
        let problem = self.invalid(&r);
        self.findings.check(
            format!("{} with a body just under the limit", op.label()),
            problem,
        );

        let (status, head, body) =
            chunked(self.server(), &op.method, &path, &self.admin, S::BODY_LIMIT).await;
        let label = format!("{} with a chunked body over the limit", op.label());
        if status != 413 {
            self.findings.fail(
                &label,
                format!("expected 413, got {status}: {head}\n{body}"),
            );
        }
        let code = serde_json::from_str::<Value>(&body).ok().map(|v| {
            let code = v["code"].as_str().or(v["error"]["code"].as_str());
            code.unwrap_or_default().to_owned()
        });
        if code.as_deref() != Some("resource_exhausted") {
            self.findings
                .fail(&label, format!("not the product's error body: {body}"));
        }
    }

    /// `template` with well-formed parameters.
    fn concrete(&self, template: &str) -> String {
        self.doc
            .operations
            .iter()
            .find(|op| op.path == template)
            .map_or_else(|| template.to_owned(), Operation::concrete_path)
    }

    /// True when some documented route matches `path` (a parameter matches any segment).
    fn routed(&self, path: &str) -> bool {
        let segments: Vec<&str> = path.split('/').collect();
        self.doc.operations.iter().any(|op| {
            let template: Vec<&str> = op.path.split('/').collect();
            template.len() == segments.len()
                && template
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| t == s || (t.starts_with('{') && t.ends_with('}')))
        })
    }
}

/// The JSON types a body schema admits at its top level, `null` included.
fn admitted_kinds(doc: &Value, schema: &Value) -> Vec<String> {
    let mut kinds = types(doc, schema);
    let nullable = |s: &Value| {
        let s = resolve(doc, s);
        s["type"] == "null"
            || s["type"]
                .as_array()
                .is_some_and(|t| t.contains(&json!("null")))
    };
    let members = ["oneOf", "anyOf"].iter().flat_map(|k| {
        resolve(doc, schema)[*k]
            .as_array()
            .cloned()
            .unwrap_or_default()
    });
    if nullable(schema) || members.into_iter().any(|m| nullable(&m)) {
        kinds.push("null".into());
    }
    kinds
}

/// A value of a JSON type none of `admitted` is (`None` when the schema admits anything).
fn wrong_value(admitted: &[String]) -> Option<Value> {
    if admitted.is_empty() {
        return None;
    }
    // A number field takes an integer too.
    let has = |t: &str| {
        admitted
            .iter()
            .any(|a| a == t || (t == "integer" && a == "number"))
    };
    [
        ("boolean", json!(true)),
        ("integer", json!(12345)),
        ("string", json!("conformance-wrong-type")),
        ("object", json!({ "conformance": 1 })),
    ]
    .into_iter()
    .find(|(t, _)| !has(t))
    .map(|(_, v)| v)
}

/// The error names `field`, in its message or among `details.fields`.
fn names(r: &Resp, field: &str) -> bool {
    let in_fields = r.error()["details"]["fields"].as_array().is_some_and(|fs| {
        fs.iter()
            .any(|f| f["field"].as_str().is_some_and(|f| f.contains(field)))
    });
    in_fields
        || r.error()["message"]
            .as_str()
            .is_some_and(|m| m.contains(field))
}

/// A JSON object of exactly `len` bytes (one padding field).
fn padded(len: usize) -> Vec<u8> {
    let frame = "{\"pad\":\"\"}".len();
    format!("{{\"pad\":\"{}\"}}", "x".repeat(len.saturating_sub(frame))).into_bytes()
}

/// Sends `limit` + 64 KiB of JSON in chunks, with no declared length, over a raw connection
/// with `token`;
/// returns the status, the head and the (de-chunked enough to parse) body.
async fn chunked<C>(
    server: &TestServer<C>,
    method: &Method,
    path: &str,
    token: &str,
    limit: usize,
) -> (u16, String, String) {
    let chunk = "x".repeat(64 * 1024);
    let prefix = r#"{"pad":""#;
    let mut body = format!("{:x}\r\n{prefix}\r\n", prefix.len());
    for _ in 0..=(limit / chunk.len()) + 1 {
        body.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    body.push_str("0\r\n\r\n");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: conformance\r\ncontent-type: application/json\r\n\
         authorization: Bearer {token}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    let mut s = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    s.write_all(head.as_bytes()).await.expect("write head");
    // The server may answer and close before it has read everything.
    let _ = s.write_all(body.as_bytes()).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), s.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let json = match (rest.find('{'), rest.rfind('}')) {
        (Some(a), Some(b)) if a < b => rest[a..=b].to_owned(),
        _ => rest.to_owned(),
    };
    (status, head.to_owned(), json)
}

#[cfg(test)]
mod tests {
    use super::padded;

    #[test]
    fn padded_bodies_have_the_asked_length_and_are_json() {
        for len in [20, 1024, 4096] {
            let b = padded(len);
            assert_eq!(b.len(), len);
            assert!(serde_json::from_slice::<serde_json::Value>(&b).is_ok());
        }
    }
}
