//! War Room (seeds 000 and 001): political-campaign intelligence and crisis alerts.
//! `build` opens the database, applies migrations, starts the background work (job worker,
//! monitoring scheduler) and returns the product's router.

pub mod api;
pub mod db;
pub mod integrations;
pub mod service;

use std::{ops::Deref, sync::Arc};

use axum::Router;
use platform::{
    core::Core,
    identity::{Identity, IdentityConfig, auth::HasIdentity},
    jobs::{Jobs, Worker, WorkerHandle},
    settings::ProductSettings,
};
use sea_orm_migration::{MigrationTrait, MigratorTrait};
use tokio::sync::{Mutex, watch};

pub const PRODUCT: &str = "warroom";
pub const DEFAULT_PORT: u16 = 4000;

/// Platform tables first, then War Room's own (`db::migrations`).
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all = platform::migrations::migrations();
        all.extend(db::migrations::migrations());
        all
    }
}

/// Everything a handler can reach: the platform core (database, identity, OAuth, outbox,
/// data mode, limiter), plus War Room's own services as they arrive. Cheap to clone.
#[derive(Clone)]
pub struct Ctx {
    core: Core,
    /// Live streams (WebSocket, SSE) and the publishing side of them.
    pub streams: service::stream::Streams,
    /// Origins allowed to open WebSockets (the CORS allow-list).
    pub cors_origins: Arc<Vec<String>>,
    /// The durable job queue (alert deliveries, monitoring polls) on War Room's database.
    pub jobs: Jobs,
    /// Mentionlytics, Twilio, Slack: Live or Mock by the data mode.
    pub vendors: Arc<integrations::Vendors>,
    /// Alert delivery's retry policy and the public URL Twilio signs callbacks over.
    pub alerting: Arc<service::alerting::AlertingSettings>,
    background: Arc<Background>,
}

/// The product's background work (the job worker, the monitoring scheduler): it runs while a
/// `Ctx` exists and stops with [`Ctx::shutdown`].
struct Background {
    stop: watch::Sender<bool>,
    worker: Mutex<Option<WorkerHandle>>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Ctx {
    /// Stops the background work: running jobs finish (or return to the queue after a grace
    /// period) and the scheduler stops polling. For the server's graceful shutdown.
    pub async fn shutdown(&self) {
        let _ = self.background.stop.send(true);
        let worker = self.background.worker.lock().await.take();
        if let Some(worker) = worker {
            worker.wait().await;
        }
        let tasks = std::mem::take(&mut *self.background.tasks.lock().await);
        for task in tasks {
            let _ = task.await;
        }
    }

    /// Resolves once [`Ctx::shutdown`] was called: background loops select on it.
    pub fn stopping(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut stop = self.background.stop.subscribe();
        async move {
            let _ = stop.wait_for(|s| *s).await;
        }
    }
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

/// A built product: its router (with the shared HTTP stack) and its context.
pub struct App {
    pub router: Router,
    pub ctx: Ctx,
}

/// Connects, migrates, and wires the product.
pub async fn build(settings: &ProductSettings) -> anyhow::Result<App> {
    let identity = IdentityConfig::new(PRODUCT, "War Room", settings.app_url.clone());
    let core = Core::build::<Migrator>(settings, identity).await?;
    let streams = service::stream::Streams::build(settings, core.db.clone()).await?;
    let vendors = Arc::new(integrations::Vendors::build(settings, &core)?);
    let (stop, _) = watch::channel(false);
    let ctx = Ctx {
        jobs: Jobs::new(core.db.clone()),
        core,
        streams,
        cors_origins: Arc::new(settings.cors_origins.clone()),
        vendors,
        alerting: Arc::new(service::alerting::AlertingSettings::from_settings(
            settings,
        )?),
        background: Arc::new(Background {
            stop,
            worker: Mutex::new(None),
            tasks: Mutex::new(Vec::new()),
        }),
    };
    start_background(&ctx).await;
    let router = api::router(ctx.clone(), settings);
    Ok(App { router, ctx })
}

/// Starts the job worker with every War Room job kind, and the background loops.
async fn start_background(ctx: &Ctx) {
    let worker = Worker::new(ctx.jobs.clone())
        .name(format!("{PRODUCT}-{}", uuid::Uuid::now_v7()))
        .register(
            service::delivery::DELIVER,
            service::delivery::DeliverAlert::new(ctx.clone()),
        )
        .register(
            service::ingest::POLL_JOB,
            service::ingest::PollHandler::new(ctx.clone()),
        )
        .start(ctx.stopping());
    *ctx.background.worker.lock().await = Some(worker);
    let tasks: Vec<tokio::task::JoinHandle<()>> = vec![service::ingest::spawn_scheduler(
        ctx.clone(),
        service::ingest::SCHEDULER_TICK,
    )];
    ctx.background.tasks.lock().await.extend(tasks);
}

/// Migrations only (`basalt migrate`).
pub async fn migrate(database_url: &str) -> anyhow::Result<()> {
    platform::core::migrate::<Migrator>(database_url).await
}

/// The OpenAPI document (`basalt openapi warroom`, `/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::openapi()
}

/// Creates a user from the command line (`basalt user create warroom …`): any role of the
/// table, email already verified (the operator vouches for it).
pub async fn create_user(
    settings: &ProductSettings,
    email: &str,
    password: &str,
    name: &str,
    role: &str,
) -> anyhow::Result<platform::identity::User> {
    platform::core::check_role(&service::access::ROLES, "War Room", role)?;
    let app = build(settings).await?;
    let user = platform::core::OperatorUser {
        email,
        password,
        name,
        role,
    };
    app.ctx.create_operator_user(user).await
}

/// True when the product has at least one admin (the server prints how to make one if not).
pub async fn has_admin(ctx: &Ctx) -> anyhow::Result<bool> {
    ctx.has_role(service::access::ADMIN).await
}
