//! `/api/v1/monitoring/config` (seed 001 MonitoringService `createMonitoringConfig`, plus
//! Basalt's list, read, change, stop and restart), `/monitoring/status` and
//! `/monitoring/metrics` (seed 000 "REAL-TIME MONITORING SYSTEM").

use axum::{extract::State, http::StatusCode};
use platform::{
    ApiError,
    error::FieldError,
    extract::{Json, Path, Query},
    identity::auth::AuthUser,
    validate::{PageQuery, Paging},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::service::access::{MONITORING_READ, MONITORING_UPDATE};
use crate::{
    Ctx,
    service::{
        campaigns::CampaignId,
        ingest::status::{self, MonitoringMetrics, MonitoringStatus},
        monitoring::{
            ConfigId, ConfigStatus, MonitoringConfigRequest, MonitoringConfigView, not_found,
        },
    },
};

/// Seed 001's `{ configId }`, plus the stored config.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateMonitoringConfigResponse {
    pub config_id: uuid::Uuid,
    pub config: MonitoringConfigView,
}

/// `POST /api/v1/monitoring/config` (seed 001 `createMonitoringConfig`): starts monitoring a
/// campaign; the first poll runs within a second.
#[utoipa::path(post, path = "/monitoring/config", tag = "monitoring", security(("bearer" = [])),
    request_body = MonitoringConfigRequest,
    responses((status = 201, body = CreateMonitoringConfigResponse)))]
pub async fn create(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Json(req): Json<MonitoringConfigRequest>,
) -> Result<(StatusCode, Json<CreateMonitoringConfigResponse>), ApiError> {
    ctx.require(&user, MONITORING_UPDATE)?;
    let input = req.parse()?;
    let config = ctx.monitoring().create(Some(user.id()), input).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreateMonitoringConfigResponse {
            config_id: config.id,
            config,
        }),
    ))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MonitoringConfigList {
    pub configs: Vec<MonitoringConfigView>,
    pub total: u64,
    pub page: u64,
    pub limit: u64,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ListConfigsQuery {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<u64>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
    /// Only this campaign's configs.
    #[param(value_type = Option<uuid::Uuid>)]
    pub campaign_id: Option<String>,
    /// Only configs with this status.
    #[param(value_type = Option<ConfigStatus>)]
    pub status: Option<String>,
}

/// `GET /api/v1/monitoring/config` (Basalt's): configs, newest first.
#[utoipa::path(get, path = "/monitoring/config", tag = "monitoring", security(("bearer" = [])),
    params(ListConfigsQuery), responses((status = 200, body = MonitoringConfigList)))]
pub async fn list(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Query(q): Query<ListConfigsQuery>,
) -> Result<Json<MonitoringConfigList>, ApiError> {
    ctx.require(&user, MONITORING_READ)?;
    let Paging { page, limit } = PageQuery {
        page: q.page,
        limit: q.limit,
    }
    .paging()?;
    let mut errors = Vec::new();
    let campaign = q.campaign_id.as_deref().and_then(|raw| {
        let id = CampaignId::parse(raw);
        if id.is_none() {
            errors.push(field("campaignId", "must be a UUID"));
        }
        id
    });
    let status = q.status.as_deref().and_then(|raw| {
        let s = ConfigStatus::parse(raw);
        if s.is_none() {
            errors.push(field("status", "must be one of active, stopped"));
        }
        s
    });
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let (configs, total) = ctx.monitoring().list(campaign, status, page, limit).await?;
    Ok(Json(MonitoringConfigList {
        configs,
        total,
        page,
        limit,
    }))
}

/// `GET /api/v1/monitoring/config/{configId}` (Basalt's): one config and its polling record.
#[utoipa::path(get, path = "/monitoring/config/{configId}", tag = "monitoring",
    security(("bearer" = [])), params(("configId" = uuid::Uuid, Path)),
    responses((status = 200, body = MonitoringConfigView)))]
