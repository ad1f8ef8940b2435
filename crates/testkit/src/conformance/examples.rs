//! The request examples table: every JSON request body of the document has an example, and the
//! server takes it. Each example is sent, as the document gives it, by an admin (a session of
//! its own per call, from an address of its own), with every path parameter a well-formed id
//! of nothing. The answer must be a success, or an error the operation documents that is not a
//! refusal of the example itself: a validation failure naming fields, a 5xx, or a status the
//! operation does not list fails the table (a 404 for the made-up id, a 409 for a duplicate, a
//! 401 for made-up credentials pass when documented).

use platform::core::HasCore;
use reqwest::Method;
use serde_json::{Value, json};

use super::{
    Document, Findings, Operation, Suite, account, admin_role, document::resolve, fresh_ip,
    localhost,
};
use crate::outbox::unique_email;

/// Where the examples' browser redirects lead: a frontend's own development server, which the
/// table sets as the product's app URL (the mock sign-in providers only send people there).
pub const EXAMPLE_APP_URL: &str = "http://localhost:5173";

/// Sends every request body example of the document; see the module doc.
pub async fn request_examples<S: Suite>() {
    let app = S::spawn(Box::new(|s| {
        s.trusted_proxies = vec![localhost()];
        s.app_url = EXAMPLE_APP_URL.to_owned();
    }))
    .await;
    let doc = Document::fetch(app.server()).await;
    let admin = account(&app, &unique_email("examples"), admin_role::<S>()).await;
    let mut findings = Findings::default();
    for op in doc.operations.iter().filter(|op| op.takes_json()) {
        let Some(example) = example(&doc, op) else {
            findings.fail(op.label(), "the JSON request body has no example");
            continue;
        };
        let token = app
            .server()
            .ctx
            .core()
            .operator_session(&admin.email)
            .await
            .expect("an operator session")
            .access_token;
        let r = app
            .server()
            .call(op.method.clone(), &op.concrete_path())
            .bearer(&token)
            .header("x-forwarded-for", &fresh_ip())
            .json(example.clone())
            .send()
            .await;
        findings.check(
            op.label(),
            judge(&doc, op, S::VALIDATION_STATUS, r.status.as_u16(), &r.body)
                .map(|p| format!("{p}; sent {example}; answered {} {}", r.status, r.text)),
        );
        if op.effect.as_deref() == Some("switches-data-mode") {
            restore_mock_mode(&app, &token).await;
        }
    }
    findings.assert_none("request examples");
}

/// The example of the operation's JSON body: the media type's own, else its schema's (the
/// first member's, for a `oneOf`).
fn example(doc: &Document, op: &Operation) -> Option<Value> {
    let item = &doc.raw["paths"][&op.path][op.method.as_str().to_ascii_lowercase()];
    let body = resolve(&doc.raw, &item["requestBody"]);
    let media = body["content"]
        .as_object()?
        .iter()
        .find(|(k, _)| k.starts_with("application/json"))
        .map(|(_, v)| v)?;
    if let Some(e) = media.get("example") {
        return Some(e.clone());
    }
    if let Some(e) = media["examples"]
        .as_object()
        .and_then(|m| m.values().next())
    {
        return Some(resolve(&doc.raw, e)["value"].clone());
    }
    schema_example(&doc.raw, &media["schema"])
}

fn schema_example(raw: &Value, schema: &Value) -> Option<Value> {
    let schema = resolve(raw, schema);
    if let Some(e) = schema.get("example") {
        return Some(e.clone());
    }
    if let Some(e) = schema["examples"].as_array().and_then(|a| a.first()) {
        return Some(e.clone());
    }
    ["oneOf", "anyOf"]
        .iter()
        .filter_map(|k| schema[*k].as_array())
        .flatten()
        .find_map(|member| schema_example(raw, member))
}

/// Why the answer shows the example refused or the document wrong, if it does.
fn judge(
    doc: &Document,
    op: &Operation,
    validation: u16,
    status: u16,
    body: &Value,
) -> Option<String> {
    if (200..400).contains(&status) {
        return None;
    }
    if status >= 500 {
        return Some("a server error".into());
    }
    let responses =
        &doc.raw["paths"][&op.path][op.method.as_str().to_ascii_lowercase()]["responses"];
    let Some(documented) = responses.get(status.to_string()) else {
        return Some(format!(
            "{status} is not among the operation's documented responses"
        ));
    };
    // A refusal naming fields is the example's fault, unless the operation documents that
    // refusal itself (a wrong current password), beyond what every operation says.
    let generic = reqwest::StatusCode::from_u16(status)
        .map(platform::docs::error_description)
        .unwrap_or_default();
    let specific = documented["description"].as_str() != Some(generic);
    if (status == 400 || status == validation) && names_fields(body) && !specific {
        return Some("the example fails the operation's own validation".into());
    }
    None
}

/// The error body names offending fields (`details.fields`, in any of the products' shapes).
fn names_fields(body: &Value) -> bool {
    [
        &body["details"]["fields"],
        &body["error"]["details"]["fields"],
    ]
    .iter()
    .any(|f| f.as_array().is_some_and(|a| !a.is_empty()))
}

/// Puts the product back in MOCK mode after an example switched it.
async fn restore_mock_mode<S: Suite>(app: &S, token: &str) {
    let r = app
        .server()
        .call(Method::PUT, "/admin/api/data-mode")
        .bearer(token)
        .json(json!({ "dataMode": "MOCK" }))
        .send()
        .await;
    assert!(
        r.status.is_success(),
        "back to MOCK: {} {}",
        r.status,
        r.text
    );
}
