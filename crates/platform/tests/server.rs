//! The server every product is served by, over real sockets on loopback: idle and slow-header
//! connections are closed, the per-address and total caps hold while others are still served,
//! upgraded and streaming connections are counted but not cut by the idle rules, and a stop
//! lets the request in flight finish. Timeouts are short; every wait is bounded.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed step is a failed test"
)]

use std::{
    convert::Infallible,
    net::SocketAddr,
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::{
        ConnectInfo,
        ws::{Message, WebSocket, WebSocketUpgrade},
    },
    response::Response,
    routing::get,
};
use futures_util::{SinkExt, StreamExt};
use platform::server::{Server, ServerSettings};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpSocket, TcpStream},
    sync::oneshot,
    task::JoinHandle,
};

/// How long a test waits for something that should happen well before.
const PATIENCE: Duration = Duration::from_secs(5);

fn settings(header: u64, keep_alive: u64) -> ServerSettings {
    ServerSettings {
        header_read_timeout: Duration::from_millis(header),
        keep_alive_timeout: Duration::from_millis(keep_alive),
        ..ServerSettings::default()
    }
}

fn app() -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(600)).await;
                "done"
            }),
        )
        .route(
            "/peer",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.ip().to_string() }),
        )
        .route("/stream", get(stream))
        .route(
            "/ws",
            get(|ws: WebSocketUpgrade| async { ws.on_upgrade(echo) }),
        )
}

/// Five chunks, 300 ms apart: longer than the test's idle timeouts put together.
async fn stream() -> Response {
    let chunks = futures_util::stream::unfold(0, |n| async move {
        if n == 5 {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        Some((
            Ok::<_, Infallible>(Bytes::from(format!("chunk {n}\n"))),
            n + 1,
        ))
    });
    Response::new(Body::from_stream(chunks))
}

async fn echo(mut ws: WebSocket) {
    while let Some(Ok(msg)) = ws.recv().await {
        if let Message::Text(_) = msg
            && ws.send(msg).await.is_err()
        {
            return;
        }
    }
}

struct Running {
    addr: SocketAddr,
    server: Server,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

async fn start(settings: ServerSettings) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Server::new(settings);
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = server.clone();
    let task = tokio::spawn(async move {
        serving
            .serve(listener, app(), &[], async {
                let _ = stopped.await;
            })
            .await
    });
    Running {
        addr,
        server,
        stop: Some(stop),
        task,
    }
}

/// A connection to `addr` from the loopback address `from` (127.0.0.2, …: another client).
async fn connect_from(from: &str, addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(from.parse().unwrap(), 0))
        .unwrap();
    socket.connect(addr).await.unwrap()
}

