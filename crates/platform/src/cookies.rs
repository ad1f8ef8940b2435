//! Browser sessions in cookies: the refresh token (and, for products that keep no token in
//! script reach at all, the access token) in httpOnly cookies, and CSRF protection by double
//! submit (a readable `csrf_token` cookie echoed in `X-CSRF-Token`) for every state-changing
//! request a cookie authenticates. `AuthUser` applies the check to cookie-authenticated
//! requests itself, so no handler can forget it.

use std::time::Duration;

use axum::http::HeaderMap;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use subtle::ConstantTimeEq;

use crate::{error::ApiError, identity::crypto::random_token};

pub const CSRF_HEADER: &str = "x-csrf-token";

/// Names, scope and flags of a product's session cookies.
#[derive(Clone, Debug)]
pub struct CookiePolicy {
    /// The access-token cookie (path `/`), for products whose access token lives in a cookie.
    pub access_name: Option<&'static str>,
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
            access_name: None,
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

    /// Also keeps the access token in an httpOnly cookie named `name`.
    pub fn with_access_cookie(mut self, name: &'static str) -> Self {
        self.access_name = Some(name);
        self
    }

    /// Sets the access cookie (when the policy has one), living as long as the token.
    pub fn set_access(&self, jar: CookieJar, access_token: &str, max_age: Duration) -> CookieJar {
        let Some(name) = self.access_name else {
            return jar;
        };
        let access = Cookie::build((name, access_token.to_owned()))
            .http_only(true)
            .secure(self.secure)
            .same_site(self.same_site)
            .path("/")
            .max_age(cookie_age(max_age))
            .build();
        jar.add(access)
    }

    /// Expires every session cookie, with the attributes they were set with.
    pub fn clear_session(&self, jar: CookieJar) -> CookieJar {
        let gone = |name: &'static str, path: String| {
            let mut c = Cookie::build((name, ""))
                .path(path)
                .secure(self.secure)
                .same_site(self.same_site)
                .build();
            c.make_removal();
            c
        };
        let jar = jar
            .add(gone(self.refresh_name, self.refresh_path.clone()))
            .add(gone(self.csrf_name, "/".into()));
        match self.access_name {
            Some(name) => jar.add(gone(name, "/".into())),
            None => jar,
        }
    }

    pub fn access_token<'a>(&self, jar: &'a CookieJar) -> Option<&'a str> {
        jar.get(self.access_name?)
            .map(|c| c.value())
            .filter(|v| !v.is_empty())
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
