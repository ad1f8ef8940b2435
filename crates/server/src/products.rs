//! The products this binary mounts, and serving them: one listener per product, graceful
//! shutdown on SIGINT/SIGTERM (in-flight requests finish, then background work stops).

use std::net::SocketAddr;

use platform::{product::Mount, settings::ProductSettings};
use tokio::net::TcpListener;

/// Every product of the binary. Adding one is its crate, a line here, and its docs page.
pub static PRODUCTS: &[&dyn Mount] = &[
    &platform::product::Kit::<warroom::WarRoom>::MOUNT,
    &platform::product::Kit::<pawfect::Pawfect>::MOUNT,
    &platform::product::Kit::<crenoir::Crenoir>::MOUNT,
    &platform::product::Kit::<leadgen::LeadGen>::MOUNT,
];

/// The product called `name`.
pub fn find(name: &str) -> anyhow::Result<&'static dyn Mount> {
    PRODUCTS
        .iter()
        .copied()
        .find(|p| p.name() == name)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "unknown product {name:?}; products are: {}",
                names().join(", ")
            )
        })
}

pub fn names() -> Vec<&'static str> {
    PRODUCTS.iter().map(|p| p.name()).collect()
}

/// The named products, or all of them when none is named.
pub fn or_all(named: &[String]) -> anyhow::Result<Vec<&'static dyn Mount>> {
    if named.is_empty() {
        return Ok(PRODUCTS.to_vec());
    }
    named.iter().map(|n| find(n)).collect()
}

/// Builds every product, binds its port, prints where it is, and serves until a signal.
pub async fn serve(products: Vec<(&'static dyn Mount, ProductSettings)>) -> anyhow::Result<()> {
    // Listen for signals before anything else, so a stop that arrives during start-up is
    // honoured instead of killing the process.
    let signals = shutdown_signal()?;
    let mut servers = tokio::task::JoinSet::new();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    for (p, settings) in products {
        let running = p.start(&settings).await?;
        let listener = TcpListener::bind(settings.listen).await.map_err(|e| {
            anyhow::anyhow!("{}: cannot listen on {}: {e}", p.name(), settings.listen)
        })?;
        if running.needs_admin {
            println!(
                "{}: no admin yet; create one with:\n  basalt user create {} --email you@example.com --password '<a long passphrase>' --role {}",
                p.name(),
                p.name(),
                p.roles().top().unwrap_or("admin"),
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
                running
                    .router
                    .into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await;
            running.background.shutdown().await;
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
