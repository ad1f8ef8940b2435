//! One accepted connection: hyper serves it, and a watcher closes it when it stalls inside a
//! request head or sits idle. The watcher learns what happens from [`Activity`], which the
//! socket wrapper (bytes arriving) and the service wrapper (requests starting, response
//! bodies finishing) keep up to date.

use std::{
    convert::Infallible,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    Router,
    body::{Body, Bytes, HttpBody},
    extract::ConnectInfo,
    http::{Method, Request, Response, Version},
};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto::Builder,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
    sync::watch,
    time::Instant,
};
use tower::ServiceExt;

use super::{ServerSettings, gate::Permit};

/// The two timeouts a connection task enforces.
#[derive(Clone, Copy, Debug)]
pub(super) struct Limits {
    header_read: Duration,
    keep_alive: Duration,
}

impl Limits {
    /// The longest the watcher sleeps without looking: a head that starts, or a request that
    /// ends, within one such interval has its deadline after the next look.
    fn recheck(self) -> Duration {
        self.header_read.min(self.keep_alive)
    }

    /// A new connection must send its first head within `header_read`.
    fn first_deadline(self, opened: Instant) -> Instant {
        opened + self.header_read
    }
}

impl From<&ServerSettings> for Limits {
    fn from(s: &ServerSettings) -> Self {
        Self {
            header_read: s.header_read_timeout,
            keep_alive: s.keep_alive_timeout,
        }
    }
}

/// An accepted connection and what serving it needs.
pub(super) struct Connection {
    pub peer: SocketAddr,
    pub permit: Permit,
    pub limits: Limits,
    pub router: Router,
    pub builder: Arc<Builder<TokioExecutor>>,
    /// `true`: finish what is in flight and close. Sender dropped: close now.
    pub stop: watch::Receiver<bool>,
    /// Held while the task runs; the server waits for every clone to drop.
    pub open: watch::Receiver<()>,
}

/// Why a watched connection is closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expiry {
    /// No request in flight and nothing arriving: closed gracefully (HTTP/2 gets a GOAWAY).
    Idle,
    /// A request head that did not arrive in time: dropped.
    Stalled,
}

impl Connection {
    pub(super) async fn run(self, stream: TcpStream) {
        let Self {
            peer,
            permit,
            limits,
            router,
            builder,
            mut stop,
            open: _open,
        } = self;
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Tracked {
            io: stream,
            activity: activity.clone(),
            _permit: permit,
        });
        let service = {
            let activity = activity.clone();
            hyper::service::service_fn(move |req| {
                respond(req, peer, router.clone(), activity.clone())
            })
        };
        let conn = builder.serve_connection_with_upgrades(io, service);
        tokio::pin!(conn);
        let mut shutting = false;
        let mut closing_since: Option<Instant> = None;
        if *stop.borrow_and_update() {
            shutting = true;
            conn.as_mut().graceful_shutdown();
        }
        // The watcher is a timer that looks at `activity` when it fires and re-arms itself;
        // nothing wakes it per request (a wake per request start and end, and a fresh timer
        // each time, cost every request a spurious poll of the connection and a timer
        // registration). While the deadline is far off or unknown it re-checks at least every
        // `limits.recheck()`, which is short enough that no deadline is missed: a head that
        // starts, or a request that ends, after one check has its deadline after the next.
        let sleep = tokio::time::sleep_until(limits.first_deadline(activity.opened));
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                served = conn.as_mut() => {
                    if let Err(e) = served {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                    break;
                }
                () = sleep.as_mut() => {
                    let now = Instant::now();
                    let deadline = match (activity.deadline(limits), closing_since) {
                        // Told to close once already: what is left is a hard deadline.
                        (Some((_, Expiry::Idle)), Some(since)) => {
                            Some((since + limits.header_read, Expiry::Stalled))
                        }
                        (d, _) => d,
                    };
                    match deadline {
                        Some((at, why)) if at <= now => {
                            if why == Expiry::Stalled {
                                if closing_since.is_none() {
                                    metrics::counter!("http_connections_closed_total", "reason" => "header_timeout").increment(1);
                                }
                                break;
                            }
                            metrics::counter!("http_connections_closed_total", "reason" => "idle").increment(1);
                            closing_since = Some(now);
                            if !shutting {
                                shutting = true;
                                conn.as_mut().graceful_shutdown();
                            }
                            sleep.as_mut().reset(now + limits.header_read);
                        }
                        Some((at, _)) => sleep.as_mut().reset(at.min(now + limits.recheck())),
                        None => sleep.as_mut().reset(now + limits.recheck()),
                    }
                }
                changed = stop.changed() => match changed {
                    Ok(()) if *stop.borrow_and_update() && !shutting => {
                        shutting = true;
                        conn.as_mut().graceful_shutdown();
                    }
                    Ok(()) => {}
                    // The server gave up waiting: close now.
                    Err(_) => break,
                },
            }
        }
    }
}