/// Waits for the server to close `conn`, reading (and dropping) whatever it sends first;
/// returns how long that took, or panics after `PATIENCE`.
async fn closed_within(conn: &mut TcpStream) -> Duration {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(PATIENCE, async {
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .expect("the server kept the connection open");
    start.elapsed()
}

/// True when `conn` is still open after `wait` (nothing arrives and it is not closed).
async fn still_open_after(conn: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 1];
    tokio::time::timeout(wait, conn.read(&mut buf))
        .await
        .is_err()
}

async fn get_text(client: &reqwest::Client, url: String) -> String {
    client
        .get(url)
        .timeout(Duration::from_secs(1))
        .send()
        .await
        .expect("answered within a second")
        .text()
        .await
        .unwrap()
}

/// Sends `GET /healthz` on `conn` and reads the whole answer.
async fn request_on(conn: &mut TcpStream) -> String {
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.ends_with(b"ok") {
        let n = tokio::time::timeout(PATIENCE, conn.read(&mut buf))
            .await
            .expect("an answer")
            .unwrap();
        assert!(n > 0, "closed before answering");
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(got).unwrap()
}

async fn wait_until_open(server: &Server, n: usize) {
    let start = Instant::now();
    while server.open_connections() != n {
        assert!(
            start.elapsed() < PATIENCE,
            "{} connections open, expected {n}",
            server.open_connections()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn connections_that_send_nothing_are_closed_after_the_header_timeout() {
    let app = start(settings(400, 30_000)).await;
    let mut idle = Vec::new();
    for _ in 0..40 {
        idle.push(TcpStream::connect(app.addr).await.unwrap());
    }
    wait_until_open(&app.server, 40).await;
    for conn in &mut idle {
        closed_within(conn).await;
    }
    wait_until_open(&app.server, 0).await;
}

#[tokio::test]
async fn a_slow_header_connection_is_closed_while_it_is_still_sending() {
    let app = start(settings(500, 30_000)).await;
    let mut conn = TcpStream::connect(app.addr).await.unwrap();
    let started = Instant::now();
    conn.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    // One header byte every 100 ms: the head is never finished, the socket never silent.
    let mut closed = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if conn.write_all(b"X").await.is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 256];
        if let Ok(Ok(0) | Err(_)) = tokio::time::timeout(Duration::ZERO, conn.read(&mut buf)).await
        {
            closed = true;
            break;
        }
    }
    let took = started.elapsed();
    assert!(closed, "the slow head was never cut off");
    assert!(
        took >= Duration::from_millis(450),
        "closed before the header timeout: {took:?}"
    );
}

#[tokio::test]
async fn a_kept_alive_connection_waits_the_keep_alive_timeout_but_its_next_head_only_the_header_timeout()
 {
    let app = start(settings(300, 3000)).await;
    // Idle after a request: the keep-alive timeout applies, not the header timeout.
    let mut idle = TcpStream::connect(app.addr).await.unwrap();
    assert!(request_on(&mut idle).await.starts_with("HTTP/1.1 200"));
    assert!(
        still_open_after(&mut idle, Duration::from_millis(800)).await,
        "an idle kept-alive connection was closed at the header timeout"
    );
    closed_within(&mut idle).await;

    // A second head that starts and stalls: the header timeout applies from its first byte.
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    request_on(&mut slow).await;
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHo")
        .await
        .unwrap();
    let took = closed_within(&mut slow).await;
    assert!(
        took < Duration::from_millis(2000),
        "a stalled second head was kept for the keep-alive timeout ({took:?})"
    );
}

#[tokio::test]
async fn over_the_per_address_cap_a_new_connection_is_closed_at_once_and_others_are_served() {
    let app = start(ServerSettings {
        max_connections_per_ip: 5,
        ..ServerSettings::default()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(connect_from("127.0.0.2", app.addr).await);
    }
    wait_until_open(&app.server, 5).await;
    let mut over = connect_from("127.0.0.2", app.addr).await;
    let took = closed_within(&mut over).await;
    assert!(took < Duration::from_secs(1), "refused only after {took:?}");

    // Another client is served meanwhile, within a second.
    let client = reqwest::Client::new();
    assert_eq!(
        get_text(&client, format!("http://{}/healthz", app.addr)).await,
        "ok"
    );
    // A held connection from the capped address still works, and a freed place is reused.
    assert!(request_on(&mut held[0]).await.starts_with("HTTP/1.1 200"));
    drop(client);
    drop(held.pop());
    wait_until_open(&app.server, 4).await;
    let mut again = connect_from("127.0.0.2", app.addr).await;
    assert!(request_on(&mut again).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn over_the_total_cap_new_connections_wait_and_are_served_once_one_closes() {
    let app = start(ServerSettings {
        max_connections: 3,
        ..ServerSettings::default()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from("127.0.0.2", app.addr).await);
    }
    wait_until_open(&app.server, 3).await;
    let mut queued = connect_from("127.0.0.3", app.addr).await;
    queued
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    assert!(
        still_open_after(&mut queued, Duration::from_millis(500)).await,
        "a connection over the total cap was served or refused instead of queued"
    );
    assert_eq!(app.server.open_connections(), 3);
    drop(held.pop());
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(1), queued.read(&mut buf))
        .await
        .expect("the queued connection is served once a place frees")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn websockets_count_against_the_caps_and_outlive_the_idle_timeouts() {
    let app = start(ServerSettings {
        max_connections_per_ip: 1,
        ..settings(200, 300)
    })
    .await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", app.addr))
        .await
        .unwrap();
    // Quiet for longer than both timeouts.
    tokio::time::sleep(Duration::from_millis(900)).await;
    ws.send(tokio_tungstenite::tungstenite::Message::text("still here"))
        .await
        .unwrap();
    let echoed = tokio::time::timeout(PATIENCE, ws.next())
        .await
        .expect("an echo")
        .expect("the socket is open")
        .unwrap();
    assert_eq!(echoed.into_text().unwrap().as_str(), "still here");
    assert_eq!(
        app.server.open_connections(),
        1,
        "the upgraded socket counts"
    );
    let mut over = TcpStream::connect(app.addr).await.unwrap();
    closed_within(&mut over).await;
    ws.close(None).await.unwrap();
    drop(ws);
    wait_until_open(&app.server, 0).await;
}

#[tokio::test]
async fn a_streaming_response_is_not_cut_by_the_idle_timeouts() {
    let app = start(settings(200, 200)).await;
    let body = reqwest::get(format!("http://{}/stream", app.addr))
        .await
        .unwrap()
        .text()
        .await
        .expect("the whole stream");
    assert_eq!(body.lines().count(), 5, "{body}");
}

#[tokio::test]
async fn handlers_see_the_peer_address() {
    let app = start(ServerSettings::default()).await;
    let mut conn = connect_from("127.0.0.7", app.addr).await;
    conn.write_all(b"GET /peer HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    tokio::time::timeout(PATIENCE, conn.read_to_string(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert!(answer.ends_with("127.0.0.7"), "{answer}");
}

#[tokio::test]
async fn a_stop_lets_the_request_in_flight_finish_then_refuses_new_connections() {
    let mut app = start(ServerSettings::default()).await;
    let mut idle = TcpStream::connect(app.addr).await.unwrap();
    request_on(&mut idle).await;
    let url = format!("http://{}/slow", app.addr);
    let slow = tokio::spawn(async move { reqwest::get(url).await?.text().await });
    // The stop must come while the request is in the handler (600 ms): after the server took
    // its connection (on a loaded machine a fixed wait may end before the connect), then a
    // moment for the request to be read.
    tokio::time::timeout(PATIENCE, async {
        while app.server.open_connections() < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the slow request's connection was taken");
    tokio::time::sleep(Duration::from_millis(150)).await;
    app.stop.take().unwrap().send(()).unwrap();
    closed_within(&mut idle).await;
    assert_eq!(slow.await.unwrap().unwrap(), "done");
    tokio::time::timeout(PATIENCE, &mut app.task)
        .await
        .expect("serve returns once the last connection is done")
        .unwrap()
        .unwrap();
    assert!(TcpStream::connect(app.addr).await.is_err());
}

#[tokio::test]
async fn a_stop_drops_what_is_still_busy_after_the_grace() {
    let mut app = start(ServerSettings {
        shutdown_grace: Duration::from_millis(200),
        ..ServerSettings::default()
    })
    .await;
    let url = format!("http://{}/stream", app.addr);
    let streaming = tokio::spawn(async move { reqwest::get(url).await?.text().await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stopped = Instant::now();
    app.stop.take().unwrap().send(()).unwrap();
    tokio::time::timeout(PATIENCE, &mut app.task)
        .await
        .expect("serve returns after the grace")
        .unwrap()
        .unwrap();
    assert!(stopped.elapsed() < Duration::from_millis(1200));
    assert!(
        streaming.await.unwrap().is_err(),
        "the stream was cut, not finished"
    );
}
