//! External sign-in (OAuth 2.0 authorization code): Google and Meta adapters for LIVE mode,
//! a built-in mock provider for MOCK mode, and linking identities to accounts on
//! (provider, subject).
//!
//! The mock provider never lets in someone who merely knows an address: it mails a sign-in
//! link carrying a single-use code to that address (the outbox, in MOCK mode).

use std::time::Duration;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{
    Identity, IssuedTokens, NewUser, User, auth::AuthUser, entities::oauth_identity,
    google::IdTokenVerifier, mockidp::MockIdp,
};
use crate::{
    datamode::{DataMode, VendorState},
    db::is_unique_violation,
    error::{ApiError, ApiResult, ErrorDetails},
    extract::ClientInfo,
    secrets::Secret,
};

const MOCK_SIGN_IN: &str = "oauth_mock";
const MOCK_CODE_TTL: Duration = Duration::from_secs(600);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    Google,
    Meta,
    /// A SAML 2.0 identity provider (subjects are `<IdP entity id>|<NameID>`).
    Saml,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Google => "google",
            Self::Meta => "meta",
            Self::Saml => "saml",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "google" => Some(Self::Google),
            "meta" => Some(Self::Meta),
            _ => None,
        }
    }

    /// The OAuth providers (SAML is configured per product, not here).
    pub const ALL: [Provider; 2] = [Provider::Google, Provider::Meta];
}

/// Who the provider says the person is.
#[derive(Clone, Debug, PartialEq)]
pub struct ExternalProfile {
    pub provider: Provider,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
}

impl ExternalProfile {
    /// The profile as it may be stored. A provider's answer is outside input as much as a
    /// request body, and PostgreSQL text cannot hold NUL: a subject or email holding one (the
    /// keys an account is found by, which stripping could turn into another's) refuses the
    /// sign-in; a display name loses it.
    fn storable(mut self) -> ApiResult<Self> {
        if self.subject.contains('\0') || self.email.as_deref().is_some_and(|e| e.contains('\0')) {
            return Err(ApiError::unauthenticated(format!(
                "{} sign-in failed: the provider's profile holds a NUL character",
                self.provider.as_str()
            )));
        }
        self.name = self.name.map(|n| n.replace('\0', ""));
        Ok(self)
    }
}

/// One provider's client registration and endpoints (base URLs configurable for tests and
/// proxies).
#[derive(Clone, Debug, Deserialize)]
pub struct ProviderSettings {
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub token_url: String,
    pub userinfo_url: String,
    /// Used when the client does not send `redirectUri`.
    pub redirect_uri: Option<String>,
    /// Where the provider publishes the keys of its ID tokens (OpenID Connect providers).
    pub jwks_url: Option<String>,
    /// Accepted `iss` values of its ID tokens.
    pub issuers: Vec<String>,
}

impl ProviderSettings {
    pub fn google() -> Self {
        Self {
            client_id: None,
            client_secret: None,
            token_url: "https://oauth2.googleapis.com/token".into(),
            userinfo_url: "https://openidconnect.googleapis.com/v1/userinfo".into(),
            redirect_uri: None,
            jwks_url: Some("https://www.googleapis.com/oauth2/v3/certs".into()),
            // Google documents both spellings.
            issuers: vec![
                "https://accounts.google.com".into(),
                "accounts.google.com".into(),
            ],
        }
    }

    pub fn meta() -> Self {
        Self {
            client_id: None,
            client_secret: None,
            token_url: "https://graph.facebook.com/v19.0/oauth/access_token".into(),
            userinfo_url: "https://graph.facebook.com/v19.0/me".into(),
            redirect_uri: None,
            jwks_url: None,
            issuers: Vec::new(),
        }
    }

    fn configured(&self) -> bool {
        self.client_id.is_some() && self.client_secret.is_some()
    }
}

/// The authorization code a client posts back, with its PKCE verifier when it used one.
#[derive(Clone, Debug)]
pub struct CodeGrant {
    pub code: String,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
}

#[derive(Clone)]
pub struct OAuthProviders {
    google: ProviderSettings,
    meta: ProviderSettings,
    http: reqwest::Client,
    mode: DataMode,
    /// Google ID tokens, checked against Google's published keys (LIVE).
    google_ids: std::sync::Arc<IdTokenVerifier>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
}

