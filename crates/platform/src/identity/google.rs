//! Google ID tokens: the `credential` a Google Identity Services button hands the page, and the
//! `id_token` of the authorization-code flow. A token is accepted only when its RS256
//! signature verifies against the issuer's published keys (JWKS, cached as long as the
//! issuer's `Cache-Control` allows), its issuer is one of the configured issuers, its audience
//! is our client id, and it has not expired.
//!
//! MOCK mode has its own issuer (`MOCK_ISSUER`) whose key is the product's mock identity key:
//! its tokens go through the very same checks, against a key set built in process.

use std::time::{Duration, Instant};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{
    Algorithm, DecodingKey, Validation, decode, decode_header,
    jwk::{Jwk, JwkSet},
};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::RwLock;

use super::oauth::{CodeGrant, ExternalProfile, Provider, is_pkce_value};
use crate::error::{ApiError, ApiResult, FieldError};

/// The `iss` of ID tokens the mock provider signs.
pub const MOCK_ISSUER: &str = "https://accounts.google.mock.basalt.invalid";
/// The `aud` of mock ID tokens when no Google client id is configured.
pub const MOCK_CLIENT_ID: &str = "basalt-mock-google-client";
/// How long a key set is kept when the issuer sends no `max-age`.
const DEFAULT_KEYS_TTL: Duration = Duration::from_secs(3600);
/// An unknown `kid` refetches the key set (Google rotates keys), at most this often.
const REFETCH_FLOOR: Duration = Duration::from_secs(30);
const LEEWAY_SECS: u64 = 60;

#[derive(Deserialize)]
struct Claims {
    sub: String,
    email: Option<String>,
    /// Google sends a boolean; some issuers send the string "true".
    #[serde(default)]
    email_verified: serde_json::Value,
    name: Option<String>,
}

struct CachedKeys {
    set: JwkSet,
    fetched: Instant,
    ttl: Duration,
}

/// Verifies ID tokens of one issuer family against its JWKS endpoint.
pub struct IdTokenVerifier {
    http: reqwest::Client,
    jwks_url: String,
    issuers: Vec<String>,
    audience: String,
    cache: RwLock<Option<CachedKeys>>,
}

impl IdTokenVerifier {
    pub fn new(
        http: reqwest::Client,
        jwks_url: String,
        issuers: Vec<String>,
        audience: String,
    ) -> Self {
        Self {
            http,
            jwks_url,
            issuers,
            audience,
            cache: RwLock::new(None),
        }
    }

    /// The person the token names, once every check has passed.
    pub async fn verify(&self, token: &str) -> ApiResult<ExternalProfile> {
        let kid = decode_header(token)
            .ok()
            .and_then(|h| h.kid)
            .ok_or_else(rejected)?;
        let jwk = self.key(&kid).await?.ok_or_else(rejected)?;
        verify_with(&jwk, token, &self.issuers, &self.audience)
    }

    /// The key `kid` from the cached set, refreshing the set when stale or when the key is
    /// unknown (throttled, so garbage `kid`s cannot make us hammer the issuer).
    async fn key(&self, kid: &str) -> ApiResult<Option<Jwk>> {
        {
            let cache = self.cache.read().await;
            if let Some(c) = cache.as_ref() {
                let fresh = c.fetched.elapsed() < c.ttl;
                match c.set.find(kid) {
                    Some(k) if fresh => return Ok(Some(k.clone())),
                    None if fresh && c.fetched.elapsed() < REFETCH_FLOOR => return Ok(None),
                    _ => {}
                }
            }
        }
        let mut cache = self.cache.write().await;
        // Another request may have refreshed while we waited for the lock.
        if let Some(c) = cache.as_ref()
            && c.fetched.elapsed() < REFETCH_FLOOR
        {
            return Ok(c.set.find(kid).cloned());
        }
        let fetched = self.fetch().await?;
        let key = fetched.set.find(kid).cloned();
        *cache = Some(fetched);
        Ok(key)
    }

    async fn fetch(&self) -> ApiResult<CachedKeys> {
        let unavailable = |why: String| {
            tracing::warn!(url = %self.jwks_url, %why, "google keys unavailable");
            ApiError::unavailable("Google's signing keys are unavailable; try again shortly")
        };
        let res = self
            .http
            .get(&self.jwks_url)
            .send()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        if !res.status().is_success() {
            return Err(unavailable(format!("status {}", res.status())));
        }
        let ttl = res
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age)
            .unwrap_or(DEFAULT_KEYS_TTL);
        let set = res
            .json::<JwkSet>()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        Ok(CachedKeys {
            set,
            fetched: Instant::now(),
            ttl,
        })
    }
}

fn rejected() -> ApiError {
    ApiError::unauthenticated("the Google credential is invalid or expired")
}

