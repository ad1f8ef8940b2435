//! `/api/v1/auth/*` account endpoints (seed 000 "Authentication System"): register, login,
//! refresh, me, logout, reset, verification, password change, permissions. The profile is
//! `api::profile`.

use axum::{extract::State, http::StatusCode};
use platform::{
    ApiError,
    extract::{ClientInfo, Json},
    identity::{
        PasswordSignIn,
        auth::AuthUser,
        throttle::{Device, DeviceGrant},
    },
    roles::Permission,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::types::{LoginResponse, OK, Success, UserProfile};
use crate::{Ctx, service::access};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "new.analyst@example.com", "password": "a-long-passphrase", "name": "Casey Morgan"}))]
pub struct RegisterRequest {
    #[schema(format = "email")]
    pub email: String,
    #[schema(min_length = 8, max_length = 1024)]
    pub password: String,
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
}

/// `POST /api/v1/auth/register`: new account (role `viewer`), verification mail, first session.
#[utoipa::path(post, operation_id = "register", path = "/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 503, description = "Mail cannot be sent (LIVE mode without a mail service)"), (status = 201, body = LoginResponse)))]
pub async fn register(
    State(ctx): State<Ctx>,
    client: ClientInfo,
    Json(req): Json<RegisterRequest>,
) -> Result<(StatusCode, Json<LoginResponse>), ApiError> {
    let (user, tokens) = ctx
        .identity
        .register(&req.email, &req.password, &req.name, &client)
        .await
        .map_err(|e| {
            // The seed answers a taken address with invalid_argument "User already exists".
            if e.code == platform::error::ErrorCode::AlreadyExists {
                ApiError::invalid("User already exists")
            } else {
                e
            }
        })?;
    Ok((StatusCode::CREATED, Json(LoginResponse::new(&user, tokens))))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"email": "alex@example.com", "password": "correct-horse-battery"}))]
pub struct LoginRequest {
    #[schema(format = "email")]
    pub email: String,
    #[schema(min_length = 8)]
    pub password: String,
    /// A current TOTP code or an unused recovery code, when 2FA is on.
    pub totp_code: Option<String>,
}

/// `POST /api/v1/auth/login`: email and password (and `totpCode` when 2FA is on), through the
/// sign-in throttle; a device cookie on success.
#[utoipa::path(post, operation_id = "signIn", path = "/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 401, description = "Wrong email or password, or a missing or wrong `totpCode`"), (status = 200, body = LoginResponse)))]
pub async fn login(
    State(ctx): State<Ctx>,
    client: ClientInfo,
    device: Device,
    Json(req): Json<LoginRequest>,
) -> Result<(DeviceGrant, Json<LoginResponse>), ApiError> {
    let signed = ctx
        .identity
        .login(PasswordSignIn {
            email: &req.email,
            password: &req.password,
            second_factor: req.totp_code.as_deref(),
            client: &client,
            device: &device,
        })
        .await?;
    let body = LoginResponse::new(&signed.user, signed.tokens);
    Ok((signed.device, Json(body)))
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
    /// The rotated refresh token (the one sent is spent); with refresh rotation `reuse`, the
    /// one sent.
    pub refresh_token: String,
    pub expires_in: i64,
}

/// `POST /api/v1/auth/refresh`: rotates the refresh token (reuse revokes the session), or
/// with `WARROOM_REFRESH_ROTATION=reuse` answers the same one.
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

/// `GET /api/v1/auth/me`: the caller's profile.
#[utoipa::path(get, operation_id = "getMe", path = "/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = UserProfile)))]
pub async fn me(user: AuthUser) -> Json<UserProfile> {
    Json((&user.user).into())
}

/// `POST /api/v1/auth/logout`: revokes the current session.
#[utoipa::path(post, operation_id = "signOut", path = "/auth/logout", tag = "auth",
    extensions(("x-basalt-effect" = json!("ends-session"))), security(("bearer" = [])),
    responses((status = 200, body = Success)))]
pub async fn logout(State(ctx): State<Ctx>, user: AuthUser) -> Result<Json<Success>, ApiError> {
    ctx.identity
        .revoke_session(user.id(), user.session_id, "logout")
        .await?;
    ctx.identity
        .log_event(
            Some(user.id()),
            user.impersonator,
            "logout",
            &user.client,
            None,
        )
        .await;
    Ok(Json(OK))
}

