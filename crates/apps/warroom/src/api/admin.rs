//! Operator endpoints: `POST /admin/toggle-mode` (seed 000) and the console's JSON API under
//! `/admin/api/` (outbox). Admins only.

use axum::extract::State;
use platform::{
    ApiError,
    datamode::Mode,
    extract::{Json, PageQuery, Query},
    identity::auth::AuthUser,
    outbox::OutboxList,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Ctx;

#[derive(Deserialize, ToSchema)]
pub struct ToggleModeRequest {
    /// The mode to set; omit to flip.
    pub mode: Option<Mode>,
}

#[derive(Serialize, ToSchema)]
pub struct ToggleModeResponse {
    pub data_mode: Mode,
}

/// `POST /admin/toggle-mode`: switches `DATA_MODE` at run time.
#[utoipa::path(post, path = "/admin/toggle-mode", tag = "admin", security(("bearer" = [])),
    request_body(content = Option<ToggleModeRequest>), responses((status = 200, body = ToggleModeResponse)))]
pub async fn toggle_mode(
    State(ctx): State<Ctx>,
    user: AuthUser,
    body: Option<Json<Option<ToggleModeRequest>>>,
) -> Result<Json<ToggleModeResponse>, ApiError> {
    ctx.require(&user, "admin", "update")?;
    let next = match body.and_then(|Json(b)| b).and_then(|b| b.mode) {
        Some(m) => m,
        None if ctx.data_mode.is_live() => Mode::Mock,
        None => Mode::Live,
    };
    ctx.data_mode.set(next);
    let details = serde_json::json!({ "dataMode": next });
    ctx.identity
        .log_event(
            Some(user.id()),
            user.impersonator,
            "data_mode_changed",
            &user.client,
            Some(details),
        )
        .await;
    tracing::info!(data_mode = ?next, by = %user.id(), "data mode changed");
    Ok(Json(ToggleModeResponse { data_mode: next }))
}

/// `GET /admin/api/outbox`: messages recorded by the outbox, newest first.
#[utoipa::path(get, path = "/admin/api/outbox", tag = "admin", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = OutboxList)))]
pub async fn outbox(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Query(q): Query<PageQuery>,
) -> Result<Json<OutboxList>, ApiError> {
    ctx.require(&user, "admin", "read")?;
    let (page, limit) = q.resolve()?;
    Ok(Json(ctx.outbox.page(page, limit).await?))
}
