//! PawfectMatch (seed 003): pet adoption and matching for a web and a mobile client.
//! `Pawfect` is the product as the platform mounts it.

pub mod api;
pub mod service;

use std::sync::Arc;

use axum::http::HeaderName;
use platform::{
    cookies::CookiePolicy,
    core::Core,
    error::ErrorFormat,
    product::{Product, Setup},
    ratelimit::routes::RouteLimit,
    roles::RoleTable,
    settings::ProductSettings,
};
use utoipa_axum::router::OpenApiRouter;

pub const PRODUCT: &str = "pawfect";

/// PawfectMatch, as the platform mounts it.
pub struct Pawfect;

impl Product for Pawfect {
    type Ctx = Ctx;

    const NAME: &'static str = PRODUCT;
    const DISPLAY_NAME: &'static str = "PawfectMatch";
    const DEFAULT_PORT: u16 = 3000;
    const API_BASE: &'static str = "/api/v1 (web), /api (mobile)";
    const ROLES: RoleTable = service::access::ROLES;
    const DEFAULT_ROLE: &'static str = service::access::USER;
    const ERROR_FORMAT: ErrorFormat = ErrorFormat::Flat;
    const RATE_LIMITS: &'static [RouteLimit] = service::access::LIMITS;

    fn setup(setup: &mut Setup, settings: &ProductSettings) {
        setup.identity.refresh_ttl = std::time::Duration::from_secs(30 * 24 * 3600);
        setup.http.request_id_header = HeaderName::from_static("x-correlation-id");
        setup.http.etag = true;
        setup.cookies = Some(CookiePolicy::new(
            format!("{}/auth", api::WEB_BASE),
            settings.cookie_secure,
            settings.jwt_secret.expose().as_bytes(),
        ));
    }

    async fn context(core: Core, _: &ProductSettings) -> anyhow::Result<Ctx> {
        let cookies = core
            .cookies
            .clone()
            .ok_or_else(|| anyhow::anyhow!("PawfectMatch's web client needs its cookie policy"))?;
        Ok(Ctx { core, cookies })
    }

    fn routes() -> OpenApiRouter<Ctx> {
        api::routes()
    }

    fn document(api: &mut utoipa::openapi::OpenApi) {
        api::document(api);
    }
}

/// Everything a handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct Ctx {
    core: Core,
    /// The web client's refresh and CSRF cookies.
    pub cookies: Arc<CookiePolicy>,
}

platform::product_context!(Ctx);
