//! `/api/v1/alerts`: the alert center (seed 000 "Alert center & notifications"): the list
//! with its filters, one alert with its deliveries, and the read/acknowledge/resolve/dismiss
//! actions.

use axum::extract::State;
use platform::{
    ApiError,
    error::FieldError,
    extract::{Json, Path, Query},
    identity::auth::AuthUser,
    validate::{PageQuery, Paging},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::service::access::{ALERTS_READ, ALERTS_UPDATE};
use crate::{
    Ctx,
    service::alerting::{
        self, AlertAction, AlertDetail, AlertQuery, AlertStatus, AlertType, AlertView, Lifecycle,
        Severity,
    },
};

/// `{ alerts, total, page, limit }`, newest first.
#[derive(Serialize, ToSchema)]
pub struct AlertList {
    pub alerts: Vec<AlertView>,
    pub total: u64,
    pub page: u64,
    pub limit: u64,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ListAlertsQuery {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<u64>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
    /// The alert center's lifecycle.
    #[param(value_type = Option<Lifecycle>)]
    pub status: Option<String>,
    /// The seed's delivery status.
    #[param(value_type = Option<AlertStatus>)]
    pub delivery_status: Option<String>,
    #[param(value_type = Option<Severity>)]
    pub severity: Option<String>,
    #[serde(rename = "type")]
    #[param(rename = "type", value_type = Option<AlertType>)]
    pub alert_type: Option<String>,
    #[param(value_type = Option<Uuid>)]
    pub campaign_id: Option<String>,
    /// `true`: only alerts nobody has read; `false`: only read ones.
    pub unread: Option<bool>,
}

impl ListAlertsQuery {
    fn parse(&self) -> Result<AlertQuery, ApiError> {
        let mut errors = Vec::new();
        fn one<T: Copy>(
            errors: &mut Vec<FieldError>,
            name: &str,
            raw: Option<&str>,
            parse: fn(&str) -> Option<T>,
            names: String,
        ) -> Option<T> {
            let raw = raw?;
            let v = parse(raw.trim());
            if v.is_none() {
                errors.push(FieldError {
                    field: name.into(),
                    message: format!("must be one of {names}"),
                });
            }
            v
        }
        let q = AlertQuery {
            lifecycle: one(
                &mut errors,
                "status",
                self.status.as_deref(),
                Lifecycle::parse,
                Lifecycle::names(),
            ),
            status: one(
                &mut errors,
                "deliveryStatus",
                self.delivery_status.as_deref(),
                AlertStatus::parse,
                AlertStatus::names(),
            ),
            severity: one(
                &mut errors,
                "severity",
                self.severity.as_deref(),
                Severity::parse,
                Severity::names(),
            ),
            alert_type: one(
                &mut errors,
                "type",
                self.alert_type.as_deref(),
                AlertType::parse,
                AlertType::names(),
            ),
            campaign_id: self.campaign_id.as_deref().and_then(|raw| {
                let id = raw.trim().parse::<Uuid>().ok();
                if id.is_none() {
                    errors.push(FieldError {
                        field: "campaignId".into(),
                        message: "must be a campaign id (UUID)".into(),
                    });
                }
                id
            }),
            unread: self.unread,
        };
        if errors.is_empty() {
            Ok(q)
        } else {
            Err(ApiError::validation(errors))
        }
    }
}

/// `GET /api/v1/alerts`: alerts with filters, newest first.
#[utoipa::path(get, path = "/alerts", tag = "alerts", security(("bearer" = [])),
    params(ListAlertsQuery), responses((status = 200, body = AlertList)))]
pub async fn list(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Query(q): Query<ListAlertsQuery>,
) -> Result<Json<AlertList>, ApiError> {
    ctx.require(&user, ALERTS_READ)?;
    let Paging { page, limit } = PageQuery {
        page: q.page,
        limit: q.limit,
    }
    .paging()?;
    let filter = q.parse()?;
    let (alerts, total) = alerting::list(&ctx, &filter, page, limit).await?;
    Ok(Json(AlertList {
        alerts,
        total,
        page,
        limit,
    }))
}

/// `GET /api/v1/alerts/{id}` (Basalt's): one alert with each delivery's outcome.
#[utoipa::path(get, path = "/alerts/{id}", tag = "alerts", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Alert id")), responses((status = 200, body = AlertDetail)))]
pub async fn get(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<AlertDetail>, ApiError> {
    ctx.require(&user, ALERTS_READ)?;
    let detail = alerting::get(&ctx, alert_id(&id)?).await?;
    detail.map(Json).ok_or_else(not_found)
}

#[derive(Deserialize, ToSchema)]
pub struct AlertActionRequest {
    pub action: AlertAction,
}

/// `POST /api/v1/alerts/{id}/actions`: `read`, `acknowledge`, `resolve` or `dismiss`.
#[utoipa::path(post, path = "/alerts/{id}/actions", tag = "alerts", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Alert id")),
    request_body = AlertActionRequest, responses((status = 200, body = AlertView)))]
pub async fn actions(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Path(id): Path<String>,
    Json(req): Json<AlertActionRequest>,
) -> Result<Json<AlertView>, ApiError> {
    ctx.require(&user, ALERTS_UPDATE)?;
    let alert = alerting::act(&ctx, &user, alert_id(&id)?, req.action).await?;
    alert.map(Json).ok_or_else(not_found)
}

fn not_found() -> ApiError {
    ApiError::not_found("Alert not found")
}

/// A path id that is not a UUID names no alert: 404, like an unknown UUID.
fn alert_id(raw: &str) -> Result<Uuid, ApiError> {
    raw.parse().map_err(|_| not_found())
}