#[derive(Deserialize)]
struct GoogleUserInfo {
    sub: String,
    email: Option<String>,
    #[serde(default)]
    email_verified: bool,
    name: Option<String>,
}

#[derive(Deserialize)]
struct MetaUser {
    id: String,
    email: Option<String>,
    name: Option<String>,
}

impl OAuthProviders {
    pub fn new(google: ProviderSettings, meta: ProviderSettings, mode: DataMode) -> Self {
        #[allow(
            clippy::expect_used,
            reason = "a constant configuration; only a TLS backend that cannot start fails, at boot"
        )]
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("static reqwest configuration is valid");
        let google_ids = std::sync::Arc::new(IdTokenVerifier::new(
            http.clone(),
            google.jwks_url.clone().unwrap_or_default(),
            google.issuers.clone(),
            google.client_id.clone().unwrap_or_default(),
        ));
        Self {
            google,
            meta,
            http,
            mode,
            google_ids,
        }
    }

    /// The `aud` Google ID tokens must carry: our client id (the mock issuer's own without one).
    pub fn google_audience(&self) -> &str {
        self.google
            .client_id
            .as_deref()
            .unwrap_or(super::google::MOCK_CLIENT_ID)
    }

    /// Verifies a Google ID token (a Sign in with Google `credential`): against Google's keys
    /// in LIVE mode, against the mock issuer's key (`mock`, loaded on demand) in MOCK mode.
    pub async fn verify_google_id_token<F>(
        &self,
        token: &str,
        mock: F,
    ) -> ApiResult<ExternalProfile>
    where
        F: AsyncFnOnce() -> ApiResult<std::sync::Arc<MockIdp>>,
    {
        match self.state(Provider::Google) {
            VendorState::Mock => mock().await?.verify_google(token, self.google_audience()),
            VendorState::Live if self.google.jwks_url.is_some() => {
                self.google_ids.verify(token).await
            }
            _ => Err(ApiError::unavailable(
                "Google sign-in is not configured: set GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET (and GOOGLE_JWKS_URL)",
            )),
        }
    }

    fn settings(&self, p: Provider) -> Option<&ProviderSettings> {
        match p {
            Provider::Google => Some(&self.google),
            Provider::Meta => Some(&self.meta),
            Provider::Saml => None,
        }
    }

    pub fn state(&self, p: Provider) -> VendorState {
        VendorState::of(&self.mode, self.settings(p).is_some_and(|s| s.configured()))
    }

    pub fn is_mock(&self) -> bool {
        !self.mode.is_live()
    }

    /// Exchanges a code for the person's profile: at the provider (LIVE) or against the mock
    /// provider's mailed codes (MOCK).
    pub async fn exchange(
        &self,
        identity: &Identity,
        p: Provider,
        grant: &CodeGrant,
    ) -> ApiResult<ExternalProfile> {
        let Some(s) = self.settings(p) else {
            return Err(ApiError::invalid(
                "this provider does not sign in with an authorization code",
            ));
        };
        match self.state(p) {
            VendorState::Mock => identity.redeem_mock_code(p, grant).await,
            VendorState::Live => self.exchange_live(p, s, grant).await,
            VendorState::Unconfigured => Err(ApiError::unavailable(match p {
                Provider::Meta => {
                    "Meta sign-in is not configured: set META_APP_ID and META_APP_SECRET"
                }
                _ => {
                    "Google sign-in is not configured: set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET"
                }
            })),
        }
    }

    async fn exchange_live(
        &self,
        p: Provider,
        s: &ProviderSettings,
        grant: &CodeGrant,
    ) -> ApiResult<ExternalProfile> {
        let client_id = s.client_id.clone().unwrap_or_default();
        let secret = s
            .client_secret
            .as_ref()
            .map(|c| c.expose().to_owned())
            .unwrap_or_default();
        let redirect_uri = grant
            .redirect_uri
            .clone()
            .or_else(|| s.redirect_uri.clone())
            .unwrap_or_default();
        let mut form = vec![
            ("code", grant.code.clone()),
            ("client_id", client_id),
            ("client_secret", secret),
            ("redirect_uri", redirect_uri),
            ("grant_type", "authorization_code".to_owned()),
        ];
        if let Some(v) = &grant.code_verifier {
            form.push(("code_verifier", v.clone()));
        }
        // Google's token endpoint takes a form POST; Meta's Graph API documents a GET.
        let token_req = match p {
            Provider::Meta => self.http.get(&s.token_url).query(&form),
            _ => self.http.post(&s.token_url).form(&form),
        };
        let token: TokenResponse = read_json(token_req, p, "token").await?;
        match p {
            Provider::Google | Provider::Saml => {
                let info: GoogleUserInfo = read_json(
                    self.http
                        .get(&s.userinfo_url)
                        .bearer_auth(&token.access_token),
                    p,
                    "userinfo",
                )
                .await?;
                Ok(ExternalProfile {
                    provider: p,
                    subject: info.sub,
                    email: info.email.as_deref().map(super::normalize_email),
                    email_verified: info.email_verified,
                    name: info.name,
                })
            }
            Provider::Meta => {
                let req = self
                    .http
                    .get(&s.userinfo_url)
                    .query(&[("fields", "id,name,email")])
                    .bearer_auth(&token.access_token);
                let me: MetaUser = read_json(req, p, "profile").await?;
                // Graph returns no verification flag, so Meta emails are treated as unverified.
                Ok(ExternalProfile {
                    provider: p,
                    subject: me.id,
                    email: me.email.as_deref().map(super::normalize_email),
                    email_verified: false,
                    name: me.name,
                })
            }
        }
    }
}

