//! The products this binary mounts, and serving them: one listener per product, all under one
//! `platform::server::Server` (its timeouts and connection caps), graceful shutdown on
//! SIGINT/SIGTERM (in-flight requests finish, then background work stops). The start-up banner
//! is human text on stderr; stdout carries only the JSON log lines.

use platform::{
    datamode::Mode,
    product::{Mount, Running},
    server::{Server, ServerSettings},
    settings::ProductSettings,
};
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

/// How `serve` was started, for what the banner tells the operator to run next.
pub struct Start {
    /// The global flags other commands must repeat to reach the same data
    /// (`--data-dir /abs/data --config /abs/basalt.toml`).
    pub flags: String,
    /// `serve --dev`.
    pub dev: bool,
}

/// Raises the open-file limit, builds every product, binds its port, prints where it is, and
/// serves until a signal.
pub async fn serve(
    products: Vec<(&'static dyn Mount, ProductSettings)>,
    mut http: ServerSettings,
    start: Start,
) -> anyhow::Result<()> {
    // Listen for signals before anything else, so a stop that arrives during start-up is
    // honoured instead of killing the process.
    let signals = shutdown_signal()?;
    let open_files = platform::server::raise_open_file_limit();
    if let Some(limit) = open_files
        && http.fit_open_files(limit)
    {
        tracing::warn!(
            open_files = limit,
            max_connections = http.max_connections,
            "the open-file limit is low: HTTP_MAX_CONNECTIONS lowered to fit under it"
        );
    }
    eprintln!(
        "http     header timeout {:?}, keep-alive {:?}, {} connections per address, {} in total (open files: {})",
        http.header_read_timeout,
        http.keep_alive_timeout,
        http.max_connections_per_ip,
        http.max_connections,
        open_files.map_or_else(|| "unknown".to_owned(), |n| n.to_string()),
    );
    let server = Server::new(http);
    let mut servers = tokio::task::JoinSet::new();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    for (p, settings) in products {
        let running = p.start(&settings).await?;
        let listener = TcpListener::bind(settings.listen).await.map_err(|e| {
            anyhow::anyhow!("{}: cannot listen on {}: {e}", p.name(), settings.listen)
        })?;
        eprint!("{}", banner(p, &settings, &start, &running));
        let mut stop = stop_rx.clone();
        let server = server.clone();
        let trusted = settings.trusted_proxies.clone();
        servers.spawn(async move {
            let stopped = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            let served = server
                .serve(listener, running.router, &trusted, stopped)
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

/// What the server says about one product at start: where its API, docs and console are, its
/// data mode and database, who may call it from a browser, and the first-admin command when
/// no admin exists (with the flags and database settings this server was started with, so the
/// admin lands where the server looks).
fn banner(p: &dyn Mount, s: &ProductSettings, start: &Start, running: &Running) -> String {
    let name = p.name();
    let base = &s.public_url;
    let mut out = format!(
        "{name:<8} API {base}{}  docs {base}/docs  console API {base}/admin/api/\n",
        p.api_base()
    );
    let switched = if running.data_mode == s.data_mode {
        String::new()
    } else {
        format!(" (switched in the console; configured {:?})", s.data_mode)
    };
    out.push_str(&format!(
        "         data mode {:?}{switched}, database {}\n",
        running.data_mode,
        redact(&s.database_url)
    ));
    if running.needs_admin {
        let env = match crate::config::database_env(name) {
            Some(var) => format!(" (with the same {var} in the environment)"),
            None => String::new(),
        };
        out.push_str(&format!(
            "{name}: no admin yet; create one{env} with:\n  basalt {} user create {name} --email you@example.com --password '<a long passphrase>' --role {}\n",
            start.flags,
            p.roles().top().unwrap_or("admin"),
        ));
    }
    let upper = name.to_uppercase();
    if start.dev {
        out.push_str(&format!(
            "         dev mode: CORS allows {}\n",
            s.cors_origins.join(", ")
        ));
        if running.data_mode == Mode::Mock {
            out.push_str("         dev mode: each mail's subject and links are printed here\n");
        }
    } else if s.cors_origins.is_empty() {
        out.push_str(&format!(
            "         CORS: no browser origin allowed; set {upper}_CORS_ORIGINS=http://localhost:5173 (comma-separated) or serve --dev\n"
        ));
    } else {
        out.push_str(&format!(
            "         CORS allows {}\n",
            s.cors_origins.join(", ")
        ));
    }
    out
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
