//! Identity: users, sessions (refresh-token families with rotation and reuse detection),
//! passwords and their sign-in throttle, email verification and reset, TOTP, the security log,
//! impersonation and external (OAuth) identities. Products configure it and shape its results
//! on the wire.

pub mod auth;
pub mod cache;
pub mod crypto;
pub mod entities;
pub mod google;
pub mod mockidp;
pub mod oauth;
mod onetime;
pub mod saml_login;
mod sessions;
pub mod throttle;
mod totp2fa;
mod users;

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::Value;
use uuid::Uuid;

pub use entities::{session::Model as Session, user::Model as User};
pub use sessions::{PasswordSignIn, SignedIn};
pub use users::{NewUser, UserFilter, UserUpdate};

use crate::{bus::Bus, extract::ClientInfo, identity::crypto::JwtKeys, mail::Mailer};
use entities::security_event;
use throttle::{SignInThrottle, ThrottlePolicy};

/// Per-product identity policy.
#[derive(Clone, Debug)]
pub struct IdentityConfig {
    /// Product name: JWT issuer and audience, TOTP issuer.
    pub product: &'static str,
    /// Human name in mails and authenticator apps.
    pub display_name: &'static str,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    /// How long an already-rotated refresh token is still honoured (concurrent tabs): it
    /// answers with the same successor.
    pub reuse_grace: Duration,
    /// Whether refresh rotates the refresh token (the default) or keeps it.
    pub refresh_rotation: RefreshRotation,
    /// Password and second-factor sign-in throttling.
    pub sign_in: ThrottlePolicy,
    /// `Secure` on the device cookie; off only for plain-http development.
    pub device_cookie_secure: bool,
    pub verify_ttl: Duration,
    pub reset_ttl: Duration,
    pub default_role: &'static str,
    pub admin_role: &'static str,
    /// Refuse sign-in (403, `details.emailNotVerified`) until the address is verified.
    pub require_verified_email: bool,
    /// Frontend base URL that links in mails point to.
    pub app_url: String,
    /// Origins a mailed sign-in link may redirect to (the app's, plus the CORS allow-list).
    pub redirect_origins: Vec<String>,
}

impl IdentityConfig {
    pub fn new(product: &'static str, display_name: &'static str, app_url: String) -> Self {
        Self {
            product,
            display_name,
            access_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(7 * 24 * 3600),
            reuse_grace: Duration::from_secs(10),
            refresh_rotation: RefreshRotation::Rotate,
            sign_in: ThrottlePolicy::default(),
            device_cookie_secure: true,
            verify_ttl: Duration::from_secs(24 * 3600),
            reset_ttl: Duration::from_secs(3600),
            default_role: "viewer",
            admin_role: "admin",
            require_verified_email: false,
            redirect_origins: vec![origin_of(&app_url)],
            app_url,
        }
    }
}

/// What refresh does with the refresh token it is given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RefreshRotation {
    /// Each refresh spends the token and answers a new one of the same session; a spent token
    /// presented after the reuse grace revokes the session (reuse detection).
    #[default]
    Rotate,
    /// The token stays valid until it expires or its session is revoked; refresh answers the
    /// same token (for clients that keep their first refresh token, such as seed 001's).
    Reuse,
}

impl std::str::FromStr for RefreshRotation {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "rotate" => Ok(Self::Rotate),
            "reuse" => Ok(Self::Reuse),
            other => Err(format!(
                "refresh rotation must be rotate or reuse, not {other:?}"
            )),
        }
    }
}

/// Tokens handed to a client after sign-in or refresh.
#[derive(Clone, Debug)]
pub struct IssuedTokens {
    pub access_token: String,
    /// `None` for impersonation sessions, which cannot be refreshed.
    pub refresh_token: Option<String>,
    pub expires_in: i64,
    pub session_id: Uuid,
}

/// Bus topic announced after a session was revoked (logout, a revoke, refresh-token reuse);
/// the payload is the session id.
pub const SESSION_REVOKED: &str = "session_revoked";

