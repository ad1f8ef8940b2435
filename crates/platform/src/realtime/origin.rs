//! Origin checking for WebSocket upgrades. Browsers do not apply CORS to WebSockets, so a page
//! on any site could open a socket with the user's cookies; products call this before upgrading.

use axum::http::{HeaderMap, header};

/// Whether a WebSocket upgrade with these headers may proceed, given the product's CORS
/// allow-list (the same list and the same exact comparison as the CORS layer).
///
/// A request without `Origin` is allowed: browsers always send one on WebSocket upgrades, so
/// its absence means a non-browser client, which cross-site request forgery cannot drive.
/// An `Origin` that is not in the list, including `null`, is refused.
pub fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    match headers.get(header::ORIGIN) {
        None => true,
        Some(origin) => allowed.iter().any(|a| a.as_bytes() == origin.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn with_origin(origin: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        h
    }

    #[test]
    fn an_origin_in_the_allow_list_may_upgrade() {
        let allowed = vec![
            "https://app.example".to_owned(),
            "http://localhost:3000".to_owned(),
        ];
        assert!(origin_allowed(
            &with_origin("https://app.example"),
            &allowed
        ));
        assert!(origin_allowed(
            &with_origin("http://localhost:3000"),
            &allowed
        ));
    }

    #[test]
    fn other_origins_are_refused_exactly() {
        let allowed = vec!["https://app.example".to_owned()];
        for origin in [
            "https://evil.example",
            "http://app.example",
            "https://app.example:8443",
            "https://app.example.evil.example",
            "null",
        ] {
            assert!(!origin_allowed(&with_origin(origin), &allowed), "{origin}");
        }
        assert!(!origin_allowed(&with_origin("https://app.example"), &[]));
    }

    #[test]
    fn a_request_without_origin_is_not_from_a_browser_and_may_upgrade() {
        assert!(origin_allowed(&HeaderMap::new(), &[]));
    }
}
