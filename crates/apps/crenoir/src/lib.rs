//! Crenoir X MAP (seed 002): a creative-agency workspace whose people sign in with Google or
//! their company's SAML identity provider, and whose browser session lives entirely in
//! httpOnly cookies. `build` opens the database, applies migrations and returns the router.

pub mod api;
pub mod service;

use std::{ops::Deref, sync::Arc};

use axum::Router;
use axum_extra::extract::cookie::SameSite;
use platform::{
    cookies::CookiePolicy,
    core::Core,
    identity::{Identity, IdentityConfig, auth::HasIdentity},
    settings::ProductSettings,
};
use sea_orm_migration::{MigrationTrait, MigratorTrait};

pub const PRODUCT: &str = "crenoir";
pub const DEFAULT_PORT: u16 = 3100;

/// Platform tables first, then Crenoir's own (none yet).
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        platform::migrations::migrations()
    }
}

/// Everything a handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct Ctx {
    core: Core,
    /// Access, refresh and CSRF cookies.
    pub cookies: CookiePolicy,
    /// The SAML service provider (and, in MOCK mode, its built-in IdP).
    pub saml: Arc<service::saml::Saml>,
    /// Where this API is reachable; SAML URLs and mock-IdP links are built on it.
    pub public_url: String,
}

impl Deref for Ctx {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.core
    }
}

impl HasIdentity for Ctx {
    fn identity(&self) -> &Identity {
        &self.core.identity
    }

    fn session_cookies(&self) -> Option<&CookiePolicy> {
        Some(&self.cookies)
    }
}

pub struct App {
    pub router: Router,
    pub ctx: Ctx,
}

/// The cookie policy: the access token on every path, the refresh token on `/auth` only.
/// `Lax`, not `Strict`: a SAML sign-in ends with a redirect chain that starts on the IdP's
/// site, and the app's first page load after it must carry the session.
fn cookie_policy(secure: bool) -> CookiePolicy {
    let mut p = CookiePolicy::new("/auth", secure).with_access_cookie("access_token");
    p.same_site = SameSite::Lax;
    p
}

/// Connects, migrates, and wires the product.
pub async fn build(settings: &ProductSettings) -> anyhow::Result<App> {
    let mut identity = IdentityConfig::new(PRODUCT, "Crenoir X MAP", settings.app_url.clone());
    identity.default_role = service::access::MEMBER;
    let core = Core::build::<Migrator>(settings, identity).await?;
    let public_url = settings.public_url.trim_end_matches('/').to_owned();
    let saml = service::saml::Saml::new(&settings.saml, &public_url)?;
    let ctx = Ctx {
        core,
        cookies: cookie_policy(settings.cookie_secure),
        saml: Arc::new(saml),
        public_url,
    };
    let router = api::router(ctx.clone(), settings);
    Ok(App { router, ctx })
}

/// Migrations only (`basalt migrate`).
pub async fn migrate(database_url: &str) -> anyhow::Result<()> {
    platform::core::migrate::<Migrator>(database_url).await
}

/// The OpenAPI document (`basalt openapi crenoir`, `/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::openapi()
}

/// Creates a user from the command line. Crenoir has no password sign-in, so the password is
/// kept only for the record of `basalt user create`; the person signs in with Google or SAML
/// under this address, which links to this account (the operator vouched for it).
pub async fn create_user(
    settings: &ProductSettings,
    email: &str,
    password: &str,
    name: &str,
    role: &str,
) -> anyhow::Result<platform::identity::User> {
    platform::core::check_role(&service::access::ROLES, "Crenoir X MAP", role)?;
    let app = build(settings).await?;
    let user = platform::core::OperatorUser {
        email,
        password,
        name,
        role,
    };
    app.ctx.create_operator_user(user).await
}

/// True when the product has at least one admin.
pub async fn has_admin(ctx: &Ctx) -> anyhow::Result<bool> {
    ctx.has_role(service::access::ADMIN).await
}
