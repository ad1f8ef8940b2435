//! Browser sessions in cookies: the refresh token (and, for products that keep no token in
//! script reach at all, the access token) in httpOnly cookies, and CSRF tokens bound to the
//! session for every state-changing request a cookie authenticates. `AuthUser` applies the
//! check to cookie-authenticated requests itself, so no handler can forget it.
//!
//! A CSRF token is `<nonce>.<mac>` (base64url): 18 random bytes and the HMAC-SHA256 of the
//! session id and the nonce, under a key derived from the product's secret. The server issues
//! one with every sign-in and refresh (in the readable `csrf_token` cookie, and in the body where
//! the product says so); a request passes when its `X-CSRF-Token` header is a token the server
//! made for the session the request's cookie belongs to. A token of another session, or a
//! cookie and header an attacker planted as a matching pair, fail (plain double submit would
//! accept the planted pair). The cookie only delivers the token; it is not compared, so a page
//! on another host than the API, which cannot read the cookie, uses the body's copy.

use std::time::Duration;

use axum::http::HeaderMap;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use uuid::Uuid;

use crate::{
    error::{ApiError, ApiResult},
    identity::Identity,
};

pub const CSRF_HEADER: &str = "x-csrf-token";

const NONCE_LEN: usize = 18;

/// The key CSRF tokens are signed with; never printed.
#[derive(Clone)]
struct CsrfKey([u8; 32]);

impl std::fmt::Debug for CsrfKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfKey(***)")
    }
}

impl CsrfKey {
    /// A key of its own for CSRF tokens, derived from the product's secret (which also signs
    /// access tokens), so no value made for one purpose is valid for the other.
    fn derive(secret: &[u8]) -> Self {
        #[allow(clippy::expect_used, reason = "HMAC takes a key of any length")]
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(b"basalt csrf token key v1");
        Self(mac.finalize().into_bytes().into())
    }

    fn mac(&self, session_id: Uuid, nonce: &[u8]) -> Hmac<Sha256> {
        #[allow(clippy::expect_used, reason = "HMAC takes a key of any length")]
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("32-byte key");
        mac.update(b"csrf\0");
        mac.update(session_id.as_bytes());
        mac.update(nonce);
        mac
    }

    fn token(&self, session_id: Uuid) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let tag = self.mac(session_id, &nonce).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(nonce),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// True when `token` was made by [`token`](Self::token) for `session_id` (the tag is
    /// compared in constant time).
    fn verifies(&self, token: &str, session_id: Uuid) -> bool {
        let Some((nonce, tag)) = token.split_once('.') else {
            return false;
        };
        let (Ok(nonce), Ok(tag)) = (URL_SAFE_NO_PAD.decode(nonce), URL_SAFE_NO_PAD.decode(tag))
        else {
            return false;
        };
        nonce.len() == NONCE_LEN && self.mac(session_id, &nonce).verify_slice(&tag).is_ok()
    }
}

/// Names, scope and flags of a product's session cookies, and the key of its CSRF tokens.
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
    csrf_key: CsrfKey,
}

impl CookiePolicy {
    /// `secret` is the product's secret (its JWT secret): CSRF tokens are signed with a key
    /// derived from it, so every instance of the product accepts the others' tokens.
    pub fn new(refresh_path: impl Into<String>, secure: bool, secret: &[u8]) -> Self {
        Self {
            access_name: None,
            refresh_name: "refresh_token",
            refresh_path: refresh_path.into(),
            csrf_name: "csrf_token",
            secure,
            same_site: SameSite::Strict,
            csrf_key: CsrfKey::derive(secret),
        }
    }

    /// Sets the refresh cookie and a fresh CSRF cookie for `session_id`, both living
    /// `max_age`; returns the jar and the CSRF token (for products that also send it in the
    /// body).
    pub fn set_session(
        &self,
        jar: CookieJar,
        session_id: Uuid,
        refresh_token: &str,
        max_age: Duration,
    ) -> (CookieJar, String) {
        let refresh = Cookie::build((self.refresh_name, refresh_token.to_owned()))
            .http_only(true)
            .secure(self.secure)
            .same_site(self.same_site)
            .path(self.refresh_path.clone())
            .max_age(cookie_age(max_age))
            .build();
        self.set_csrf(jar.add(refresh), session_id, max_age)
    }

