//! `/api/v1/auth/2fa/*`: TOTP enrolment.

use axum::extract::State;
use platform::{ApiError, extract::Json, identity::auth::AuthUser};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Ctx;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TwoFactorSetupResponse {
    /// Base32 secret for manual entry.
    pub secret: String,
    /// `otpauth://totp/…` for a QR code.
    pub otpauth_url: String,
    /// Ten single-use codes, shown only now.
    pub recovery_codes: Vec<String>,
}

/// `POST /api/v1/auth/2fa/setup`: a new secret and recovery codes (not active until verified).
#[utoipa::path(post, operation_id = "setUpTwoFactor", path = "/auth/2fa/setup", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = TwoFactorSetupResponse)))]
pub async fn setup(
    State(ctx): State<Ctx>,
    user: AuthUser,
) -> Result<Json<TwoFactorSetupResponse>, ApiError> {
    let s = ctx.identity.totp_setup(&user.user, &user.client).await?;
    Ok(Json(TwoFactorSetupResponse {
        secret: s.secret,
        otpauth_url: s.otpauth_url,
        recovery_codes: s.recovery_codes,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "123456"}))]
pub struct TwoFactorVerifyRequest {
    /// The 6-digit code from the authenticator app.
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub struct TwoFactorVerifyResponse {
    pub success: bool,
    pub enabled: bool,
}

/// `POST /api/v1/auth/2fa/verify`: activates 2FA with a current code.
#[utoipa::path(post, operation_id = "verifyTwoFactor", path = "/auth/2fa/verify", tag = "auth", request_body = TwoFactorVerifyRequest,
    security(("bearer" = [])), responses((status = 200, body = TwoFactorVerifyResponse)))]
pub async fn verify(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Json(req): Json<TwoFactorVerifyRequest>,
) -> Result<Json<TwoFactorVerifyResponse>, ApiError> {
    ctx.identity
        .totp_enable(&user.user, &req.code, &user.client)
        .await?;
    Ok(Json(TwoFactorVerifyResponse {
        success: true,
        enabled: true,
    }))
}
