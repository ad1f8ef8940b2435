//! A product is a [`Product`] implementation: its name and port, its migrations, roles and
//! error format, its context and routes. [`build`] wires everything every product serves
//! around those routes (the shared HTTP stack, `/openapi.json` and `/docs`, `/metrics`,
//! `/healthz` and `/readyz`, the console API, the pages mail links open), so a product crate
//! holds only its own parts.
//! The server mounts a list of products through the object-safe [`Mount`].

use std::{future::Future, marker::PhantomData, sync::Arc};

use axum::{
    Router,
    extract::State,
    http::{HeaderMap, header},
    response::{IntoResponse, Response},
    routing::get,
};
use futures_util::future::BoxFuture;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use sea_orm_migration::{MigrationTrait, MigratorTrait};
use tracing::Instrument;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::{
    console,
    cookies::CookiePolicy,
    core::{Core, CoreSpec, HasCore, OperatorUser},
    docs,
    error::ErrorFormat,
    health,
    http::{HttpOptions, serve_stack},
    identity::{IdentityConfig, User, auth::HasIdentity},
    lifecycle::Background,
    ratelimit::{self, routes::RouteLimit},
    roles::RoleTable,
    settings::ProductSettings,
    telemetry::{Gauges, ProductMetrics, resident_bytes, without_other_products},
    vendor::{BreakerState, VendorRegistry},
};

/// One product of the binary.
pub trait Product: Sized + Send + Sync + 'static {
    /// What the product's handlers reach: its `Core` and its own services.
    type Ctx: HasCore + HasIdentity + Clone + Send + Sync + 'static;

    /// Name in the CLI, in configuration keys and environment variables (`warroom`).
    const NAME: &'static str;
    /// Name in mails, authenticator apps and messages (`War Room`).
    const DISPLAY_NAME: &'static str;
    const DEFAULT_PORT: u16;
    /// Where the API lives, for the start-up banner (`/api/v1`).
    const API_BASE: &'static str;
    /// Roles and permissions; the last role is the admin.
    const ROLES: RoleTable;
    /// The role a self-registered account gets.
    const DEFAULT_ROLE: &'static str;
    const ERROR_FORMAT: ErrorFormat;

    /// The product's own migrations, run after the platform's.
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        Vec::new()
    }

    /// Adjusts the platform's defaults: identity policy, HTTP options, session cookies.
    fn setup(_setup: &mut Setup, _settings: &ProductSettings) {}

    /// Wires the product's context around its `Core`.
    fn context(
        core: Core,
        settings: &ProductSettings,
    ) -> impl Future<Output = anyhow::Result<Self::Ctx>> + Send;

    /// The product's routes with their OpenAPI description (title and description included:
    /// `OpenApiRouter::with_openapi(ApiDoc::openapi())`).
    fn routes() -> OpenApiRouter<Self::Ctx>;

    /// The product's rate limits: one row per (method, route, rule), counted before the
    /// handlers run, with `X-RateLimit-*` on every answer of a limited route
    /// (`platform::ratelimit::routes`). Declared in the product's `service/access.rs`.
    const RATE_LIMITS: &'static [RouteLimit] = &[];

    /// Last touches to the published document (a product's own status code or scheme).
    fn document(_api: &mut OpenApi) {}

    /// The vendors the product calls, for its `/metrics` (calls by outcome and breaker state
    /// per vendor). None by default.
    fn vendors(_ctx: &Self::Ctx) -> Option<VendorRegistry> {
        None
    }

    /// `basalt user create`: the product's account for an operator-vouched address.
    fn create_user(
        ctx: &Self::Ctx,
        user: OperatorUser<'_>,
    ) -> impl Future<Output = anyhow::Result<User>> + Send {
        let core = ctx.core().clone();
        async move { core.create_operator_user(user).await }
    }

    /// `basalt user delete`: removes an account the product's way. The default deletes the
    /// platform's user row; its sessions, tokens and security log go with it (and the
    /// product's rows that cascade from it).
    fn delete_user(
        ctx: &Self::Ctx,
        user: &User,
    ) -> impl Future<Output = anyhow::Result<()>> + Send {
        let (core, id) = (ctx.core().clone(), user.id);
        async move {
            core.identity
                .delete_user(id)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message))
        }
    }

    /// `basalt seed demo`: the product's demo data beyond the demo accounts (one per role,
    /// made first through [`Product::create_user`]), made through the product's own services
    /// so that its rules apply. `admin` is the demo account holding the admin role. The
    /// default adds nothing.
    fn seed_demo(
        _ctx: &Self::Ctx,
        _admin: &User,
        _progress: &dyn SeedProgress,
    ) -> impl Future<Output = anyhow::Result<()>> + Send {
        async { Ok(()) }
    }

    /// Starts the product's background work on `ctx.core().background` (job workers,
    /// schedulers); the server stops it after a graceful stop.
    fn start(_ctx: &Self::Ctx) -> impl Future<Output = anyhow::Result<()>> + Send {
        async { Ok(()) }
    }
}