/// Checks `token` against one key: RS256 only, issuer, audience, expiry.
pub fn verify_with(
    jwk: &Jwk,
    token: &str,
    issuers: &[String],
    audience: &str,
) -> ApiResult<ExternalProfile> {
    let key = DecodingKey::from_jwk(jwk).map_err(|_| rejected())?;
    let mut v = Validation::new(Algorithm::RS256);
    v.set_issuer(issuers);
    v.set_audience(&[audience]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    v.leeway = LEEWAY_SECS;
    let claims = decode::<Claims>(token, &key, &v)
        .map_err(|e| {
            tracing::info!(error = %e, "google id token refused");
            rejected()
        })?
        .claims;
    let email_verified = match &claims.email_verified {
        serde_json::Value::Bool(b) => *b,
        serde_json::Value::String(s) => s == "true",
        _ => false,
    };
    Ok(ExternalProfile {
        provider: Provider::Google,
        subject: claims.sub,
        email: claims.email.map(|e| super::normalize_email(&e)),
        email_verified,
        name: claims.name,
    })
}

/// `max-age` of a `Cache-Control` header.
fn max_age(cache_control: &str) -> Option<Duration> {
    cache_control.split(',').find_map(|d| {
        let (k, v) = d.trim().split_once('=')?;
        k.eq_ignore_ascii_case("max-age")
            .then(|| v.trim().parse().ok().map(Duration::from_secs))?
    })
}

/// An RSA public key as a JWK (`kid`, RS256), from its big-endian modulus and exponent.
#[allow(
    clippy::expect_used,
    reason = "a JWK literal with every field an RSA key needs"
)]
pub fn rsa_jwk(kid: &str, modulus: &[u8], exponent: &[u8]) -> Jwk {
    serde_json::from_value(json!({
        "kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
        "n": URL_SAFE_NO_PAD.encode(modulus), "e": URL_SAFE_NO_PAD.encode(exponent),
    }))
    .expect("a well-formed RSA JWK")
}

/// Builds an RS256 JWT: `sign` receives the signing input and returns the PKCS#1 v1.5
/// signature. Used by the mock provider (and by tests acting as an issuer).
pub fn rs256_jwt(
    kid: &str,
    claims: &serde_json::Value,
    sign: impl FnOnce(&[u8]) -> Vec<u8>,
) -> String {
    let header = json!({ "alg": "RS256", "typ": "JWT", "kid": kid });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// What a client posts to sign in with Google: either `credential` (an ID token from Sign in
/// with Google) or `code` (+ `redirectUri`, `codeVerifier` when it used PKCE). Products mount
/// it under their own path and answer in their own shape.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GoogleSignIn {
    /// The ID token a Google Identity Services button returns.
    #[schema(min_length = 1)]
    pub credential: Option<String>,
    /// An authorization code from Google's consent screen.
    #[schema(min_length = 1)]
    pub code: Option<String>,
    #[schema(format = "uri")]
    pub redirect_uri: Option<String>,
    /// The PKCE verifier whose S256 hash was the authorization request's `code_challenge`.
    #[schema(
        min_length = 43,
        max_length = 128,
        pattern = "^[A-Za-z0-9._~-]{43,128}$"
    )]
    pub code_verifier: Option<String>,
}

/// The documented shape of `GoogleSignIn`: exactly one of the two proofs. (Requests are read
/// leniently as `GoogleSignIn`, so that a wrong one gets an answer naming the field.)
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum GoogleSignInBody {
    Credential(CredentialSignIn),
    Code(CodeSignIn),
}

/// Sign in with the ID token of a Sign in with Google button.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
#[schema(example = json!({"credential": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"}))]
pub struct CredentialSignIn {
    #[schema(min_length = 1, pattern = r"\S")]
    credential: String,
}

/// Sign in with an authorization code (and its PKCE verifier, when the client used PKCE).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)]
#[schema(example = json!({"code": "4/0AcvDMrB-example", "redirectUri": "http://localhost:5173/auth/callback"}))]
pub struct CodeSignIn {
    #[schema(min_length = 1, pattern = r"\S")]
    code: String,
    #[schema(format = "uri")]
    redirect_uri: Option<String>,
    #[schema(
        min_length = 43,
        max_length = 128,
        pattern = "^[A-Za-z0-9._~-]{43,128}$"
    )]
    code_verifier: Option<String>,
}

/// A checked `GoogleSignIn`.
pub enum GoogleProof {
    Credential(String),
    Code(CodeGrant),
}

