//! `/auth/*` under both mounts (seed 003 "Authentication"): the web mount keeps the refresh
//! token in an httpOnly cookie, and a cookie-authenticated request must send the session's CSRF
//! token (`csrfToken` of the sign-in or refresh body, also the `csrf_token` cookie) in
//! `X-CSRF-Token`; the mobile mount passes the refresh token in JSON bodies.

use axum::{Extension, extract::State, http::HeaderMap, http::StatusCode};
use axum_extra::extract::CookieJar;
use platform::{
    ApiError,
    extract::{ClientInfo, Json},
    identity::{
        IssuedTokens, PasswordSignIn, User,
        auth::AuthUser,
        throttle::{Device, DeviceGrant},
    },
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::types::{AuthResponse, Client, OK, RefreshResponse, Success, UserView};
use crate::Ctx;

/// Shapes a sign-in for the mount: cookies (and the CSRF token) for the web, a body field
/// for mobile.
fn signed_in(
    ctx: &Ctx,
    client: Client,
    jar: CookieJar,
    user: &User,
    t: IssuedTokens,
) -> (CookieJar, AuthResponse) {
    let (jar, handed) = hand_over(ctx, client, jar, &t);
    let body = AuthResponse {
        access_token: t.access_token,
        refresh_token: handed.refresh_token,
        csrf_token: handed.csrf_token,
        expires_in: t.expires_in,
        user: user.into(),
    };
    (jar, body)
}

/// What a sign-in or refresh puts in the body besides the access token.
struct HandedOver {
    /// Mobile: the refresh token.
    refresh_token: Option<String>,
    /// Web: the CSRF token of the session (also in the `csrf_token` cookie), for a page that
    /// cannot read the API host's cookies.
    csrf_token: Option<String>,
}

fn hand_over(
    ctx: &Ctx,
    client: Client,
    jar: CookieJar,
    t: &IssuedTokens,
) -> (CookieJar, HandedOver) {
    match (client, &t.refresh_token) {
        (Client::Web, Some(rt)) => {
            let ttl = ctx.identity.cfg.refresh_ttl;
            let (jar, csrf) = ctx.cookies.set_session(jar, t.session_id, rt, ttl);
            let handed = HandedOver {
                refresh_token: None,
                csrf_token: Some(csrf),
            };
            (jar, handed)
        }
        (_, rt) => {
            let handed = HandedOver {
                refresh_token: rt.clone(),
                csrf_token: None,
            };
            (jar, handed)
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "new.adopter@example.com", "password": "a-long-passphrase", "name": "Casey Morgan"}))]
pub struct RegisterRequest {
    #[schema(format = "email")]
    pub email: String,
    #[schema(min_length = 8, max_length = 1024)]
    pub password: String,
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
}

/// `POST /auth/register`: a new `user` account, a verification mail, a first session.
#[utoipa::path(post, operation_id = "register", path = "/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 409, description = "An account with this email exists"), (status = 201, body = AuthResponse)))]
pub async fn register(
    State(ctx): State<Ctx>,
    Extension(client): Extension<Client>,
    info: ClientInfo,
    jar: CookieJar,
    Json(req): Json<RegisterRequest>,
) -> Result<(StatusCode, CookieJar, Json<AuthResponse>), ApiError> {
    let (user, tokens) = ctx
        .identity
        .register(&req.email, &req.password, &req.name, &info)
        .await?;
    let (jar, body) = signed_in(&ctx, client, jar, &user, tokens);
    Ok((StatusCode::CREATED, jar, Json(body)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "sam@example.com", "password": "correct-horse-battery"}))]
pub struct LoginRequest {
    #[schema(format = "email")]
    pub email: String,
    pub password: String,
}

/// `POST /auth/login`: email and password, through the sign-in throttle; on the web mount a
/// device cookie on success (the mobile mount sets no cookies).
#[utoipa::path(post, operation_id = "signIn", path = "/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 401, description = "Wrong email or password"), (status = 200, body = AuthResponse)))]
pub async fn login(
    State(ctx): State<Ctx>,
    Extension(client): Extension<Client>,
    info: ClientInfo,
    device: Device,
    jar: CookieJar,
    Json(req): Json<LoginRequest>,
) -> Result<(CookieJar, Option<DeviceGrant>, Json<AuthResponse>), ApiError> {
    let signed = ctx
        .identity
        .login(PasswordSignIn {
            email: &req.email,
            password: &req.password,
            second_factor: None,
            client: &info,
            device: &device,
        })
        .await?;
    let (jar, body) = signed_in(&ctx, client, jar, &signed.user, signed.tokens);
    let device = (client == Client::Web).then_some(signed.device);
    Ok((jar, device, Json(body)))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"refreshToken": "eyJhbGciOiJIUzI1NiJ9.refresh.example"}))]
pub struct RefreshRequest {
    /// Mobile only; the web mount reads the `refresh_token` cookie.
    pub refresh_token: Option<String>,
}

/// The refresh token of the request: the cookie on the web mount (with `X-CSRF-Token` made
/// for the cookie's session), the body on the mobile mount.
async fn presented_refresh(
    ctx: &Ctx,
    client: Client,
    jar: &CookieJar,
    headers: &HeaderMap,
    body: Option<RefreshRequest>,
) -> Result<String, ApiError> {
    match client {
        Client::Web => {
            ctx.cookies
                .checked_refresh_token(&ctx.identity, jar, headers)
                .await
        }
        Client::Mobile => body
            .and_then(|b| b.refresh_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::unauthenticated("no refresh token")),
    }
}

