//! Crenoir X MAP's route table: `/auth/*` (Google, SAML, session), `/api/health`, the
//! console API, docs. Success bodies are `{ data, meta? }`; errors `{ error: { code,
//! message, details? } }` with validation failures as 422.

pub mod auth;
pub mod health;
pub mod saml;
pub mod types;

use platform::docs;
use utoipa::{
    OpenApi as _,
    openapi::{
        OpenApi,
        security::{ApiKey, ApiKeyValue, SecurityScheme},
    },
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::Ctx;

#[derive(utoipa::OpenApi)]
#[openapi(info(
    title = "Crenoir X MAP API",
    description = "Creative-agency workspace. Sign in with Google \
    (`POST /auth/google/login` with a Sign in with Google `credential`, or an authorization `code` with PKCE) or \
    with your company's SAML identity provider (`GET /auth/saml/login`). The session lives in httpOnly cookies: \
    `access_token` (15 minutes, every path) and `refresh_token` (7 days, `/auth` only, rotated by `POST /auth/refresh`). \
    Every state-changing request authenticated by these cookies must echo the readable `csrf_token` cookie in \
    `X-CSRF-Token`. Successes are `{ data, meta? }`; errors `{ error: { code, message, details? } }`, validation \
    failures answering 422 with the offending fields in `details.fields`. In MOCK data mode the built-in providers \
    (`/auth/google/mock/*`, `/auth/saml/mock/*`) mail a sign-in link to the address (see the outbox)."
))]
struct ApiDoc;

/// Routes and their OpenAPI description, before state is attached.
pub fn routes() -> OpenApiRouter<Ctx> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::google_login))
        .routes(routes!(auth::profile))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::mock_authorize))
        .routes(routes!(auth::mock_token))
        .routes(routes!(saml::start, saml::login))
        .routes(routes!(saml::metadata))
        .routes(routes!(saml::mock_sso_page, saml::mock_sso_submit))
        .routes(routes!(saml::mock_continue))
        .routes(routes!(health::health))
}

/// Crenoir's own parts of the published document: 422 for validation failures, and the
/// cookie that carries the session.
pub fn document(api: &mut OpenApi) {
    docs::add_input_error_status(api, axum::http::StatusCode::UNPROCESSABLE_ENTITY);
    if let Some(c) = api.components.as_mut() {
        c.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("access_token"))),
        );
    }
}