impl GoogleSignIn {
    /// Exactly one of `credential` and `code`, and a well-formed verifier; else a validation
    /// error naming the fields.
    pub fn proof(self) -> ApiResult<GoogleProof> {
        let field = |name: &str, message: &str| FieldError {
            field: name.into(),
            message: message.into(),
        };
        let mut errors = Vec::new();
        let present = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        match (present(&self.credential), present(&self.code)) {
            (true, true) => errors.push(field("credential", "send credential or code, not both")),
            (false, false) => errors.push(field("credential", "credential or code is required")),
            _ => {}
        }
        if self
            .code_verifier
            .as_deref()
            .is_some_and(|v| !is_pkce_value(v))
        {
            errors.push(field(
                "codeVerifier",
                "must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
            ));
        }
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        Ok(match (self.credential, self.code) {
            (Some(c), _) if !c.trim().is_empty() => GoogleProof::Credential(c),
            (_, code) => GoogleProof::Code(CodeGrant {
                code: code.unwrap_or_default(),
                redirect_uri: self.redirect_uri,
                code_verifier: self.code_verifier,
            }),
        })
    }
}

/// The mock Google provider's consent step (MOCK mode): the address to mail a sign-in link to.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"email": "alex@example.com", "name": "Alex Rivera", "redirectUri": "http://localhost:5173/auth/callback", "state": "af0ifjsldkj"}))]
pub struct MockAuthorizeRequest {
    #[schema(format = "email")]
    pub email: String,
    #[schema(max_length = 100)]
    pub name: Option<String>,
    /// Where the mailed link sends the browser, with `code` (and `state`) appended.
    #[schema(format = "uri")]
    pub redirect_uri: String,
    #[schema(max_length = 500)]
    pub state: Option<String>,
    /// PKCE S256 challenge; the code is then redeemed only with its `codeVerifier`.
    #[schema(
        min_length = 43,
        max_length = 128,
        pattern = "^[A-Za-z0-9._~-]{43,128}$"
    )]
    pub code_challenge: Option<String>,
}

/// The mock Google token endpoint's request: a mailed code for an ID token.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"code": "mailed-code", "redirectUri": "http://localhost:5173/auth/callback"}))]
pub struct MockTokenRequest {
    #[schema(min_length = 1)]
    pub code: String,
    #[schema(format = "uri")]
    pub redirect_uri: Option<String>,
    #[schema(
        min_length = 43,
        max_length = 128,
        pattern = "^[A-Za-z0-9._~-]{43,128}$"
    )]
    pub code_verifier: Option<String>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MockTokenResponse {
    /// An ID token of the mock issuer: post it as `credential` to the Google sign-in.
    pub id_token: String,
    pub expires_in: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::{
        rand::SystemRandom,
        rsa::{KeyPair, KeySize},
        signature::{KeyPair as _, RSA_PKCS1_SHA256},
    };

    fn key() -> KeyPair {
        KeyPair::generate(KeySize::Rsa2048).unwrap()
    }

    fn jwk_of(k: &KeyPair, kid: &str) -> Jwk {
        let p = k.public_key();
        rsa_jwk(
            kid,
            p.modulus().big_endian_without_leading_zero(),
            p.exponent().big_endian_without_leading_zero(),
        )
    }

    fn token(k: &KeyPair, claims: serde_json::Value) -> String {
        rs256_jwt("k1", &claims, |msg| {
            let mut sig = vec![0; k.public_modulus_len()];
            k.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), msg, &mut sig)
                .unwrap();
            sig
        })
    }

    fn claims(iss: &str, aud: &str, exp_in: i64) -> serde_json::Value {
        let now = chrono::Utc::now().timestamp();
        json!({ "iss": iss, "aud": aud, "sub": "1234", "email": "Ann@Example.com",
                "email_verified": true, "name": "Ann", "iat": now, "exp": now + exp_in })
    }

    #[test]
    fn a_token_passes_only_with_the_right_key_issuer_audience_and_time() {
        let k = key();
        let jwk = jwk_of(&k, "k1");
        let iss = vec!["https://accounts.google.com".to_owned()];
        let good = token(&k, claims("https://accounts.google.com", "cid", 600));
        let p = verify_with(&jwk, &good, &iss, "cid").unwrap();
        assert_eq!(
            (p.subject.as_str(), p.email.as_deref(), p.email_verified),
            ("1234", Some("ann@example.com"), true)
        );
        let other = jwk_of(&key(), "k1");
        assert!(
            verify_with(&other, &good, &iss, "cid").is_err(),
            "other key"
        );
        assert!(verify_with(&jwk, &good, &iss, "other").is_err(), "audience");
        let evil = token(&k, claims("https://evil.example", "cid", 600));
        assert!(verify_with(&jwk, &evil, &iss, "cid").is_err(), "issuer");
        let old = token(&k, claims("https://accounts.google.com", "cid", -3600));
        assert!(verify_with(&jwk, &old, &iss, "cid").is_err(), "expired");
        let mut tampered = good.clone();
        tampered.insert(good.find('.').unwrap() + 5, 'x');
        assert!(
            verify_with(&jwk, &tampered, &iss, "cid").is_err(),
            "tampered"
        );
    }

    #[test]
    fn max_age_is_read_from_cache_control() {
        assert_eq!(
            max_age("public, max-age=19845, must-revalidate"),
            Some(Duration::from_secs(19845))
        );
        assert_eq!(max_age("no-cache"), None);
    }
}
