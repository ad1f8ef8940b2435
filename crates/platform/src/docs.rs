//! API documentation: `/openapi.json` (OpenAPI 3.1, generated from the handlers) and `/docs`
//! (Swagger UI, served from the binary, no network).
//!
//! [`finish`] is the one pass every product's document goes through after the handlers'
//! annotations, so that annotations stay short and every document follows the same rules:
//! - `servers` names where the product is served;
//! - an operation without a security requirement is public and says so (`security: []`);
//! - each operation lists the error statuses it can answer, derived from what it declares (a
//!   security scheme → 401 and, when a session is required, 403; a request body or parameters
//!   → 400; a path parameter or a query parameter naming a resource (`campaignId`) → 404; a
//!   body → 413; a query parameter → 414; a rate-limit rule → 429; always 500), plus any status its annotation names
//!   (`(status = 409, description = "...")`), all with the product's error body;
//! - summaries and descriptions come from the handler's doc line, which by STYLE.md reads
//!   "`METHOD /path`: what it does (where the contract comes from)": the published text keeps
//!   what it does, without the method and path (shown beside it) and without the parenthesised
//!   references to the contract's sources, which mean nothing to an API's user. Every
//!   description ends with who may call the operation;
//! - a success response without a description gets its status's reason phrase.

use axum::{Router, http::StatusCode};
use utoipa::{
    ToSchema,
    openapi::{
        ContentBuilder, OpenApi, PathItem, RefOr, Response, ResponseBuilder, ServerBuilder,
        path::{HttpMethod, Operation, ParameterIn},
        schema::Schema,
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};
use utoipa_swagger_ui::SwaggerUi;

use crate::{
    error::{ErrorFormat, FlatError},
    ratelimit::routes::RouteLimit,
};

/// Routes serving the document and the UI.
pub fn routes<S: Clone + Send + Sync + 'static>(openapi: OpenApi) -> Router<S> {
    Router::new().merge(SwaggerUi::new("/docs").url("/openapi.json", openapi))
}

/// The operation extension that names what a call changes for every later request, for tools
/// that exercise a whole API (`scripts/schemathesis.sh` runs such operations alone, last):
/// `"ends-session"` (logout, session revoke), `"switches-data-mode"`, `"endless-stream"` (SSE,
/// which answers 200 and never ends).
pub const EFFECT: &str = "x-basalt-effect";

/// The component name of every product's error body.
pub const ERROR_SCHEMA: &str = "Error";

/// What the published document says beyond the handlers' annotations.
pub struct Publish<'a> {
    /// The product's error body.
    pub format: ErrorFormat,
    /// Where the product is served: the document's `servers`.
    pub server_url: &'a str,
    /// The product's name, for the server's description.
    pub display_name: &'a str,
    /// The product's rate-limit rules: the operations they count document 429.
    pub rate_limits: &'a [RouteLimit],
    /// Where the product's frontend is (`app_url`): examples of redirect URLs name it, since
    /// the server accepts only its own app's URLs there.
    pub app_url: &'a str,
}

/// The origin examples write for the product's frontend (a Vite app's, as a frontend
/// developer would have it); [`finish`] puts the configured app's origin in its place.
pub const EXAMPLE_APP_ORIGIN: &str = "http://localhost:5173";

/// Declares the bearer scheme, the server and the error body of the product's `format` (and
/// the schemas it refers to), and publishes every operation as the module doc says.
pub fn finish(api: OpenApi, publish: &Publish<'_>) -> OpenApi {
    let mut api = with_app_origin(api, publish.app_url);
    let components = api.components.get_or_insert_with(Default::default);
    components
        .schemas
        .insert(ERROR_SCHEMA.to_owned(), publish.format.schema());
    let mut referenced = Vec::new();
    <FlatError as ToSchema>::schemas(&mut referenced);
    for (name, schema) in referenced {
        components.schemas.entry(name).or_insert(schema);
    }
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        ),
    );
    api.servers = Some(vec![
        ServerBuilder::new()
            .url(publish.server_url)
            .description(Some(format!("{} API", publish.display_name)))
            .build(),
    ]);
    let error_ref = error_ref();
    for_each_operation(&mut api, |path, method, op| {
        let limited = publish
            .rate_limits
            .iter()
            .any(|l| l.route == path && l.method.eq_ignore_ascii_case(method));
        publish_operation(op, limited, &error_ref);
    });
    api
}

/// Calls `f` with the path, the method (`GET`) and each operation of the document.
pub fn for_each_operation(api: &mut OpenApi, mut f: impl FnMut(&str, &str, &mut Operation)) {
    for (path, item) in api.paths.paths.iter_mut() {
        for (name, method) in METHODS {
            if let Some(op) = operation_mut(item, method) {
                f(path, name, op);
            }
        }
    }
}

