//! Validation of the self-editable profile fields War Room keeps beside the account.

use platform::{ApiError, error::FieldError, phone::is_e164};
use serde_json::{Map, Value};

/// Checks the optional fields and returns the profile changes to merge.
pub fn validate(
    phone: Option<String>,
    timezone: Option<String>,
    avatar_url: Option<String>,
) -> Result<Map<String, Value>, ApiError> {
    let mut errors = Vec::new();
    let mut out = Map::new();
    if let Some(p) = phone {
        if p.is_empty() || is_e164(&p) {
            out.insert("phone".into(), cleared_if_empty(p));
        } else {
            errors.push(FieldError {
                field: "phone".into(),
                message: "must be an E.164 number like +14155550100".into(),
            });
        }
    }
    if let Some(tz) = timezone {
        let ok = tz.len() <= 64
            && tz
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c));
        if ok {
            out.insert("timezone".into(), cleared_if_empty(tz));
        } else {
            errors.push(FieldError {
                field: "timezone".into(),
                message: "must be an IANA zone name".into(),
            });
        }
    }
    if let Some(url) = avatar_url {
        let ok = url.is_empty() || (url.len() <= 2048 && is_http_url(&url));
        if ok {
            out.insert("avatarUrl".into(), cleared_if_empty(url));
        } else {
            errors.push(FieldError {
                field: "avatarUrl".into(),
                message: "must be an http(s) URL".into(),
            });
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ApiError::validation(errors))
    }
}

/// An http(s) URL as the schema states it: `http(s)://`, a host of letters, digits, dots and
/// hyphens, an optional port, then an optional path without whitespace.
pub fn is_http_url(s: &str) -> bool {
    let Some(rest) = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
    else {
        return false;
    };
    let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    let (host, port) = authority
        .split_once(':')
        .map_or((authority, None), |(h, p)| (h, Some(p)));
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && port.is_none_or(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
        && !path.chars().any(char::is_whitespace)
}

fn cleared_if_empty(v: String) -> Value {
    if v.is_empty() {
        Value::Null
    } else {
        Value::String(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avatar_urls_follow_the_schema_pattern() {
        assert!(is_http_url("https://cdn.example.com/a.png"));
        assert!(is_http_url("http://localhost:8080"));
        assert!(!is_http_url("https://0*"));
        assert!(!is_http_url("javascript:alert(1)"));
        assert!(!is_http_url("https://a.com:123456/x"));
        assert!(!is_http_url("https:///path"));
    }

    #[test]
    fn an_empty_phone_clears_it_and_bad_fields_are_all_reported() {
        assert_eq!(
            validate(Some(String::new()), None, None).unwrap()["phone"],
            Value::Null
        );
        let err = validate(
            Some("12".into()),
            Some("not a zone!".into()),
            Some("javascript:x".into()),
        )
        .unwrap_err();
        assert_eq!(err.field_errors().len(), 3);
    }
}
