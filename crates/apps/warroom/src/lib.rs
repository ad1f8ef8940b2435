//! War Room (seeds 000 and 001): political-campaign intelligence and crisis alerts.
//! `WarRoom` is the product as the platform mounts it; its background work (the job worker,
//! the monitoring scheduler) starts with it.

pub mod api;
pub mod db;
mod demo;
pub mod domain;
pub mod integrations;
pub mod service;

use std::sync::Arc;

use platform::{
    core::Core, error::ErrorFormat, jobs::Worker, product::Product, ratelimit::routes::RouteLimit,
    roles::RoleTable, settings::ProductSettings,
};
use sea_orm_migration::MigrationTrait;
use utoipa_axum::router::OpenApiRouter;

pub const PRODUCT: &str = "warroom";

/// War Room, as the platform mounts it.
pub struct WarRoom;

impl Product for WarRoom {
    type Ctx = Ctx;

    const NAME: &'static str = PRODUCT;
    const DISPLAY_NAME: &'static str = "War Room";
    const DEFAULT_PORT: u16 = 4000;
    const API_BASE: &'static str = "/api/v1";
    const ROLES: RoleTable = service::access::ROLES;
    const DEFAULT_ROLE: &'static str = service::access::VIEWER;
    const ERROR_FORMAT: ErrorFormat = ErrorFormat::Flat;
    const RATE_LIMITS: &'static [RouteLimit] = service::access::LIMITS;

    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        db::migrations::migrations()
    }

    async fn context(core: Core, settings: &ProductSettings) -> anyhow::Result<Ctx> {
        let streams = service::stream::Streams::build(settings, &core).await?;
        let vendors = Arc::new(integrations::Vendors::build(settings, &core)?);
        let alerting = service::alerts::AlertingSettings::from_settings(settings)?;
        Ok(Ctx {
            core,
            streams,
            cors_origins: Arc::new(settings.cors_origins.clone()),
            vendors,
            alerting: Arc::new(alerting),
        })
    }

    fn routes() -> OpenApiRouter<Ctx> {
        api::routes()
    }

    fn vendors(ctx: &Ctx) -> Option<platform::vendor::VendorRegistry> {
        Some(ctx.vendors.registry.clone())
    }

    /// Campaigns, monitoring, mentions and alerts, as the demo admin (`demo.rs`).
    async fn seed_demo(
        ctx: &Ctx,
        admin: &platform::identity::User,
        progress: &dyn platform::product::SeedProgress,
    ) -> anyhow::Result<()> {
        demo::seed(ctx, admin, progress).await
    }

    /// The event log's relay, the job worker with every War Room job kind, and the
    /// monitoring scheduler.
    async fn start(ctx: &Ctx) -> anyhow::Result<()> {
        ctx.streams.log().start(&ctx.background).await?;
        let worker = Worker::new(ctx.jobs.clone())
            .name(format!("{PRODUCT}-{}", uuid::Uuid::now_v7()))
            .register(
                service::deliveries::DELIVER,
                service::deliveries::DeliverAlert::new(ctx.clone()),
            )
            .register(
                service::ingest::POLL_JOB,
                service::ingest::PollHandler::new(ctx.clone()),
            )
            .start(ctx.background.stopping());
        ctx.background.set_worker(worker).await;
        service::ingest::spawn_scheduler(ctx.clone(), service::ingest::SCHEDULER_TICK);
        Ok(())
    }
}

/// Everything a handler can reach: the platform core (database, identity, OAuth, outbox,
/// jobs, data mode, limiter, background work), plus War Room's own services. Cheap to clone.
#[derive(Clone)]
pub struct Ctx {
    core: Core,
    /// Live streams (WebSocket, SSE) and the publishing side of them.
    pub streams: service::stream::Streams,
    /// Origins allowed to open WebSockets (the CORS allow-list).
    pub cors_origins: Arc<Vec<String>>,
    /// Mentionlytics, Twilio, Slack: Live or Mock by the data mode.
    pub vendors: Arc<integrations::Vendors>,
    /// Alert delivery's retry policy and the public URL Twilio signs callbacks over.
    pub alerting: Arc<service::alerts::AlertingSettings>,
}

platform::product_context!(Ctx);
