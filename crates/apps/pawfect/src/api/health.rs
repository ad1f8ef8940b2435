//! `GET /api/version` (seed 003 "Health & Version"); `/healthz` and `/readyz` are the
//! platform's (`platform::health`), served at the root as the seed has them.

use platform::extract::Json;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct Version {
    pub name: String,
    pub version: String,
}

/// `GET /api/version`.
#[utoipa::path(get, operation_id = "getVersion", path = "/api/version", tag = "health", responses((status = 200, body = Version)))]
pub async fn version() -> Json<Version> {
    Json(Version {
        name: crate::PRODUCT.into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}
