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
    if let Err(problem) = check_error(r, status, code) {
        panic!("{problem}");
    }
}

/// [`expect_error`]'s checks, returning what is wrong instead of panicking (for tables that
/// report every failing row at once).
pub fn check_error(r: &Resp, status: u16, code: &str) -> Result<(), String> {
    if r.status.as_u16() != status {
        return Err(format!(
            "expected {status} {code}, got: {} {}",
            r.status, r.text
        ));
    }
    let err = r
        .error()
        .as_object()
        .ok_or_else(|| format!("no error object in: {}", r.text))?;
    if r.code() != code {
        return Err(format!("wrong error code (expected {code}) in: {}", r.text));
    }
    let message = err
        .get("message")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("no string message in: {}", r.text))?;
    if message.trim().is_empty() {
        return Err(format!("empty message in: {}", r.text));
    }
    let mut allowed = vec!["code", "details", "message"];
    match r.shape {
        ErrorShape::Flat => {
            if !err.contains_key("details") {
                return Err(format!("no details key in: {}", r.text));
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
                return Err(format!("error body has other keys: {}", r.text));
            }
            if always_details && !err.contains_key("details") {
                return Err(format!("no details key in: {}", r.text));
            }
            if let Some(name) = request_id {
                allowed.push("requestId");
                let header = r
                    .header(name)
                    .filter(|h| !h.is_empty())
                    .ok_or_else(|| format!("no {name} header on: {}", r.text))?;
                if err.get("requestId").and_then(Value::as_str) != Some(header) {
                    return Err(format!(
                        "requestId differs from the {name} header in: {}",
                        r.text
                    ));
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
        return Err(format!("error has other keys {extra:?}: {}", r.text));
    }
    if !r
        .header("content-type")
        .is_some_and(|v| v.starts_with("application/json"))
    {
        return Err(format!("error is not JSON: {:?}", r.header("content-type")));
    }
    Ok(())
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