const METHODS: [(&str, HttpMethod); 5] = [
    ("GET", HttpMethod::Get),
    ("POST", HttpMethod::Post),
    ("PUT", HttpMethod::Put),
    ("PATCH", HttpMethod::Patch),
    ("DELETE", HttpMethod::Delete),
];

fn operation_mut(item: &mut PathItem, method: HttpMethod) -> Option<&mut Operation> {
    match method {
        HttpMethod::Get => item.get.as_mut(),
        HttpMethod::Post => item.post.as_mut(),
        HttpMethod::Put => item.put.as_mut(),
        HttpMethod::Patch => item.patch.as_mut(),
        HttpMethod::Delete => item.delete.as_mut(),
        _ => None,
    }
}

fn error_ref() -> RefOr<Schema> {
    RefOr::Ref(utoipa::openapi::Ref::from_schema_name(ERROR_SCHEMA))
}

/// Who may call an operation, from its `security`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Access {
    /// No requirement, or only the empty one.
    Public,
    /// The empty requirement beside a scheme: a session is used when sent.
    Optional,
    /// Every alternative names a scheme.
    Required,
}

/// The scheme names of each alternative of the operation's `security`.
fn security_alternatives(op: &Operation) -> Vec<Vec<String>> {
    op.security
        .iter()
        .flatten()
        .map(|req| match serde_json::to_value(req) {
            Ok(serde_json::Value::Object(schemes)) => schemes.keys().cloned().collect(),
            _ => Vec::new(),
        })
        .collect()
}

fn access(alternatives: &[Vec<String>]) -> Access {
    let named = alternatives.iter().filter(|a| !a.is_empty()).count();
    match named {
        0 => Access::Public,
        n if n == alternatives.len() => Access::Required,
        _ => Access::Optional,
    }
}

fn publish_operation(op: &mut Operation, limited: bool, error_ref: &RefOr<Schema>) {
    let alternatives = security_alternatives(op);
    let access = access(&alternatives);
    if access == Access::Public {
        op.security = Some(Vec::new());
    }
    describe(op, access, &alternatives, limited);

    let params = op.parameters.iter().flatten().filter_map(|p| match p {
        RefOr::T(p) => Some(p),
        RefOr::Ref(_) => None,
    });
    // A path parameter, or a query parameter naming another resource (`?campaignId=`), is
    // answered 404 when nothing has that id.
    let names_a_resource = |p: &&utoipa::openapi::path::Parameter| {
        p.parameter_in == ParameterIn::Path
            || (p.parameter_in == ParameterIn::Query
                && (p.name == "id" || p.name.ends_with("Id") || p.name.ends_with("_id")))
    };
    let has_resource_param = params.clone().any(|p| names_a_resource(&p));
    let has_query = params.clone().any(|p| p.parameter_in == ParameterIn::Query);
    let has_params = params.count() > 0;
    let has_body = op.request_body.is_some();

    let mut derived = Vec::new();
    if has_body || has_params {
        derived.push(StatusCode::BAD_REQUEST);
    }
    if access != Access::Public {
        derived.push(StatusCode::UNAUTHORIZED);
    }
    if access == Access::Required {
        derived.push(StatusCode::FORBIDDEN);
    }
    if has_resource_param {
        derived.push(StatusCode::NOT_FOUND);
    }
    // The stack refuses a request line over its URI limit before any handler runs; only a
    // query string can make one that long.
    if has_query {
        derived.push(StatusCode::URI_TOO_LONG);
    }
    if has_body {
        derived.push(StatusCode::PAYLOAD_TOO_LARGE);
    }
    if limited {
        derived.push(StatusCode::TOO_MANY_REQUESTS);
    }
    derived.push(StatusCode::INTERNAL_SERVER_ERROR);
    for status in derived {
        add_error_response(op, error_ref, status.as_str(), error_description(status));
    }

    for (status, response) in op.responses.responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        let code = status
            .parse()
            .ok()
            .and_then(|s| StatusCode::from_u16(s).ok());
        finish_response(response, code, error_ref);
    }
}

/// A declared response's missing parts: a success's description is its reason phrase; an
/// error's is the catalogue's, with the product's error body.
fn finish_response(response: &mut Response, code: Option<StatusCode>, error_ref: &RefOr<Schema>) {
    let Some(code) = code else { return };
    let is_error = code.is_client_error() || code.is_server_error();
    if response.description.is_empty() {
        response.description = if is_error {
            error_description(code).to_owned()
        } else {
            code.canonical_reason().unwrap_or("Success").to_owned()
        };
    }
    if is_error && response.content.is_empty() {
        response.content.insert(
            "application/json".to_owned(),
            RefOr::T(
                ContentBuilder::new()
                    .schema(Some(error_ref.clone()))
                    .build(),
            ),
        );
    }
}

