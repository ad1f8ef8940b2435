//! PawfectMatch (seed 003): pet adoption and matching for a web and a mobile client.
//! `build` opens the database, applies migrations and returns the product's router.

pub mod api;
pub mod service;

use std::ops::Deref;

use axum::Router;
use platform::{
    cookies::CookiePolicy,
    core::Core,
    identity::{Identity, IdentityConfig, auth::HasIdentity},
    settings::ProductSettings,
};
use sea_orm_migration::{MigrationTrait, MigratorTrait};

pub const PRODUCT: &str = "pawfect";
pub const DEFAULT_PORT: u16 = 3000;

/// Platform tables first, then PawfectMatch's own (none yet).
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
    /// The web client's refresh and CSRF cookies.
    pub cookies: CookiePolicy,
    /// `REDIS_URL`, when set, is part of readiness.
    pub redis_url: Option<String>,
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
}

pub struct App {
    pub router: Router,
    pub ctx: Ctx,
}

/// Connects, migrates, and wires the product.
pub async fn build(settings: &ProductSettings) -> anyhow::Result<App> {
    let mut identity = IdentityConfig::new(PRODUCT, "PawfectMatch", settings.app_url.clone());
    identity.refresh_ttl = std::time::Duration::from_secs(30 * 24 * 3600);
    identity.default_role = service::access::USER;
    let core = Core::build::<Migrator>(settings, identity).await?;
    let ctx = Ctx {
        core,
        cookies: CookiePolicy::new(format!("{}/auth", api::WEB_BASE), settings.cookie_secure),
        redis_url: settings.redis_url.as_ref().map(|s| s.expose().to_owned()),
    };
    let router = api::router(ctx.clone(), settings);
    Ok(App { router, ctx })
}

/// Migrations only (`basalt migrate`).
pub async fn migrate(database_url: &str) -> anyhow::Result<()> {
    platform::core::migrate::<Migrator>(database_url).await
}

/// The OpenAPI document (`basalt openapi pawfect`, `/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::openapi()
}

/// Creates a user from the command line; email already verified (the operator vouches).
pub async fn create_user(
    settings: &ProductSettings,
    email: &str,
    password: &str,
    name: &str,
    role: &str,
) -> anyhow::Result<platform::identity::User> {
    platform::core::check_role(&service::access::ROLES, "PawfectMatch", role)?;
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
