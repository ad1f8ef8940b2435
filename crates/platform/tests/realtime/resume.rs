//! Resuming.

use super::*;

#[tokio::test]
async fn a_websocket_reconnect_with_since_loses_nothing_and_duplicates_nothing() {
    let (hub, addr) = start(HubConfig::default()).await;
    let mut first = WsClient::connect(addr, "/ws?user=bob").await;
    first.subscribe("campaign:1", None).await;
    for _ in 0..3 {
        hub.publish("campaign:1", "live_post", json!({}))
            .await
            .unwrap();
    }
    assert_eq!(first.seqs("campaign:1", 3).await, vec![1, 2, 3]);
    drop(first);

    for _ in 0..3 {
        hub.publish("campaign:1", "live_post", json!({}))
            .await
            .unwrap();
    }
    let mut again = WsClient::connect(addr, "/ws?user=bob").await;
    assert_eq!(
        again.subscribe("campaign:1", Some(3)).await,
        json!({ "type": "subscribed", "topic": "campaign:1", "seq": 3 })
    );
    hub.publish("campaign:1", "live_post", json!({}))
        .await
        .unwrap();
    assert_eq!(again.seqs("campaign:1", 4).await, vec![4, 5, 6, 7]);
    again.send(json!({ "type": "PING" })).await;
    assert_eq!(
        again.next().await,
        json!({ "type": "PONG" }),
        "no duplicate follows"
    );
}

#[tokio::test]
async fn an_sse_reconnect_with_last_event_id_loses_nothing_and_duplicates_nothing() {
    let (hub, addr) = start(HubConfig::default()).await;
    let query = "user=bob&topics=campaign:a,campaign:b";
    let mut first = SseClient::connect(addr, query, None).await;
    for _ in 0..2 {
        assert_eq!(first.next().await.event, "subscribed");
    }
    hub.publish("campaign:a", "live_post", json!({}))
        .await
        .unwrap();
    hub.publish("campaign:b", "live_post", json!({}))
        .await
        .unwrap();
    hub.publish("campaign:a", "live_post", json!({}))
        .await
        .unwrap();
    let mut last_id = None;
    for _ in 0..3 {
        last_id = first.next().await.id;
    }
    assert_eq!(last_id.as_deref(), Some("campaign:a=2,campaign:b=1"));
    drop(first);

    hub.publish("campaign:b", "live_post", json!({}))
        .await
        .unwrap();
    hub.publish("campaign:a", "live_post", json!({}))
        .await
        .unwrap();
    let mut again = SseClient::connect(addr, query, last_id.as_deref()).await;
    for _ in 0..2 {
        let hello = again.next().await;
        assert_eq!(hello.event, "subscribed");
        assert_eq!(hello.id.as_deref(), Some("campaign:a=2,campaign:b=1"));
    }
    hub.publish("campaign:a", "live_post", json!({}))
        .await
        .unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        let m = again.next().await;
        got.push((
            m.data["topic"].as_str().unwrap().to_owned(),
            m.data["seq"].as_u64().unwrap(),
        ));
    }
    got.sort();
    assert_eq!(
        got,
        vec![
            ("campaign:a".into(), 3),
            ("campaign:a".into(), 4),
            ("campaign:b".into(), 2)
        ]
    );
}

#[tokio::test]
async fn a_position_older_than_the_buffer_is_told_to_resync() {
    let (hub, addr) = start(HubConfig {
        replay_len: 3,
        ..HubConfig::default()
    })
    .await;
    for _ in 0..10 {
        hub.publish("campaign:1", "live_post", json!({}))
            .await
            .unwrap();
    }
    let mut ws = WsClient::connect(addr, "/ws?user=bob").await;
    assert_eq!(ws.subscribe("campaign:1", Some(2)).await["seq"], 10);
    assert_eq!(
        ws.next().await,
        json!({ "type": "resync", "topic": "campaign:1", "seq": 10 })
    );
    // Within the buffer, a resume still works.
    let mut ok = WsClient::connect(addr, "/ws?user=bob").await;
    ok.subscribe("campaign:1", Some(8)).await;
    assert_eq!(ok.seqs("campaign:1", 2).await, vec![9, 10]);

    let mut sse = SseClient::connect(addr, "user=bob&topics=campaign:1", Some("2")).await;
    assert_eq!(sse.next().await.event, "subscribed");
    let resync = sse.next().await;
    assert_eq!(
        (resync.event.as_str(), resync.id.as_deref()),
        ("resync", Some("10"))
    );
    assert_eq!(
        resync.data,
        json!({ "type": "resync", "topic": "campaign:1", "seq": 10 })
    );

    hub.publish("campaign:1", "live_post", json!({}))
        .await
        .unwrap();
    assert_eq!(ws.seqs("campaign:1", 1).await, vec![11]);
    assert_eq!(sse.next().await.id.as_deref(), Some("11"));
}
