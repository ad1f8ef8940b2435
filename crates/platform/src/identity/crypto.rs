//! Identity's cryptography: argon2id password hashes, opaque random tokens stored as SHA-256,
//! HS256 access JWTs (with `nbf`), RFC 6238 TOTP, and keys derived from the product's secret for
//! one purpose each (device cookies, sealed refresh-token successors).

use std::sync::OnceLock;

use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash},
};
use aws_lc_rs::{aead, hmac};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation, decode, encode};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// argon2id with OWASP's first recommended parameter set: m=19 MiB, t=2, p=1.
fn argon2() -> Argon2<'static> {
    #[allow(
        clippy::expect_used,
        reason = "constant parameters inside argon2's documented ranges"
    )]
    let params = Params::new(19 * 1024, 2, 1, None).expect("static argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Password hashes computed at once, at most: one per core. Each takes argon2's 19 MiB, so a
/// burst of sign-ins queues here instead of holding 19 MiB per waiting request, and the
/// extra hashes would only have shared the same cores anyway.
fn hashing_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        tokio::sync::Semaphore::new(cores)
    })
}

/// Runs one argon2 computation on the blocking pool, within [`hashing_permits`].
async fn hashing<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<T> {
    let _permit = hashing_permits().acquire().await?;
    Ok(tokio::task::spawn_blocking(work).await?)
}

/// Hashes a password on the blocking pool (argon2 is deliberately slow).
pub async fn hash_password(password: &str) -> anyhow::Result<String> {
    let password = password.to_owned();
    hashing(move || {
        argon2()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))
    })
    .await?
}

/// Verifies a password. With `hash == None` (unknown account) it verifies against a fixed
/// dummy hash, so "no such user" costs the same time as "wrong password".
pub async fn verify_password(password: &str, hash: Option<&str>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let known = hash.is_some();
    let hash = match hash {
        Some(h) => h.to_owned(),
        None => DUMMY
            .get_or_init(|| {
                argon2()
                    .hash_password(random_token().as_bytes())
                    .map(|h| h.to_string())
                    .unwrap_or_default()
            })
            .clone(),
    };
    let password = password.to_owned();
    let ok = hashing(move || {
        PasswordHash::new(&hash).is_ok_and(|parsed| {
            argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false);
    ok && known
}

/// 256 bits of randomness, URL-safe base64.
pub fn random_token() -> String {
    let mut buf = [0u8; 32];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// How opaque tokens are stored: their SHA-256, hex. (They carry 256 bits of entropy, so a
/// fast hash is enough; a slow KDF protects guessable secrets like passwords.)
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A recovery code a person can type: `xxxx-xxxx-xxxx` from an unambiguous alphabet (~62 bits).
pub fn recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    format!(
        "{}-{}-{}",
        chars[0..4].iter().collect::<String>(),
        chars[4..8].iter().collect::<String>(),
        chars[8..12].iter().collect::<String>()
    )
}

/// Normalises what a person typed as a recovery code before hashing it.
pub fn normalize_recovery_code(input: &str) -> String {
    input.trim().to_ascii_lowercase()
}

/// A key for one purpose, derived from the product's secret: HMAC-SHA256(secret, label). Keys
/// for different labels are independent, so one secret serves tokens, cookies and seals.
pub fn derive_key(secret: &[u8], label: &str) -> [u8; 32] {
    hmac_sha256(secret, &[label.as_bytes()])
}

/// HMAC-SHA256 over the concatenation of `parts`, each prefixed with its length (so
/// `["ab", "c"]` and `["a", "bc"]` differ).
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut ctx = hmac::Context::with_key(&key);
    for p in parts {
        ctx.update(&(p.len() as u64).to_be_bytes());
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.sign().as_ref());
    out
}

/// Encrypts `plaintext` with AES-256-GCM under `key`, bound to `aad`: base64url of
/// nonce ‖ ciphertext ‖ tag.
pub fn seal(key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> anyhow::Result<String> {
    let key = aead::LessSafeKey::new(
        aead::UnboundKey::new(&aead::AES_256_GCM, key).map_err(|_| anyhow::anyhow!("aead key"))?,
    );
    let mut nonce = [0u8; aead::NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let mut data = plaintext.to_vec();
    key.seal_in_place_append_tag(
        aead::Nonce::assume_unique_for_key(nonce),
        aead::Aad::from(aad),
        &mut data,
    )
    .map_err(|_| anyhow::anyhow!("aead seal"))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&data);
    Ok(URL_SAFE_NO_PAD.encode(out))
}

/// Decrypts what [`seal`] made with the same key and `aad`; `None` if anything differs.
pub fn open(key: &[u8; 32], aad: &[u8], sealed: &str) -> Option<Vec<u8>> {
    let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
    if bytes.len() < aead::NONCE_LEN {
        return None;
    }
    let (nonce, data) = bytes.split_at(aead::NONCE_LEN);
    let key = aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_256_GCM, key).ok()?);
    let nonce = aead::Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut data = data.to_vec();
    let plain = key
        .open_in_place(nonce, aead::Aad::from(aad), &mut data)
        .ok()?;
    Some(plain.to_vec())
}

/// Access-token claims.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    pub sub: Uuid,
    /// The session (token family) the token belongs to; revoking it kills the token.
    pub sid: Uuid,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    /// Not valid before (the issue time); checked like `exp`.
    pub nbf: i64,
    pub exp: i64,
    /// The admin acting as `sub`, for impersonation tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imp: Option<Uuid>,
}

