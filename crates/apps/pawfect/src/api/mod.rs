//! PawfectMatch's route table. The auth routes are mounted twice: `/api/v1` for the web client
//! and `/api` for the mobile client (see `types::Client`); health and version sit at the root.

pub mod auth;
pub mod health;
pub mod types;

use axum::Extension;
use utoipa::{OpenApi as _, openapi::OpenApi};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::Ctx;
use types::Client;

pub const WEB_BASE: &str = "/api/v1";
pub const MOBILE_BASE: &str = "/api";

#[derive(utoipa::OpenApi)]
#[openapi(info(
    title = "PawfectMatch API",
    description = "Pet adoption and matching. \
    The same endpoints are mounted under `/api/v1` for the web client and `/api` for the mobile \
    client. Web: the refresh token lives only in the httpOnly `refresh_token` cookie, and cookie-authenticated \
    requests (refresh, logout) must send the session's CSRF token in `X-CSRF-Token`: `csrfToken` of the \
    latest sign-in or refresh answer (also the readable `csrf_token` cookie). Mobile: login and refresh \
    return `refreshToken` in the body and refresh takes it from the body. Errors are `{ code, message, details }`; \
    every response carries `X-Correlation-ID`; GET responses carry an `ETag` (send `If-None-Match` for a 304)."
))]
struct ApiDoc;

fn auth_routes() -> OpenApiRouter<Ctx> {
    OpenApiRouter::new()
        .routes(routes!(auth::register))
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::forgot_password))
        .routes(routes!(auth::reset_password))
        .routes(routes!(auth::verify_email))
}

/// The mobile mount's operations are the web mount's handlers: their ids get `Mobile`, so that
/// each operation of the document has its own (`signIn`, `signInMobile`).
pub fn document(api: &mut OpenApi) {
    let web = format!("{WEB_BASE}/");
    let mut web_ids = std::collections::HashSet::new();
    platform::docs::for_each_operation(api, |path, _, op| {
        if path.starts_with(&web) {
            web_ids.extend(op.operation_id.clone());
        }
    });
    platform::docs::for_each_operation(api, |path, _, op| {
        if let Some(id) = op.operation_id.as_mut()
            && !path.starts_with(&web)
            && web_ids.contains(id)
        {
            id.push_str("Mobile");
        }
    });
}

/// Routes and their OpenAPI description, before state is attached.
pub fn routes() -> OpenApiRouter<Ctx> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest(WEB_BASE, auth_routes().layer(Extension(Client::Web)))
        .nest(MOBILE_BASE, auth_routes().layer(Extension(Client::Mobile)))
        .routes(routes!(health::version))
}
