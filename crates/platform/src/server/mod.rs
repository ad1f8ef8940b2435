//! The HTTP server every product is served by (the `basalt` binary and the test harness): our
//! own accept loop over hyper's connection builder, so that no connection can hold a socket
//! for free. A connection must finish its request head within the header read timeout, an idle
//! keep-alive connection is closed after the keep-alive timeout, connections are capped per
//! client address and in total, and a stop lets in-flight requests finish (within a grace).
//!
//! Upgraded connections (WebSocket) and streaming responses (SSE) count against the same caps
//! for as long as their socket is open, but the idle rules here never touch them: a request in
//! flight (a streaming body included) is not idle, and an upgraded socket belongs to its
//! handler, which has its own heartbeats and idle timeout (`realtime::StreamConfig`).

mod conn;
mod gate;

use std::{
    future::Future,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::Context;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use serde::Deserialize;
use tokio::{net::TcpListener, sync::watch};

use crate::http::{MAX_HEADER_BYTES, MAX_HEADERS};

use self::gate::Gate;

/// How the server treats connections: one value for the whole process, every listener.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerSettings {
    /// A connection must deliver a complete request head within this long: counted from the
    /// accept for its first request, from the head's first byte for later ones. A connection
    /// that sends nothing, or stalls inside its headers (slowloris), is closed.
    pub header_read_timeout: Duration,
    /// A keep-alive connection with no request in flight and nothing arriving is closed after
    /// this long.
    pub keep_alive_timeout: Duration,
    /// Connections open at once from one client address (an IPv6 /64 counts as one address).
    /// Over it, a new connection is closed as soon as it is accepted. Trusted proxies are exempt.
    pub max_connections_per_ip: usize,
    /// Connections open at once in the process. Over it, new connections wait in the listen
    /// queue until one closes.
    pub max_connections: usize,
    /// On stop: how long in-flight requests (and open streams) get to finish before their
    /// connections are dropped.
    pub shutdown_grace: Duration,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            keep_alive_timeout: Duration::from_secs(60),
            max_connections_per_ip: 256,
            max_connections: 10_000,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// `[http]` in `basalt.toml`; every key is optional.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerFile {
    pub header_read_timeout_secs: Option<f64>,
    pub keep_alive_timeout_secs: Option<f64>,
    pub max_connections_per_ip: Option<usize>,
    pub max_connections: Option<usize>,
    pub shutdown_grace_secs: Option<f64>,
}

/// Files the process keeps for itself (database pools, Redis, logs, outbound HTTP) when the
/// connection cap is fitted to the open-file limit.
pub const RESERVED_FILES: u64 = 256;

impl ServerSettings {
    /// The defaults, then `file`, then the environment (`env` looks a variable up):
    /// `HTTP_HEADER_READ_TIMEOUT_SECS`, `HTTP_KEEP_ALIVE_TIMEOUT_SECS`, `HTTP_SHUTDOWN_GRACE_SECS`
    /// (seconds, fractions allowed), `HTTP_MAX_CONNECTIONS_PER_IP`, `HTTP_MAX_CONNECTIONS`.
    pub fn resolve(
        file: &ServerFile,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let mut s = Self::default();
        let secs = |name: &str, from_file: Option<f64>, default: Duration| {
            let v = match env(name) {
                Some(v) => v.trim().parse::<f64>().ok(),
                None => Some(from_file.unwrap_or(default.as_secs_f64())),
            };
            v.filter(|v| v.is_finite() && *v > 0.0 && *v <= 86_400.0)
                .map(Duration::from_secs_f64)
                .with_context(|| {
                    format!("{name} must be a number of seconds above 0 (at most a day)")
                })
        };
        let count = |name: &str, from_file: Option<usize>, default: usize| {
            let v = match env(name) {
                Some(v) => v.trim().parse::<usize>().ok(),
                None => Some(from_file.unwrap_or(default)),
            };
            v.filter(|v| *v >= 1).with_context(|| {
                format!("{name} must be a whole number of connections, at least 1")
            })
        };
        s.header_read_timeout = secs(
            "HTTP_HEADER_READ_TIMEOUT_SECS",
            file.header_read_timeout_secs,
            s.header_read_timeout,
        )?;
        s.keep_alive_timeout = secs(
            "HTTP_KEEP_ALIVE_TIMEOUT_SECS",
            file.keep_alive_timeout_secs,
            s.keep_alive_timeout,
        )?;
        s.shutdown_grace = secs(
            "HTTP_SHUTDOWN_GRACE_SECS",
            file.shutdown_grace_secs,
            s.shutdown_grace,
        )?;
        s.max_connections_per_ip = count(
            "HTTP_MAX_CONNECTIONS_PER_IP",
            file.max_connections_per_ip,
            s.max_connections_per_ip,
        )?;
        s.max_connections = count(
            "HTTP_MAX_CONNECTIONS",
            file.max_connections,
            s.max_connections,
        )?;
        Ok(s)
    }