/// Bus topic announced after some of a user's sessions ended at once (password change or
/// reset, a role change, deletion); the payload is the user id. Which sessions ended is not
/// said (a password change keeps the current one): listeners re-read.
pub const USER_SESSIONS_REVOKED: &str = "user_sessions_revoked";

/// Bus topic announced after a user's row changed (profile, role, password, two-factor
/// state); the payload is the user id. Instances drop what they cached about the user.
pub const USER_CHANGED: &str = "user_changed";

/// The identity service of one product.
#[derive(Clone)]
pub struct Identity {
    pub db: DatabaseConnection,
    /// Write transactions (sign-in, refresh rotation): `db::Pools::write`.
    writer: DatabaseConnection,
    pub cfg: IdentityConfig,
    pub mailer: Mailer,
    keys: std::sync::Arc<JwtKeys>,
    /// Where revocations are announced ([`SESSION_REVOKED`], [`USER_SESSIONS_REVOKED`]).
    bus: Bus,
    /// Seals a rotated refresh token's successor for the reuse grace.
    successor_key: [u8; 32],
    throttle: SignInThrottle,
    /// Live sessions read recently ([`cache`]); shared by clones.
    sessions_cache: std::sync::Arc<cache::SessionCache>,
}

/// A page of security events, newest first.
pub type SecurityEvent = security_event::Model;

impl Identity {
    pub fn new(
        db: DatabaseConnection,
        cfg: IdentityConfig,
        jwt_secret: &[u8],
        mailer: Mailer,
    ) -> Self {
        let keys = std::sync::Arc::new(JwtKeys::new(jwt_secret, cfg.product));
        let throttle = SignInThrottle::new(
            cfg.sign_in.clone(),
            jwt_secret,
            cfg.product,
            cfg.device_cookie_secure,
        );
        Self {
            writer: db.clone(),
            db,
            successor_key: crypto::derive_key(jwt_secret, "basalt refresh successor v1"),
            cfg,
            mailer,
            keys,
            bus: Bus::local(),
            throttle,
            sessions_cache: std::sync::Arc::default(),
        }
    }

    /// Keeps the session cache in step with the other instances: drops what a revocation or
    /// user-change notice names, and everything when notices were missed. Runs until
    /// `background` stops.
    pub fn follow_changes(&self, background: &crate::lifecycle::Background) {
        let mut notices = self.bus.subscribe();
        let cache = self.sessions_cache.clone();
        let stopping = background.stopping();
        background.spawn(async move {
            let follow = async {
                loop {
                    match notices.recv().await {
                        Ok(n) => {
                            let id = n.payload.parse::<Uuid>().ok();
                            match (n.topic.as_str(), id) {
                                (SESSION_REVOKED, Some(id)) => cache.forget_session(id),
                                (USER_SESSIONS_REVOKED | USER_CHANGED, Some(id)) => {
                                    cache.forget_user(id);
                                }
                                _ => {}
                            }
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                            cache.forget_all();
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    }
                }
            };
            tokio::select! {
                () = follow => {}
                () = stopping => {}
            }
        });
    }

    /// After a change to the user's row: this instance forgets the cached sessions of the
    /// user at once, the others when the notice reaches them.
    pub(crate) async fn user_changed(&self, user_id: Uuid) {
        self.sessions_cache.forget_user(user_id);
        self.bus.announce(USER_CHANGED, user_id.to_string()).await;
    }

    /// Announces revocations on `bus` (the product's, so every instance hears them) instead
    /// of a bus of its own nobody listens to.
    pub fn with_bus(mut self, bus: Bus) -> Self {
        self.bus = bus;
        self
    }

    /// Runs write transactions on `writer` (the product's `db::Pools::write`) instead of `db`.
    pub fn with_writer(mut self, writer: DatabaseConnection) -> Self {
        self.writer = writer;
        self
    }

    /// Keeps the sign-in throttle's streaks in Redis under `prefix`, shared by every instance.
    pub fn with_shared_throttle(mut self, redis_url: &str, prefix: &str) -> anyhow::Result<Self> {
        self.throttle = self.throttle.in_redis(redis_url, prefix)?;
        Ok(self)
    }

    /// The sign-in throttle (device cookies, failure streaks).
    pub fn throttle(&self) -> &SignInThrottle {
        &self.throttle
    }

    /// Records an event in the user's security log. Logging must never fail the request it
    /// describes, so a storage error is traced and swallowed.
    pub async fn log_event(
        &self,
        user_id: Option<Uuid>,
        actor_id: Option<Uuid>,
        event_type: &str,
        client: &ClientInfo,
        details: Option<Value>,
    ) {
        let logged = self
            .log_event_in(&self.db, user_id, actor_id, event_type, client, details)
            .await;
        if let Err(e) = logged {
            tracing::error!(error = %e, event_type, "could not write security event");
        }
    }

    /// Records an event on `conn`, inside the transaction whose change it describes (it then
    /// exists exactly when that change does). The error is the caller's: a failed statement
    /// spoils a PostgreSQL transaction.
    pub async fn log_event_in(
        &self,
        conn: &impl ConnectionTrait,
        user_id: Option<Uuid>,
        actor_id: Option<Uuid>,
        event_type: &str,
        client: &ClientInfo,
        details: Option<Value>,
    ) -> Result<(), sea_orm::DbErr> {
        let row = security_event::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(user_id),
            actor_id: Set(actor_id),
            event_type: Set(event_type.to_owned()),
            ip: Set(client.ip_string()),
            user_agent: Set(client.user_agent.clone()),
            details: Set(details),
            created_at: Set(Utc::now()),
        };
        row.insert(conn).await.map(|_| ())
    }

