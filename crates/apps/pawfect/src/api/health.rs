//! `GET /healthz`, `GET /readyz` and `GET /api/version` (seed 003 "Health & Version").

use axum::{extract::State, http::StatusCode};
use platform::extract::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::Ctx;

#[derive(Serialize, ToSchema)]
pub struct Liveness {
    /// Always `ok` while the process serves requests.
    pub status: String,
}

/// `GET /healthz`: liveness.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = Liveness)))]
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

/// `GET /readyz`: the database (and Redis, when configured) answer; 503 otherwise.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn readyz(State(ctx): State<Ctx>) -> (StatusCode, Json<Readiness>) {
    let db = platform::db::ping(&ctx.db).await.is_ok();
    let redis = match &ctx.redis_url {
        Some(url) => Some(platform::db::redis_ping(url).await),
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
    (
        if ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        Json(body),
    )
}

#[derive(Serialize, ToSchema)]
pub struct Version {
    pub name: String,
    pub version: String,
}

/// `GET /api/version`.
#[utoipa::path(get, path = "/api/version", tag = "health", responses((status = 200, body = Version)))]
pub async fn version() -> Json<Version> {
    Json(Version {
        name: crate::PRODUCT.into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}
