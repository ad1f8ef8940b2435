//! `/api/v1/health` and `/api/v1/status`: liveness with the data mode (seed 000) and the
//! per-service view (seed 001).

use axum::{extract::State, http::StatusCode};
use platform::{
    ApiError,
    datamode::Mode,
    extract::Json,
    identity::{auth::AuthUser, oauth::Provider},
    vendor::{VendorStatus, VendorStatusState},
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::Ctx;
use crate::service::access::INTEGRATIONS_READ;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseHealth {
    /// `up` or `down`.
    pub status: String,
    pub backend: String,
    pub latency_ms: u64,
}

#[derive(Serialize, ToSchema)]
pub struct HealthResponse {
    /// `ok` or `degraded`.
    pub status: String,
    pub version: String,
    pub data_mode: Mode,
    pub database: DatabaseHealth,
}

/// The database as of its last ping (at most a second old; `platform::health::DbHealth`), so
/// health answers from memory.
fn database(ctx: &Ctx) -> DatabaseHealth {
    let db = ctx.db_health.status();
    DatabaseHealth {
        status: if db.up { "up" } else { "down" }.into(),
        backend: platform::db::backend_name(&ctx.db).into(),
        latency_ms: db.latency_ms,
    }
}

/// `GET /api/v1/health`: status, version, `data_mode`, database reachability (503 when down),
/// from memory: the database state is the last ping's, at most a second old.
#[utoipa::path(get, operation_id = "getHealth", path = "/health", tag = "health", responses((status = 200, body = HealthResponse)))]
pub async fn health(State(ctx): State<Ctx>) -> (StatusCode, Json<HealthResponse>) {
    let db = database(&ctx);
    let up = db.status == "up";
    let body = HealthResponse {
        status: if up { "ok" } else { "degraded" }.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        data_mode: ctx.data_mode.get(),
        database: db,
    };
    (
        if up {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        Json(body),
    )
}

#[derive(Serialize, ToSchema)]
pub struct ServiceStatus {
    pub name: String,
    pub healthy: bool,
    /// `up`/`down` for the database; `mock`/`live`/`unconfigured`/`circuit_open` for vendors.
    pub state: String,
}

#[derive(Serialize, ToSchema)]
pub struct StatusResponse {
    /// `healthy` when every service is, else `degraded`.
    pub status: String,
    pub services: Vec<ServiceStatus>,
}

fn vendor(name: &str, state: impl Into<VendorStatusState>) -> ServiceStatus {
    let state = state.into();
    ServiceStatus {
        name: name.into(),
        healthy: state.is_healthy(),
        state: serde_json::to_value(state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
    }
}

/// `GET /api/v1/status`: overall and per-service state.
#[utoipa::path(get, operation_id = "getStatus", path = "/status", tag = "health", responses((status = 200, body = StatusResponse)))]
pub async fn status(State(ctx): State<Ctx>) -> Json<StatusResponse> {
    let db = database(&ctx);
    let mut services = vec![ServiceStatus {
        name: "database".into(),
        healthy: db.status == "up",
        state: db.status,
    }];
    services.push(vendor("email", ctx.identity.mailer.state()));
    services.push(vendor("oauth_google", ctx.oauth.state(Provider::Google)));
    services.push(vendor("oauth_meta", ctx.oauth.state(Provider::Meta)));
    for v in ctx.vendors.registry.statuses() {
        services.push(vendor(&v.name, v.state));
    }
    let healthy = services.iter().all(|s| s.healthy);
    Json(StatusResponse {
        status: if healthy { "healthy" } else { "degraded" }.into(),
        services,
    })
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationsStatus {
    pub data_mode: Mode,
    /// Every vendor War Room calls: `mock`, `live`, `unconfigured` (with the setting to set)
    /// or `circuit_open` (with when it is retried).
    pub integrations: Vec<VendorStatus>,
}

/// `GET /api/v1/integrations/status` (seed 000): each vendor's connection state.
#[utoipa::path(get, operation_id = "getIntegrationsStatus", path = "/integrations/status", tag = "integrations", security(("bearer" = [])),
    responses((status = 200, body = IntegrationsStatus)))]
pub async fn integrations_status(
    State(ctx): State<Ctx>,
    user: AuthUser,
) -> Result<Json<IntegrationsStatus>, ApiError> {
    ctx.require(&user, INTEGRATIONS_READ)?;
    Ok(Json(IntegrationsStatus {
        data_mode: ctx.data_mode.get(),
        integrations: ctx.vendors.registry.statuses(),
    }))
}