async fn read_json<T: serde::de::DeserializeOwned>(
    req: reqwest::RequestBuilder,
    p: Provider,
    what: &str,
) -> ApiResult<T> {
    let res = req.send().await.map_err(|e| {
        tracing::warn!(provider = p.as_str(), error = %e, "oauth provider unreachable");
        ApiError::unavailable(format!("{} is unreachable", p.as_str()))
    })?;
    let status = res.status();
    if status.is_client_error() {
        return Err(ApiError::unauthenticated(format!(
            "{} rejected the authorization code",
            p.as_str()
        )));
    }
    if !status.is_success() {
        return Err(ApiError::unavailable(format!(
            "{} answered {status} at its {what} endpoint",
            p.as_str()
        )));
    }
    res.json::<T>().await.map_err(|e| {
        ApiError::unavailable(format!(
            "{} sent an unreadable {what} response: {e}",
            p.as_str()
        ))
    })
}

/// The name a new account gets from a provider: the provider's, trimmed and cut to the
/// account's 100 characters, or the address's local part when the provider sends none. A
/// provider's long or blank name must never block the sign-in.
pub(crate) fn display_name(provided: Option<&str>, email: &str) -> String {
    let name: String = provided
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| email.split('@').next().unwrap_or(email))
        .chars()
        .take(100)
        .collect();
    if name.trim().is_empty() {
        "user".to_owned()
    } else {
        name
    }
}

