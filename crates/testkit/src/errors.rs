//! Error assertions for every product: `ErrorShape` says where a product's contract puts an
//! error's code, message and details; `expect_error` and friends check a response against it.

use serde_json::Value;

use crate::resp::Resp;

/// Where a product's errors keep their code, message and details.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorShape {
    /// `{ code, message, details }` and no other key (War Room's Encore shape; PawfectMatch).
    Flat,
    /// `{ "error": { code, message, details, requestId } }` and no other key (LeadGen;
    /// Crenoir X MAP without `requestId` and with `details` only when there are some).
    Nested {
        /// `error.details` is on every error, `null` when empty (LeadGen), rather than only
        /// on errors that have details (Crenoir X MAP).
        always_details: bool,
        /// The response header that `error.requestId` must equal (LeadGen: `x-request-id`);
        /// `None` when the body carries no request id.
        request_id: Option<&'static str>,
    },
}

/// Asserts an error in the product's shape: the status, its code, a non-empty message, the
/// details the shape requires (and, where details are optional, none that are empty), no keys
/// the shape does not have, and a JSON content type.
#[track_caller]
pub fn expect_error(r: &Resp, status: u16, code: &str) {
    if let Some(problem) = error_problem(r, status, code) {
        panic!("{problem}");
    }
}

/// What [`expect_error`] would fail on, or `None` when `r` is that error in the product's shape.
pub fn error_problem(r: &Resp, status: u16, code: &str) -> Option<String> {
    let fail = |what: String| Some(format!("{what}; got {} {}", r.status, r.text));
    if r.status.as_u16() != status {
        return fail(format!("expected {status} {code}"));
    }
    let Some(err) = r.error().as_object() else {
        return fail("no error object".into());
    };
    if r.code() != code {
        return fail(format!("expected code {code}"));
    }
    match err.get("message").and_then(Value::as_str) {
        Some(m) if !m.trim().is_empty() => {}
        _ => return fail("no non-empty string message".into()),
    }
    let mut allowed = vec!["code", "details", "message"];
    match r.shape {
        ErrorShape::Flat => {
            if !err.contains_key("details") {
                return fail("no details key".into());
            }
        }
        ErrorShape::Nested {
            always_details,
            request_id,
        } => {
            let top: Vec<&str> = r
                .body
                .as_object()
                .map(|o| o.keys().map(String::as_str).collect())
                .unwrap_or_default();
            if top != ["error"] {
                return fail("the error body has other keys than `error`".into());
            }
            match (always_details, err.get("details")) {
                (true, None) => return fail("no details key".into()),
                (false, Some(d)) if d.as_object().is_none_or(|o| o.is_empty()) => {
                    return fail(
                        "details present but empty (they appear only when there are some)".into(),
                    );
                }
                _ => {}
            }
            if let Some(name) = request_id {
                allowed.push("requestId");
                let header = r.header(name).unwrap_or_default();
                if header.is_empty() {
                    return fail(format!("no {name} header"));
                }
                if err.get("requestId").and_then(Value::as_str) != Some(header) {
                    return fail(format!("requestId differs from the {name} header"));
                }
            }
        }
    }
    let extra: Vec<&str> = err
        .keys()
        .map(String::as_str)
        .filter(|k| !allowed.contains(k))
        .collect();
    if !extra.is_empty() {
        return fail(format!("the error has other keys {extra:?}"));
    }
    let json = r
        .header("content-type")
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return fail(format!(
            "not JSON: content type {:?}",
            r.header("content-type")
        ));
    }
    None
}

/// Words that would betray the storage layer or the code behind an error.
const INTERNALS: [&str; 11] = [
    "sqlite",
    "postgres",
    "sea_orm",
    "seaorm",
    "sqlx",
    "dberr",
    "no such table",
    "relation ",
    "panicked",
    "axum",
    "serde",
];

/// Asserts that the body names nothing of the storage layer or the code behind it.
#[track_caller]
pub fn expect_no_internals(r: &Resp) {
    if let Some(problem) = internals_problem(r) {
        panic!("{problem}");
    }
}

/// What [`expect_no_internals`] would fail on.
pub fn internals_problem(r: &Resp) -> Option<String> {
    let text = r.text.to_lowercase();
    INTERNALS
        .iter()
        .find(|w| text.contains(*w))
        .map(|w| format!("the body lets out {w:?}: {}", r.text))
}

/// The `field` names listed in the error's `details.fields`.
pub fn error_fields(r: &Resp) -> Vec<String> {
    r.error()["details"]["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts the one input rule's refusal: `status` `invalid_argument` for a value holding NUL,
/// naming exactly `fields` (in any order).
#[track_caller]
pub fn expect_nul_refused(r: &Resp, status: u16, fields: &[&str]) {
    expect_error(r, status, "invalid_argument");
    let mut named = error_fields(r);
    named.sort();
    let mut want = fields.to_vec();
    want.sort_unstable();
    assert_eq!(named, want, "{}", r.text);
    assert!(r.text.contains("NUL"), "{}", r.text);
}

/// Asserts a 429 `resource_exhausted` whose `Retry-After` is within the rule's window and
/// matches `details.retryAfter`.
#[track_caller]
pub fn expect_limited(r: &Resp, window_secs: u64) {
    expect_error(r, 429, "resource_exhausted");
    let header: u64 = r
        .header("retry-after")
        .unwrap_or_else(|| panic!("no Retry-After on {}", r.text))
        .parse()
        .expect("Retry-After is whole seconds");
    assert!(
        (1..=window_secs).contains(&header),
        "Retry-After {header} outside 1..={window_secs}"
    );
    assert_eq!(
        r.error()["details"]["retryAfter"].as_u64(),
        Some(header),
        "{}",
        r.text
    );
}

/// Asserts the three `X-RateLimit-*` headers and returns `(limit, remaining, reset)`.
#[track_caller]
pub fn rate_headers(r: &Resp) -> (u64, u64, u64) {
    (
        r.num_header("x-ratelimit-limit"),
        r.num_header("x-ratelimit-remaining"),
        r.num_header("x-ratelimit-reset"),
    )
}
