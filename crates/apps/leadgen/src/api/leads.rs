//! `/api/leads` (seed 004 "Lead Management Endpoints"): list, create and update the caller's
//! organization's leads, and read one with its timeline (Basalt's addition). Requests and
//! their checks are in `requests`; limits are rows of `service::access::LIMITS`.

pub mod requests;

use axum::{extract::State, http::StatusCode};
use platform::{
    ApiError,
    extract::{Json, Query},
    validate::{Listed, Page},
};

use self::requests::{CreateLeadRequest, ListLeadsQuery, UpdateLeadRequest};
use super::extract::Id;
use crate::{
    Ctx,
    domain::leads::{Lead, LeadWithTimeline},
    service::member::Member,
};

impl Listed for Lead {
    const KEY: &'static str = "leads";
}

/// `GET /api/leads`: the organization's leads, filtered, sorted and paged
/// (`{ leads, total, page, limit, nextCursor }`).
#[utoipa::path(get, operation_id = "listLeads", path = "/leads", tag = "leads", security(("bearer" = [])),
    params(ListLeadsQuery), responses((status = 200, body = Page<Lead>)))]
pub async fn list(
    State(ctx): State<Ctx>,
    member: Member,
    Query(q): Query<ListLeadsQuery>,
) -> Result<Json<Page<Lead>>, ApiError> {
    Ok(Json(ctx.leads().list(&member, q).await?))
}

/// `POST /api/leads`: a new lead, validated and scored; 409 when the organization already has
/// a lead at the address.
#[utoipa::path(post, operation_id = "createLead", path = "/leads", tag = "leads", security(("bearer" = [])),
    request_body = CreateLeadRequest,
    responses((status = 201, body = Lead), (status = 409, description = "The organization already has a lead at this email (`details.leadId`)")))]
pub async fn create(
    State(ctx): State<Ctx>,
    member: Member,
    Json(req): Json<CreateLeadRequest>,
) -> Result<(StatusCode, Json<Lead>), ApiError> {
    let lead = ctx.leads().create(&member, req).await?;
    Ok((StatusCode::CREATED, Json(lead)))
}

/// `GET /api/leads/{id}`: one lead and its timeline, newest first (at most 100 entries).
#[utoipa::path(get, operation_id = "getLead", path = "/leads/{id}", tag = "leads", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Lead id")),
    responses((status = 200, body = LeadWithTimeline), (status = 404, description = "No such lead in your organization")))]
pub async fn get(
    Id(id): Id,
    State(ctx): State<Ctx>,
    member: Member,
) -> Result<Json<LeadWithTimeline>, ApiError> {
    Ok(Json(ctx.leads().get(&member, id).await?))
}

/// `PUT /api/leads/{id}`: changes the given fields, rescores, records the change on the
/// timeline; a new status mails the lead's owner.
#[utoipa::path(put, operation_id = "updateLead", path = "/leads/{id}", tag = "leads", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Lead id")), request_body = UpdateLeadRequest,
    responses((status = 200, body = Lead), (status = 404, description = "No such lead in your organization"),
        (status = 409, description = "Another lead of the organization has the new email (`details.leadId`)")))]
pub async fn update(
    Id(id): Id,
    State(ctx): State<Ctx>,
    member: Member,
    Json(req): Json<UpdateLeadRequest>,
) -> Result<Json<Lead>, ApiError> {
    Ok(Json(ctx.leads().update(&member, id, req).await?))
}