/// The limits the mock providers' forms document: a name of at most 100 characters, a
/// `state` of at most 500.
pub(crate) fn check_mock_name_and_state(name: Option<&str>, state: Option<&str>) -> ApiResult<()> {
    let mut errors = Vec::new();
    if name.is_some_and(|n| n.chars().count() > 100) {
        errors.push(super::field("name", "must be at most 100 characters"));
    }
    if state.is_some_and(|s| s.chars().count() > 500) {
        errors.push(super::field("state", "must be at most 500 characters"));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

/// What the mock provider's authorization step receives.
#[derive(Clone, Copy, Debug)]
pub struct MockAuthorization<'a> {
    pub provider: Provider,
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub redirect_uri: &'a str,
    pub state: Option<&'a str>,
    /// PKCE S256 challenge, when the client uses PKCE.
    pub code_challenge: Option<&'a str>,
}

/// The S256 PKCE challenge of a verifier (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A PKCE verifier or S256 challenge: 43 to 128 unreserved characters (RFC 7636 §4.1).
pub fn is_pkce_value(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn mock_subject(p: Provider, email: &str) -> String {
    let digest = Sha256::digest(format!("{}:{}", p.as_str(), email).as_bytes());
    format!("mock-{}", &hex::encode(digest)[..24])
}

impl Identity {
    /// MOCK mode's authorization step: mails a sign-in link with a single-use code to `email`.
    /// A PKCE `code_challenge` (S256) binds the code to the client's verifier, as at Google.
    pub async fn mock_authorize(&self, req: MockAuthorization<'_>) -> ApiResult<()> {
        let MockAuthorization {
            provider: p,
            email,
            name,
            redirect_uri,
            state,
            code_challenge,
        } = req;
        let email = Self::checked_email(email)?;
        check_mock_name_and_state(name, state)?;
        let mut url = url::Url::parse(redirect_uri)
            .ok()
            .filter(|_| self.is_app_url(redirect_uri))
            .ok_or_else(|| {
                ApiError::validation(vec![super::field(
                    "redirectUri",
                    "must be a URL of this app",
                )])
            })?;
        if code_challenge.is_some_and(|c| !is_pkce_value(c)) {
            return Err(ApiError::validation(vec![super::field(
                "codeChallenge",
                "must be the base64url SHA-256 of the code verifier (43 characters)",
            )]));
        }
        let data = json!({
            "provider": p.as_str(), "email": email, "name": name,
            "redirectUri": redirect_uri, "codeChallenge": code_challenge,
        });
        let code = self
            .issue_one_time(None, MOCK_SIGN_IN, MOCK_CODE_TTL, Some(data))
            .await?;
        url.query_pairs_mut().append_pair("code", &code);
        if let Some(s) = state {
            url.query_pairs_mut().append_pair("state", s);
        }
        self.send_mock_sign_in(
            &email,
            &format!("{} (mock provider)", p.as_str()),
            url.as_str(),
        )
        .await
    }

    /// Mails a mock provider's sign-in link (the outbox, in MOCK mode).
    pub(crate) async fn send_mock_sign_in(
        &self,
        email: &str,
        provider: &str,
        link: &str,
    ) -> ApiResult<()> {
        let body = format!(
            "Sign in to {} with {provider}:\n\n{link}\n\nThe link works once, for 10 minutes.",
            self.cfg.display_name
        );
        let subject = format!("Sign in to {}", self.cfg.display_name);
        self.mailer.send(email, &subject, &body).await
    }

    /// A normalised address, or a validation error naming `email`.
    pub(crate) fn checked_email(email: &str) -> ApiResult<String> {
        let email = super::normalize_email(email);
        if !super::is_valid_email(&email) {
            return Err(ApiError::validation(vec![super::field(
                "email",
                "must be a valid email address",
            )]));
        }
        Ok(email)
    }

    async fn redeem_mock_code(&self, p: Provider, grant: &CodeGrant) -> ApiResult<ExternalProfile> {
        let bad =
            || ApiError::unauthenticated(format!("{} rejected the authorization code", p.as_str()));
        let row = self
            .consume_one_time(&grant.code, MOCK_SIGN_IN)
            .await?
            .ok_or_else(bad)?;
        let data = row.data.unwrap_or_default();
        if data["provider"] != p.as_str() {
            return Err(bad());
        }
        // As at a real provider: the redirect URI, when sent, must be the one authorized, and
        // a code issued for a PKCE challenge needs the verifier that hashes to it.
        if let Some(uri) = &grant.redirect_uri
            && data["redirectUri"].as_str().is_some_and(|r| r != uri)
        {
            return Err(bad());
        }
        if let Some(challenge) = data["codeChallenge"].as_str() {
            let verifier = grant.code_verifier.as_deref().ok_or_else(bad)?;
            if pkce_challenge(verifier) != challenge {
                return Err(bad());
            }
        }
        let email = data["email"].as_str().ok_or_else(bad)?.to_owned();
        Ok(ExternalProfile {
            provider: p,
            subject: mock_subject(p, &email),
            name: data["name"].as_str().map(str::to_owned),
            email: Some(email),
            // The person opened a link mailed to this address.
            email_verified: true,
        })
    }

    /// Signs in (or links, with `link_to`) an external identity. The identity is found by
    /// (provider, subject) first: once linked, it signs in its own account whatever email the
    /// provider sends later. A new identity whose email belongs to an existing account is
    /// linked only when both the provider and the account have verified that email and the
    /// account has no other identity at the same provider (a different subject for the same
    /// address means the address has changed hands there); otherwise the person must sign in
    /// and link explicitly. Addresses are compared as `normalize_email` stores them (ASCII
    /// case only); one that is not a valid, NFC address makes no account and matches none.
    pub async fn sign_in_external(
        &self,
        profile: ExternalProfile,
        link_to: Option<&AuthUser>,
        client: &ClientInfo,
    ) -> ApiResult<(User, IssuedTokens)> {
        let profile = profile.storable()?;
        let provider = profile.provider.as_str();
        let existing = oauth_identity::Entity::find()
            .filter(oauth_identity::Column::Provider.eq(provider))
            .filter(oauth_identity::Column::Subject.eq(&profile.subject))
            .one(&self.db)
            .await?;
        let user = match (existing, link_to) {
            (Some(ident), Some(me)) if ident.user_id != me.id() => {
                return Err(ApiError::conflict(format!(
                    "this {provider} account is linked to another user"
                )));
            }
            (Some(ident), _) => self
                .user(ident.user_id)
                .await?
                .ok_or_else(|| ApiError::not_found("user not found"))?,
            (None, Some(me)) => {
                self.link_identity(&me.user, &profile, client).await?;
                me.user.clone()
            }
            (None, None) => {
                let email = profile.email.clone().ok_or_else(|| {
                    ApiError::invalid(format!("{provider} did not share an email address"))
                })?;
                if !super::is_valid_email(&email) {
                    return Err(ApiError::invalid(format!(
                        "{provider} sent an email address that cannot be used for an account \
                         (it must be a valid address in Unicode NFC form)"
                    )));
                }
                match self.user_by_email(&email).await? {
                    Some(u) if self.has_identity_at(&u, profile.provider).await? => {
                        return Err(ApiError::conflict(format!(
                            "the account with this email is linked to another {provider} \
                             identity: sign in with that one"
                        )));
                    }
                    Some(u) if u.email_verified && profile.email_verified => {
                        self.link_identity(&u, &profile, client).await?;
                        u
                    }
                    Some(_) => {
                        return Err(ApiError::conflict(format!(
                            "an account with this email exists: sign in to it and link {provider} from there"
                        )));
                    }
                    // A product that admits verified addresses only creates no account for
                    // an address the provider has not verified.
                    None if self.cfg.require_verified_email && !profile.email_verified => {
                        return Err(ApiError::forbidden(format!(
                            "{provider} has not verified this email address"
                        ))
                        .with_details(ErrorDetails::EmailNotVerified {
                            email_not_verified: true,
                        }));
                    }
                    None => {
                        let name = display_name(profile.name.as_deref(), &email);
                        let u = self
                            .create_user(NewUser {
                                email,
                                password: None,
                                name,
                                role: self.cfg.default_role.to_owned(),
                                email_verified: profile.email_verified,
                            })
                            .await?;
                        self.log_event(
                            Some(u.id),
                            None,
                            "register",
                            client,
                            Some(json!({ "provider": provider })),
                        )
                        .await;
                        self.link_identity(&u, &profile, client).await?;
                        u
                    }
                }
            }
        };
        self.check_may_sign_in(&user)?;
        let tokens = self.start_session(&user, client, None).await?;
        let user = self.touch_login(user).await?;
        self.log_event(
            Some(user.id),
            None,
            "oauth_login",
            client,
            Some(json!({ "provider": provider })),
        )
        .await;
        Ok((user, tokens))
    }

    /// True when `u` already has an identity at `provider`.
    async fn has_identity_at(&self, u: &User, provider: Provider) -> Result<bool, sea_orm::DbErr> {
        Ok(oauth_identity::Entity::find()
            .filter(oauth_identity::Column::UserId.eq(u.id))
            .filter(oauth_identity::Column::Provider.eq(provider.as_str()))
            .one(&self.db)
            .await?
            .is_some())
    }

    async fn link_identity(
        &self,
        u: &User,
        profile: &ExternalProfile,
        client: &ClientInfo,
    ) -> ApiResult<()> {
        oauth_identity::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(u.id),
            provider: Set(profile.provider.as_str().to_owned()),
            subject: Set(profile.subject.clone()),
            email: Set(profile.email.clone()),
            created_at: Set(Utc::now()),
        }
        .insert(&self.db)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                ApiError::conflict("this identity is already linked")
            } else {
                e.into()
            }
        })?;
        self.log_event(
            Some(u.id),
            None,
            "oauth_linked",
            client,
            Some(json!({ "provider": profile.provider.as_str() })),
        )
        .await;
        Ok(())
    }

    pub async fn external_identities(
        &self,
        user_id: Uuid,
    ) -> Result<Vec<oauth_identity::Model>, sea_orm::DbErr> {
        oauth_identity::Entity::find()
            .filter(oauth_identity::Column::UserId.eq(user_id))
            .order_by_asc(oauth_identity::Column::CreatedAt)
            .all(&self.db)
            .await
    }
}
