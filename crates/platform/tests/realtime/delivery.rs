//! Delivery.

use super::*;

#[tokio::test]
async fn websocket_and_sse_clients_receive_published_events_in_order() {
    let (hub, addr) = start(HubConfig::default()).await;
    let mut ws = WsClient::connect(addr, "/ws?user=bob").await;
    assert_eq!(
        ws.subscribe("campaign:1", None).await,
        json!({ "type": "subscribed", "topic": "campaign:1", "seq": 0 })
    );
    let mut sse = SseClient::connect(addr, "user=bob&topics=campaign:1", None).await;
    let hello = sse.next().await;
    assert_eq!(
        (hello.event.as_str(), hello.id.as_deref()),
        ("subscribed", Some("0"))
    );

    for i in 0..3 {
        hub.publish("campaign:1", "live_post", json!({ "n": i }))
            .await
            .unwrap();
    }
    hub.publish("campaign:2", "live_post", json!({}))
        .await
        .unwrap();
    hub.publish(
        "campaign:1",
        "crisis_alert",
        json!({ "severity": "CRITICAL" }),
    )
    .await
    .unwrap();

    for seq in 1..=4u64 {
        let (kind, data) = match seq {
            4 => ("crisis_alert", json!({ "severity": "CRITICAL" })),
            _ => ("live_post", json!({ "n": seq - 1 })),
        };
        let e = ws.next().await;
        assert_eq!(
            (&e["type"], &e["seq"], &e["topic"], &e["data"]),
            (&json!(kind), &json!(seq), &json!("campaign:1"), &data)
        );
        assert!(e["at"].is_string());
        let s = sse.next().await;
        assert_eq!(s.event, kind);
        assert_eq!(s.id, Some(seq.to_string()));
        assert_eq!(s.data, e, "SSE data is the WebSocket message");
    }
}

#[tokio::test]
async fn a_url_naming_its_topic_subscribes_to_it_on_connect() {
    let (hub, addr) = start(HubConfig::default()).await;
    let mut ws = WsClient::connect(addr, "/ws/campaigns/42/stream?user=bob").await;
    assert_eq!(
        ws.next().await,
        json!({ "type": "subscribed", "topic": "campaign:42", "seq": 0 })
    );
    hub.publish("campaign:42", "trend_update", json!({}))
        .await
        .unwrap();
    assert_eq!(ws.seqs("campaign:42", 1).await, vec![1]);
}

#[tokio::test]
async fn unsubscribing_stops_the_topic_and_keeps_the_others() {
    let (hub, addr) = start(HubConfig::default()).await;
    let mut ws = WsClient::connect(addr, "/ws?user=bob").await;
    ws.subscribe("a", None).await;
    ws.subscribe("b", None).await;
    ws.send(json!({ "type": "unsubscribe", "topic": "a" }))
        .await;
    assert_eq!(
        ws.next().await,
        json!({ "type": "unsubscribed", "topic": "a" })
    );
    hub.publish("a", "k", json!({})).await.unwrap();
    hub.publish("b", "k", json!({})).await.unwrap();
    assert_eq!(ws.seqs("b", 1).await, vec![1]);
}
