//! Protocol.

use super::*;

#[tokio::test]
async fn ping_gets_pong() {
    let (_hub, addr) = start(HubConfig::default()).await;
    let mut ws = WsClient::connect(addr, "/ws?user=bob").await;
    ws.send(json!({ "type": "PING" })).await;
    assert_eq!(ws.next().await, json!({ "type": "PONG" }));
}

#[tokio::test]
async fn bad_client_messages_get_an_error_and_the_connection_stays_open() {
    let (_hub, addr) = start(HubConfig::default()).await;
    let mut ws = WsClient::connect(addr, "/ws?user=bob").await;
    ws.ws.send(Message::text("not json")).await.unwrap();
    assert_eq!(ws.next().await["code"], "bad_message");
    ws.send(json!({ "type": "dance" })).await;
    assert_eq!(ws.next().await["code"], "bad_message");
    ws.ws.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    assert_eq!(ws.next().await["code"], "bad_message");
    let refused = ws.subscribe("has space", None).await;
    assert_eq!(
        (&refused["type"], &refused["code"], &refused["topic"]),
        (
            &json!("error"),
            &json!("invalid_topic"),
            &json!("has space")
        )
    );
    ws.send(json!({ "type": "PING" })).await;
    assert_eq!(ws.next().await, json!({ "type": "PONG" }));
}

#[tokio::test]
async fn heartbeats_arrive_on_both_transports() {
    let hub = Hub::memory(HubConfig::default());
    let config = StreamConfig {
        heartbeat: Duration::from_millis(50),
        ..StreamConfig::default()
    };
    let addr = serve(gateway(hub, config)).await;
    let mut ws = WsClient::connect(addr, "/ws?user=bob").await;
    let beat = ws.any().await;
    assert_eq!(beat["type"], "HEARTBEAT");
    assert!(beat["at"].is_string());
    // The client answers the ping frames, so it is not taken for dead: beats keep coming.
    for _ in 0..4 {
        assert_eq!(ws.any().await["type"], "HEARTBEAT");
    }

    let mut sse = SseClient::connect(addr, "user=bob&topics=a", None).await;
    assert_eq!(sse.any().await.event, "subscribed");
    let beat = sse.any().await;
    assert_eq!((beat.event.as_str(), beat.id), ("HEARTBEAT", None));
    assert_eq!(beat.data["type"], "HEARTBEAT");
}

#[tokio::test]
async fn a_connection_that_stays_silent_is_closed_as_dead() {
    let hub = Hub::memory(HubConfig::default());
    let config = StreamConfig {
        heartbeat: Duration::from_millis(40),
        idle_timeout: Duration::from_millis(100),
        write_timeout: Duration::from_millis(200),
        ..StreamConfig::default()
    };
    let addr = serve(gateway(hub, config)).await;
    let ws = WsClient::connect(addr, "/ws?user=bob").await;
    // Below the WebSocket layer nothing answers the server's pings: a dead peer, as far as
    // the server can tell. It must send a close frame and hang up.
    let MaybeTlsStream::Plain(mut tcp) = ws.ws.into_inner() else {
        unreachable!("plain ws://")
    };
    let mut received = Vec::new();
    tokio::time::timeout(WAIT, tcp.read_to_end(&mut received))
        .await
        .expect("the server hangs up within 5 s")
        .unwrap();
    // An unmasked close frame: FIN + opcode 8, 6 bytes, code 1001 (going away), "idle".
    let close = [0x88, 0x06, 0x03, 0xE9, b'i', b'd', b'l', b'e'];
    assert!(
        received.windows(close.len()).any(|w| w == close),
        "no close frame in {received:02x?}"
    );
}
