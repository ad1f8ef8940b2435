//! `/api/auth/*` (seed 004 "Authentication Endpoints"). Limits are the route table in
//! `service::access::LIMITS`, applied by the platform; password sign-in goes through the
//! platform's sign-in throttle.

use axum::{extract::State, http::StatusCode};
use platform::{
    ApiError,
    extract::{ClientInfo, Json},
    identity::{
        IssuedTokens, PasswordSignIn, User,
        auth::AuthUser,
        google::{
            GoogleSignIn, GoogleSignInBody, MockAuthorizeRequest, MockTokenRequest,
            MockTokenResponse,
        },
        throttle::{Device, DeviceGrant},
    },
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::types::{OK, OrganizationView, Success, UserView};
use crate::{
    Ctx,
    db::organizations::Organization,
    service::{access, accounts},
};

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"email": "new.seller@example.com", "password": "a-long-passphrase", "name": "Casey Morgan", "organizationName": "Morgan & Co"}))]
pub struct RegisterRequest {
    #[schema(format = "email")]
    pub email: String,
    #[schema(min_length = 8, max_length = 1024)]
    pub password: String,
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
    /// Defaults to "<name>'s organization".
    #[schema(max_length = 100)]
    pub organization_name: Option<String>,
}

/// The answer to every valid registration, whether or not the address already had an account.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisterResponse {
    /// A mail went to the address: the verification link of the new account or, when the
    /// address already has an account, a notice to its owner. Sign-in works once verified.
    pub verification_sent: bool,
}

/// `POST /api/auth/register`: user, organization and profile, and a verification mail; the
/// same answer for an address that already has an account (its owner is mailed instead).
#[utoipa::path(post, operation_id = "register", path = "/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 503, description = "Mail cannot be sent (LIVE mode without a mail service)"), (status = 202, body = RegisterResponse)))]
pub async fn register(
    State(ctx): State<Ctx>,
    client: ClientInfo,
    Json(req): Json<RegisterRequest>,
) -> Result<(StatusCode, Json<RegisterResponse>), ApiError> {
    let account = accounts::NewAccount {
        email: &req.email,
        password: &req.password,
        name: &req.name,
        organization_name: req.organization_name.as_deref(),
        role: access::USER,
        email_verified: false,
    };
    accounts::register(&ctx, account, &client).await?;
    let body = RegisterResponse {
        verification_sent: true,
    };
    Ok((StatusCode::ACCEPTED, Json(body)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "robin@example.com", "password": "correct-horse-battery"}))]
pub struct LoginRequest {
    #[schema(format = "email")]
    pub email: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginResponse {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
    pub user: UserView,
    pub organization: OrganizationView,
}

/// `POST /api/auth/login`: email and password (sign-in throttle; a device cookie on
/// success); unverified accounts get 403.
#[utoipa::path(post, operation_id = "signIn", path = "/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 401, description = "Wrong email or password"), (status = 200, body = LoginResponse)))]
pub async fn login(
    State(ctx): State<Ctx>,
    client: ClientInfo,
    device: Device,
    Json(req): Json<LoginRequest>,
) -> Result<(DeviceGrant, Json<LoginResponse>), ApiError> {
    let attempt = PasswordSignIn {
        email: &req.email,
        password: &req.password,
        second_factor: None,
        client: &client,
        device: &device,
    };
    let (signed, org) = accounts::login(&ctx, attempt).await?;
    let body = login_response(&signed.user, signed.tokens, &org);
    Ok((signed.device, body))
}

fn login_response(user: &User, t: IssuedTokens, org: &Organization) -> Json<LoginResponse> {
    Json(LoginResponse {
        access_token: t.access_token,
        refresh_token: t.refresh_token.unwrap_or_default(),
        expires_in: t.expires_in,
        user: user.into(),
        organization: org.into(),
    })
}

/// `POST /api/auth/google`: signs in with Google, `{ credential }` (an ID token from Sign in
/// with Google) or `{ code, redirectUri?, codeVerifier? }`. A new person gets an organization
/// as at registration; Google must have verified the address.
#[utoipa::path(post, operation_id = "signInWithGoogle", path = "/auth/google", tag = "auth", request_body = GoogleSignInBody,
    responses((status = 401, description = "Google refused the credential or code"), (status = 409, description = "The Google account's email belongs to another account"), (status = 503, description = "Google is unreachable or not configured"), (status = 200, body = LoginResponse)))]
pub async fn google(
    State(ctx): State<Ctx>,
    client: ClientInfo,
    Json(req): Json<GoogleSignIn>,
) -> Result<Json<LoginResponse>, ApiError> {
    let (user, t, org) = accounts::google_sign_in(&ctx, req.proof()?, &client).await?;
    Ok(login_response(&user, t, &org))
}

/// `POST /api/auth/google/mock/authorize` (MOCK mode only): the mock Google consent step. It
/// mails a sign-in link with a single-use `code` to the address (see the outbox); knowing an
/// address is not enough to sign in.
#[utoipa::path(post, operation_id = "authorizeMockGoogle", path = "/auth/google/mock/authorize", tag = "mock", request_body = MockAuthorizeRequest,
    responses((status = 202, body = Success)))]
pub async fn google_mock_authorize(
    State(ctx): State<Ctx>,
    Json(req): Json<MockAuthorizeRequest>,
) -> Result<(StatusCode, Json<Success>), ApiError> {
    ctx.mock_google_authorize(&req).await?;
    Ok((StatusCode::ACCEPTED, Json(OK)))
}