/// The platform defaults a product adjusts in [`Product::setup`].
pub struct Setup {
    pub identity: IdentityConfig,
    pub http: HttpOptions,
    /// Session cookies, for products whose browser clients keep tokens in them.
    pub cookies: Option<CookiePolicy>,
}

/// Every migration of `P`: the platform's, then the product's.
pub struct Migrator<P>(PhantomData<fn() -> P>);

impl<P: Product> MigratorTrait for Migrator<P> {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all = crate::migrations::migrations();
        all.extend(P::migrations());
        all
    }
}

/// A built product: its context and its whole router.
pub struct Built<P: Product> {
    pub ctx: P::Ctx,
    pub router: Router,
}

/// Connects, migrates, wires the context, starts the background work and builds the router.
/// Runs in a `product` span: whatever the product's background work logs (job workers,
/// relays, schedulers spawned meanwhile) carries the product's name.
pub async fn build<P: Product>(settings: &ProductSettings) -> anyhow::Result<Built<P>> {
    async {
        let (ctx, http) = context::<P>(settings).await?;
        if let Err(e) = P::start(&ctx).await {
            ctx.core().background.shutdown().await;
            return Err(e);
        }
        let router = router::<P>(&ctx, &http, &settings.public_url, &settings.app_url);
        Ok(Built { ctx, router })
    }
    .instrument(tracing::info_span!("product", product = P::NAME))
    .await
}

/// The context alone, nothing started (the CLI's user and migration commands).
async fn context<P: Product>(settings: &ProductSettings) -> anyhow::Result<(P::Ctx, HttpOptions)> {
    let setup = setup::<P>(settings);
    let spec = CoreSpec {
        identity: setup.identity,
        roles: P::ROLES,
        cookies: setup.cookies,
    };
    let core = Core::build::<Migrator<P>>(settings, spec).await?;
    let background = core.background.clone();
    match P::context(core, settings).await {
        Ok(ctx) => Ok((ctx, setup.http)),
        Err(e) => {
            background.shutdown().await;
            Err(e)
        }
    }
}

fn setup<P: Product>(settings: &ProductSettings) -> Setup {
    let mut identity = IdentityConfig::new(P::NAME, P::DISPLAY_NAME, settings.app_url.clone());
    identity.default_role = P::DEFAULT_ROLE;
    identity.admin_role = P::ROLES.top().unwrap_or("admin");
    identity.refresh_rotation = settings.refresh_rotation;
    identity.sign_in = settings.sign_in.clone();
    identity.device_cookie_secure = settings.cookie_secure;
    let mut http = HttpOptions::new(P::NAME, P::ERROR_FORMAT);
    http.cors_origins = settings.cors_origins.clone();
    http.trusted_proxies = settings.trusted_proxies.clone();
    http.public_https = settings.public_url.starts_with("https://");
    let mut setup = Setup {
        identity,
        http,
        cookies: None,
    };
    P::setup(&mut setup, settings);
    setup
}

