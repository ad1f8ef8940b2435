//! testkit's balancer in front of two small servers: request n goes to instance n mod 2 even
//! over one kept-alive connection, headers pass unchanged, a streamed body arrives as it is
//! written, and a WebSocket is relayed both ways.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed step is a failed test"
)]

use std::{net::SocketAddr, time::Duration};

use axum::{
    Router,
    body::Body,
    extract::ws::{Message, WebSocketUpgrade},
    http::HeaderMap,
    routing::get,
};
use futures_util::{SinkExt, StreamExt};
use testkit::balancer::Balancer;
use tokio::net::TcpListener;

/// An instance that names itself in every answer.
async fn instance(id: usize) -> SocketAddr {
    let app = Router::new()
        .route(
            "/who",
            get(move |h: HeaderMap| async move {
                let header = |n: &str| h.get(n).map(|v| v.to_str().unwrap().to_owned());
                let seen = format!(
                    "{id} {:?} {:?}",
                    header("x-custom"),
                    header("x-forwarded-for")
                );
                ([("x-instance", id.to_string())], seen)
            }),
        )
        .route(
            "/stream",
            get(|| async {
                let (tx, rx) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(1);
                tokio::spawn(async move {
                    tx.send(Ok("first\n".into())).await.unwrap();
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    let _ = tx.send(Ok("second\n".into())).await;
                });
                Body::from_stream(tokio_stream(rx))
            }),
        )
        .route(
            "/ws",
            get(move |ws: WebSocketUpgrade| async move {
                ws.on_upgrade(move |mut socket| async move {
                    while let Some(Ok(Message::Text(t))) = socket.recv().await {
                        let reply = format!("{id}:{t}");
                        if socket.send(Message::Text(reply.into())).await.is_err() {
                            break;
                        }
                    }
                })
            }),
        );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn tokio_stream(
    mut rx: tokio::sync::mpsc::Receiver<Result<String, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<String, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

async fn balanced() -> (SocketAddr, std::sync::Arc<Balancer>) {
    let upstreams = vec![instance(0).await, instance(1).await];
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (addr, Balancer::start(listener, upstreams))
}

#[tokio::test]
async fn each_request_goes_to_the_next_instance_with_its_headers_unchanged() {
    let (addr, balancer) = balanced().await;
    // One client, so one kept-alive connection: balancing per connection would pin it.
    let client = reqwest::Client::new();
    let mut seen = Vec::new();
    for _ in 0..4 {
        let res = client
            .get(format!("http://{addr}/who"))
            .header("x-custom", "kept")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let instance = res.headers()["x-instance"].to_str().unwrap().to_owned();
        let body = res.text().await.unwrap();
        assert_eq!(body, format!("{instance} Some(\"kept\") None"));
        seen.push(instance);
    }
    assert_eq!(seen, ["0", "1", "0", "1"]);
    assert_eq!(balancer.served(), [2, 2]);
}

#[tokio::test]
async fn a_streamed_body_arrives_as_it_is_written() {
    let (addr, _) = balanced().await;
    let mut res = reqwest::get(format!("http://{addr}/stream")).await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(2), res.chunk())
        .await
        .expect("the first chunk came before the body ended")
        .unwrap()
        .unwrap();
    assert_eq!(&first[..], b"first\n");
    let second = res.chunk().await.unwrap().unwrap();
    assert_eq!(&second[..], b"second\n");
}

#[tokio::test]
async fn a_websocket_is_relayed_both_ways() {
    let (addr, _) = balanced().await;
    for expected in ["0", "1"] {
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .unwrap();
        for text in ["a", "b"] {
            ws.send(tokio_tungstenite::tungstenite::Message::text(text))
                .await
                .unwrap();
            let reply = ws.next().await.unwrap().unwrap();
            assert_eq!(
                reply.into_text().unwrap().as_str(),
                format!("{expected}:{text}")
            );
        }
    }
}
