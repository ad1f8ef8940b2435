//! The products this binary mounts, and serving them: one listener per product, graceful
//! shutdown on SIGINT/SIGTERM (in-flight requests finish).

use std::net::SocketAddr;

use futures_util::future::BoxFuture;

use platform::settings::ProductSettings;
use tokio::net::TcpListener;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Product {
    Warroom,
    Pawfect,
    Crenoir,
    Leadgen,
}

impl Product {
    pub const ALL: [Product; 4] = [
        Product::Warroom,
        Product::Pawfect,
        Product::Crenoir,
        Product::Leadgen,
    ];

    pub fn or_all(named: Vec<Product>) -> Vec<Product> {
        if named.is_empty() {
            Self::ALL.to_vec()
        } else {
            named
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Warroom => warroom::PRODUCT,
            Self::Pawfect => pawfect::PRODUCT,
            Self::Crenoir => crenoir::PRODUCT,
            Self::Leadgen => leadgen::PRODUCT,
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            Self::Warroom => warroom::DEFAULT_PORT,
            Self::Pawfect => pawfect::DEFAULT_PORT,
            Self::Crenoir => crenoir::DEFAULT_PORT,
            Self::Leadgen => leadgen::DEFAULT_PORT,
        }
    }

    fn api_base(self) -> &'static str {
        match self {
            Self::Warroom => "/api/v1",
            Self::Pawfect => "/api/v1 (web), /api (mobile)",
            Self::Crenoir => "/auth, /api",
            Self::Leadgen => "/api",
        }
    }

    pub async fn migrate(self, s: &ProductSettings) -> anyhow::Result<()> {
        match self {
            Self::Warroom => warroom::migrate(&s.database_url).await,
            Self::Pawfect => pawfect::migrate(&s.database_url).await,
            Self::Crenoir => crenoir::migrate(&s.database_url).await,
            Self::Leadgen => leadgen::migrate(&s.database_url).await,
        }
    }

    pub async fn create_user(
        self,
        s: &ProductSettings,
        email: &str,
        password: &str,
        name: &str,
        role: &str,
    ) -> anyhow::Result<String> {
        match self {
            Self::Warroom => Ok(warroom::create_user(s, email, password, name, role)
                .await?
                .id
                .to_string()),
            Self::Pawfect => Ok(pawfect::create_user(s, email, password, name, role)
                .await?
                .id
                .to_string()),
            Self::Crenoir => Ok(crenoir::create_user(s, email, password, name, role)
                .await?
                .id
                .to_string()),
            Self::Leadgen => Ok(leadgen::create_user(s, email, password, name, role)
                .await?
                .id
                .to_string()),
        }
    }

    /// The product's OpenAPI document, pretty-printed JSON.
    pub fn openapi_json(self) -> anyhow::Result<String> {
        let doc = match self {
            Self::Warroom => warroom::openapi(),
            Self::Pawfect => pawfect::openapi(),
            Self::Crenoir => crenoir::openapi(),
            Self::Leadgen => leadgen::openapi(),
        };
        Ok(doc.to_pretty_json()?)
    }
}

/// Builds every product, binds its port, prints where it is, and serves until a signal.
pub async fn serve(products: Vec<(Product, ProductSettings)>) -> anyhow::Result<()> {
    // Listen for signals before anything else, so a stop that arrives during start-up is
    // honoured instead of killing the process.
    let signals = shutdown_signal()?;
    let mut servers = tokio::task::JoinSet::new();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    for (p, settings) in products {
        // What a product does once its server has stopped (background work to finish).
        let mut after_stop: Option<BoxFuture<'static, ()>> = None;
        let (router, needs_admin) = match p {
            Product::Warroom => {
                let app = warroom::build(&settings).await?;
                let needs_admin = !warroom::has_admin(&app.ctx).await?;
                let ctx = app.ctx.clone();
                after_stop = Some(Box::pin(async move { ctx.shutdown().await }));
                (app.router, needs_admin)
            }
            Product::Pawfect => {
                let app = pawfect::build(&settings).await?;
                let needs_admin = !pawfect::has_admin(&app.ctx).await?;
                (app.router, needs_admin)
            }
            Product::Crenoir => {
                let app = crenoir::build(&settings).await?;
                let needs_admin = !crenoir::has_admin(&app.ctx).await?;
                (app.router, needs_admin)
            }
            Product::Leadgen => {
                let app = leadgen::build(&settings).await?;
                let needs_admin = !leadgen::has_admin(&app.ctx).await?;
                (app.router, needs_admin)
            }
        };
        let listener = TcpListener::bind(settings.listen).await.map_err(|e| {
            anyhow::anyhow!("{}: cannot listen on {}: {e}", p.name(), settings.listen)
        })?;
        if needs_admin {
            println!(
                "{}: no admin yet; create one with:\n  basalt user create {} --email you@example.com --password '<a long passphrase>' --role admin",
                p.name(),
                p.name()
            );
        }
        let base = &settings.public_url;
        println!(
            "{:<8} API {base}{}  docs {base}/docs  console API {base}/admin/api/",
            p.name(),
            p.api_base()
        );
        println!(
            "         data mode {:?}, database {}",
            settings.data_mode,
            redact(&settings.database_url)
        );
        let mut stop = stop_rx.clone();
        servers.spawn(async move {
            let served = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await;
            if let Some(after) = after_stop {
                after.await;
            }
            served
        });
    }
    tokio::spawn(async move {
        signals.await;
        tracing::info!("shutting down: finishing in-flight requests");
        let _ = stop_tx.send(true);
    });
    while let Some(res) = servers.join_next().await {
        res??;
    }
    Ok(())
}

/// Hides a password in a database URL before printing it.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Resolves on SIGINT or SIGTERM. The handlers are registered when this is called.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut int = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = int.recv() => {},
                _ = term.recv() => {},
            }
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