/// What the kit serves for every product, on its `Core`.
fn kit_routes() -> OpenApiRouter<Core> {
    console::routes().merge(health::routes())
}

/// The product's routes, the kit's and the docs, in the shared HTTP stack.
fn router<P: Product>(ctx: &P::Ctx, http: &HttpOptions, public_url: &str, app_url: &str) -> Router {
    let (routes, _) = P::routes().split_for_parts();
    let (kit, _) = kit_routes().split_for_parts();
    let routes = ratelimit::routes::layer(routes, ctx.core(), P::RATE_LIMITS);
    let metrics = ProductMetrics::new(P::NAME);
    let scrape = Scrape {
        core: ctx.core().clone(),
        metrics: metrics.clone(),
        token: metrics_token(P::NAME),
        vendors: P::vendors(ctx),
    };
    let app = routes
        .with_state(ctx.clone())
        .merge(kit.with_state(ctx.core().clone()))
        .merge(crate::landing::routes().with_state(ctx.core().clone()))
        .merge(docs::routes(openapi_for::<P>(public_url, app_url)))
        .route("/metrics", get(serve_metrics).with_state(Arc::new(scrape)));
    serve_stack(app, http, metrics)
}

/// What `GET /metrics` reads.
struct Scrape {
    core: Core,
    metrics: Arc<ProductMetrics>,
    /// The bearer token a scrape must present, when one is configured.
    token: Option<String>,
    vendors: Option<VendorRegistry>,
}

/// `<PRODUCT>_METRICS_TOKEN` (`WARROOM_METRICS_TOKEN`), else `METRICS_TOKEN`: when set (and
/// not empty), `/metrics` answers only a scrape presenting it as a bearer token.
fn metrics_token(product: &str) -> Option<String> {
    let own = format!("{}_METRICS_TOKEN", product.to_ascii_uppercase());
    [own.as_str(), "METRICS_TOKEN"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
}

/// `GET /metrics`: the product's own series (HTTP per route template, method and status),
/// gauges read now (database pool, jobs per queue and status, live connections, outbox,
/// process memory, vendor calls and breakers), then the process-wide series less other
/// products' samples.
async fn serve_metrics(State(s): State<Arc<Scrape>>, headers: HeaderMap) -> Response {
    if let Some(token) = &s.token {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            presented.as_bytes(),
            token.as_bytes(),
        )) {
            return crate::error::ApiError::unauthenticated("a metrics token is required")
                .into_response();
        }
    }
    let mut text = s.metrics.render();
    text.push_str(&gauges(&s.core).await);
    if let Some(vendors) = &s.vendors {
        text.push_str(&vendor_series(s.core.product, vendors));
    }
    text.push_str("# Process-wide series (shared by every product this process serves):\n");
    text.push_str(&without_other_products(
        &crate::http::metrics_handle().render(),
        s.core.product,
    ));
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// Each vendor's calls by outcome and its breaker's state (vendors without a breaker have
/// neither).
fn vendor_series(product: &'static str, vendors: &VendorRegistry) -> String {
    let with_breaker: Vec<_> = vendors
        .entries()
        .iter()
        .filter_map(|e| Some((e.name, e.breaker.as_ref()?)))
        .collect();
    let mut g = Gauges::for_product(product);
    if with_breaker.is_empty() {
        return String::new();
    }
    let calls: Vec<_> = with_breaker
        .iter()
        .flat_map(|(name, b)| {
            let c = b.calls();
            [
                ([("vendor", *name), ("outcome", "succeeded")], c.succeeded),
                ([("vendor", *name), ("outcome", "failed")], c.failed),
                (
                    [("vendor", *name), ("outcome", "short_circuited")],
                    c.short_circuited,
                ),
            ]
        })
        .collect();
    g.counters(
        "vendor_calls_total",
        "Live calls to a vendor by outcome: succeeded (the vendor answered), failed (after \
         its retries), short_circuited (refused by the open circuit, nothing sent).",
        calls.iter().map(|(l, n)| (&l[..], *n as f64)),
    );
    let states: Vec<_> = with_breaker
        .iter()
        .map(|(name, b)| {
            let state = match b.state() {
                BreakerState::Closed => 0.0,
                BreakerState::HalfOpen => 1.0,
                BreakerState::Open { .. } => 2.0,
            };
            ([("vendor", *name)], state)
        })
        .collect();
    g.family(
        "vendor_breaker_state",
        "A vendor's circuit breaker: 0 closed, 1 half-open (a trial call decides), 2 open \
         (calls fail fast).",
        states.iter().map(|(l, v)| (&l[..], *v)),
    );
    g.finish()
}

