//! Crenoir X MAP (seed 002): a creative-agency workspace whose people sign in with Google or
//! their company's SAML identity provider, and whose browser session lives entirely in
//! httpOnly cookies. `Crenoir` is the product as the platform mounts it.

pub mod api;
pub mod service;

use std::sync::Arc;

use axum::http::StatusCode;
use axum_extra::extract::cookie::SameSite;
use platform::{
    cookies::CookiePolicy,
    core::Core,
    error::ErrorFormat,
    product::{Product, Setup},
    ratelimit::routes::RouteLimit,
    roles::RoleTable,
    settings::ProductSettings,
};
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub const PRODUCT: &str = "crenoir";

/// Crenoir X MAP, as the platform mounts it.
pub struct Crenoir;

impl Product for Crenoir {
    type Ctx = Ctx;

    const NAME: &'static str = PRODUCT;
    const DISPLAY_NAME: &'static str = "Crenoir X MAP";
    const DEFAULT_PORT: u16 = 3100;
    const API_BASE: &'static str = "/auth, /api";
    const ROLES: RoleTable = service::access::ROLES;
    const DEFAULT_ROLE: &'static str = service::access::MEMBER;
    const ERROR_FORMAT: ErrorFormat = ErrorFormat::Nested;
    const RATE_LIMITS: &'static [RouteLimit] = service::access::LIMITS;

    fn setup(setup: &mut Setup, settings: &ProductSettings) {
        setup.http.validation_status = Some(StatusCode::UNPROCESSABLE_ENTITY);
        setup.cookies = Some(cookie_policy(settings));
    }

    async fn context(core: Core, settings: &ProductSettings) -> anyhow::Result<Ctx> {
        let cookies = core
            .cookies
            .clone()
            .ok_or_else(|| anyhow::anyhow!("Crenoir X MAP needs its cookie policy"))?;
        let public_url = settings.public_url.trim_end_matches('/').to_owned();
        let saml = service::saml::Saml::new(&settings.saml, &public_url)?;
        Ok(Ctx {
            core,
            cookies,
            saml: Arc::new(saml),
            public_url,
        })
    }

    fn routes() -> OpenApiRouter<Ctx> {
        api::routes()
    }

    fn document(api: &mut OpenApi) {
        api::document(api);
    }
}

/// Everything a handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct Ctx {
    core: Core,
    /// Access, refresh and CSRF cookies.
    pub cookies: Arc<CookiePolicy>,
    /// The SAML service provider (and, in MOCK mode, its built-in IdP).
    pub saml: Arc<service::saml::Saml>,
    /// Where this API is reachable; SAML URLs and mock-IdP links are built on it.
    pub public_url: String,
}

platform::product_context!(Ctx);

/// The cookie policy: the access token on every path, the refresh token on `/auth` only.
/// `Lax`, not `Strict`: a SAML sign-in ends with a redirect chain that starts on the IdP's
/// site, and the app's first page load after it must carry the session.
fn cookie_policy(settings: &ProductSettings) -> CookiePolicy {
    let secret = settings.jwt_secret.expose().as_bytes();
    let mut p = CookiePolicy::new("/auth", settings.cookie_secure, secret)
        .with_access_cookie("access_token");
    p.same_site = SameSite::Lax;
    p
}
