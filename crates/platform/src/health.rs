//! `GET /healthz` (liveness, from memory) and `GET /readyz` (the database and, when
//! configured, Redis answer), served by every product for load balancers and orchestrators.
//! Products keep their contracts' own health endpoints beside these; where those report the
//! database, they read [`DbHealth`]: a status at most a second old, refreshed off the request
//! path, so a load balancer polling them never waits on (or loads) the database.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{extract::State, http::StatusCode};
use sea_orm::DatabaseConnection;
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

/// How old a cached database status may be before a request starts a new ping.
pub const DB_STATUS_MAX_AGE: Duration = Duration::from_secs(1);

/// The database's last known state, for health answers that report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DbStatus {
    pub up: bool,
    /// How long the last ping took.
    pub latency_ms: u64,
}

/// A database status kept in memory: [`DbHealth::status`] answers at once with the last one
/// and, when it is older than [`DB_STATUS_MAX_AGE`], starts one ping in the background (never
/// more than one at a time), so the next caller sees it.
#[derive(Clone)]
pub struct DbHealth(Arc<DbHealthInner>);

struct DbHealthInner {
    db: DatabaseConnection,
    last: Mutex<(DbStatus, Instant)>,
    pinging: AtomicBool,
}

impl DbHealth {
    /// Pings once now, so the first answer is a measured one.
    pub async fn new(db: DatabaseConnection) -> Self {
        let status = ping(&db).await;
        Self(Arc::new(DbHealthInner {
            db,
            last: Mutex::new((status, Instant::now())),
            pinging: AtomicBool::new(false),
        }))
    }

    /// The last status; a stale one also starts a refresh (outside a tokio runtime, none).
    pub fn status(&self) -> DbStatus {
        let (status, at) = *self.0.last.lock().unwrap_or_else(|p| p.into_inner());
        if at.elapsed() > DB_STATUS_MAX_AGE
            && let Ok(rt) = tokio::runtime::Handle::try_current()
            && !self.0.pinging.swap(true, Ordering::AcqRel)
        {
            let this = self.clone();
            rt.spawn(async move {
                this.refresh().await;
                this.0.pinging.store(false, Ordering::Release);
            });
        }
        status
    }

    /// Pings now and keeps the answer.
    pub async fn refresh(&self) -> DbStatus {
        let status = ping(&self.0.db).await;
        *self.0.last.lock().unwrap_or_else(|p| p.into_inner()) = (status, Instant::now());
        status
    }
}

async fn ping(db: &DatabaseConnection) -> DbStatus {
    let start = Instant::now();
    // A database that does not answer within two seconds counts as down.
    let up = matches!(
        tokio::time::timeout(Duration::from_secs(2), crate::db::ping(db)).await,
        Ok(Ok(()))
    );
    DbStatus {
        up,
        latency_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}
