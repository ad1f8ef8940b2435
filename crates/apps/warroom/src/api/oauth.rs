//! `/api/v1/auth/oauth/*`: sign-in with Google and Meta (authorization-code exchange), linked
//! providers, and the MOCK mode provider's authorization step.

use axum::{extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use platform::{
    ApiError,
    extract::{ClientInfo, Json},
    identity::{
        auth::AuthUser,
        oauth::{CodeGrant, MockAuthorization, Provider},
    },
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::types::LoginResponse;
use crate::Ctx;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"code": "4/0AcvDMrB-example", "redirectUri": "http://localhost:5173/auth/callback"}))]
pub struct OAuthCodeRequest {
    /// The authorization code the provider redirected back with.
    #[schema(min_length = 1)]
    pub code: String,
    pub redirect_uri: Option<String>,
    /// PKCE verifier, when the authorization request carried a challenge.
    pub code_verifier: Option<String>,
}

async fn exchange(
    ctx: &Ctx,
    p: Provider,
    user: Option<AuthUser>,
    client: ClientInfo,
    req: OAuthCodeRequest,
) -> Result<Json<LoginResponse>, ApiError> {
    if user.as_ref().is_some_and(|u| u.impersonator.is_some()) {
        // Linking would give the admin a lasting way into the account.
        return Err(ApiError::forbidden(
            "providers cannot be linked while impersonating",
        ));
    }
    let grant = CodeGrant {
        code: req.code,
        redirect_uri: req.redirect_uri,
        code_verifier: req.code_verifier,
    };
    let profile = ctx.oauth.exchange(&ctx.identity, p, &grant).await?;
    let (u, tokens) = ctx
        .identity
        .sign_in_external(profile, user.as_ref(), &client)
        .await?;
    Ok(Json(LoginResponse::new(&u, tokens)))
}

/// `POST /api/v1/auth/oauth/google`: exchanges a Google authorization code for a session
/// (with a Bearer token: links Google to the caller).
#[utoipa::path(post, operation_id = "signInWithGoogle", path = "/auth/oauth/google", tag = "oauth", request_body = OAuthCodeRequest,
    security((), ("bearer" = [])), responses((status = 409, description = "The Google account is linked to another user, or its email belongs to another account"), (status = 503, description = "Google is unreachable or not configured"), (status = 200, body = LoginResponse)))]
pub async fn google(
    State(ctx): State<Ctx>,
    client: ClientInfo,
    user: Option<AuthUser>,
    Json(req): Json<OAuthCodeRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    exchange(&ctx, Provider::Google, user, client, req).await
}

/// `POST /api/v1/auth/oauth/meta`: the same for Meta (Facebook Login).
#[utoipa::path(post, operation_id = "signInWithMeta", path = "/auth/oauth/meta", tag = "oauth", request_body = OAuthCodeRequest,
    security((), ("bearer" = [])), responses((status = 409, description = "The Meta account is linked to another user, or its email belongs to another account"), (status = 503, description = "Meta is unreachable or not configured"), (status = 200, body = LoginResponse)))]
pub async fn meta(
    State(ctx): State<Ctx>,
    client: ClientInfo,
    user: Option<AuthUser>,
    Json(req): Json<OAuthCodeRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    exchange(&ctx, Provider::Meta, user, client, req).await
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderLink {
    pub provider: String,
    pub linked: bool,
    pub email: Option<String>,
    pub linked_at: Option<DateTime<Utc>>,
    /// `mock`, `live` or `unconfigured`.
    pub state: platform::datamode::VendorState,
}

#[derive(Serialize, ToSchema)]
pub struct OAuthStatus {
    pub providers: Vec<ProviderLink>,
}

/// `GET /api/v1/auth/oauth/status`: which providers the caller has linked.
#[utoipa::path(get, operation_id = "getLinkedProviders", path = "/auth/oauth/status", tag = "oauth", security(("bearer" = [])),
    responses((status = 200, body = OAuthStatus)))]
pub async fn status(State(ctx): State<Ctx>, user: AuthUser) -> Result<Json<OAuthStatus>, ApiError> {
    let linked = ctx.identity.external_identities(user.id()).await?;
    let providers = Provider::ALL
        .iter()
        .map(|p| {
            let l = linked.iter().find(|i| i.provider == p.as_str());
            ProviderLink {
                provider: p.as_str().to_owned(),
                linked: l.is_some(),
                email: l.and_then(|i| i.email.clone()),
                linked_at: l.map(|i| i.created_at),
                state: ctx.oauth.state(*p),
            }
        })
        .collect();
    Ok(Json(OAuthStatus { providers }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProviderName {
    Google,
    Meta,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"provider": "google", "email": "alex@example.com", "redirectUri": "http://localhost:5173/auth/callback", "state": "af0ifjsldkj"}))]
pub struct MockAuthorizeRequest {
    pub provider: ProviderName,
    #[schema(format = "email")]
    pub email: String,
    pub name: Option<String>,
    /// Where the mailed link sends the browser, with `code` (and `state`) appended.
    #[schema(format = "uri")]
    pub redirect_uri: String,
    pub state: Option<String>,
    /// PKCE: base64url SHA-256 of the verifier; the code is then redeemed only with
    /// `codeVerifier`.
    #[schema(
        min_length = 43,
        max_length = 128,
        pattern = "^[A-Za-z0-9._~-]{43,128}$"
    )]
    pub code_challenge: Option<String>,
}

impl MockAuthorizeRequest {
    fn authorization(&self) -> MockAuthorization<'_> {
        MockAuthorization {
            provider: match self.provider {
                ProviderName::Google => Provider::Google,
                ProviderName::Meta => Provider::Meta,
            },
            email: &self.email,
            name: self.name.as_deref(),
            redirect_uri: &self.redirect_uri,
            state: self.state.as_deref(),
            code_challenge: self.code_challenge.as_deref(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MockAuthorizeResponse {
    pub sent: bool,
}

/// `POST /api/v1/auth/oauth/mock/authorize` (MOCK mode only): the mock provider's consent
/// step. It mails a sign-in link with a single-use `code` to the address (see the outbox);
/// post that code to `/auth/oauth/{provider}`. Knowing an address is not enough to sign in.
#[utoipa::path(post, operation_id = "authorizeMockProvider", path = "/auth/oauth/mock/authorize", tag = "oauth", request_body = MockAuthorizeRequest,
    responses((status = 202, body = MockAuthorizeResponse)))]
pub async fn mock_authorize(
    State(ctx): State<Ctx>,
    Json(req): Json<MockAuthorizeRequest>,
) -> Result<(StatusCode, Json<MockAuthorizeResponse>), ApiError> {
    // MOCK mode's provider, for Meta as for Google.
    ctx.require_mock_google()?;
    ctx.identity.mock_authorize(req.authorization()).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(MockAuthorizeResponse { sent: true }),
    ))
}