pub async fn get(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<MonitoringConfigView>, ApiError> {
    ctx.require(&user, MONITORING_READ)?;
    found(ctx.monitoring().get(config_id(&id)?).await?)
}

/// `PUT /api/v1/monitoring/config/{configId}` (Basalt's): replaces the terms, thresholds and
/// interval (create's body and rules); the next poll uses them.
#[utoipa::path(put, path = "/monitoring/config/{configId}", tag = "monitoring",
    security(("bearer" = [])), params(("configId" = uuid::Uuid, Path)),
    request_body = MonitoringConfigRequest, responses((status = 200, body = MonitoringConfigView)))]
pub async fn update(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Path(id): Path<String>,
    Json(req): Json<MonitoringConfigRequest>,
) -> Result<Json<MonitoringConfigView>, ApiError> {
    ctx.require(&user, MONITORING_UPDATE)?;
    let id = config_id(&id)?;
    let input = req.parse()?;
    found(ctx.monitoring().update(id, input).await?)
}

/// `DELETE /api/v1/monitoring/config/{configId}` (Basalt's): stops the config, as `/stop`
/// does; the config and its mentions are kept.
#[utoipa::path(delete, path = "/monitoring/config/{configId}", tag = "monitoring",
    security(("bearer" = [])), params(("configId" = uuid::Uuid, Path)),
    responses((status = 200, body = MonitoringConfigView)))]
pub async fn delete(
    ctx: State<Ctx>,
    user: AuthUser,
    id: Path<String>,
) -> Result<Json<MonitoringConfigView>, ApiError> {
    stop(ctx, user, id).await
}

/// `POST /api/v1/monitoring/config/{configId}/stop` (Basalt's): no more polls.
#[utoipa::path(post, path = "/monitoring/config/{configId}/stop", tag = "monitoring",
    security(("bearer" = [])), params(("configId" = uuid::Uuid, Path)),
    responses((status = 200, body = MonitoringConfigView)))]
pub async fn stop(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<MonitoringConfigView>, ApiError> {
    ctx.require(&user, MONITORING_UPDATE)?;
    found(ctx.monitoring().stop(config_id(&id)?).await?)
}

/// `POST /api/v1/monitoring/config/{configId}/start` (Basalt's): polls a stopped config
/// again; 409 when its campaign has another active config.
#[utoipa::path(post, path = "/monitoring/config/{configId}/start", tag = "monitoring",
    security(("bearer" = [])), params(("configId" = uuid::Uuid, Path)),
    responses((status = 200, body = MonitoringConfigView)))]
pub async fn start(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<MonitoringConfigView>, ApiError> {
    ctx.require(&user, MONITORING_UPDATE)?;
    found(ctx.monitoring().start(config_id(&id)?).await?)
}

/// `GET /api/v1/monitoring/status` (seed 000 "Monitoring system status").
#[utoipa::path(get, path = "/monitoring/status", tag = "monitoring", security(("bearer" = [])),
    responses((status = 200, body = MonitoringStatus)))]
pub async fn monitoring_status(
    State(ctx): State<Ctx>,
    user: AuthUser,
) -> Result<Json<MonitoringStatus>, ApiError> {
    ctx.require(&user, MONITORING_READ)?;
    Ok(Json(status::status(&ctx).await?))
}

/// `GET /api/v1/monitoring/metrics` (seed 000 "Performance metrics"): ingestion figures.
#[utoipa::path(get, path = "/monitoring/metrics", tag = "monitoring", security(("bearer" = [])),
    responses((status = 200, body = MonitoringMetrics)))]
pub async fn monitoring_metrics(
    State(ctx): State<Ctx>,
    user: AuthUser,
) -> Result<Json<MonitoringMetrics>, ApiError> {
    ctx.require(&user, MONITORING_READ)?;
    Ok(Json(status::metrics(&ctx).await?))
}

fn field(name: &str, message: &str) -> FieldError {
    FieldError {
        field: name.into(),
        message: message.into(),
    }
}

fn found(config: Option<MonitoringConfigView>) -> Result<Json<MonitoringConfigView>, ApiError> {
    config.map(Json).ok_or_else(not_found)
}

/// A path id that is not a UUID names no config: 404, like an unknown UUID.
fn config_id(raw: &str) -> Result<ConfigId, ApiError> {
    ConfigId::parse(raw).ok_or_else(not_found)
}
