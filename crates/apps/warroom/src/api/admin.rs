//! `POST /admin/toggle-mode` (seed 000): the data mode switch as War Room's admin panel calls
//! it. The rest of the console API is the platform's (`platform::console`, `/admin/api/*`).

use axum::extract::State;
use platform::{ApiError, datamode::Mode, extract::Json, identity::auth::AuthUser};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Ctx, service::access::CONSOLE_UPDATE};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"mode": "mock"}))]
pub struct ToggleModeRequest {
    /// The mode to set, `mock` or `live` in any case; omit to flip.
    #[schema(value_type = Option<String>, example = "live")]
    pub mode: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ToggleModeResponse {
    /// `MOCK` or `LIVE`.
    pub data_mode: Mode,
}

/// `POST /admin/toggle-mode`: switches `DATA_MODE` for every instance, kept across restarts.
#[utoipa::path(post, operation_id = "toggleDataMode", path = "/admin/toggle-mode", tag = "admin",
    extensions(("x-basalt-effect" = json!("switches-data-mode"))), security(("bearer" = [])),
    request_body(content = Option<ToggleModeRequest>),
    responses((status = 200, description = "The mode now in effect", body = ToggleModeResponse)))]
pub async fn toggle_mode(
    State(ctx): State<Ctx>,
    user: AuthUser,
    body: Option<Json<Option<ToggleModeRequest>>>,
) -> Result<Json<ToggleModeResponse>, ApiError> {
    ctx.require(&user, CONSOLE_UPDATE)?;
    let asked = body.and_then(|Json(b)| b).and_then(|b| b.mode);
    let next = match asked.as_deref().map(|m| (m, Mode::parse(m))) {
        Some((_, Some(m))) => m,
        Some((raw, None)) => {
            return Err(ApiError::validation(vec![platform::validate::field(
                "mode",
                format!("must be mock or live, not {raw:?}"),
            )]));
        }
        None if ctx.data_mode.is_live() => Mode::Mock,
        None => Mode::Live,
    };
    ctx.switch_data_mode(next, &user).await?;
    Ok(Json(ToggleModeResponse { data_mode: next }))
}
