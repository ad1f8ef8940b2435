//! The multi-instance harness's load balancer: an in-process HTTP/1.1 proxy that sends each
//! request to the next instance in turn (round robin per request, not per connection: the
//! tests' client keeps its connections alive, so per-connection balancing would send a whole
//! test to one instance and hide every "depends on which instance answered" bug).
//!
//! Hand-written on hyper rather than taken from a crate: it must pass requests and answers
//! through unchanged (no `X-Forwarded-For` added, no header rewritten, since the tests assert
//! on exactly what the product sees and sends), open a fresh upstream connection per request
//! (so that an answer and the connection's close reach the client as the product sent them),
//! stream answers (SSE) and hand an upgraded connection (WebSocket) to a bidirectional copy.
//!
//! A request's body is read whole before it is sent on: an instance may answer before it has
//! read a body (413 on a `Content-Length` over the limit) and close, and a body still trickling
//! from the client would then meet a closed connection, losing the answer. Sent at once, as the
//! client sent it, the body races the close as it does without the balancer. The reverse-proxy
//! crates pool upstream connections and add forwarding headers; HAProxy would be one more
//! process for CI to install and manage.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::{
    Request, Response, StatusCode,
    body::{Bytes, Incoming},
    server::conn::http1 as server_http1,
    service::service_fn,
};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

type Body = BoxBody<Bytes, hyper::Error>;

/// Headers a request may carry through the balancer (the product's limit is far lower).
const MAX_HEADERS: usize = 4096;
/// Bytes of a request's head the balancer reads (the product's limit is far lower).
const MAX_BUF: usize = 4 * 1024 * 1024;

/// The instances behind one address, and how many requests each has answered.
pub struct Balancer {
    upstreams: Vec<SocketAddr>,
    next: AtomicUsize,
    served: Vec<AtomicUsize>,
}

impl Balancer {
    /// Serves `listener`, sending request `n` to `upstreams[n % len]`, until the runtime ends.
    pub fn start(listener: TcpListener, upstreams: Vec<SocketAddr>) -> Arc<Self> {
        let served = upstreams.iter().map(|_| AtomicUsize::new(0)).collect();
        let balancer = Arc::new(Self {
            upstreams,
            next: AtomicUsize::new(0),
            served,
        });
        let accepting = balancer.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let b = accepting.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let b = b.clone();
                        async move { Ok::<_, hyper::Error>(b.forward(req).await) }
                    });
                    // Limits far over the product's own, so that the product is the one to
                    // refuse too many or too long headers, in its own error shape.
                    // A client that goes away mid-request is not the balancer's failure.
                    let _ = server_http1::Builder::new()
                        .max_headers(MAX_HEADERS)
                        .max_buf_size(MAX_BUF)
                        .serve_connection(TokioIo::new(stream), service)
                        .with_upgrades()
                        .await;
                });
            }
        });
        balancer
    }

    /// How many requests each instance has been sent, in instance order.
    pub fn served(&self) -> Vec<usize> {
        self.served
            .iter()
            .map(|n| n.load(Ordering::Relaxed))
            .collect()
    }

    fn pick(&self) -> usize {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.upstreams.len();
        self.served[i].fetch_add(1, Ordering::Relaxed);
        i
    }

    async fn forward(&self, mut req: Request<Incoming>) -> Response<Body> {
        let upstream = self.upstreams[self.pick()];
        let client_upgrade = hyper::upgrade::on(&mut req);
        let (parts, body) = req.into_parts();
        let body = match body.collect().await {
            Ok(b) => b.to_bytes(),
            // The client went away mid-body: nobody is left to answer.
            Err(e) => return bad_gateway(&format!("reading the request body: {e}")),
        };
        let req = Request::from_parts(parts, Full::new(body));
        let stream = match TcpStream::connect(upstream).await {
            Ok(s) => s,
            Err(e) => return bad_gateway(&format!("connect {upstream}: {e}")),
        };
        let _ = stream.set_nodelay(true);
        let handshake = hyper::client::conn::http1::Builder::new()
            .max_headers(MAX_HEADERS)
            .max_buf_size(MAX_BUF)
            .handshake(TokioIo::new(stream));
        let (mut sender, conn) = match handshake.await {
            Ok(pair) => pair,
            Err(e) => return bad_gateway(&format!("handshake {upstream}: {e}")),
        };
        tokio::spawn(async move {
            let _ = conn.with_upgrades().await;
        });
        let mut res = match sender.send_request(req).await {
            Ok(res) => res,
            Err(e) => return bad_gateway(&format!("{upstream}: {e}")),
        };
        if res.status() == StatusCode::SWITCHING_PROTOCOLS {
            let upstream_upgrade = hyper::upgrade::on(&mut res);
            tokio::spawn(async move {
                if let (Ok(client), Ok(server)) = tokio::join!(client_upgrade, upstream_upgrade) {
                    let _ = tokio::io::copy_bidirectional(
                        &mut TokioIo::new(client),
                        &mut TokioIo::new(server),
                    )
                    .await;
                }
            });
        }
        res.map(BodyExt::boxed)
    }
}

/// What the balancer answers when an instance cannot be reached (a test that stopped one).
fn bad_gateway(why: &str) -> Response<Body> {
    let mut res = Response::new(
        Full::new(Bytes::from(format!("testkit balancer: {why}")))
            .map_err(|never| match never {})
            .boxed(),
    );
    *res.status_mut() = StatusCode::BAD_GATEWAY;
    res
}
