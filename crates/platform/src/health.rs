//! `GET /healthz` (liveness, from memory) and `GET /readyz` (the database and, when
//! configured, Redis answer), served by every product for load balancers and orchestrators.
//! Products keep their contracts' own health endpoints beside these.

use axum::{extract::State, http::StatusCode};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{core::Core, extract::Json};

pub fn routes() -> OpenApiRouter<Core> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

#[derive(Serialize, ToSchema)]
pub struct Liveness {
    /// Always `ok` while the process serves requests.
    pub status: String,
}

/// `GET /healthz`: liveness; touches nothing but memory.
#[utoipa::path(get, path = "/healthz", tag = "health", security(()),
    responses((status = 200, description = "The process serves requests", body = Liveness)))]
pub async fn healthz() -> Json<Liveness> {
    Json(Liveness {
        status: "ok".into(),
    })
}

#[derive(Serialize, ToSchema)]
pub struct ReadinessChecks {
    /// `up` or `down`.
    pub database: String,
    /// `up` or `down`; absent when `REDIS_URL` is not set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `unavailable`.
    pub status: String,
    pub checks: ReadinessChecks,
}

fn up(ok: bool) -> String {
    if ok { "up" } else { "down" }.into()
}

/// `GET /readyz`: 200 when the database (and Redis, when configured) answer; 503 otherwise.
#[utoipa::path(get, path = "/readyz", tag = "health", security(()),
    responses((status = 200, description = "Ready to serve", body = Readiness),
        (status = 503, description = "A dependency is down", body = Readiness)))]
pub async fn readyz(State(core): State<Core>) -> (StatusCode, Json<Readiness>) {
    let db = crate::db::ping(&core.db).await.is_ok();
    let redis = match &core.redis_url {
        Some(url) => Some(crate::db::redis_ping(url.expose()).await),
        None => None,
    };
    let ready = db && redis.unwrap_or(true);
    let body = Readiness {
        status: if ready { "ready" } else { "unavailable" }.into(),
        checks: ReadinessChecks {
            database: up(db),
            redis: redis.map(up),
        },
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}