/// `POST /api/auth/google/mock/token` (MOCK mode only): redeems a mailed code for an ID token
/// of the mock issuer, accepted as `credential` by `POST /api/auth/google`.
#[utoipa::path(post, operation_id = "exchangeMockGoogleCode", path = "/auth/google/mock/token", tag = "mock", request_body = MockTokenRequest,
    responses((status = 401, description = "The code is unknown, already used or expired"), (status = 200, body = MockTokenResponse)))]
pub async fn google_mock_token(
    State(ctx): State<Ctx>,
    Json(req): Json<MockTokenRequest>,
) -> Result<Json<MockTokenResponse>, ApiError> {
    Ok(Json(ctx.mock_google_token(req).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"refreshToken": "eyJhbGciOiJIUzI1NiJ9.refresh.example"}))]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshResponse {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
}

/// `POST /api/auth/refresh`: rotates the refresh token (reuse revokes the session).
#[utoipa::path(post, operation_id = "refreshSession", path = "/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 401, description = "The refresh token is unknown, expired or revoked"), (status = 200, body = RefreshResponse)))]
pub async fn refresh(
    State(ctx): State<Ctx>,
    client: ClientInfo,
    Json(req): Json<RefreshRequest>,
) -> Result<Json<RefreshResponse>, ApiError> {
    let (_, t) = ctx.identity.refresh(&req.refresh_token, &client).await?;
    Ok(Json(RefreshResponse {
        access_token: t.access_token,
        refresh_token: t.refresh_token.unwrap_or_default(),
        expires_in: t.expires_in,
    }))
}

/// `{ token }` verifies; `{ email }` mails a new link.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "mailed-verification-token"}))]
pub struct VerifyRequest {
    pub token: Option<String>,
    #[schema(format = "email")]
    pub email: Option<String>,
}

/// `POST /api/auth/verify`: activates the account with the mailed token, or resends it.
#[utoipa::path(post, operation_id = "verifyEmail", path = "/auth/verify", tag = "auth", request_body = VerifyRequest,
    responses((status = 200, body = Success)))]
pub async fn verify(
    State(ctx): State<Ctx>,
    client: ClientInfo,
    Json(req): Json<VerifyRequest>,
) -> Result<Json<Success>, ApiError> {
    match req {
        VerifyRequest {
            token: Some(token),
            email: None,
        } => {
            ctx.identity.verify_email(&token, &client).await?;
        }
        VerifyRequest {
            token: None,
            email: Some(email),
        } => accounts::resend_verification(&ctx, &email).await?,
        _ => return Err(ApiError::invalid("send either { token } or { email }")),
    }
    Ok(Json(OK))
}

/// Either half of the reset flow: `{ email }` requests a mail, `{ token, password }` completes.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "robin@example.com"}))]
pub struct ResetPasswordRequest {
    #[schema(format = "email")]
    pub email: Option<String>,
    pub token: Option<String>,
    #[schema(min_length = 8, max_length = 1024)]
    pub password: Option<String>,
}

/// `POST /api/auth/reset-password`: request (same answer for unknown addresses) or complete.
#[utoipa::path(post, operation_id = "resetPassword", path = "/auth/reset-password", tag = "auth", request_body = ResetPasswordRequest,
    responses((status = 200, body = Success)))]
pub async fn reset_password(
    State(ctx): State<Ctx>,
    client: ClientInfo,
    Json(req): Json<ResetPasswordRequest>,
) -> Result<Json<Success>, ApiError> {
    match req {
        ResetPasswordRequest {
            token: Some(token),
            password: Some(password),
            email: None,
        } => {
            ctx.identity
                .complete_password_reset(&token, &password, &client)
                .await?
        }
        ResetPasswordRequest {
            email: Some(email),
            token: None,
            password: None,
        } => ctx.identity.request_password_reset(&email, &client).await?,
        _ => {
            return Err(ApiError::invalid(
                "send either { email } or { token, password }",
            ));
        }
    }
    Ok(Json(OK))
}

#[derive(Serialize, ToSchema)]
pub struct MeResponse {
    pub user: UserView,
    pub organization: OrganizationView,
}

/// `GET /api/auth/me`: the caller and their organization.
#[utoipa::path(get, operation_id = "getMe", path = "/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = MeResponse)))]
pub async fn me(State(ctx): State<Ctx>, user: AuthUser) -> Result<Json<MeResponse>, ApiError> {
    let org = accounts::organization_of(&ctx, &user.user).await?;
    Ok(Json(MeResponse {
        user: (&user.user).into(),
        organization: (&org).into(),
    }))
}

/// `POST /api/auth/logout`: ends the current session.
#[utoipa::path(post, operation_id = "signOut", path = "/auth/logout", tag = "auth",
    extensions(("x-basalt-effect" = json!("ends-session"))), security(("bearer" = [])),
    responses((status = 200, body = Success)))]
pub async fn logout(State(ctx): State<Ctx>, user: AuthUser) -> Result<Json<Success>, ApiError> {
    ctx.identity
        .revoke_session(user.id(), user.session_id, "logout")
        .await?;
    ctx.identity
        .log_event(Some(user.id()), None, "logout", &user.client, None)
        .await;
    Ok(Json(OK))
}