/// What an error status means, in every product's document, unless the operation's annotation
/// says more.
pub fn error_description(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "The request is malformed or a value is invalid (`details` names the fields)",
        401 => "Credentials are missing, invalid, expired or revoked",
        403 => "The caller's role or session does not allow this",
        404 => "No such resource",
        409 => "Conflicts with existing data",
        413 => "The request body is over the size limit",
        414 => "The request URI (its query string) is over the size limit",
        422 => "A value is invalid (`details` names the fields)",
        429 => "Too many requests; retry after `Retry-After` seconds",
        500 => "Internal error (opaque: the answer names the request, not the cause)",
        503 => "A service this operation depends on is unavailable; retry later",
        _ => status.canonical_reason().unwrap_or("Error"),
    }
}

fn add_error_response(
    op: &mut Operation,
    error_ref: &RefOr<Schema>,
    status: &str,
    description: &str,
) {
    op.responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(error_ref.clone()))
                            .build(),
                    )
                    .build(),
            )
        });
}

/// Documents one more error status on every operation that reads input (a body or
/// parameters): a product's own validation status (Crenoir's 422), described as
/// [`error_description`] says.
pub fn add_input_error_status(api: &mut OpenApi, status: StatusCode) {
    let description = error_description(status);
    let error_ref = error_ref();
    for_each_operation(api, |_, _, op| {
        let takes_input =
            op.request_body.is_some() || op.parameters.as_ref().is_some_and(|p| !p.is_empty());
        if takes_input {
            add_error_response(op, &error_ref, status.as_str(), description);
        }
    });
}