async fn gauges(core: &Core) -> String {
    let mut g = Gauges::for_product(core.product);
    if let Some(rss) = resident_bytes() {
        g.family(
            "process_resident_memory_bytes",
            "Resident memory of the process serving this product.",
            [(&[][..], rss as f64)],
        );
    }
    let (size, idle) = match core.db.get_database_backend() {
        DbBackend::Sqlite => {
            let p = core.db.get_sqlite_connection_pool();
            (p.size(), p.num_idle())
        }
        DbBackend::Postgres => {
            let p = core.db.get_postgres_connection_pool();
            (p.size(), p.num_idle())
        }
        _ => (0, 0),
    };
    let in_use = (size as usize).saturating_sub(idle);
    g.family(
        "db_pool_connections",
        "Database pool connections by state.",
        [
            (&[("state", "in_use")][..], in_use as f64),
            (&[("state", "idle")][..], idle as f64),
        ],
    );
    g.family(
        "live_connections",
        "Live connections (WebSocket, SSE) of signed-in users on this instance.",
        [(&[][..], core.connections.open() as f64)],
    );
    let backend = core.db.get_database_backend();
    let jobs = core
        .db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT queue, status, COUNT(*) FROM jobs \
             WHERE status IN ('pending', 'running', 'dead') GROUP BY queue, status",
        ))
        .await
        .unwrap_or_default();
    let jobs: Vec<(String, String, i64)> = jobs
        .iter()
        .filter_map(|r| {
            Some((
                r.try_get_by_index(0).ok()?,
                r.try_get_by_index(1).ok()?,
                r.try_get_by_index(2).ok()?,
            ))
        })
        .collect();
    let samples: Vec<[(&str, &str); 2]> = jobs
        .iter()
        .map(|(q, st, _)| [("queue", q.as_str()), ("status", st.as_str())])
        .collect();
    g.family(
        "jobs",
        "Jobs pending, running and dead, per queue.",
        samples
            .iter()
            .zip(&jobs)
            .map(|(labels, (_, _, n))| (&labels[..], *n as f64)),
    );
    let outbox = core
        .db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT COUNT(*) FROM outbox",
        ))
        .await
        .ok()
        .flatten()
        .and_then(|r| r.try_get_by_index::<i64>(0).ok());
    if let Some(n) = outbox {
        g.family(
            "outbox_messages",
            "Messages kept in the outbox.",
            [(&[][..], n as f64)],
        );
    }
    g.finish()
}

/// The published OpenAPI document of a product served on its default port on this machine
/// (`basalt openapi`): see [`openapi_at`].
pub fn openapi<P: Product>() -> OpenApi {
    openapi_at::<P>(&format!("http://localhost:{}", P::DEFAULT_PORT))
}

/// The published OpenAPI document: the product's operations and the kit's, served at
/// `server_url`, finished by [`docs::finish`] (access, error responses in the product's
/// format, summaries), then by the product's own touches.
pub fn openapi_at<P: Product>(server_url: &str) -> OpenApi {
    openapi_for::<P>(server_url, server_url)
}

/// [`openapi_at`] for a product whose frontend is at `app_url` (by default the server itself):
/// the redirect URLs of its examples name that app.
pub fn openapi_for<P: Product>(server_url: &str, app_url: &str) -> OpenApi {
    let mut api = P::routes().into_openapi();
    api.merge(kit_routes().into_openapi());
    let publish = docs::Publish {
        format: P::ERROR_FORMAT,
        server_url,
        display_name: P::DISPLAY_NAME,
        rate_limits: P::RATE_LIMITS,
        app_url,
    };
    let mut api = docs::finish(api, &publish);
    P::document(&mut api);
    api
}

