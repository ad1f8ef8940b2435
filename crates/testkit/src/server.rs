//! `spawn`: a product on a random port with its own database, and `TestServer`, the handle
//! tests speak HTTP through (`request`/`get`/`post`/`raw_request`, or a `Call` for exact headers
//! and cookies). The client follows no redirects and keeps no cookies.
//!
//! # Several instances
//!
//! With `TEST_INSTANCES=N` (N > 1; it needs `TEST_DATABASE_URL` and `TEST_REDIS_URL`), `spawn`
//! runs the product as production scales it out: N instances built from the same settings, on
//! one PostgreSQL database and one Redis under one fresh key prefix, each on its own port,
//! behind a round-robin [`Balancer`] on the address the test talks to (every request goes to
//! the next instance). Nothing a test sees may depend on which instance answered.
//! [`TestServer::ctx`] is the first instance's context; the others are in
//! [`TestServer::others`]. A test whose settings take Redis away (`redis_url = None`) or point
//! it at another server than `TEST_REDIS_URL` (a dead one, a proxy it cuts) gets one instance:
//! without the shared Redis, instances cannot share limits, streams or notices, and no
//! deployment runs several that way.

use std::{net::SocketAddr, sync::Arc};

use axum::Router;
use platform::{
    product::Product,
    secrets::Secret,
    server::{Server, ServerSettings},
    settings::ProductSettings,
};
use reqwest::Method;
use serde_json::Value;
use tokio::net::TcpListener;

use crate::{
    balancer::Balancer,
    db::TestDb,
    errors::ErrorShape,
    redis::{RemoveOnDrop, SharedRedis},
    resp::{Resp, read},
};

/// The JWT secret every test server signs with.
pub const JWT_SECRET: &str = "test-secret-0123456789abcdef0123456789";

/// A running product: its address, a client, its context `C` and the settings it was built with.
pub struct TestServer<C> {
    /// Where the test talks to the product: the product itself, or the balancer in front of
    /// its instances.
    pub addr: SocketAddr,
    /// `http://<addr>`.
    pub base: String,
    pub client: reqwest::Client,
    /// The product's context (database, identity, outbox, … through its `Core`); with several
    /// instances, the first one's. Its database and Redis are every instance's, but what it
    /// keeps in memory (a hub's subscribers, a session cache) is its instance's only.
    pub ctx: C,
    /// The instances after the first, when `TEST_INSTANCES` asks for several; else empty.
    pub others: Vec<Instance<C>>,
    /// Every instance's own address, the first one's first (with one instance, `[addr]`): for
    /// what each answers for itself alone (`/metrics`).
    pub instance_addrs: Vec<SocketAddr>,
    pub settings: ProductSettings,
    /// Where this product's errors keep their code; every `Resp` read here carries it.
    pub errors: ErrorShape,
    balancer: Option<Arc<Balancer>>,
    _db: TestDb,
    /// Declared after the database: fields drop in order, and the keys go last.
    _redis: Option<RemoveOnDrop>,
}

/// One instance of a product started several times: its own address and context.
pub struct Instance<C> {
    pub addr: SocketAddr,
    pub ctx: C,
}

/// How many instances `TEST_INSTANCES` asks for (1 when unset).
pub fn instances_wanted() -> usize {
    match std::env::var("TEST_INSTANCES") {
        Ok(v) if !v.trim().is_empty() => match v.trim().parse::<usize>() {
            Ok(n) if n >= 1 => n,
            _ => panic!("TEST_INSTANCES={v}: expected a number of instances, 1 or more"),
        },
        _ => 1,
    }
}

/// Starts the product `build` makes on `127.0.0.1:<random>` with a fresh database
/// (`<name>.db` on SQLite, or a new PostgreSQL database with `TEST_DATABASE_URL`), or, with
/// `TEST_INSTANCES`, several instances of it behind a balancer (the module's doc).
///
/// The settings are the platform defaults plus `app_url = http://app.test` and a fixed JWT
/// secret (and, with several instances, the shared Redis); `adjust` changes them before
/// `build` sees them. `build` is called once per instance and returns the router and the
/// context; its error is returned. [`spawn_product`] is this for a `Product`.
pub async fn spawn<C>(
    name: &str,
    errors: ErrorShape,
    adjust: impl FnOnce(&mut ProductSettings),
    build: impl AsyncFn(&ProductSettings) -> anyhow::Result<(Router, C)>,
) -> anyhow::Result<TestServer<C>> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let wanted = instances_wanted();
    let shared = (wanted > 1).then(|| {
        let postgres = std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty());
        match SharedRedis::from_env() {
            Some(redis) if postgres => redis,
            _ => panic!(
                "TEST_INSTANCES={wanted} runs the instances on one PostgreSQL and one Redis: \
                 set TEST_DATABASE_URL and TEST_REDIS_URL too"
            ),
        }
    });
    let db = TestDb::fresh(name).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("bound address");
    let mut settings = ProductSettings::new(addr, db.url.clone(), Secret::new(JWT_SECRET));
    settings.app_url = "http://app.test".into();
    if let Some(redis) = &shared {
        redis.apply(&mut settings);
    }
    adjust(&mut settings);
    let on_shared_redis = shared.as_ref().is_some_and(|redis| {
        settings.redis_url.as_ref().map(Secret::expose) == Some(redis.url.as_str())
    });
    let count = if on_shared_redis { wanted } else { 1 };

    let (ctx, others, instance_addrs, balancer) = if count == 1 {
        let (router, ctx) = build(&settings).await?;
        serve(listener, router, &settings);
        (ctx, Vec::new(), vec![addr], None)
    } else {
        // One at a time: the first applies the migrations, the others find them applied.
        let mut instances = Vec::with_capacity(count);
        for _ in 0..count {
            let own = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = own.local_addr().expect("bound address");
            let (router, ctx) = build(&settings).await?;
            serve(own, router, &settings);
            instances.push(Instance { addr, ctx });
        }
        let addrs: Vec<SocketAddr> = instances.iter().map(|i| i.addr).collect();
        let balancer = Balancer::start(listener, addrs.clone());
        let mut instances = instances.into_iter();
        let first = instances.next().expect("at least one instance");
        (first.ctx, instances.collect(), addrs, Some(balancer))
    };
    Ok(TestServer {
        addr,
        base: format!("http://{addr}"),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client"),
        ctx,
        others,
        instance_addrs,
        settings,
        errors,
        balancer,
        _db: db,
        _redis: shared.map(RemoveOnDrop),
    })
}

