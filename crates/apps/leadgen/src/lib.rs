//! LeadGen (seed 004): AI lead generation for organizations, with strict per-endpoint limits.
//! `build` opens the database, applies migrations and returns the product's router.

pub mod api;
pub mod db;
pub mod service;

use std::ops::Deref;

use axum::Router;
use platform::{
    core::Core,
    identity::{Identity, IdentityConfig, auth::HasIdentity},
    settings::ProductSettings,
};
use sea_orm_migration::{MigrationTrait, MigratorTrait};

pub const PRODUCT: &str = "leadgen";
pub const DEFAULT_PORT: u16 = 3200;

/// Platform tables first, then LeadGen's organizations and profiles.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all = platform::migrations::migrations();
        all.push(Box::new(db::organizations::migration::M0001Organizations));
        all
    }
}

/// Everything a handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct Ctx {
    core: Core,
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
    let mut identity = IdentityConfig::new(PRODUCT, "LeadGen", settings.app_url.clone());
    identity.default_role = service::access::USER;
    identity.require_verified_email = true;
    let ctx = Ctx {
        core: Core::build::<Migrator>(settings, identity).await?,
    };
    let router = api::router(ctx.clone(), settings);
    Ok(App { router, ctx })
}

/// Migrations only (`basalt migrate`).
pub async fn migrate(database_url: &str) -> anyhow::Result<()> {
    platform::core::migrate::<Migrator>(database_url).await
}

/// The OpenAPI document (`basalt openapi leadgen`, `/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::openapi()
}

/// Creates a user (with an organization of their own) from the command line; email verified.
pub async fn create_user(
    settings: &ProductSettings,
    email: &str,
    password: &str,
    name: &str,
    role: &str,
) -> anyhow::Result<platform::identity::User> {
    platform::core::check_role(&service::access::ROLES, "LeadGen", role)?;
    let app = build(settings).await?;
    let (user, _) = service::accounts::create_with_organization(
        &app.ctx, email, password, name, None, role, true,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    Ok(user)
}

/// True when the product has at least one admin.
pub async fn has_admin(ctx: &Ctx) -> anyhow::Result<bool> {
    ctx.has_role(service::access::ADMIN).await
}