/// The published summary and description, from the handler's doc line (see the module doc),
/// with who may call the operation.
fn describe(op: &mut Operation, access: Access, alternatives: &[Vec<String>], limited: bool) {
    let doc = [op.summary.as_deref(), op.description.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let text = published_text(&doc);
    let summary = match first_sentence(&text) {
        "" => op
            .operation_id
            .as_deref()
            .map(words_of_identifier)
            .unwrap_or_default(),
        s => s.to_owned(),
    };
    let mut description = if text.is_empty() {
        format!("{summary}.")
    } else {
        text.clone()
    };
    description.push_str("\n\n");
    description.push_str(&access_sentence(access, alternatives));
    if limited {
        description.push_str(
            " Rate limited: past the limit it answers 429 with `Retry-After`; every answer \
             carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`.",
        );
    }
    op.summary = Some(summary);
    op.description = Some(description);
}

fn access_sentence(access: Access, alternatives: &[Vec<String>]) -> String {
    let mut schemes: Vec<&str> = alternatives.iter().flatten().map(String::as_str).collect();
    schemes.dedup();
    let how = schemes
        .iter()
        .map(|s| match *s {
            "bearer" => "an access token (`Authorization: Bearer`)",
            "cookie" => "the session cookie",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(" or ");
    match access {
        Access::Public => "Public: no credentials needed.".to_owned(),
        Access::Optional => format!("Credentials optional: when sent ({how}), they must be valid."),
        Access::Required => format!("Requires a signed-in caller: {how}."),
    }
}

/// The doc line without the method and path it starts with and without parenthesised
/// references to the contract's sources, on one line, capitalised.
fn published_text(doc: &str) -> String {
    let text = doc.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = without_route(&text);
    let text = without_source_references(text);
    let text = text.trim().trim_start_matches([':', '.', ',', ';']).trim();
    capitalised(text)
}

/// `` `GET /x` (…): rest `` → `rest`.
fn without_route(text: &str) -> &str {
    let Some(rest) = text.strip_prefix('`') else {
        return text;
    };
    let Some((route, rest)) = rest.split_once('`') else {
        return text;
    };
    let is_route = route
        .split_once(' ')
        .is_some_and(|(m, p)| METHODS.iter().any(|(n, _)| *n == m) && p.starts_with('/'));
    if !is_route {
        return text;
    }
    let rest = rest.trim_start();
    let rest = match rest.strip_prefix('(') {
        Some(inner) => inner.find(')').map_or(rest, |end| &inner[end + 1..]),
        None => rest,
    };
    rest.trim_start_matches([':', '.', ' '])
}

/// Words that mark a parenthesised remark as a reference to where the contract comes from.
const SOURCE_MARKERS: [&str; 3] = ["seed", "Basalt", "Encore"];

fn without_source_references(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('(') {
        let Some(len) = balanced_len(&rest[open..]) else {
            break;
        };
        let group = &rest[open..open + len];
        out.push_str(&rest[..open]);
        if SOURCE_MARKERS.iter().any(|m| group.contains(m)) {
            while out.ends_with(' ') {
                out.pop();
            }
        } else {
            out.push_str(group);
        }
        rest = &rest[open + len..];
    }
    out.push_str(rest);
    out
}

/// The length of the parenthesised group `text` starts with, nested groups included.
fn balanced_len(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// The text up to its first full stop, colon or semicolon followed by a space (or its end),
/// without the mark.
fn first_sentence(text: &str) -> &str {
    let end = [". ", ": ", "; "]
        .iter()
        .filter_map(|mark| text.find(mark))
        .min()
        .unwrap_or(text.len());
    text[..end].trim_end_matches('.')
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `getCampaign` → `Get campaign`.
fn words_of_identifier(id: &str) -> String {
    let mut out = String::new();
    for c in id.chars() {
        if c.is_uppercase() {
            out.push(' ');
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    capitalised(&out)
}

/// The document with [`EXAMPLE_APP_ORIGIN`] replaced by `app_url`'s origin in the examples
/// (those of the component schemas, where `#[schema(example = ...)]` puts them, and those of
/// request bodies), so that the examples Swagger UI sends are accepted.
fn with_app_origin(mut api: OpenApi, app_url: &str) -> OpenApi {
    let Ok(origin) = url::Url::parse(app_url).map(|u| u.origin().ascii_serialization()) else {
        return api;
    };
    if origin == EXAMPLE_APP_ORIGIN {
        return api;
    }
    let place = |v: &mut serde_json::Value| replace_in_strings(v, EXAMPLE_APP_ORIGIN, &origin);
    if let Some(components) = api.components.as_mut() {
        for schema in components.schemas.values_mut() {
            if let RefOr::T(Schema::Object(o)) = schema {
                o.example
                    .iter_mut()
                    .chain(o.examples.iter_mut())
                    .for_each(place);
            }
        }
    }
    for_each_operation(&mut api, |_, _, op| {
        if let Some(RefOr::T(body)) = op.request_body.as_mut() {
            for content in body.content.values_mut() {
                if let RefOr::T(content) = content {
                    content.example.iter_mut().for_each(place);
                }
            }
        }
    });
    api
}

fn replace_in_strings(v: &mut serde_json::Value, from: &str, to: &str) {
    match v {
        serde_json::Value::String(s) if s.contains(from) => *s = s.replace(from, to),
        serde_json::Value::Array(items) => items
            .iter_mut()
            .for_each(|i| replace_in_strings(i, from, to)),
        serde_json::Value::Object(map) => map
            .values_mut()
            .for_each(|i| replace_in_strings(i, from, to)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use utoipa::PartialSchema;

    use super::*;

    #[test]
    fn examples_name_the_configured_app() {
        #[derive(utoipa::ToSchema)]
        #[schema(example = json!({"redirectUri": "http://localhost:5173/auth/callback", "n": [1]}))]
        #[allow(dead_code, reason = "only its schema is read")]
        struct Sample {
            redirect_uri: String,
        }
        let example = |app_url: &str| {
            let mut api = OpenApi::default();
            let components = api.components.get_or_insert_with(Default::default);
            components.schemas.insert("Sample".into(), Sample::schema());
            let api = with_app_origin(api, app_url);
            let doc = serde_json::to_value(&api).unwrap();
            doc["components"]["schemas"]["Sample"]["example"].clone()
        };
        assert_eq!(
            example("https://app.example.org/some/path"),
            json!({"redirectUri": "https://app.example.org/auth/callback", "n": [1]})
        );
        assert_eq!(
            example("http://localhost:5173"),
            json!({"redirectUri": "http://localhost:5173/auth/callback", "n": [1]})
        );
    }

    #[test]
    fn the_published_text_drops_the_route_and_the_source_references() {
        assert_eq!(
            published_text(
                "`GET /api/v1/campaigns`: every campaign, newest first (seed 001's\n\
                 `getCampaigns`: `{ campaigns, total }`)."
            ),
            "Every campaign, newest first."
        );
        assert_eq!(
            published_text(
                "`GET /api/v1/alerts/{id}` (Basalt's): one alert (with its deliveries)."
            ),
            "One alert (with its deliveries)."
        );
        assert_eq!(published_text("`GET /api/v1/users/{id}`."), "");
        assert_eq!(published_text("Plain text (`x`)"), "Plain text (`x`)");
    }

    #[test]
    fn the_summary_is_the_first_sentence_or_the_operation_id_in_words() {
        assert_eq!(
            first_sentence("One campaign; 404 when unknown."),
            "One campaign"
        );
        assert_eq!(first_sentence("A new campaign."), "A new campaign");
        assert_eq!(words_of_identifier("getCampaign"), "Get campaign");
    }
}