/// How far in the future an access token's `nbf` may be and still pass: instances' clocks
/// differ by a little. (`exp` has no leeway: a token never lives longer than it says.)
pub const NBF_LEEWAY_SECS: i64 = 5;

/// Signs and verifies a product's access tokens.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: String,
}

impl JwtKeys {
    pub fn new(secret: &[u8], issuer: &str) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            issuer: issuer.to_owned(),
        }
    }

    pub fn sign(&self, claims: &Claims) -> anyhow::Result<String> {
        Ok(encode(&Header::default(), claims, &self.encoding)?)
    }

    /// Verifies signature, expiry (no leeway), not-before (a token from a few seconds ahead,
    /// [`NBF_LEEWAY_SECS`], is accepted for clock skew between instances), issuer and audience.
    /// `exp`, `nbf`, `iat`, `iss`, `aud` and `sub` must all be present.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let mut v = Validation::new(jsonwebtoken::Algorithm::HS256);
        v.leeway = 0;
        v.validate_nbf = false;
        v.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[&self.issuer]);
        let claims = decode::<Claims>(token, &self.decoding, &v).ok()?.claims;
        let now = chrono::Utc::now().timestamp();
        (claims.nbf <= now + NBF_LEEWAY_SECS).then_some(claims)
    }
}

/// RFC 6238 with the parameters authenticator apps assume: SHA-1, 6 digits, 30 s steps.
pub mod totp {
    use totp_rs::{Algorithm, Builder, Secret, Totp};

    pub const STEP: u64 = 30;

    pub fn new_secret() -> String {
        Secret::generate().to_base32()
    }

    fn build(secret_b32: &str, account: &str, issuer: &str) -> Option<Totp> {
        let secret = Secret::try_from_base32(secret_b32).ok()?;
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(6)
            .with_step_duration(STEP)
            .with_skew(1)
            .with_secret(secret)
            .with_account_name(account)
            .with_issuer(Some(issuer))
            .build()
            .ok()
    }

    pub fn otpauth_url(secret_b32: &str, account: &str, issuer: &str) -> Option<String> {
        build(secret_b32, account, issuer)?.to_url().ok()
    }

    /// The time step a code matches (now ±1 step), if any; callers refuse a step at or
    /// before the last one accepted, so a code works once.
    pub fn matching_step(secret_b32: &str, code: &str, now_secs: u64) -> Option<i64> {
        let code = code.trim();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let totp = build(secret_b32, "user", "basalt")?;
        let step = now_secs / STEP;
        [step.saturating_sub(1), step, step + 1]
            .into_iter()
            .find(|s| totp.generate(s * STEP).to_string() == code)
            .map(|s| s as i64)
    }

