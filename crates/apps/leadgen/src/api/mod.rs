//! LeadGen's route table, under `/api`. The rate-limit table of `service::access::LIMITS` is
//! applied to these routes by the platform (`LeadGen::RATE_LIMITS`).

pub mod auth;
pub mod extract;
pub mod leads;
pub mod types;

use utoipa::OpenApi as _;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::Ctx;

#[derive(utoipa::OpenApi)]
#[openapi(info(
    title = "LeadGen API",
    description = "AI lead generation. \
    Errors are `{ \"error\": { code, message, details, requestId } }`. Rate-limited routes answer with \
    `X-RateLimit-Limit/Remaining/Reset` and, when exceeded, 429 with `Retry-After`. Authenticate with \
    `Authorization: Bearer <accessToken>` from `/api/auth/login` or `/api/auth/google`; accounts must verify their \
    email first. In MOCK data mode Google sign-in works offline through `/api/auth/google/mock/*`, which mails a \
    sign-in link to the address (see the outbox)."
))]
struct ApiDoc;

/// Routes and their OpenAPI description, before state is attached.
pub fn routes() -> OpenApiRouter<Ctx> {
    let api = OpenApiRouter::new()
        .routes(routes!(auth::register))
        .routes(routes!(auth::login))
        .routes(routes!(auth::google))
        .routes(routes!(auth::google_mock_authorize))
        .routes(routes!(auth::google_mock_token))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::verify))
        .routes(routes!(auth::reset_password))
        .routes(routes!(auth::me))
        .routes(routes!(auth::logout))
        .routes(routes!(leads::list, leads::create))
        .routes(routes!(leads::get, leads::update));
    OpenApiRouter::with_openapi(ApiDoc::openapi()).nest("/api", api)
}
