//! `/api/v1/monitoring/config` (seed 001 MonitoringService `createMonitoringConfig`, plus
//! Basalt's list, read, change, stop and restart), `/monitoring/status` and
//! `/monitoring/metrics` (seed 000 "REAL-TIME MONITORING SYSTEM"). Requests and their checks
//! are in `requests`.

pub mod requests;

use axum::{extract::State, http::StatusCode};
use platform::{
    ApiError,
    extract::{Json, Query},
    validate::{Listed, Page, PageQuery},
};
use serde::Serialize;
use utoipa::ToSchema;

use self::requests::{ListConfigsQuery, MonitoringConfigRequest};
use super::extract::Id;
use crate::{
    Ctx,
    domain::monitoring::{ConfigId, MonitoringConfigView},
    service::{
        actor::Actor,
        monitoring::{MonitoringMetrics, MonitoringStatus},
    },
};

impl Listed for MonitoringConfigView {
    const KEY: &'static str = "configs";
}

// Seed 001's `{ configId }`, plus the stored config.
/// The new config's id, and the stored config.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateMonitoringConfigResponse {
    pub config_id: uuid::Uuid,
    pub config: MonitoringConfigView,
}

/// `POST /api/v1/monitoring/config` (seed 001 `createMonitoringConfig`): starts monitoring a
/// campaign; the first poll runs within a second.
#[utoipa::path(post, operation_id = "createMonitoringConfig", path = "/monitoring/config", tag = "monitoring", security(("bearer" = [])),
    request_body = MonitoringConfigRequest,
    responses((status = 404, description = "No campaign with this `campaignId`"), (status = 409, description = "The campaign already has an active monitoring config"), (status = 201, body = CreateMonitoringConfigResponse)))]
pub async fn create(
    State(ctx): State<Ctx>,
    actor: Actor,
    Json(req): Json<MonitoringConfigRequest>,
) -> Result<(StatusCode, Json<CreateMonitoringConfigResponse>), ApiError> {
    let config = ctx.monitoring().create(&actor, req).await?;
    let created = CreateMonitoringConfigResponse {
        config_id: config.id,
        config,
    };
    Ok((StatusCode::CREATED, Json(created)))
}

/// `GET /api/v1/monitoring/config` (Basalt's): configs, newest first
/// (`{ configs, total, page, limit }`).
#[utoipa::path(get, operation_id = "listMonitoringConfigs", path = "/monitoring/config", tag = "monitoring", security(("bearer" = [])),
    params(PageQuery, ListConfigsQuery), responses((status = 200, body = Page<MonitoringConfigView>)))]
pub async fn list(
    State(ctx): State<Ctx>,
    actor: Actor,
    Query(page): Query<PageQuery>,
    Query(q): Query<ListConfigsQuery>,
) -> Result<Json<Page<MonitoringConfigView>>, ApiError> {
    Ok(Json(ctx.monitoring().list(&actor, (page, q)).await?))
}

/// `GET /api/v1/monitoring/config/{configId}` (Basalt's): one config and its polling record.
#[utoipa::path(get, operation_id = "getMonitoringConfig", path = "/monitoring/config/{configId}", tag = "monitoring",
    security(("bearer" = [])), params(("configId" = uuid::Uuid, Path)),
    responses((status = 200, body = MonitoringConfigView)))]
pub async fn get(
    Id(id): Id<ConfigId>,
    State(ctx): State<Ctx>,
    actor: Actor,
) -> Result<Json<MonitoringConfigView>, ApiError> {
    Ok(Json(ctx.monitoring().get(&actor, id).await?))
}

/// `PUT /api/v1/monitoring/config/{configId}` (Basalt's): replaces the terms, thresholds and
/// interval (create's body and rules); the next poll uses them.
#[utoipa::path(put, operation_id = "updateMonitoringConfig", path = "/monitoring/config/{configId}", tag = "monitoring",
    security(("bearer" = [])), params(("configId" = uuid::Uuid, Path)),
    request_body = MonitoringConfigRequest, responses((status = 409, description = "The campaign already has an active monitoring config"), (status = 200, body = MonitoringConfigView)))]
pub async fn update(
    Id(id): Id<ConfigId>,
    State(ctx): State<Ctx>,
    actor: Actor,
    Json(req): Json<MonitoringConfigRequest>,
) -> Result<Json<MonitoringConfigView>, ApiError> {
    Ok(Json(ctx.monitoring().update(&actor, id, req).await?))
}

/// `DELETE /api/v1/monitoring/config/{configId}` (Basalt's): stops the config, as `/stop`
/// does; the config and its mentions are kept.
#[utoipa::path(delete, operation_id = "deleteMonitoringConfig", path = "/monitoring/config/{configId}", tag = "monitoring",
    security(("bearer" = [])), params(("configId" = uuid::Uuid, Path)),
    responses((status = 200, body = MonitoringConfigView)))]
pub async fn delete(
    id: Id<ConfigId>,
    ctx: State<Ctx>,
    actor: Actor,
) -> Result<Json<MonitoringConfigView>, ApiError> {
    stop(id, ctx, actor).await
}

/// `POST /api/v1/monitoring/config/{configId}/stop` (Basalt's): stops polling for the config.
#[utoipa::path(post, operation_id = "stopMonitoring", path = "/monitoring/config/{configId}/stop", tag = "monitoring",
    security(("bearer" = [])), params(("configId" = uuid::Uuid, Path)),
    responses((status = 200, body = MonitoringConfigView)))]
pub async fn stop(
    Id(id): Id<ConfigId>,
    State(ctx): State<Ctx>,
    actor: Actor,
) -> Result<Json<MonitoringConfigView>, ApiError> {
    Ok(Json(ctx.monitoring().stop(&actor, id).await?))
}

/// `POST /api/v1/monitoring/config/{configId}/start` (Basalt's): polls a stopped config
/// again; 409 when its campaign has another active config.
#[utoipa::path(post, operation_id = "startMonitoring", path = "/monitoring/config/{configId}/start", tag = "monitoring",
    security(("bearer" = [])), params(("configId" = uuid::Uuid, Path)),
    responses((status = 409, description = "The campaign already has an active monitoring config"), (status = 200, body = MonitoringConfigView)))]
pub async fn start(
    Id(id): Id<ConfigId>,
    State(ctx): State<Ctx>,
    actor: Actor,
) -> Result<Json<MonitoringConfigView>, ApiError> {
    Ok(Json(ctx.monitoring().start(&actor, id).await?))
}

/// `GET /api/v1/monitoring/status` (seed 000 "Monitoring system status"): the monitoring
/// system's state.
#[utoipa::path(get, operation_id = "getMonitoringStatus", path = "/monitoring/status", tag = "monitoring", security(("bearer" = [])),
    responses((status = 200, body = MonitoringStatus)))]
pub async fn monitoring_status(
    State(ctx): State<Ctx>,
    actor: Actor,
) -> Result<Json<MonitoringStatus>, ApiError> {
    Ok(Json(ctx.monitoring().status(&actor).await?))
}

/// `GET /api/v1/monitoring/metrics` (seed 000 "Performance metrics"): ingestion figures.
#[utoipa::path(get, operation_id = "getMonitoringMetrics", path = "/monitoring/metrics", tag = "monitoring", security(("bearer" = [])),
    responses((status = 200, body = MonitoringMetrics)))]
pub async fn monitoring_metrics(
    State(ctx): State<Ctx>,
    actor: Actor,
) -> Result<Json<MonitoringMetrics>, ApiError> {
    Ok(Json(ctx.monitoring().metrics(&actor).await?))
}
