//! `/api/v1/alerting/*` (seed 001 AlertingService: `sendCrisisAlert`, `getAlertQueue`,
//! `sendAlert`) and Basalt's `/api/v1/campaigns/{id}/crisis-contacts`, the recipients the
//! seed's `getCrisisContacts` reads.

use axum::extract::State;
use platform::{
    ApiError,
    extract::{Json, Path},
    identity::auth::AuthUser,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::service::access::{ALERTS_READ, ALERTS_SEND};
use crate::{
    Ctx,
    service::{
        alerting::{self, AlertView, CrisisAlert, SendAlertRequest},
        notifications::{self, CrisisContacts},
    },
};

/// Seed 001 `sendCrisisAlert`'s answer.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CrisisAlertResponse {
    pub alert_id: Uuid,
    /// True when deliveries were queued (false: nobody to send to).
    pub sent: bool,
}

/// `POST /api/v1/alerting/crisis`: raises a `CRISIS` alert and queues its deliveries.
#[utoipa::path(post, path = "/alerting/crisis", tag = "alerting", security(("bearer" = [])),
    request_body = CrisisAlert, responses((status = 200, body = CrisisAlertResponse)))]
pub async fn crisis(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Json(req): Json<CrisisAlert>,
) -> Result<Json<CrisisAlertResponse>, ApiError> {
    ctx.require(&user, ALERTS_SEND)?;
    let alert = alerting::crisis(&ctx, &user, req).await?;
    Ok(Json(CrisisAlertResponse {
        alert_id: alert.id,
        sent: !alert.channels.is_empty(),
    }))
}

/// Seed 001 `getAlertQueue`'s answer.
#[derive(Serialize, ToSchema)]
pub struct AlertQueue {
    pub alerts: Vec<AlertView>,
}

/// `GET /api/v1/alerting/queue`: new alerts still being delivered or unread.
#[utoipa::path(get, path = "/alerting/queue", tag = "alerting", security(("bearer" = [])),
    responses((status = 200, body = AlertQueue)))]
pub async fn queue(State(ctx): State<Ctx>, user: AuthUser) -> Result<Json<AlertQueue>, ApiError> {
    ctx.require(&user, ALERTS_READ)?;
    let alerts = alerting::queue(&ctx, &user).await?;
    Ok(Json(AlertQueue { alerts }))
}

/// Seed 001 `sendAlert`'s answer, with the alert's id (Basalt's).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendAlertResponse {
    pub sent: bool,
    pub alert_id: Uuid,
}

/// `POST /api/v1/alerting/send`: a `MEDIUM` alert over SMS to the given numbers.
#[utoipa::path(post, path = "/alerting/send", tag = "alerting", security(("bearer" = [])),
    request_body = SendAlertRequest, responses((status = 200, body = SendAlertResponse)))]
pub async fn send(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Json(req): Json<SendAlertRequest>,
) -> Result<Json<SendAlertResponse>, ApiError> {
    ctx.require(&user, ALERTS_SEND)?;
    let alert = alerting::send(&ctx, &user, req).await?;
    Ok(Json(SendAlertResponse {
        sent: !alert.channels.is_empty(),
        alert_id: alert.id,
    }))
}

/// `GET /api/v1/campaigns/{id}/crisis-contacts` (Basalt's): who crisis alerts go to.
#[utoipa::path(get, path = "/campaigns/{id}/crisis-contacts", tag = "alerting", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Campaign id")), responses((status = 200, body = CrisisContacts)))]
pub async fn get_contacts(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<CrisisContacts>, ApiError> {
    ctx.require(&user, ALERTS_SEND)?;
    let contacts = notifications::contacts(&ctx, campaign_id(&id)?).await?;
    contacts.map(Json).ok_or_else(campaign_not_found)
}

/// `PUT /api/v1/campaigns/{id}/crisis-contacts` (Basalt's): replaces the list.
#[utoipa::path(put, path = "/campaigns/{id}/crisis-contacts", tag = "alerting", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Campaign id")),
    request_body = CrisisContacts, responses((status = 200, body = CrisisContacts)))]
pub async fn put_contacts(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Path(id): Path<String>,
    Json(req): Json<CrisisContacts>,
) -> Result<Json<CrisisContacts>, ApiError> {
    ctx.require(&user, ALERTS_SEND)?;
    let contacts = notifications::replace_contacts(&ctx, campaign_id(&id)?, req).await?;
    contacts.map(Json).ok_or_else(campaign_not_found)
}

fn campaign_not_found() -> ApiError {
    ApiError::not_found("Campaign not found")
}

fn campaign_id(raw: &str) -> Result<Uuid, ApiError> {
    raw.parse().map_err(|_| campaign_not_found())
}
