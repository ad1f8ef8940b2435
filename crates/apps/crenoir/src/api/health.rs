//! `GET /api/health`: the database answers, the data mode, and the sign-in providers' state.

use axum::{extract::State, http::StatusCode};
use platform::{
    datamode::{Mode, VendorState},
    extract::Json,
    identity::oauth::Provider,
};
use serde::Serialize;
use utoipa::ToSchema;

use super::types::{Data, data};
use crate::Ctx;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// `ok`, or `unavailable` when the database does not answer.
    pub status: String,
    /// `up` or `down`.
    pub database: String,
    pub data_mode: Mode,
    /// `mock`, `live` or `unconfigured`.
    pub google: String,
    pub saml: String,
    pub version: String,
}

fn state(s: VendorState) -> String {
    match s {
        VendorState::Mock => "mock",
        VendorState::Live => "live",
        VendorState::Unconfigured => "unconfigured",
    }
    .into()
}

/// `GET /api/health`: 200 when the database answers, 503 otherwise; answered from memory (the
/// last database ping's result, at most a second old).
#[utoipa::path(get, operation_id = "getHealth", path = "/api/health", tag = "health",
    responses((status = 200, body = Data<Health>), (status = 503, body = Data<Health>)))]
pub async fn health(State(ctx): State<Ctx>) -> (StatusCode, Json<Data<Health>>) {
    let db = ctx.db_health.status().up;
    let body = Health {
        status: if db { "ok" } else { "unavailable" }.into(),
        database: if db { "up" } else { "down" }.into(),
        data_mode: ctx.data_mode.get(),
        google: state(ctx.oauth.state(Provider::Google)),
        saml: state(ctx.saml.state(&ctx)),
        version: env!("CARGO_PKG_VERSION").into(),
    };
    let status = if db {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, data(body))
}
