//! `/api/v1/campaigns`: list, create, read, edit, status actions and the audit trail (seed 001
//! CampaignsService; seed 000 "Campaign management"). Request bodies and their checks are in
//! `requests`.

pub mod requests;

use axum::{extract::State, http::StatusCode};
use platform::{
    ApiError,
    extract::{Json, Path, Query},
    identity::auth::AuthUser,
    validate::{PageQuery, Paging},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use self::requests::{CampaignActionRequest, CreateCampaignRequest, parse_status};
use crate::service::access::{CAMPAIGNS_CREATE, CAMPAIGNS_READ, CAMPAIGNS_UPDATE};
use crate::{
    Ctx,
    service::campaigns::{AuditEntry, Campaign, CampaignId, CampaignStatus},
};

/// Seed 001's `getCampaigns` response.
#[derive(Serialize, ToSchema)]
pub struct CampaignList {
    pub campaigns: Vec<Campaign>,
    pub total: u64,
    pub page: u64,
    pub limit: u64,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListCampaignsQuery {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<u64>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
    /// Only campaigns with this status.
    #[param(value_type = Option<CampaignStatus>)]
    pub status: Option<String>,
}

/// `GET /api/v1/campaigns`: every campaign of the deployment, newest first.
#[utoipa::path(get, path = "/campaigns", tag = "campaigns", security(("bearer" = [])),
    params(ListCampaignsQuery), responses((status = 200, body = CampaignList)))]
pub async fn list(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Query(q): Query<ListCampaignsQuery>,
) -> Result<Json<CampaignList>, ApiError> {
    ctx.require(&user, CAMPAIGNS_READ)?;
    let Paging { page, limit } = PageQuery {
        page: q.page,
        limit: q.limit,
    }
    .paging()?;
    let status = q.status.as_deref().map(parse_status).transpose()?;
    let (campaigns, total) = ctx.campaigns().list(status, page, limit).await?;
    Ok(Json(CampaignList {
        campaigns,
        total,
        page,
        limit,
    }))
}

/// `POST /api/v1/campaigns`: a new `draft` campaign with empty metrics.
#[utoipa::path(post, path = "/campaigns", tag = "campaigns", security(("bearer" = [])),
    request_body = CreateCampaignRequest, responses((status = 201, body = Campaign)))]
pub async fn create(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Json(req): Json<CreateCampaignRequest>,
) -> Result<(StatusCode, Json<Campaign>), ApiError> {
    ctx.require(&user, CAMPAIGNS_CREATE)?;
    let input = req.try_into()?;
    let campaign = ctx.campaigns().create((&user).into(), input).await?;
    Ok((StatusCode::CREATED, Json(campaign)))
}

/// `GET /api/v1/campaigns/{id}`: one campaign; 404 "Campaign not found".
#[utoipa::path(get, path = "/campaigns/{id}", tag = "campaigns", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Campaign id")), responses((status = 200, body = Campaign)))]
pub async fn get(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Campaign>, ApiError> {
    ctx.require(&user, CAMPAIGNS_READ)?;
    let campaign = ctx.campaigns().get(campaign_id(&id)?).await?;
    campaign.map(Json).ok_or_else(not_found)
}

/// `PUT /api/v1/campaigns/{id}`: replaces the editable fields, checked as on create (and the
/// keywords when `keywords` is given). Status changes go through `/actions`.
#[utoipa::path(put, path = "/campaigns/{id}", tag = "campaigns", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Campaign id")),
    request_body = CreateCampaignRequest, responses((status = 200, body = Campaign)))]
pub async fn update(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Path(id): Path<String>,
    Json(req): Json<CreateCampaignRequest>,
) -> Result<Json<Campaign>, ApiError> {
    ctx.require(&user, CAMPAIGNS_UPDATE)?;
    let id = campaign_id(&id)?;
    let input = req.try_into()?;
    let campaign = ctx.campaigns().update((&user).into(), id, input).await?;
    campaign.map(Json).ok_or_else(not_found)
}

/// `POST /api/v1/campaigns/{id}/actions`: pause, resume/activate, complete, or a new budget.
#[utoipa::path(post, path = "/campaigns/{id}/actions", tag = "campaigns", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Campaign id")),
    request_body = CampaignActionRequest, responses((status = 200, body = Campaign)))]
pub async fn actions(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Path(id): Path<String>,
    Json(req): Json<CampaignActionRequest>,
) -> Result<Json<Campaign>, ApiError> {
    ctx.require(&user, CAMPAIGNS_UPDATE)?;
    let id = campaign_id(&id)?;
    let (action, reason) = req.parse()?;
    let campaign = ctx
        .campaigns()
        .act((&user).into(), id, action, reason)
        .await?;
    campaign.map(Json).ok_or_else(not_found)
}

/// `{ entries, total, page, limit }`.
#[derive(Serialize, ToSchema)]
pub struct AuditTrail {
    pub entries: Vec<AuditEntry>,
    pub total: u64,
    pub page: u64,
    pub limit: u64,
}

/// `GET /api/v1/campaigns/{id}/audit` (Basalt's, not the seed's): who changed the campaign
/// and how, newest first; for those who may edit campaigns.
#[utoipa::path(get, path = "/campaigns/{id}/audit", tag = "campaigns", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Campaign id"), PageQuery),
    responses((status = 200, body = AuditTrail)))]
pub async fn audit(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Json<AuditTrail>, ApiError> {
    ctx.require(&user, CAMPAIGNS_UPDATE)?;
    let id = campaign_id(&id)?;
    let Paging { page, limit } = q.paging()?;
    let (entries, total) = ctx
        .campaigns()
        .audit(id, page, limit)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(AuditTrail {
        entries,
        total,
        page,
        limit,
    }))
}

fn not_found() -> ApiError {
    ApiError::not_found("Campaign not found")
}

/// A path id that is not a UUID names no campaign: 404, like an unknown UUID.
fn campaign_id(raw: &str) -> Result<CampaignId, ApiError> {
    CampaignId::parse(raw).ok_or_else(not_found)
}