/// Serves `router` on `listener` as `basalt` serves it: the same server, its default timeouts
/// and caps.
fn serve(listener: TcpListener, router: Router, settings: &ProductSettings) {
    let server = Server::new(ServerSettings::default());
    let exempt = settings.trusted_proxies.clone();
    tokio::spawn(async move {
        server
            .serve(listener, router, &exempt, std::future::pending())
            .await
    });
}

/// Starts product `P` as the server mounts it (its routes, the kit's, the shared stack), with
/// [`spawn`]'s settings; `adjust` changes them first.
pub async fn spawn_product<P: Product>(
    errors: ErrorShape,
    adjust: impl FnOnce(&mut ProductSettings),
) -> anyhow::Result<TestServer<P::Ctx>> {
    let build = async |s: &ProductSettings| {
        platform::product::build::<P>(s)
            .await
            .map(|b| (b.router, b.ctx))
    };
    spawn(P::NAME, errors, adjust, build).await
}

impl<C> TestServer<C> {
    /// How many instances answer at [`TestServer::addr`].
    pub fn instance_count(&self) -> usize {
        1 + self.others.len()
    }

    /// Every instance's context, the first one's first.
    pub fn contexts(&self) -> impl Iterator<Item = &C> {
        std::iter::once(&self.ctx).chain(self.others.iter().map(|i| &i.ctx))
    }

    /// With several instances, how many requests the balancer has sent each; else `None`.
    pub fn served(&self) -> Option<Vec<usize>> {
        self.balancer.as_ref().map(|b| b.served())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Reads a response made with `self.client` directly (custom headers, other schemes).
    pub async fn read(&self, res: reqwest::Response) -> Resp {
        read(res, self.errors).await
    }

    /// Starts a request to `path` that carries exactly what the test adds.
    pub fn call(&self, method: Method, path: &str) -> Call<'_> {
        Call {
            client: &self.client,
            url: self.url(path),
            errors: self.errors,
            method,
            headers: Vec::new(),
            cookies: Vec::new(),
            body: None,
        }
    }

    /// Sends a request; `body` is sent as JSON when present.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut c = self.call(method, path);
        if let Some(t) = token {
            c = c.bearer(t);
        }
        if let Some(b) = body {
            c = c.json(b);
        }
        c.send().await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.request(Method::POST, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Resp {
        self.request(Method::DELETE, path, token, None).await
    }

    /// Sends `body` as raw bytes with exactly the given headers (plus a Bearer token when given).
    pub async fn raw_request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Resp {
        let mut c = self.call(method, path);
        if let Some(t) = token {
            c = c.bearer(t);
        }
        for (k, v) in headers {
            c = c.header(k, v);
        }
        if let Some(b) = body {
            c = c.raw(b);
        }
        c.send().await
    }

    /// A JSON POST with extra headers (`X-Forwarded-For`, `X-Request-Id`).
    pub async fn post_with(&self, path: &str, headers: &[(&str, &str)], body: Value) -> Resp {
        let mut c = self.call(Method::POST, path);
        for (k, v) in headers {
            c = c.header(k, v);
        }
        c.json(body).send().await
    }
}

/// A request under construction: exactly the headers, cookies and body the test adds.
pub struct Call<'a> {
    client: &'a reqwest::Client,
    url: String,
    errors: ErrorShape,
    method: Method,
    headers: Vec<(String, String)>,
    cookies: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

impl Call<'_> {
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn cookie(mut self, name: &str, value: &str) -> Self {
        self.cookies.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The `refresh_token` cookie, when `Some`.
    pub fn refresh_cookie(self, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.cookie("refresh_token", v),
            None => self,
        }
    }

    /// The `csrf_token` cookie and the `X-CSRF-Token` header, each when `Some`.
    pub fn csrf(self, cookie: Option<&str>, header: Option<&str>) -> Self {
        let s = match cookie {
            Some(v) => self.cookie("csrf_token", v),
            None => self,
        };
        match header {
            Some(v) => s.header("x-csrf-token", v),
            None => s,
        }
    }

    /// `body` as JSON, with `Content-Type: application/json`.
    pub fn json(mut self, body: Value) -> Self {
        self.headers
            .push(("content-type".into(), "application/json".into()));
        self.body = Some(body.to_string().into_bytes());
        self
    }

    /// `body` as it is, with no content type unless the test adds one.
    pub fn raw(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    pub async fn send(self) -> Resp {
        let mut req = self.client.request(self.method, self.url);
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        if !self.cookies.is_empty() {
            let line = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            req = req.header("cookie", line);
        }
        if let Some(b) = self.body {
            req = req.body(b);
        }
        read(req.send().await.expect("request sent"), self.errors).await
    }
}
