//! The product's published OpenAPI document (`GET /openapi.json`) read as a list of
//! operations: method, path template, path parameters, request body media types and schema,
//! and the `x-basalt-effect` mark. The tables are generated from it, so an endpoint added to
//! the document is probed without anyone adding a row.

use reqwest::Method;
use serde_json::Value;

use crate::server::TestServer;

/// Methods an operation can have in the document (HEAD and OPTIONS are the stack's).
pub const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

/// One operation of the document.
#[derive(Clone, Debug)]
pub struct Operation {
    pub method: Method,
    /// The path template, e.g. `/api/v1/users/{id}`.
    pub path: String,
    pub params: Vec<Param>,
    /// Query parameters.
    pub query: Vec<Param>,
    /// Media types of the request body (`application/json`, a form...); empty without one.
    pub body_types: Vec<String>,
    /// The request body must be sent (`requestBody.required`).
    pub body_required: bool,
    /// The JSON body's schema with its top-level `$ref` resolved.
    pub body_schema: Option<Value>,
    /// `x-basalt-effect` (`ends-session`, `switches-data-mode`, `endless-stream`).
    pub effect: Option<String>,
}

/// A parameter (of the path or the query), with what its schema says it holds.
#[derive(Clone, Debug)]
pub struct Param {
    pub name: String,
    /// `type` of its schema (`string`, `integer`), `null` aside.
    pub kind: Option<String>,
    /// `format` of its schema (`uuid`, `date-time`).
    pub format: Option<String>,
    /// The schema lists the values it takes (`enum`).
    pub enumerated: bool,
}

impl Param {
    /// A well-formed value: a fresh UUID, `1`, or a word.
    pub fn valid(&self) -> String {
        match (self.format.as_deref(), self.kind.as_deref()) {
            (Some("uuid"), _) => uuid::Uuid::new_v4().to_string(),
            (_, Some("integer" | "number")) => "1".into(),
            _ => "conformance".into(),
        }
    }

    /// A value the schema refuses, when the schema refuses any: not a UUID, a number, a
    /// date-time, a boolean, or one of the listed values.
    pub fn malformed(&self) -> Option<&'static str> {
        match (self.format.as_deref(), self.kind.as_deref()) {
            (Some("uuid"), _) => Some("not-a-uuid"),
            (Some("date-time"), _) => Some("not-a-date"),
            (_, Some("integer" | "number")) => Some("not-a-number"),
            (_, Some("boolean")) => Some("not-a-boolean"),
            _ if self.enumerated => Some("conformance-no-such-value"),
            _ => None,
        }
    }
}

impl Operation {
    /// The body is JSON (possibly among other media types).
    pub fn takes_json(&self) -> bool {
        self.body_types
            .iter()
            .any(|t| t.starts_with("application/json"))
    }

    /// The JSON body refuses fields it does not define (`additionalProperties: false`, which
    /// `#[serde(deny_unknown_fields)]` publishes).
    pub fn refuses_unknown_fields(&self) -> bool {
        self.body_schema
            .as_ref()
            .is_some_and(|s| s["additionalProperties"] == Value::Bool(false))
    }

    /// The path with every parameter filled in by `value`.
    pub fn path_with(&self, mut value: impl FnMut(&Param) -> String) -> String {
        let mut path = self.path.clone();
        for p in &self.params {
            path = path.replace(&format!("{{{}}}", p.name), &value(p));
        }
        path
    }

    /// The path with well-formed parameters.
    pub fn concrete_path(&self) -> String {
        self.path_with(Param::valid)
    }

    /// `METHOD /path`, for messages.
    pub fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// The document and its operations.
pub struct Document {
    pub raw: Value,
    pub operations: Vec<Operation>,
}

impl Document {
    /// Reads the document the server publishes at `/openapi.json`.
    pub async fn fetch<C>(server: &TestServer<C>) -> Self {
        let r = server.get("/openapi.json", None).await;
        assert_eq!(r.status, 200, "GET /openapi.json: {}", r.text);
        Self::parse(r.body)
    }

    pub fn parse(raw: Value) -> Self {
        let mut operations = Vec::new();
        let paths = raw["paths"].as_object().cloned().unwrap_or_default();
        for (path, item) in &paths {
            for method in METHODS {
                let op = &item[method.as_str().to_ascii_lowercase()];
                if op.is_object() {
                    operations.push(operation(&raw, path, item, method, op));
                }
            }
        }
        Self { raw, operations }
    }