/// True when someone holds the product's admin role.
pub async fn has_admin<P: Product>(ctx: &P::Ctx) -> anyhow::Result<bool> {
    let admin = P::ROLES.top().unwrap_or("admin");
    Ok(ctx.core().identity.count_with_role(admin).await? > 0)
}

/// `basalt user create`: checks the role against the product's table, then creates the
/// account the product's way.
pub async fn create_user<P: Product>(
    settings: &ProductSettings,
    user: OperatorUser<'_>,
) -> anyhow::Result<User> {
    anyhow::ensure!(
        P::ROLES.is_role(user.role),
        "unknown role {:?}; {} roles are: {}",
        user.role,
        P::DISPLAY_NAME,
        P::ROLES.roles().collect::<Vec<_>>().join(", ")
    );
    with_context::<P, _>(settings, async |ctx| P::create_user(ctx, user).await).await
}

/// Opens the product's context (nothing started), runs `f` on it, then stops the background
/// work the context began, whatever `f` answered: the shape of every operator command.
async fn with_context<P: Product, T>(
    settings: &ProductSettings,
    f: impl AsyncFnOnce(&P::Ctx) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let (ctx, _) = context::<P>(settings).await?;
    let done = f(&ctx).await;
    ctx.core().background.shutdown().await;
    done
}

/// `basalt user token`: an access token of a new session for the account at `email`.
pub async fn operator_token<P: Product>(
    settings: &ProductSettings,
    email: &str,
) -> anyhow::Result<String> {
    with_context::<P, _>(settings, async |ctx| {
        Ok(ctx.core().operator_session(email).await?.access_token)
    })
    .await
}

/// `basalt user list`: every account, oldest first.
pub async fn list_users<P: Product>(settings: &ProductSettings) -> anyhow::Result<Vec<User>> {
    with_context::<P, _>(settings, async |ctx| ctx.core().all_users().await).await
}

/// `basalt user set-password`: a new password for the account at `email`; its sessions end.
pub async fn set_password<P: Product>(
    settings: &ProductSettings,
    email: &str,
    password: &str,
) -> anyhow::Result<User> {
    with_context::<P, _>(settings, async |ctx| {
        let core = ctx.core();
        let user = core.operator_account(email).await?;
        core.identity
            .set_password_by_operator(&user, password)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        Ok(user)
    })
    .await
}

/// `basalt user delete`: ends every session of the account at `email` (so a live access
/// token stops working at once, whatever the product's deletion keeps), then deletes it the
/// product's way.
pub async fn delete_user<P: Product>(
    settings: &ProductSettings,
    email: &str,
) -> anyhow::Result<User> {
    with_context::<P, _>(settings, async |ctx| {
        let user = ctx.core().operator_account(email).await?;
        ctx.core()
            .identity
            .revoke_all_sessions(user.id, None, "user_deleted_by_operator")
            .await?;
        P::delete_user(ctx, &user).await?;
        Ok(user)
    })
    .await
}

/// What `basalt seed demo` reports while it works (a progress bar in the CLI).
pub trait SeedProgress: Send + Sync {
    /// `n` more steps are coming.
    fn add(&self, n: u64);
    /// One step done; `what` names it.
    fn step(&self, what: &str);
}

/// What `basalt seed demo` made: the demo accounts (address, role) and their password.
pub struct DemoSeeded {
    pub accounts: Vec<(String, String)>,
    pub password: String,
}

/// The address of the demo account holding `role`.
pub fn demo_email(role: &str) -> String {
    format!("demo.{role}@example.com")
}

/// `basalt seed demo`: one demo account per role (a generated password, shared by them, is
/// returned to be shown once), then the product's own demo data ([`Product::seed_demo`]).
/// Refuses a second run: the demo admin's address is taken.
pub async fn seed_demo<P: Product>(
    settings: &ProductSettings,
    progress: &dyn SeedProgress,
) -> anyhow::Result<DemoSeeded> {
    with_context::<P, _>(settings, async |ctx| seed_demo_in::<P>(ctx, progress).await).await
}