/// `POST /auth/refresh`: rotates the refresh token (reuse revokes the session).
#[utoipa::path(post, operation_id = "refreshSession", path = "/auth/refresh", tag = "auth", request_body(content = Option<RefreshRequest>),
    responses((status = 401, description = "The refresh token is unknown, expired or revoked"), (status = 403, description = "Web: the `X-CSRF-Token` header does not match the session"), (status = 200, body = RefreshResponse)))]
pub async fn refresh(
    State(ctx): State<Ctx>,
    Extension(client): Extension<Client>,
    info: ClientInfo,
    jar: CookieJar,
    headers: HeaderMap,
    body: Option<Json<Option<RefreshRequest>>>,
) -> Result<(CookieJar, Json<RefreshResponse>), ApiError> {
    let body = body.and_then(|Json(b)| b);
    let token = presented_refresh(&ctx, client, &jar, &headers, body).await?;
    let (_, t) = ctx.identity.refresh(&token, &info).await?;
    let (jar, handed) = hand_over(&ctx, client, jar, &t);
    Ok((
        jar,
        Json(RefreshResponse {
            access_token: t.access_token,
            refresh_token: handed.refresh_token,
            csrf_token: handed.csrf_token,
            expires_in: t.expires_in,
        }),
    ))
}

/// `POST /auth/logout`: ends the session of the Bearer token, or of the refresh token
/// (cookie + CSRF on the web mount, body on the mobile mount); web cookies are cleared.
#[utoipa::path(post, operation_id = "signOut", path = "/auth/logout", tag = "auth",
    extensions(("x-basalt-effect" = json!("ends-session"))), request_body(content = Option<RefreshRequest>),
    security((), ("bearer" = [])), responses((status = 403, description = "Web: the `X-CSRF-Token` header does not match the session"), (status = 200, body = Success)))]
pub async fn logout(
    State(ctx): State<Ctx>,
    Extension(client): Extension<Client>,
    info: ClientInfo,
    user: Option<AuthUser>,
    jar: CookieJar,
    headers: HeaderMap,
    body: Option<Json<Option<RefreshRequest>>>,
) -> Result<(CookieJar, Json<Success>), ApiError> {
    let user_id = match user {
        Some(u) => {
            ctx.identity
                .revoke_session(u.id(), u.session_id, "logout")
                .await?;
            u.id()
        }
        None => {
            let body = body.and_then(|Json(b)| b);
            let token = presented_refresh(&ctx, client, &jar, &headers, body).await?;
            ctx.identity
                .revoke_by_refresh_token(&token, "logout")
                .await?
        }
    };
    ctx.identity
        .log_event(Some(user_id), None, "logout", &info, None)
        .await;
    let jar = if client == Client::Web {
        ctx.cookies.clear_session(jar)
    } else {
        jar
    };
    Ok((jar, Json(OK)))
}

/// `GET /auth/me`: the caller.
#[utoipa::path(get, operation_id = "getMe", path = "/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = UserView)))]
pub async fn me(user: AuthUser) -> Json<UserView> {
    Json((&user.user).into())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "sam@example.com"}))]
pub struct ForgotPasswordRequest {
    #[schema(format = "email")]
    pub email: String,
}

/// `POST /auth/forgot-password`: mails a reset link; the same answer for unknown addresses.
#[utoipa::path(post, operation_id = "requestPasswordReset", path = "/auth/forgot-password", tag = "auth", request_body = ForgotPasswordRequest,
    responses((status = 200, body = Success)))]
pub async fn forgot_password(
    State(ctx): State<Ctx>,
    info: ClientInfo,
    Json(req): Json<ForgotPasswordRequest>,
) -> Result<Json<Success>, ApiError> {
    ctx.identity
        .request_password_reset(&req.email, &info)
        .await?;
    Ok(Json(OK))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "mailed-reset-token", "password": "a-long-new-passphrase"}))]
pub struct ResetPasswordRequest {
    pub token: String,
    #[schema(min_length = 8, max_length = 1024)]
    pub password: String,
}

/// `POST /auth/reset-password`: sets a new password with the mailed token; all sessions end.
#[utoipa::path(post, operation_id = "resetPassword", path = "/auth/reset-password", tag = "auth", request_body = ResetPasswordRequest,
    responses((status = 200, body = Success)))]
pub async fn reset_password(
    State(ctx): State<Ctx>,
    info: ClientInfo,
    Json(req): Json<ResetPasswordRequest>,
) -> Result<Json<Success>, ApiError> {
    ctx.identity
        .complete_password_reset(&req.token, &req.password, &info)
        .await?;
    Ok(Json(OK))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "mailed-verification-token"}))]
pub struct VerifyEmailRequest {
    /// The mailed token; omit it (authenticated) to get a new mail.
    pub token: Option<String>,
}

/// `POST /auth/verify-email`: verifies an email address with the mailed `{ token }`; signed in
/// without a token, it mails a new one.
#[utoipa::path(post, operation_id = "verifyEmail", path = "/auth/verify-email", tag = "auth", request_body(content = Option<VerifyEmailRequest>),
    security((), ("bearer" = [])), responses((status = 200, body = Success)))]
pub async fn verify_email(
    State(ctx): State<Ctx>,
    info: ClientInfo,
    user: Option<AuthUser>,
    body: Option<Json<Option<VerifyEmailRequest>>>,
) -> Result<Json<Success>, ApiError> {
    let token = body.and_then(|Json(b)| b).and_then(|b| b.token);
    let caller = user.as_ref().map(|u| &u.user);
    ctx.identity
        .verify_or_resend(token.as_deref(), caller, &info)
        .await?;
    Ok(Json(OK))
}