    /// Lowers `max_connections` to what an open-file limit of `open_files` leaves after
    /// [`RESERVED_FILES`], so the process runs out of connection slots before it runs out of
    /// file handles. Returns true when it had to.
    pub fn fit_open_files(&mut self, open_files: u64) -> bool {
        let room = open_files.saturating_sub(RESERVED_FILES).max(16);
        let room = usize::try_from(room).unwrap_or(usize::MAX);
        if self.max_connections > room {
            self.max_connections = room;
            return true;
        }
        false
    }
}

/// Raises the soft open-file limit to the hard limit, and returns the limit now in force
/// (`None` where the platform has no such limit or will not say).
pub fn raise_open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        match rlimit::increase_nofile_limit(u64::MAX) {
            Ok(n) => Some(n),
            Err(e) => {
                tracing::warn!(error = %e, "could not raise the open-file limit");
                rlimit::Resource::NOFILE.get().ok().map(|(soft, _)| soft)
            }
        }
    }
    #[cfg(not(unix))]
    None
}

/// hyper's own limits, set above the ones `http::request_limits` enforces, so a request over
/// ours reaches the product and gets its JSON error; past these hyper answers by itself.
const HYPER_MAX_HEADERS: usize = 2 * MAX_HEADERS;
const HYPER_H2_MAX_HEADER_LIST: u32 = 2 * MAX_HEADER_BYTES as u32;

/// Serves routers on listeners under one set of [`ServerSettings`]. The connection caps are
/// shared by every listener of one `Server` (clones share them too).
#[derive(Clone)]
pub struct Server {
    settings: Arc<ServerSettings>,
    gate: Arc<Gate>,
    builder: Arc<hyper_util::server::conn::auto::Builder<TokioExecutor>>,
}

impl Server {
    pub fn new(settings: ServerSettings) -> Self {
        let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
        // The connection task enforces the header and keep-alive timeouts itself (hyper's
        // header timer also runs while a keep-alive connection waits, which would make the
        // keep-alive timeout the header timeout); hyper's stays on as a backstop.
        let backstop = settings
            .header_read_timeout
            .max(settings.keep_alive_timeout)
            + Duration::from_secs(1);
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(backstop)
            .max_headers(HYPER_MAX_HEADERS)
            .keep_alive(true);
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_header_list_size(HYPER_H2_MAX_HEADER_LIST)
            // WebSockets over HTTP/2 (RFC 8441), as axum::serve offers them.
            .enable_connect_protocol();
        Self {
            gate: Arc::new(Gate::new(
                settings.max_connections,
                settings.max_connections_per_ip,
            )),
            settings: Arc::new(settings),
            builder: Arc::new(builder),
        }
    }

    pub fn settings(&self) -> &ServerSettings {
        &self.settings
    }

    /// Connections open right now, on every listener of this server.
    pub fn open_connections(&self) -> usize {
        self.gate.open()
    }