async fn seed_demo_in<P: Product>(
    ctx: &P::Ctx,
    progress: &dyn SeedProgress,
) -> anyhow::Result<DemoSeeded> {
    let top = P::ROLES.top().unwrap_or("admin");
    let marker = demo_email(top);
    anyhow::ensure!(
        ctx.core().identity.user_by_email(&marker).await?.is_none(),
        "{} already has demo data ({marker} exists); seed a fresh data directory instead",
        P::DISPLAY_NAME
    );
    let roles: Vec<&str> = P::ROLES.roles().collect();
    progress.add(roles.len() as u64);
    let password = crate::identity::crypto::random_token();
    let mut accounts = Vec::new();
    let mut admin = None;
    for role in roles {
        let email = demo_email(role);
        progress.step(&format!("account {email}"));
        let mut name = String::from("Demo ");
        name.extend(role.chars().take(1).flat_map(char::to_uppercase));
        name.push_str(role.get(1..).unwrap_or_default());
        let user = P::create_user(
            ctx,
            OperatorUser {
                email: &email,
                password: &password,
                name: &name,
                role,
            },
        )
        .await?;
        if role == top {
            admin = Some(user);
        }
        accounts.push((email, role.to_owned()));
    }
    let admin = admin.ok_or_else(|| anyhow::anyhow!("{} has no admin role", P::DISPLAY_NAME))?;
    P::seed_demo(ctx, &admin, progress).await?;
    Ok(DemoSeeded { accounts, password })
}

/// One migration and whether the database has it (`basalt migrate --status`).
pub struct MigrationState {
    pub name: String,
    pub applied: bool,
}

/// The platform's and the product's migrations, each applied or pending, read without
/// changing the database.
pub async fn migration_status<P: Product>(
    database_url: &str,
) -> anyhow::Result<Vec<MigrationState>> {
    let db = crate::db::connect(database_url).await?;
    let all = Migrator::<P>::get_migration_with_status_read_only(&db).await?;
    Ok(all
        .iter()
        .map(|m| MigrationState {
            name: m.name().to_owned(),
            applied: matches!(m.status(), sea_orm_migration::MigrationStatus::Applied),
        })
        .collect())
}

/// Applies the platform's and the product's migrations (`basalt migrate`).
pub async fn migrate<P: Product>(database_url: &str) -> anyhow::Result<()> {
    let db = crate::db::connect(database_url).await?;
    Migrator::<P>::up(&db, None).await?;
    Ok(())
}

/// A product as the server sees it: object-safe, so the binary keeps a plain list.
pub trait Mount: Send + Sync {
    fn name(&self) -> &'static str;
    fn display_name(&self) -> &'static str;
    fn default_port(&self) -> u16;
    fn api_base(&self) -> &'static str;
    fn roles(&self) -> RoleTable;
    /// The published document of the product served at `public_url`, its frontend at
    /// `app_url` (see [`openapi_for`]).
    fn openapi(&self, public_url: &str, app_url: &str) -> OpenApi;
    fn migrate<'a>(&'a self, settings: &'a ProductSettings) -> BoxFuture<'a, anyhow::Result<()>>;
    fn create_user<'a>(
        &'a self,
        settings: &'a ProductSettings,
        user: OperatorUser<'a>,
    ) -> BoxFuture<'a, anyhow::Result<User>>;
    fn operator_token<'a>(
        &'a self,
        settings: &'a ProductSettings,
        email: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<String>>;
    fn list_users<'a>(
        &'a self,
        settings: &'a ProductSettings,
    ) -> BoxFuture<'a, anyhow::Result<Vec<User>>>;
    fn set_password<'a>(
        &'a self,
        settings: &'a ProductSettings,
        email: &'a str,
        password: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<User>>;
    fn delete_user<'a>(
        &'a self,
        settings: &'a ProductSettings,
        email: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<User>>;
    fn seed_demo<'a>(
        &'a self,
        settings: &'a ProductSettings,
        progress: &'a dyn SeedProgress,
    ) -> BoxFuture<'a, anyhow::Result<DemoSeeded>>;
    fn migration_status<'a>(
        &'a self,
        settings: &'a ProductSettings,
    ) -> BoxFuture<'a, anyhow::Result<Vec<MigrationState>>>;
    /// Builds the product, its background work running.
    fn start<'a>(&'a self, settings: &'a ProductSettings)
    -> BoxFuture<'a, anyhow::Result<Running>>;
}