    /// The user's security log, newest first; `page` counts from 1.
    pub async fn security_log(
        &self,
        user_id: Uuid,
        page: u64,
        limit: u64,
    ) -> Result<(Vec<SecurityEvent>, u64), sea_orm::DbErr> {
        let q = security_event::Entity::find().filter(security_event::Column::UserId.eq(user_id));
        let total = q.clone().count(&self.db).await?;
        let rows = q
            .order_by_desc(security_event::Column::CreatedAt)
            .order_by_desc(security_event::Column::Id)
            .offset((page - 1) * limit)
            .limit(limit)
            .all(&self.db)
            .await?;
        Ok((rows, total))
    }

    /// The session a refresh token belongs to (spent, revoked or not): what a cookie's CSRF
    /// token must be bound to. Read-only; `refresh` decides whether the token still works.
    pub async fn session_of_refresh_token(
        &self,
        token: &str,
    ) -> Result<Option<Uuid>, sea_orm::DbErr> {
        use entities::refresh_token;
        let row = refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(crypto::token_hash(token)))
            .one(&self.db)
            .await?;
        Ok(row.map(|r| r.session_id))
    }

    /// Sends a mail without making the caller wait for (or learn about) delivery: used where
    /// response time must not reveal whether an account exists.
    fn send_mail_detached(&self, to: String, subject: String, body: String) {
        let mailer = self.mailer.clone();
        tokio::spawn(async move {
            if let Err(e) = mailer.send(&to, &subject, &body).await {
                tracing::warn!(error = %e, "mail not sent");
            }
        });
    }

    fn link(&self, path: &str, token: &str) -> String {
        format!(
            "{}/{}?token={}",
            self.cfg.app_url.trim_end_matches('/'),
            path,
            token
        )
    }
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

fn chrono_dur(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// `scheme://host[:port]` of a URL, or the input when it is not one.
pub fn origin_of(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|_| url.to_owned())
}

