//! Alerts: the alert center `/api/v1/alerts` (seed 000 "Alert center & notifications": the
//! list with its filters, one alert with its deliveries, the read/acknowledge/resolve/dismiss
//! actions) and `/api/v1/alerting/*` (seed 001 AlertingService: `sendCrisisAlert`,
//! `getAlertQueue`, `sendAlert`). Requests and their checks are in `requests`.

pub mod requests;

use axum::extract::State;
use platform::{
    ApiError,
    extract::{Json, Query},
    validate::{Listed, Page, PageQuery},
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use self::requests::{AlertActionRequest, CrisisAlertRequest, ListAlertsQuery, SendAlertRequest};
use super::extract::Id;
use crate::{
    Ctx,
    domain::alerts::{AlertDetail, AlertView, CrisisAlert},
    service::actor::Actor,
};

impl Listed for AlertView {
    const KEY: &'static str = "alerts";
}

/// `GET /api/v1/alerts`: alerts with filters, newest first (`{ alerts, total, page, limit }`).
#[utoipa::path(get, operation_id = "listAlerts", path = "/alerts", tag = "alerts", security(("bearer" = [])),
    params(PageQuery, ListAlertsQuery), responses((status = 200, body = Page<AlertView>)))]
pub async fn list(
    State(ctx): State<Ctx>,
    actor: Actor,
    Query(page): Query<PageQuery>,
    Query(q): Query<ListAlertsQuery>,
) -> Result<Json<Page<AlertView>>, ApiError> {
    Ok(Json(ctx.alerts().list(&actor, (page, q)).await?))
}

/// `GET /api/v1/alerts/{id}` (Basalt's): one alert with each delivery's outcome.
#[utoipa::path(get, operation_id = "getAlert", path = "/alerts/{id}", tag = "alerts", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Alert id")), responses((status = 200, body = AlertDetail)))]
pub async fn get(
    Id(id): Id<Uuid>,
    State(ctx): State<Ctx>,
    actor: Actor,
) -> Result<Json<AlertDetail>, ApiError> {
    Ok(Json(ctx.alerts().get(&actor, id).await?))
}

/// `POST /api/v1/alerts/{id}/actions`: moves an alert on: `read`, `acknowledge`, `resolve` or
/// `dismiss`.
#[utoipa::path(post, operation_id = "actOnAlert", path = "/alerts/{id}/actions", tag = "alerts", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Alert id")),
    request_body = AlertActionRequest, responses((status = 200, body = AlertView)))]
pub async fn actions(
    Id(id): Id<Uuid>,
    State(ctx): State<Ctx>,
    actor: Actor,
    Json(req): Json<AlertActionRequest>,
) -> Result<Json<AlertView>, ApiError> {
    Ok(Json(ctx.alerts().act(&actor, id, req.action).await?))
}

// Seed 001 `sendCrisisAlert`'s and `sendAlert`'s answer (the alert's id is ours).
/// What was sent: the alert's id (on `send`) and each delivery.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertSent {
    pub alert_id: Uuid,
    /// True when deliveries were queued (false: nobody to send to).
    pub sent: bool,
}

impl From<AlertView> for AlertSent {
    fn from(alert: AlertView) -> Self {
        Self {
            alert_id: alert.id,
            sent: !alert.channels.is_empty(),
        }
    }
}

/// `POST /api/v1/alerting/crisis`: raises a `CRISIS` alert and queues its deliveries.
#[utoipa::path(post, operation_id = "raiseCrisisAlert", path = "/alerting/crisis", tag = "alerting", security(("bearer" = [])),
    request_body = CrisisAlert, responses((status = 404, description = "No campaign with this `campaignId`"), (status = 200, body = AlertSent)))]
pub async fn crisis(
    State(ctx): State<Ctx>,
    actor: Actor,
    Json(req): Json<CrisisAlertRequest>,
) -> Result<Json<AlertSent>, ApiError> {
    Ok(Json(ctx.alerts().crisis(&actor, req).await?.into()))
}

// Seed 001 `getAlertQueue`'s answer.
/// New alerts still being delivered or unread.
#[derive(Serialize, ToSchema)]
pub struct AlertQueue {
    pub alerts: Vec<AlertView>,
}

/// `GET /api/v1/alerting/queue`: new alerts still being delivered or unread.
#[utoipa::path(get, operation_id = "listAlertQueue", path = "/alerting/queue", tag = "alerting", security(("bearer" = [])),
    responses((status = 200, body = AlertQueue)))]
pub async fn queue(State(ctx): State<Ctx>, actor: Actor) -> Result<Json<AlertQueue>, ApiError> {
    let alerts = ctx.alerts().queue(&actor).await?;
    Ok(Json(AlertQueue { alerts }))
}

/// `POST /api/v1/alerting/send`: a `MEDIUM` alert over SMS to the given numbers.
#[utoipa::path(post, operation_id = "sendAlert", path = "/alerting/send", tag = "alerting", security(("bearer" = [])),
    request_body = SendAlertRequest, responses((status = 404, description = "No campaign with this `campaignId`"), (status = 503, description = "The SMS service is unavailable or not configured"), (status = 200, body = AlertSent)))]
pub async fn send(
    State(ctx): State<Ctx>,
    actor: Actor,
    Json(req): Json<SendAlertRequest>,
) -> Result<Json<AlertSent>, ApiError> {
    Ok(Json(ctx.alerts().send(&actor, req).await?.into()))
}