    /// The code for a moment, for tests and tooling.
    pub fn code_at(secret_b32: &str, now_secs: u64) -> Option<String> {
        Some(
            build(secret_b32, "user", "basalt")?
                .generate(now_secs)
                .to_string(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn password_round_trip_uses_argon2id() {
        let h = hash_password("correct horse battery staple").await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("correct horse battery staple", Some(&h)).await);
        assert!(!verify_password("wrong", Some(&h)).await);
    }

    #[tokio::test]
    async fn unknown_accounts_never_verify() {
        assert!(!verify_password("anything", None).await);
    }

    #[test]
    fn jwt_from_another_issuer_is_refused() {
        let a = JwtKeys::new(b"0123456789abcdef0123456789abcdef", "warroom");
        let b = JwtKeys::new(b"0123456789abcdef0123456789abcdef", "pawfect");
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: Uuid::now_v7(),
            sid: Uuid::now_v7(),
            iss: "warroom".into(),
            aud: "warroom".into(),
            iat: now,
            nbf: now,
            exp: now + 60,
            imp: None,
        };
        let t = a.sign(&claims).unwrap();
        assert_eq!(a.verify(&t), Some(claims));
        assert_eq!(b.verify(&t), None);
    }

    fn claims_at(nbf: i64) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            sub: Uuid::now_v7(),
            sid: Uuid::now_v7(),
            iss: "warroom".into(),
            aud: "warroom".into(),
            iat: now,
            nbf,
            exp: now + 600,
            imp: None,
        }
    }

    #[test]
    fn a_token_is_refused_before_its_not_before_time() {
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef", "warroom");
        let now = chrono::Utc::now().timestamp();
        assert!(keys.verify(&keys.sign(&claims_at(now)).unwrap()).is_some());
        assert!(
            keys.verify(&keys.sign(&claims_at(now - 60)).unwrap())
                .is_some()
        );
        let early = keys.sign(&claims_at(now + 60)).unwrap();
        assert_eq!(keys.verify(&early), None, "nbf a minute ahead");
        let skewed = keys.sign(&claims_at(now + NBF_LEEWAY_SECS - 1)).unwrap();
        assert!(keys.verify(&skewed).is_some(), "within the clock leeway");
    }

    #[test]
    fn a_token_without_not_before_is_refused() {
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef", "warroom");
        let mut v = serde_json::to_value(claims_at(chrono::Utc::now().timestamp())).unwrap();
        v.as_object_mut().unwrap().remove("nbf");
        let token = encode(&Header::default(), &v, &keys.encoding).unwrap();
        assert_eq!(keys.verify(&token), None);
    }

    #[test]
    fn sealed_values_open_only_with_their_key_and_binding() {
        let k = derive_key(b"secret", "purpose a");
        assert_ne!(k, derive_key(b"secret", "purpose b"));
        assert_ne!(k, derive_key(b"other secret", "purpose a"));
        let sealed = seal(&k, b"row-1", b"successor").unwrap();
        assert_eq!(
            open(&k, b"row-1", &sealed).as_deref(),
            Some(&b"successor"[..])
        );
        assert_eq!(open(&k, b"row-2", &sealed), None, "bound to its row");
        assert_eq!(
            open(&derive_key(b"secret", "purpose b"), b"row-1", &sealed),
            None
        );
        assert_eq!(open(&k, b"row-1", "garbage"), None);
        assert_ne!(
            sealed,
            seal(&k, b"row-1", b"successor").unwrap(),
            "fresh nonces"
        );
    }

    #[test]
    fn hmac_parts_are_length_prefixed() {
        assert_ne!(
            hmac_sha256(b"k", &[b"ab", b"c"]),
            hmac_sha256(b"k", &[b"a", b"bc"])
        );
    }

    #[test]
    fn totp_accepts_one_step_of_skew_and_no_more() {
        let s = totp::new_secret();
        let now = 1_700_000_000;
        let code = totp::code_at(&s, now).unwrap();
        assert_eq!(totp::matching_step(&s, &code, now), Some((now / 30) as i64));
        assert!(totp::matching_step(&s, &code, now + 30).is_some());
        assert!(totp::matching_step(&s, &code, now + 90).is_none());
        assert!(totp::matching_step(&s, "12345", now).is_none());
    }

    #[test]
    fn recovery_codes_are_distinct_and_typeable() {
        let a = recovery_code();
        assert_eq!(a.len(), 14);
        assert_ne!(a, recovery_code());
        assert_eq!(
            normalize_recovery_code(" ABCD-efgh-jkmn "),
            "abcd-efgh-jkmn"
        );
    }
}
