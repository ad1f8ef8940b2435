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
/// details the shape requires, no keys the shape does not have, and a JSON content type.
#[track_caller]
pub fn expect_error(r: &Resp, status: u16, code: &str) {
    assert_eq!(
        r.status.as_u16(),
        status,
        "expected {status} {code}, got: {} {}",
        r.status,
        r.text
    );
    let err = r
        .error()
        .as_object()
        .unwrap_or_else(|| panic!("no error object in: {}", r.text));
    assert_eq!(r.code(), code, "wrong error code in: {}", r.text);
    let message = err
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string message in: {}", r.text));
    assert!(!message.trim().is_empty(), "empty message in: {}", r.text);
    let mut allowed = vec!["code", "details", "message"];
    match r.shape {
        ErrorShape::Flat => {
            assert!(err.contains_key("details"), "no details key in: {}", r.text);
        }
        ErrorShape::Nested {
            always_details,
            request_id,
        } => {
            let top: Vec<&str> = r
                .body
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(top, ["error"], "error body has other keys: {}", r.text);
            if always_details {
                assert!(err.contains_key("details"), "no details key in: {}", r.text);
            }
            if let Some(name) = request_id {
                allowed.push("requestId");
                let header = r
                    .header(name)
                    .unwrap_or_else(|| panic!("no {name} header on: {}", r.text));
                assert!(!header.is_empty(), "empty {name}");
                assert_eq!(
                    err.get("requestId").and_then(Value::as_str),
                    Some(header),
                    "requestId differs from the {name} header in: {}",
                    r.text
                );
            }
        }
    }
    let extra: Vec<&str> = err
        .keys()
        .map(String::as_str)
        .filter(|k| !allowed.contains(k))
        .collect();
    assert!(
        extra.is_empty(),
        "error has other keys {extra:?}: {}",
        r.text
    );
    assert!(
        r.header("content-type")
            .is_some_and(|v| v.starts_with("application/json")),
        "error is not JSON: {:?}",
        r.header("content-type")
    );
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
