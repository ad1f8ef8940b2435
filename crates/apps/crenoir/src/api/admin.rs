//! The console's JSON API under `/admin/api/` (admins only).

use axum::extract::State;
use platform::{
    ApiError,
    extract::{Json, PageQuery, Query},
    identity::auth::AuthUser,
    outbox::OutboxMessageView,
};

use super::types::{Data, Meta, page};
use crate::Ctx;

/// `GET /admin/api/outbox`: messages recorded by the outbox, newest first.
#[utoipa::path(get, path = "/admin/api/outbox", tag = "admin", security(("cookie" = [])), params(PageQuery),
    responses((status = 200, body = Data<Vec<OutboxMessageView>>)))]
pub async fn outbox(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Query(q): Query<PageQuery>,
) -> Result<Json<Data<Vec<OutboxMessageView>>>, ApiError> {
    ctx.require(&user, "admin", "read")?;
    let (p, limit) = q.resolve()?;
    let list = ctx.outbox.page(p, limit).await?;
    let meta = Meta {
        total: list.total,
        page: list.page,
        limit: list.limit,
    };
    Ok(page(list.messages, meta))
}