    /// Every path of the document with the methods it documents.
    pub fn paths(&self) -> Vec<(String, Vec<Method>)> {
        let mut out: Vec<(String, Vec<Method>)> = Vec::new();
        for op in &self.operations {
            match out.iter_mut().find(|(p, _)| *p == op.path) {
                Some((_, methods)) => methods.push(op.method.clone()),
                None => out.push((op.path.clone(), vec![op.method.clone()])),
            }
        }
        out
    }
}

fn operation(doc: &Value, path: &str, item: &Value, method: Method, op: &Value) -> Operation {
    // Parameters may sit on the path item (shared) or on the operation.
    let mut params: Vec<Param> = Vec::new();
    let mut query: Vec<Param> = Vec::new();
    for list in [&item["parameters"], &op["parameters"]] {
        for p in list.as_array().into_iter().flatten() {
            let p = resolve(doc, p);
            let into = match p["in"].as_str() {
                Some("path") => &mut params,
                Some("query") => &mut query,
                _ => continue,
            };
            let schema = resolve(doc, &p["schema"]);
            let param = Param {
                name: p["name"].as_str().unwrap_or_default().to_owned(),
                kind: types(doc, schema).into_iter().next(),
                format: schema["format"].as_str().map(str::to_owned),
                enumerated: schema["enum"].is_array(),
            };
            into.retain(|q| q.name != param.name);
            into.push(param);
        }
    }
    let body = resolve(doc, &op["requestBody"]);
    let content = body["content"].as_object();
    let body_types = content
        .map(|c| c.keys().cloned().collect())
        .unwrap_or_default();
    let body_schema = content
        .and_then(|c| c.iter().find(|(k, _)| k.starts_with("application/json")))
        .map(|(_, v)| resolve(doc, &v["schema"]).clone());
    Operation {
        method,
        path: path.to_owned(),
        params,
        query,
        body_types,
        body_required: body["required"] == Value::Bool(true),
        body_schema,
        effect: op[platform::docs::EFFECT].as_str().map(str::to_owned),
    }
}

/// The JSON types a schema admits (`null` aside): its `type`, or its members' for `oneOf`,
/// `anyOf` and `allOf`; empty when it says nothing (any value).
pub fn types(doc: &Value, schema: &Value) -> Vec<String> {
    let schema = resolve(doc, schema);
    let mut out: Vec<String> = match &schema["type"] {
        Value::String(t) => vec![t.clone()],
        Value::Array(ts) => ts
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    for key in ["oneOf", "anyOf", "allOf"] {
        for member in schema[key].as_array().into_iter().flatten() {
            let more = types(doc, member);
            if more.is_empty() && resolve(doc, member)["type"] != "null" {
                // A member that admits anything makes the whole schema admit anything.
                return Vec::new();
            }
            out.extend(more);
        }
    }
    out.retain(|t| t != "null");
    out.dedup();
    out
}

/// `v`, or what its `$ref` (`#/components/...`) points to.
pub fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str().and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => doc.pointer(pointer).unwrap_or(&Value::Null),
        None => v,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn operations_come_with_their_path_parameters_and_resolved_body_schema() {
        let doc = Document::parse(json!({
            "paths": {
                "/things/{id}": {
                    "parameters": [{ "name": "id", "in": "path", "schema": { "type": "string", "format": "uuid" } }],
                    "put": {
                        "requestBody": { "required": true, "content": { "application/json": {
                            "schema": { "$ref": "#/components/schemas/Thing" } } } },
                        "x-basalt-effect": "ends-session"
                    },
                    "get": {}
                }
            },
            "components": { "schemas": { "Thing": { "type": "object", "additionalProperties": false } } }
        }));
        assert_eq!(doc.operations.len(), 2);
        let put = doc
            .operations
            .iter()
            .find(|o| o.method == Method::PUT)
            .unwrap();
        assert!(put.takes_json() && put.body_required && put.refuses_unknown_fields());
        assert_eq!(put.effect.as_deref(), Some("ends-session"));
        assert_eq!(put.params[0].malformed(), Some("not-a-uuid"));
        assert_eq!(put.path_with(|_| "x".into()), "/things/x");
        assert_eq!(doc.paths()[0].1.len(), 2);
    }
}
