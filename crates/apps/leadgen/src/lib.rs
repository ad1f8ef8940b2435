//! LeadGen (seed 004): AI lead generation for organizations, with strict per-endpoint limits.
//! `LeadGen` is the product as the platform mounts it.

pub mod api;
pub mod db;
pub mod domain;
pub mod service;

use platform::{
    core::{Core, OperatorUser},
    error::ErrorFormat,
    identity::User,
    jobs::Worker,
    product::{Product, Setup},
    ratelimit::routes::RouteLimit,
    roles::RoleTable,
    settings::ProductSettings,
};
use sea_orm_migration::MigrationTrait;
use utoipa_axum::router::OpenApiRouter;

pub const PRODUCT: &str = "leadgen";

/// LeadGen, as the platform mounts it.
pub struct LeadGen;

impl Product for LeadGen {
    type Ctx = Ctx;

    const NAME: &'static str = PRODUCT;
    const DISPLAY_NAME: &'static str = "LeadGen";
    const DEFAULT_PORT: u16 = 3200;
    const API_BASE: &'static str = "/api";
    const ROLES: RoleTable = service::access::ROLES;
    const DEFAULT_ROLE: &'static str = service::access::USER;
    const ERROR_FORMAT: ErrorFormat = ErrorFormat::NestedWithRequestId;
    const RATE_LIMITS: &'static [RouteLimit] = service::access::LIMITS;

    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(db::organizations::migration::M0001Organizations),
            Box::new(db::leads::migration::M0002Leads),
        ]
    }

    fn setup(setup: &mut Setup, _: &ProductSettings) {
        setup.identity.require_verified_email = true;
    }

    async fn context(core: Core, _: &ProductSettings) -> anyhow::Result<Ctx> {
        Ok(Ctx { core })
    }

    fn routes() -> OpenApiRouter<Ctx> {
        api::routes()
    }

    /// The job worker: the mail that tells a lead's owner of a status change.
    async fn start(ctx: &Ctx) -> anyhow::Result<()> {
        let worker = Worker::new(ctx.jobs.clone())
            .name(format!("{PRODUCT}-{}", uuid::Uuid::now_v7()))
            .register(
                service::leads::NOTIFY_STATUS,
                service::leads::NotifyStatus::new(ctx.clone()),
            )
            .start(ctx.background.stopping());
        ctx.background.set_worker(worker).await;
        Ok(())
    }

    /// Every account belongs to an organization: the operator's user gets one of their own.
    async fn create_user(ctx: &Ctx, u: OperatorUser<'_>) -> anyhow::Result<User> {
        let account = service::accounts::NewAccount {
            email: u.email,
            password: u.password,
            name: u.name,
            organization_name: None,
            role: u.role,
            email_verified: true,
        };
        let (user, _) = service::accounts::create_with_organization(ctx, account)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        Ok(user)
    }
}

/// Everything a handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct Ctx {
    core: Core,
}

platform::product_context!(Ctx);