/// A started product, as the server serves it.
pub struct Running {
    pub router: Router,
    /// No account holds the admin role yet (the server says how to make one).
    pub needs_admin: bool,
    /// The data mode in effect: the configured one, or the one an admin switched to (stored).
    pub data_mode: crate::datamode::Mode,
    /// Stopped by the server once the listener has closed.
    pub background: Background,
}

/// `P` as a [`Mount`]: `&Kit::<WarRoom>::MOUNT`.
pub struct Kit<P>(PhantomData<fn() -> P>);

impl<P: Product> Kit<P> {
    pub const MOUNT: Self = Self(PhantomData);
}

impl<P: Product> Mount for Kit<P> {
    fn name(&self) -> &'static str {
        P::NAME
    }

    fn display_name(&self) -> &'static str {
        P::DISPLAY_NAME
    }

    fn default_port(&self) -> u16 {
        P::DEFAULT_PORT
    }

    fn api_base(&self) -> &'static str {
        P::API_BASE
    }

    fn roles(&self) -> RoleTable {
        P::ROLES
    }

    fn openapi(&self, public_url: &str, app_url: &str) -> OpenApi {
        openapi_for::<P>(public_url, app_url)
    }

    fn migrate<'a>(&'a self, settings: &'a ProductSettings) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(migrate::<P>(&settings.database_url))
    }

    fn create_user<'a>(
        &'a self,
        settings: &'a ProductSettings,
        user: OperatorUser<'a>,
    ) -> BoxFuture<'a, anyhow::Result<User>> {
        Box::pin(create_user::<P>(settings, user))
    }

    fn operator_token<'a>(
        &'a self,
        settings: &'a ProductSettings,
        email: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<String>> {
        Box::pin(operator_token::<P>(settings, email))
    }

    fn list_users<'a>(
        &'a self,
        settings: &'a ProductSettings,
    ) -> BoxFuture<'a, anyhow::Result<Vec<User>>> {
        Box::pin(list_users::<P>(settings))
    }

    fn set_password<'a>(
        &'a self,
        settings: &'a ProductSettings,
        email: &'a str,
        password: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<User>> {
        Box::pin(set_password::<P>(settings, email, password))
    }

    fn delete_user<'a>(
        &'a self,
        settings: &'a ProductSettings,
        email: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<User>> {
        Box::pin(delete_user::<P>(settings, email))
    }

    fn seed_demo<'a>(
        &'a self,
        settings: &'a ProductSettings,
        progress: &'a dyn SeedProgress,
    ) -> BoxFuture<'a, anyhow::Result<DemoSeeded>> {
        Box::pin(seed_demo::<P>(settings, progress))
    }

    fn migration_status<'a>(
        &'a self,
        settings: &'a ProductSettings,
    ) -> BoxFuture<'a, anyhow::Result<Vec<MigrationState>>> {
        Box::pin(migration_status::<P>(&settings.database_url))
    }

    fn start<'a>(
        &'a self,
        settings: &'a ProductSettings,
    ) -> BoxFuture<'a, anyhow::Result<Running>> {
        Box::pin(async move {
            let built = build::<P>(settings).await?;
            let needs_admin = !has_admin::<P>(&built.ctx).await?;
            Ok(Running {
                router: built.router,
                needs_admin,
                data_mode: built.ctx.core().data_mode.get(),
                background: built.ctx.core().background.clone(),
            })
        })
    }
}