/// Hands a request to the router with the peer as `ConnectInfo`, and counts it in flight
/// until its response body is done (a streaming body counts for as long as it streams).
async fn respond(
    req: Request<Incoming>,
    peer: SocketAddr,
    router: Router,
    activity: Arc<Activity>,
) -> Result<Response<Body>, Infallible> {
    let in_flight = InFlight::begin(activity, &req);
    let mut req = req.map(Body::new);
    req.extensions_mut().insert(ConnectInfo(peer));
    let Ok(res) = router.oneshot(req).await;
    Ok(res.map(|body| {
        Body::new(Counted {
            body,
            _in_flight: in_flight,
        })
    }))
}

/// What the watcher needs to know about a connection. Times are milliseconds since `opened`.
struct Activity {
    opened: Instant,
    in_flight: AtomicUsize,
    /// A request head has been read at least once.
    served: AtomicBool,
    /// When the last request finished.
    idle_since: AtomicU64,
    /// When bytes of the next request head started arriving, plus one (0: none yet).
    head_since: AtomicU64,
    http2: AtomicBool,
    /// An HTTP/2 extended CONNECT (a WebSocket stream) runs on this connection: its handler
    /// owns the idle rules.
    tunnel: AtomicBool,
}

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            in_flight: AtomicUsize::new(0),
            served: AtomicBool::new(false),
            idle_since: AtomicU64::new(0),
            head_since: AtomicU64::new(0),
            http2: AtomicBool::new(false),
            tunnel: AtomicBool::new(false),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn at(&self, ms: u64) -> Instant {
        self.opened + Duration::from_millis(ms)
    }

    /// Bytes arrived. With nothing in flight they are the start of a request head.
    fn on_read(&self) {
        if self.in_flight.load(Ordering::Acquire) == 0
            && self.head_since.load(Ordering::Acquire) == 0
        {
            let _ = self.head_since.compare_exchange(
                0,
                self.now_ms() + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
    }

    /// When the connection is to be closed and why, or `None` while a request is in flight.
    fn deadline(&self, limits: Limits) -> Option<(Instant, Expiry)> {
        if self.tunnel.load(Ordering::Acquire) || self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        if !self.served.load(Ordering::Acquire) {
            return Some((self.opened + limits.header_read, Expiry::Stalled));
        }
        // HTTP/2 reads control frames (pings, window updates) while idle: only HTTP/1 bytes
        // after a request are the next head.
        let head = self.head_since.load(Ordering::Acquire);
        if head != 0 && !self.http2.load(Ordering::Acquire) {
            return Some((self.at(head - 1) + limits.header_read, Expiry::Stalled));
        }
        let idle = self.at(self.idle_since.load(Ordering::Acquire));
        Some((idle + limits.keep_alive, Expiry::Idle))
    }
}

/// A request in flight; finishing it (dropping this) starts the keep-alive clock.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn begin(activity: Arc<Activity>, req: &Request<Incoming>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        activity.served.store(true, Ordering::Release);
        if req.version() == Version::HTTP_2 {
            activity.http2.store(true, Ordering::Release);
            if req.method() == Method::CONNECT {
                activity.tunnel.store(true, Ordering::Release);
            }
        }
        Self(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let a = &self.0;
        a.idle_since.store(a.now_ms(), Ordering::Release);
        a.head_since.store(0, Ordering::Release);
        a.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request in flight until hyper is done with it.
struct Counted {
    body: Body,
    _in_flight: InFlight,
}

impl HttpBody for Counted {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The socket, reporting arriving bytes, and holding the connection's place under the caps
/// for as long as it is open (after an upgrade too: the upgraded stream owns this).
struct Tracked {
    io: TcpStream,
    activity: Arc<Activity>,
    _permit: Permit,
}

impl AsyncRead for Tracked {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let read = Pin::new(&mut this.io).poll_read(cx, buf);
        if matches!(read, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.on_read();
        }
        read
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
