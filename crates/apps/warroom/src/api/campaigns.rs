//! `/api/v1/campaigns`: list, create, read, edit, status actions and the audit trail (seed 001
//! CampaignsService; seed 000 "Campaign management"). Requests and their checks are in
//! `requests`.

pub mod requests;

use axum::{extract::State, http::StatusCode};
use platform::{
    ApiError,
    extract::{Json, Query},
    validate::{Listed, Page, PageQuery},
};

use self::requests::{CampaignActionRequest, CreateCampaignRequest, ListCampaignsQuery};
use super::extract::Id;
use crate::{
    Ctx,
    domain::campaigns::{AuditEntry, Campaign, CampaignId},
    service::actor::Actor,
};

impl Listed for Campaign {
    const KEY: &'static str = "campaigns";
}

impl Listed for AuditEntry {
    const KEY: &'static str = "entries";
}

/// `GET /api/v1/campaigns`: every campaign of the deployment, newest first (seed 001's
/// `getCampaigns`: `{ campaigns, total, page, limit }`).
#[utoipa::path(get, operation_id = "listCampaigns", path = "/campaigns", tag = "campaigns", security(("bearer" = [])),
    params(PageQuery, ListCampaignsQuery), responses((status = 200, body = Page<Campaign>)))]
pub async fn list(
    State(ctx): State<Ctx>,
    actor: Actor,
    Query(page): Query<PageQuery>,
    Query(q): Query<ListCampaignsQuery>,
) -> Result<Json<Page<Campaign>>, ApiError> {
    Ok(Json(ctx.campaigns().list(&actor, (page, q)).await?))
}

/// `POST /api/v1/campaigns`: a new `draft` campaign with empty metrics.
#[utoipa::path(post, operation_id = "createCampaign", path = "/campaigns", tag = "campaigns", security(("bearer" = [])),
    request_body = CreateCampaignRequest, responses((status = 201, body = Campaign)))]
pub async fn create(
    State(ctx): State<Ctx>,
    actor: Actor,
    Json(req): Json<CreateCampaignRequest>,
) -> Result<(StatusCode, Json<Campaign>), ApiError> {
    let campaign = ctx.campaigns().create(&actor, req).await?;
    Ok((StatusCode::CREATED, Json(campaign)))
}

/// `GET /api/v1/campaigns/{id}`: one campaign; 404 "Campaign not found".
#[utoipa::path(get, operation_id = "getCampaign", path = "/campaigns/{id}", tag = "campaigns", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Campaign id")), responses((status = 200, body = Campaign)))]
pub async fn get(
    Id(id): Id<CampaignId>,
    State(ctx): State<Ctx>,
    actor: Actor,
) -> Result<Json<Campaign>, ApiError> {
    Ok(Json(ctx.campaigns().get(&actor, id).await?))
}

/// `PUT /api/v1/campaigns/{id}`: replaces the editable fields, checked as on create (and the
/// keywords when `keywords` is given). Status changes go through `/actions`.
#[utoipa::path(put, operation_id = "updateCampaign", path = "/campaigns/{id}", tag = "campaigns", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Campaign id")),
    request_body = CreateCampaignRequest, responses((status = 200, body = Campaign)))]
pub async fn update(
    Id(id): Id<CampaignId>,
    State(ctx): State<Ctx>,
    actor: Actor,
    Json(req): Json<CreateCampaignRequest>,
) -> Result<Json<Campaign>, ApiError> {
    Ok(Json(ctx.campaigns().update(&actor, id, req).await?))
}

/// `POST /api/v1/campaigns/{id}/actions`: pause, resume/activate, complete, or a new budget.
#[utoipa::path(post, operation_id = "actOnCampaign", path = "/campaigns/{id}/actions", tag = "campaigns", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Campaign id")),
    request_body = CampaignActionRequest, responses((status = 200, body = Campaign)))]
pub async fn actions(
    Id(id): Id<CampaignId>,
    State(ctx): State<Ctx>,
    actor: Actor,
    Json(req): Json<CampaignActionRequest>,
) -> Result<Json<Campaign>, ApiError> {
    Ok(Json(ctx.campaigns().act(&actor, id, req).await?))
}

/// `GET /api/v1/campaigns/{id}/audit` (Basalt's, not the seed's): who changed the campaign
/// and how, newest first (`{ entries, total, page, limit }`); for those who may edit campaigns.
#[utoipa::path(get, operation_id = "listCampaignAudit", path = "/campaigns/{id}/audit", tag = "campaigns", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Campaign id"), PageQuery),
    responses((status = 200, body = Page<AuditEntry>)))]
pub async fn audit(
    Id(id): Id<CampaignId>,
    State(ctx): State<Ctx>,
    actor: Actor,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<AuditEntry>>, ApiError> {
    Ok(Json(ctx.campaigns().audit(&actor, id, q).await?))
}
