//! The console's JSON API under `/admin/api/` (admins only).

use axum::extract::State;
use platform::{
    ApiError,
    extract::{Json, PageQuery, Query},
    identity::auth::AuthUser,
    outbox::OutboxList,
};

use crate::Ctx;

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