/// The form an address is stored, looked up and compared in: surrounding ASCII whitespace
/// removed and the ASCII letters `A`-`Z` lower-cased, in the local part and the domain (every
/// product documents addresses as case-insensitive). Every other character is kept exactly
/// as sent: no Unicode case mapping and no Unicode normalisation, because both map distinct
/// addresses onto one another. `to_lowercase` turns the Kelvin sign U+212A into ASCII `k`, and
/// NFC (NFKC even more: fullwidth `ｋ`) does the same, so either would let an identity
/// provider's `\u{212A}im@example.com` sign in as `kim@example.com`. Two addresses are the same
/// identity only when these forms are equal code point for code point.
pub fn normalize_email(email: &str) -> String {
    email
        .trim_matches(|c: char| c.is_ascii_whitespace())
        .to_ascii_lowercase()
}

/// A deliberately small syntax check: one `@`, a non-empty local part, a dotted domain, no
/// spaces or control characters, and Unicode NFC. Deliverability is proven by the
/// verification mail, not by a regex.
///
/// NFC is required, not applied: an address that normalisation would change (a decomposed
/// `e` + U+0301, the Kelvin sign, the Ohm sign) is refused rather than stored, so no account
/// holds an address that looks like, or that mail software (RFC 6532 asks for NFC) may rewrite
/// into, another account's address.
pub fn is_valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && email.len() <= 254
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && unicode_normalization::is_nfc(email)
}

/// Password rule: 8 to 1024 characters, taken whole.
pub fn check_password(password: &str) -> Result<(), crate::error::FieldError> {
    let n = password.chars().count();
    if n < 8 {
        return Err(field("password", "must be at least 8 characters"));
    }
    if n > 1024 {
        return Err(field("password", "must be at most 1024 characters"));
    }
    Ok(())
}

pub(crate) fn field(name: &str, message: &str) -> crate::error::FieldError {
    crate::error::FieldError {
        field: name.to_owned(),
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_syntax_check_accepts_ordinary_and_refuses_broken_addresses() {
        assert!(is_valid_email("ann@example.com"));
        assert!(is_valid_email("a.b+tag@sub.example.org"));
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
            "ann@@x.com",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn addresses_fold_ascii_case_only() {
        assert_eq!(normalize_email("  Ann@Example.COM\t"), "ann@example.com");
        // Kelvin sign, dotted capital I, fullwidth K, Greek capital sigma: kept as sent.
        for kept in [
            "\u{212A}im@example.com",
            "\u{0130}lker@example.com",
            "\u{FF2B}im@example.com",
            "\u{03A3}ofia@example.com",
            "ann@\u{212A}.example.com",
        ] {
            assert_eq!(normalize_email(kept), kept, "{kept}");
        }
        assert_ne!(normalize_email("\u{212A}IM@example.com"), "kim@example.com");
        assert_eq!(
            normalize_email("\u{212A}IM@EXAMPLE.com"),
            "\u{212A}im@example.com"
        );
        // Unicode whitespace is not trimmed away (and makes the address invalid).
        assert!(!is_valid_email(&normalize_email("ann@example.com\u{3000}")));
    }

    #[test]
    fn addresses_that_unicode_normalisation_would_change_are_invalid() {
        for changed in [
            "\u{212A}im@example.com",          // Kelvin sign: NFC gives ASCII K
            "\u{2126}mar@example.com",         // Ohm sign: NFC gives Greek Omega
            "jose\u{0301}@example.com",        // decomposed e + acute
            "ann@caf\u{0065}\u{0301}.example", // in the domain too
        ] {
            assert!(!is_valid_email(changed), "{changed}");
        }
        for stable in [
            "jos\u{00E9}@example.com",  // precomposed
            "\u{0130}lker@example.com", // dotted capital I is NFC
            "\u{FF4B}im@example.com",   // fullwidth k is NFC (only NFKC would fold it)
            "ann@b\u{00FC}cher.example",
        ] {
            assert!(is_valid_email(stable), "{stable}");
        }
    }

    #[test]
    fn long_passphrases_are_accepted_whole() {
        assert!(check_password("short").is_err());
        assert!(check_password(&"a".repeat(8)).is_ok());
        assert!(check_password(&"ü".repeat(200)).is_ok());
        assert!(check_password(&"a".repeat(1025)).is_err());
    }
}
