//! The product kit, tried with a product of its own: `Demo` is a fifth product in a dozen lines
//! (a crate of its own would add its docs page and one line in the server's list), and gets
//! everything the kit serves: the console API, `/healthz` and `/readyz`, the OpenAPI document
//! with the error catalogue, and a data mode kept in its database and followed by every
//! instance. Runs on SQLite, and on PostgreSQL with `TEST_DATABASE_URL`; with `TEST_REDIS_URL`
//! the instances also hear each other through Redis.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed step is a failed test"
)]

mod console;
mod data_mode;
mod health;
mod sessions;

use std::{net::SocketAddr, time::Duration};

use axum::extract::State;
use platform::{
    ApiError,
    core::Core,
    error::ErrorFormat,
    extract::Json,
    identity::auth::AuthUser,
    product::Product,
    roles::{CONSOLE_READ, CONSOLE_UPDATE, Perm, RoleTable},
    settings::ProductSettings,
};
use serde::Serialize;
use testkit::{ErrorShape, TestServer};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub const THINGS_READ: Perm = Perm::new("things", "read");

/// The smallest product: one authenticated route.
pub struct Demo;

impl Product for Demo {
    type Ctx = Ctx;

    const NAME: &'static str = "demo";
    const DISPLAY_NAME: &'static str = "Demo";
    const DEFAULT_PORT: u16 = 3999;
    const API_BASE: &'static str = "/api";
    const ROLES: RoleTable = RoleTable(&[
        ("member", &[THINGS_READ]),
        ("admin", &[THINGS_READ, CONSOLE_READ, CONSOLE_UPDATE]),
    ]);
    const DEFAULT_ROLE: &'static str = "member";
    const ERROR_FORMAT: ErrorFormat = ErrorFormat::Flat;

    async fn context(core: Core, _: &ProductSettings) -> anyhow::Result<Ctx> {
        Ok(Ctx { core })
    }

    fn routes() -> OpenApiRouter<Ctx> {
        OpenApiRouter::new().routes(routes!(things))
    }
}

#[derive(Clone)]
pub struct Ctx {
    core: Core,
}

platform::product_context!(Ctx);

#[derive(Serialize, ToSchema)]
pub struct Things {
    pub things: Vec<String>,
}

/// `GET /api/things`: the demo's one resource.
#[utoipa::path(get, path = "/api/things", security(("bearer" = [])),
    responses((status = 200, description = "The things", body = Things)))]
async fn things(State(ctx): State<Ctx>, user: AuthUser) -> Result<Json<Things>, ApiError> {
    ctx.require(&user, THINGS_READ)?;
    Ok(Json(Things {
        things: vec!["a".into()],
    }))
}

pub type App = TestServer<Ctx>;

pub async fn spawn() -> App {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(adjust: impl FnOnce(&mut ProductSettings)) -> App {
    testkit::spawn_product::<Demo>(ErrorShape::Flat, adjust)
        .await
        .expect("build the demo product")
}

/// Another instance of `app`'s product: the same settings (database, secret, Redis) on a port
/// of its own, as a second process behind a load balancer would run.
pub async fn another_instance(app: &App) -> (Ctx, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut settings = app.settings.clone();
    settings.listen = addr;
    let built = platform::product::build::<Demo>(&settings).await.unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            built
                .router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    (built.ctx, format!("http://{addr}"))
}

/// An access token of a new session for a new user with `role`.
pub async fn token(app: &App, email: &str, role: &str) -> String {
    app.create_user(email, role).await;
    app.ctx.operator_session(email).await.unwrap().access_token
}

/// Polls `check` every 50 ms until it holds or `within` has passed.
pub async fn eventually(within: Duration, mut check: impl AsyncFnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
