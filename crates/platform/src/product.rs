//! A product is a [`Product`] implementation: its name and port, its migrations, roles and
//! error format, its context and routes. [`build`] wires everything every product serves
//! around those routes (the shared HTTP stack, `/openapi.json` and `/docs`, `/metrics`,
//! `/healthz` and `/readyz`, the console API), so a product crate holds only its own parts.
//! The server mounts a list of products through the object-safe [`Mount`].

use std::{future::Future, marker::PhantomData};

use axum::Router;
use futures_util::future::BoxFuture;
use sea_orm_migration::{MigrationTrait, MigratorTrait};
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

    /// `basalt user create`: the product's account for an operator-vouched address.
    fn create_user(
        ctx: &Self::Ctx,
        user: OperatorUser<'_>,
    ) -> impl Future<Output = anyhow::Result<User>> + Send {
        let core = ctx.core().clone();
        async move { core.create_operator_user(user).await }
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
pub async fn build<P: Product>(settings: &ProductSettings) -> anyhow::Result<Built<P>> {
    let (ctx, http) = context::<P>(settings).await?;
    if let Err(e) = P::start(&ctx).await {
        ctx.core().background.shutdown().await;
        return Err(e);
    }
    let router = router::<P>(&ctx, &http, &settings.public_url);
    Ok(Built { ctx, router })
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
fn router<P: Product>(ctx: &P::Ctx, http: &HttpOptions, public_url: &str) -> Router {
    let (routes, _) = P::routes().split_for_parts();
    let (kit, _) = kit_routes().split_for_parts();
    let routes = ratelimit::routes::layer(routes, ctx.core(), P::RATE_LIMITS);
    let app = routes
        .with_state(ctx.clone())
        .merge(kit.with_state(ctx.core().clone()))
        .merge(docs::routes(openapi_at::<P>(public_url)));
    serve_stack(app, http)
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
    let mut api = P::routes().into_openapi();
    api.merge(kit_routes().into_openapi());
    let publish = docs::Publish {
        format: P::ERROR_FORMAT,
        server_url,
        display_name: P::DISPLAY_NAME,
        rate_limits: P::RATE_LIMITS,
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
    let (ctx, _) = context::<P>(settings).await?;
    let created = P::create_user(&ctx, user).await;
    ctx.core().background.shutdown().await;
    created
}

/// `basalt user token`: an access token of a new session for the account at `email`.
pub async fn operator_token<P: Product>(
    settings: &ProductSettings,
    email: &str,
) -> anyhow::Result<String> {
    let (ctx, _) = context::<P>(settings).await?;
    let tokens = ctx.core().operator_session(email).await;
    ctx.core().background.shutdown().await;
    Ok(tokens?.access_token)
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
    fn openapi(&self) -> OpenApi;
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
    /// Builds the product, its background work running.
    fn start<'a>(&'a self, settings: &'a ProductSettings)
    -> BoxFuture<'a, anyhow::Result<Running>>;
}

/// A started product, as the server serves it.
pub struct Running {
    pub router: Router,
    /// No account holds the admin role yet (the server says how to make one).
    pub needs_admin: bool,
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

    fn openapi(&self) -> OpenApi {
        openapi::<P>()
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
                background: built.ctx.core().background.clone(),
            })
        })
    }
}