    /// Serves `router` on `listener` until `shutdown` resolves, then stops accepting, lets
    /// in-flight requests finish (at most [`ServerSettings::shutdown_grace`]) and returns.
    /// Handlers see the peer as `ConnectInfo<SocketAddr>`. Connections from `exempt` addresses
    /// (trusted proxies, which carry many clients) are not capped per address.
    pub async fn serve(
        &self,
        listener: TcpListener,
        router: Router,
        exempt: &[IpAddr],
        shutdown: impl Future<Output = ()> + Send,
    ) -> std::io::Result<()> {
        let exempt: Vec<IpAddr> = exempt.iter().map(|ip| gate::client_key(*ip)).collect();
        let (stop_tx, stop_rx) = watch::channel(false);
        let (open_tx, open_rx) = watch::channel(());
        let limits = conn::Limits::from(&*self.settings);
        let refusals = Throttle::default();
        let accept_errors = Throttle::default();
        tokio::pin!(shutdown);
        loop {
            let slot = tokio::select! {
                slot = self.gate.slot() => slot,
                () = &mut shutdown => break,
            };
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        accept_failed(&e, &accept_errors).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let Some(permit) = self.gate.admit(slot, peer.ip(), &exempt) else {
                metrics::counter!("http_connections_refused_total", "reason" => "per_address")
                    .increment(1);
                refusals.warn(|n| {
                    tracing::warn!(peer = %peer.ip(), refused = n, "too many connections from one address; closing new ones");
                });
                drop(stream);
                continue;
            };
            let _ = stream.set_nodelay(true);
            let task = conn::Connection {
                peer,
                permit,
                limits,
                router: router.clone(),
                builder: self.builder.clone(),
                stop: stop_rx.clone(),
                open: open_rx.clone(),
            };
            tokio::spawn(task.run(stream));
        }
        drop(listener);
        let _ = stop_tx.send(true);
        drop(open_rx);
        let finished = tokio::time::timeout(self.settings.shutdown_grace, open_tx.closed()).await;
        if finished.is_err() {
            tracing::warn!(
                grace_secs = self.settings.shutdown_grace.as_secs_f64(),
                "connections still busy after the shutdown grace; closing them"
            );
        }
        // Dropping `stop_tx` tells the connections still open to close now.
        drop(stop_tx);
        Ok(())
    }
}

/// A failed `accept`: a connection that died in the queue is nothing; anything else (out of
/// file handles above all) is logged, at most once a second, and waited out briefly so the
/// loop does not spin.
async fn accept_failed(e: &std::io::Error, throttle: &Throttle) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    metrics::counter!("http_accept_errors_total").increment(1);
    throttle.warn(|n| tracing::error!(error = %e, errors = n, "accept error"));
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// At most one log line a second for an event that can repeat thousands of times a second;
/// the line counts the occurrences since the last one.
#[derive(Default)]
struct Throttle(Mutex<(Option<Instant>, u64)>);

impl Throttle {
    fn warn(&self, log: impl FnOnce(u64)) {
        let Ok(mut state) = self.0.lock() else {
            return;
        };
        state.1 += 1;
        if state
            .0
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
        {
            log(state.1);
            *state = (Some(Instant::now()), 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn the_environment_overrides_the_file_which_overrides_the_defaults() {
        let file = ServerFile {
            header_read_timeout_secs: Some(5.0),
            max_connections: Some(500),
            ..ServerFile::default()
        };
        let s = ServerSettings::resolve(
            &file,
            env(&[
                ("HTTP_HEADER_READ_TIMEOUT_SECS", "0.25"),
                ("HTTP_MAX_CONNECTIONS_PER_IP", "8"),
            ]),
        )
        .unwrap();
        assert_eq!(s.header_read_timeout, Duration::from_millis(250));
        assert_eq!(s.max_connections_per_ip, 8);
        assert_eq!(s.max_connections, 500);
        assert_eq!(
            s.keep_alive_timeout,
            ServerSettings::default().keep_alive_timeout
        );
    }

    #[test]
    fn nonsense_values_are_refused_with_the_variable_named() {
        for bad in [
            &[("HTTP_KEEP_ALIVE_TIMEOUT_SECS", "0")][..],
            &[("HTTP_KEEP_ALIVE_TIMEOUT_SECS", "soon")],
            &[("HTTP_MAX_CONNECTIONS", "0")],
            &[("HTTP_SHUTDOWN_GRACE_SECS", "-1")],
        ] {
            let vars: &'static [(&str, &str)] = Box::leak(bad.to_vec().into_boxed_slice());
            let err = ServerSettings::resolve(&ServerFile::default(), env(vars)).unwrap_err();
            assert!(err.to_string().contains(vars[0].0), "{err}");
        }
    }

    #[test]
    fn the_connection_cap_is_fitted_under_the_open_file_limit() {
        let mut s = ServerSettings::default();
        assert!(!s.fit_open_files(1_048_576));
        assert_eq!(s.max_connections, 10_000);
        assert!(s.fit_open_files(1024));
        assert_eq!(s.max_connections, 1024 - RESERVED_FILES as usize);
    }
}
