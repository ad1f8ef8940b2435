//! `Resp`: a response read whole (status, headers, text, JSON body), with its `Set-Cookie`
//! headers parsed and its error read in the product's `ErrorShape`.

use chrono::Utc;
use reqwest::{StatusCode, header::HeaderMap};
use serde_json::Value;

use crate::errors::ErrorShape;

/// A response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body parsed as JSON; `Null` when it is not JSON.
    pub body: Value,
    pub text: String,
    /// Where this product puts an error's code, message and details.
    pub shape: ErrorShape,
}

/// Reads `res` whole; `shape` says where its error (if any) sits in the body.
pub async fn read(res: reqwest::Response, shape: ErrorShape) -> Resp {
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        body,
        text,
        shape,
    }
}

impl Resp {
    /// The object holding `code`, `message` and `details`: the body itself (flat) or its
    /// `error` member (nested); `Null` when there is none.
    pub fn error(&self) -> &Value {
        match self.shape {
            ErrorShape::Flat => &self.body,
            ErrorShape::Nested { .. } => &self.body["error"],
        }
    }

    /// The error code, for error responses; `""` otherwise.
    pub fn code(&self) -> &str {
        self.error()["code"].as_str().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A header parsed as a number; panics with the response when absent or not a number.
    #[track_caller]
    pub fn num_header(&self, name: &str) -> u64 {
        self.header(name)
            .unwrap_or_else(|| panic!("no {name} header on {} {}", self.status, self.text))
            .parse()
            .unwrap_or_else(|_| panic!("{name} is not a number: {:?}", self.header(name)))
    }

    /// Every `Set-Cookie` of the response, parsed.
    pub fn set_cookies(&self) -> Vec<SetCookie> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(SetCookie::parse)
            .collect()
    }

    /// The `Set-Cookie` for `name`; fails the test when there are several.
    #[track_caller]
    pub fn cookie(&self, name: &str) -> Option<SetCookie> {
        let mut found: Vec<_> = self
            .set_cookies()
            .into_iter()
            .filter(|c| c.name == name)
            .collect();
        assert!(
            found.len() <= 1,
            "{} Set-Cookie headers for {name}: {found:?}",
            found.len()
        );
        found.pop()
    }

    /// The value of a cookie the response sets (not clears); panics with the response when absent.
    #[track_caller]
    pub fn cookie_value(&self, name: &str) -> String {
        let c = self
            .cookie(name)
            .unwrap_or_else(|| panic!("no {name} cookie set: {:?} {}", self.headers, self.text));
        assert!(!c.is_cleared(), "{name} is cleared, not set: {}", c.raw);
        c.value
    }
}

/// One `Set-Cookie` header: name, value and attributes (names lower-cased).
#[derive(Clone, Debug)]
pub struct SetCookie {
    pub raw: String,
    pub name: String,
    pub value: String,
    pub attrs: Vec<(String, Option<String>)>,
}

impl SetCookie {
    pub fn parse(raw: &str) -> Option<Self> {
        let mut parts = raw.split(';');
        let (name, value) = parts.next()?.split_once('=')?;
        let attrs = parts
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim().to_owned())),
                None => (p.to_ascii_lowercase(), None),
            })
            .collect();
        Some(Self {
            raw: raw.to_owned(),
            name: name.trim().to_owned(),
            value: value.trim().trim_matches('"').to_owned(),
            attrs,
        })
    }

    /// The value of attribute `name` (`Some(None)` for a flag such as `HttpOnly`).
    pub fn attr(&self, name: &str) -> Option<Option<&str>> {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }

    pub fn http_only(&self) -> bool {
        self.attr("httponly").is_some()
    }

    pub fn secure(&self) -> bool {
        self.attr("secure").is_some()
    }

    pub fn path(&self) -> Option<&str> {
        self.attr("path").flatten()
    }

    pub fn same_site(&self) -> Option<&str> {
        self.attr("samesite").flatten()
    }

    pub fn max_age(&self) -> Option<i64> {
        self.attr("max-age").flatten().and_then(|v| v.parse().ok())
    }

    /// `Expires`, when present and parseable.
    pub fn expires(&self) -> Option<chrono::DateTime<chrono::FixedOffset>> {
        let v = self.attr("expires").flatten()?;
        chrono::DateTime::parse_from_rfc2822(v)
            .or_else(|_| chrono::DateTime::parse_from_str(v, "%a, %d-%b-%Y %H:%M:%S GMT"))
            .ok()
    }

    /// True when a browser would delete the cookie: `Max-Age` zero or negative, or `Expires`
    /// in the past.
    pub fn is_cleared(&self) -> bool {
        self.max_age().is_some_and(|a| a <= 0)
            || (self.max_age().is_none() && self.expires().is_some_and(|e| e < Utc::now()))
    }
}

#[cfg(test)]
mod tests {
    use super::SetCookie;

    #[test]
    fn a_set_cookie_header_is_split_into_name_value_and_attributes() {
        let c = SetCookie::parse(
            "refresh_token=abc; Path=/api/v1/auth; HttpOnly; Secure; SameSite=Strict; Max-Age=60",
        )
        .unwrap();
        assert_eq!(
            (c.name.as_str(), c.value.as_str()),
            ("refresh_token", "abc")
        );
        assert_eq!(c.path(), Some("/api/v1/auth"));
        assert!(c.http_only() && c.secure());
        assert_eq!(c.same_site(), Some("Strict"));
        assert_eq!(c.max_age(), Some(60));
        assert!(!c.is_cleared());
    }

    #[test]
    fn a_cookie_with_max_age_zero_or_a_past_expiry_is_cleared() {
        assert!(SetCookie::parse("a=; Max-Age=0").unwrap().is_cleared());
        assert!(
            SetCookie::parse("a=; Expires=Thu, 01 Jan 1970 00:00:00 GMT")
                .unwrap()
                .is_cleared()
        );
    }
}