/// Either half of the reset flow: `{ email }` requests a mail, `{ token, password }` completes.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "alex@example.com"}))]
pub struct ResetPasswordRequest {
    #[schema(format = "email")]
    pub email: Option<String>,
    pub token: Option<String>,
    #[schema(min_length = 8, max_length = 1024)]
    pub password: Option<String>,
}

/// The half of the reset flow a request asks for.
enum ResetStep {
    Request { email: String },
    Complete { token: String, password: String },
}

impl TryFrom<ResetPasswordRequest> for ResetStep {
    type Error = ApiError;

    fn try_from(req: ResetPasswordRequest) -> Result<Self, ApiError> {
        match req {
            ResetPasswordRequest {
                token: Some(token),
                password: Some(password),
                ..
            } => Ok(Self::Complete { token, password }),
            ResetPasswordRequest {
                email: Some(email),
                token: None,
                password: None,
            } => Ok(Self::Request { email }),
            _ => Err(ApiError::invalid(
                "send either { email } or { token, password }",
            )),
        }
    }
}

/// `POST /api/v1/auth/reset-password`: request (same answer for unknown addresses) or complete.
#[utoipa::path(post, operation_id = "resetPassword", path = "/auth/reset-password", tag = "auth", request_body = ResetPasswordRequest,
    responses((status = 200, body = Success)))]
pub async fn reset_password(
    State(ctx): State<Ctx>,
    client: ClientInfo,
    Json(req): Json<ResetPasswordRequest>,
) -> Result<Json<Success>, ApiError> {
    let step = req.try_into()?;
    match step {
        ResetStep::Complete { token, password } => {
            let id = &ctx.identity;
            id.complete_password_reset(&token, &password, &client)
                .await?;
        }
        ResetStep::Request { email } => {
            ctx.identity.request_password_reset(&email, &client).await?;
        }
    }
    Ok(Json(OK))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "mailed-verification-token"}))]
pub struct VerifyEmailRequest {
    /// The token from the verification mail. Omit it (authenticated) to get a new mail.
    pub token: Option<String>,
}

/// `POST /api/v1/auth/verify-email`: verifies an email address with the mailed `{ token }`;
/// signed in without a token, it mails a new one.
#[utoipa::path(post, operation_id = "verifyEmail", path = "/auth/verify-email", tag = "auth", request_body(content = Option<VerifyEmailRequest>),
    security((), ("bearer" = [])), responses((status = 200, body = Success)))]
pub async fn verify_email(
    State(ctx): State<Ctx>,
    client: ClientInfo,
    user: Option<AuthUser>,
    body: Option<Json<Option<VerifyEmailRequest>>>,
) -> Result<Json<Success>, ApiError> {
    let token = body.and_then(|Json(b)| b).and_then(|b| b.token);
    let caller = user.as_ref().map(|u| &u.user);
    ctx.identity
        .verify_or_resend(token.as_deref(), caller, &client)
        .await?;
    Ok(Json(OK))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"currentPassword": "current-passphrase", "newPassword": "a-longer-new-passphrase"}))]
pub struct ChangePasswordRequest {
    pub current_password: String,
    #[schema(min_length = 8, max_length = 1024)]
    pub new_password: String,
}

/// `POST /api/v1/auth/change-password`: needs the current password; other sessions end.
#[utoipa::path(post, operation_id = "changePassword", path = "/auth/change-password", tag = "auth", request_body = ChangePasswordRequest,
    security(("bearer" = [])), responses((status = 400, description = "`currentPassword` is incorrect, or `newPassword` is not acceptable"), (status = 200, body = Success)))]
pub async fn change_password(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Json(req): Json<ChangePasswordRequest>,
) -> Result<Json<Success>, ApiError> {
    ctx.identity
        .change_password(
            &user.user,
            user.session_id,
            &req.current_password,
            &req.new_password,
            &user.client,
        )
        .await?;
    Ok(Json(OK))
}

/// `GET /api/v1/auth/permissions`: the caller's `Permission[]`.
#[utoipa::path(get, operation_id = "listMyPermissions", path = "/auth/permissions", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Vec<Permission>)))]
pub async fn permissions(user: AuthUser) -> Json<Vec<Permission>> {
    Json(access::ROLES.permissions(&user.user.role))
}
