//! Browser sessions in cookies: the refresh token in an httpOnly cookie, and CSRF protection
//! by double submit (a readable `csrf_token` cookie echoed in `X-CSRF-Token`) for every
//! state-changing request a cookie authenticates.

use std::time::Duration;

use axum::http::HeaderMap;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use subtle::ConstantTimeEq;

use crate::{error::ApiError, identity::crypto::random_token};

pub const CSRF_HEADER: &str = "x-csrf-token";

/// Names, scope and flags of a product's session cookies.
#[derive(Clone, Debug)]
pub struct CookiePolicy {
    pub refresh_name: &'static str,
    /// Path the refresh cookie is sent to (the auth routes only).
    pub refresh_path: String,
    pub csrf_name: &'static str,
    /// `Secure` flag; off only for plain-http development.
    pub secure: bool,
    pub same_site: SameSite,
}

impl CookiePolicy {
    pub fn new(refresh_path: impl Into<String>, secure: bool) -> Self {
        Self {
            refresh_name: "refresh_token",
            refresh_path: refresh_path.into(),
            csrf_name: "csrf_token",
            secure,
            same_site: SameSite::Strict,
        }
    }

    /// Sets the refresh cookie and a fresh CSRF cookie, both living `max_age`.
    pub fn set_session(&self, jar: CookieJar, refresh_token: &str, max_age: Duration) -> CookieJar {
        let age = cookie_age(max_age);
        let refresh = Cookie::build((self.refresh_name, refresh_token.to_owned()))
            .http_only(true)
            .secure(self.secure)
            .same_site(self.same_site)
            .path(self.refresh_path.clone())
            .max_age(age)
            .build();
        // Readable by the page's script, which echoes it in the header.
        let csrf = Cookie::build((self.csrf_name, random_token()))
            .http_only(false)
            .secure(self.secure)
            .same_site(self.same_site)
            .path("/")
            .max_age(age)
            .build();
        jar.add(refresh).add(csrf)
    }

    /// Expires both cookies.
    pub fn clear_session(&self, jar: CookieJar) -> CookieJar {
        jar.remove(Cookie::build(self.refresh_name).path(self.refresh_path.clone()))
            .remove(Cookie::build(self.csrf_name).path("/"))
    }

    pub fn refresh_token<'a>(&self, jar: &'a CookieJar) -> Option<&'a str> {
        jar.get(self.refresh_name)
            .map(|c| c.value())
            .filter(|v| !v.is_empty())
    }

    /// The double-submit check: the header must equal the cookie (compared in constant time).
    pub fn check_csrf(&self, jar: &CookieJar, headers: &HeaderMap) -> Result<(), ApiError> {
        let cookie = jar.get(self.csrf_name).map(|c| c.value().as_bytes());
        let header = headers.get(CSRF_HEADER).map(|v| v.as_bytes());
        match (cookie, header) {
            (Some(c), Some(h)) if !c.is_empty() && bool::from(c.ct_eq(h)) => Ok(()),
            _ => Err(ApiError::forbidden(
                "missing or invalid CSRF token (send the csrf_token cookie's value in X-CSRF-Token)",
            )),
        }
    }
}

fn cookie_age(d: Duration) -> cookie::time::Duration {
    cookie::time::Duration::seconds(d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_cookies_are_scoped_and_flagged() {
        let p = CookiePolicy::new("/api/v1/auth", true);
        let jar = p.set_session(CookieJar::new(), "rt", Duration::from_secs(60));
        let r = jar.get("refresh_token").unwrap();
        assert_eq!(
            (r.http_only(), r.secure(), r.path()),
            (Some(true), Some(true), Some("/api/v1/auth"))
        );
        assert_eq!(r.same_site(), Some(SameSite::Strict));
        let c = jar.get("csrf_token").unwrap();
        assert_eq!(c.http_only(), Some(false));
        assert!(c.value().len() >= 40);
    }

    #[test]
    fn csrf_needs_the_header_to_match_the_cookie() {
        let p = CookiePolicy::new("/", false);
        let jar = CookieJar::new().add(Cookie::new("csrf_token", "abc"));
        let mut h = HeaderMap::new();
        assert!(p.check_csrf(&jar, &h).is_err(), "no header");
        h.insert(CSRF_HEADER, "abd".parse().unwrap());
        assert!(p.check_csrf(&jar, &h).is_err(), "wrong header");
        h.insert(CSRF_HEADER, "abc".parse().unwrap());
        assert!(p.check_csrf(&jar, &h).is_ok());
        assert!(p.check_csrf(&CookieJar::new(), &h).is_err(), "no cookie");
    }
}