    /// Sets a fresh CSRF cookie for `session_id`, readable by the page's script, which echoes
    /// it in the header; returns the jar and the token.
    pub fn set_csrf(
        &self,
        jar: CookieJar,
        session_id: Uuid,
        max_age: Duration,
    ) -> (CookieJar, String) {
        let token = self.csrf_key.token(session_id);
        let csrf = Cookie::build((self.csrf_name, token.clone()))
            .http_only(false)
            .secure(self.secure)
            .same_site(self.same_site)
            .path("/")
            .max_age(cookie_age(max_age))
            .build();
        (jar.add(csrf), token)
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

    /// The CSRF check of a cookie-authenticated state change of session `session_id`: the
    /// `X-CSRF-Token` header must hold a token this server issued for that session.
    pub fn check_csrf(&self, headers: &HeaderMap, session_id: Uuid) -> Result<(), ApiError> {
        let header = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        match header {
            Some(token) if self.csrf_key.verifies(token.trim(), session_id) => Ok(()),
            _ => Err(ApiError::forbidden(
                "missing or invalid CSRF token (send the csrfToken of your latest sign-in or \
                 refresh, also in the csrf_token cookie, in X-CSRF-Token)",
            )),
        }
    }

    /// The refresh cookie of a request that passed the CSRF check for the session the cookie
    /// belongs to. No cookie, or one of no session: 401; a bad CSRF header: 403.
    pub async fn checked_refresh_token(
        &self,
        identity: &Identity,
        jar: &CookieJar,
        headers: &HeaderMap,
    ) -> ApiResult<String> {
        let unauthenticated = |m: &str| ApiError::unauthenticated(m.to_owned());
        let token = self
            .refresh_token(jar)
            .ok_or_else(|| unauthenticated("not signed in (no refresh cookie)"))?;
        let session_id = identity
            .session_of_refresh_token(token)
            .await?
            .ok_or_else(|| unauthenticated("invalid or expired refresh token"))?;
        self.check_csrf(headers, session_id)?;
        Ok(token.to_owned())
    }
}

fn cookie_age(d: Duration) -> cookie::time::Duration {
    cookie::time::Duration::seconds(d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(secret: &[u8]) -> CookiePolicy {
        CookiePolicy::new("/api/v1/auth", true, secret)
    }

    fn header(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CSRF_HEADER, token.parse().unwrap());
        h
    }

    #[test]
    fn session_cookies_are_scoped_and_flagged() {
        let p = policy(b"secret");
        let sid = Uuid::now_v7();
        let (jar, token) = p.set_session(CookieJar::new(), sid, "rt", Duration::from_secs(60));
        let r = jar.get("refresh_token").unwrap();
        assert_eq!(
            (r.http_only(), r.secure(), r.path()),
            (Some(true), Some(true), Some("/api/v1/auth"))
        );
        assert_eq!(r.same_site(), Some(SameSite::Strict));
        let c = jar.get("csrf_token").unwrap();
        assert_eq!(c.http_only(), Some(false));
        assert_eq!((c.value(), c.path()), (token.as_str(), Some("/")));
        assert!(c.value().len() >= 40);
    }

    #[test]
    fn a_csrf_token_passes_only_for_the_session_it_was_made_for() {
        let p = policy(b"secret");
        let (mine, other) = (Uuid::now_v7(), Uuid::now_v7());
        let token = p.csrf_key.token(mine);
        assert!(p.check_csrf(&header(&token), mine).is_ok());
        assert!(
            p.check_csrf(&header(&token), other).is_err(),
            "another session"
        );
        assert!(p.check_csrf(&HeaderMap::new(), mine).is_err(), "no header");
        let again = p.csrf_key.token(mine);
        assert_ne!(token, again, "each token has its own nonce");
        assert!(p.check_csrf(&header(&again), mine).is_ok());
    }

    #[test]
    fn tokens_not_made_by_this_server_are_refused() {
        let p = policy(b"secret");
        let sid = Uuid::now_v7();
        let token = p.csrf_key.token(sid);
        let (nonce, tag) = token.split_once('.').unwrap();
        let forged_tag = URL_SAFE_NO_PAD.encode([0u8; 32]);
        let other_key = policy(b"another product's secret").csrf_key.token(sid);
        for bad in [
            "abc".to_owned(),
            "".to_owned(),
            crate::identity::crypto::random_token(),
            format!("{nonce}.{forged_tag}"),
            format!("{}.{tag}", URL_SAFE_NO_PAD.encode([1u8; NONCE_LEN])),
            format!("{nonce}.{}", &tag[..20]),
            format!("{nonce}{tag}"),
            other_key,
        ] {
            assert!(p.check_csrf(&header(&bad), sid).is_err(), "{bad:?}");
        }
        // The same secret makes the same key: every instance accepts the others' tokens.
        assert!(policy(b"secret").check_csrf(&header(&token), sid).is_ok());
    }

    #[test]
    fn the_key_never_prints() {
        let p = policy(b"hunter2 hunter2");
        assert!(format!("{p:?}").contains("CsrfKey(***)"));
    }
}
