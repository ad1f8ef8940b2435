//! Redis: two instances.

use super::*;

use testkit::redis_url;

/// Two hubs on one Redis under a fresh prefix, as two instances of a product would be.
async fn instances(url: &str, config: HubConfig) -> (String, Hub, Hub) {
    let prefix = format!("rt-test-{}", uuid::Uuid::new_v4());
    let a = Hub::redis(url, &prefix, config.clone()).await.unwrap();
    let b = Hub::redis(url, &prefix, config).await.unwrap();
    (prefix, a, b)
}

async fn redis_conn(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn cleanup(url: &str, prefix: &str) {
    let mut conn = redis_conn(url).await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL")
            .arg(keys)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
}

async fn next_seq(sub: &mut platform::realtime::Subscription) -> u64 {
    match tokio::time::timeout(WAIT, sub.next())
        .await
        .unwrap()
        .unwrap()
    {
        platform::realtime::Delivery::Event(e) => e.seq,
        other => panic!("expected an event, got {other:?}"),
    }
}

#[tokio::test]
async fn redis_instances_share_sequence_ids_and_deliver_each_others_events_in_order() {
    let Some(url) = redis_url() else { return };
    let (prefix, a, b) = instances(&url, HubConfig::default()).await;
    let mut on_a = a.subscribe("campaign:1", None).await.unwrap();
    let mut on_b = b.subscribe("campaign:1", None).await.unwrap();

    // Both instances publish at once; ids are allocated by Redis, so they never collide.
    let publish = |hub: Hub| {
        tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..25 {
                seqs.push(hub.publish("campaign:1", "live_post", i).await.unwrap().seq);
            }
            seqs
        })
    };
    let (from_a, from_b) = (publish(a.clone()), publish(b.clone()));
    let mut published: Vec<u64> = from_a.await.unwrap();
    published.extend(from_b.await.unwrap());
    published.sort();
    let all: Vec<u64> = (1..=50).collect();
    assert_eq!(published, all);

    for sub in [&mut on_a, &mut on_b] {
        let mut seqs = Vec::new();
        for _ in 0..50 {
            seqs.push(next_seq(sub).await);
        }
        assert_eq!(seqs, all, "every instance delivers 1..=50 in order");
    }
    assert_eq!(a.head("campaign:1").await.unwrap(), 50);
    assert_eq!(b.head("campaign:1").await.unwrap(), 50);
    cleanup(&url, &prefix).await;
}

#[tokio::test]
async fn redis_replay_spans_instances_and_a_too_old_position_resyncs() {
    let Some(url) = redis_url() else { return };
    let config = HubConfig {
        replay_len: 3,
        ..HubConfig::default()
    };
    let (prefix, a, b) = instances(&url, config.clone()).await;
    for i in 0..5 {
        a.publish("campaign:1", "live_post", i).await.unwrap();
    }
    // An instance that started after those events still replays them.
    let late = Hub::redis(&url, &prefix, config).await.unwrap();
    let mut sub = late.subscribe("campaign:1", Some(2)).await.unwrap();
    assert_eq!(sub.position(), 2);
    b.publish("campaign:1", "live_post", 5).await.unwrap();
    let mut seqs = Vec::new();
    for _ in 0..4 {
        seqs.push(next_seq(&mut sub).await);
    }
    assert_eq!(seqs, vec![3, 4, 5, 6]);

    let mut old = b.subscribe("campaign:1", Some(1)).await.unwrap();
    assert_eq!(old.position(), 6);
    match tokio::time::timeout(WAIT, old.next())
        .await
        .unwrap()
        .unwrap()
    {
        platform::realtime::Delivery::Resync { seq, .. } => assert_eq!(seq, 6),
        other => panic!("expected resync, got {other:?}"),
    }
    cleanup(&url, &prefix).await;
}

#[tokio::test]
async fn redis_an_event_missed_on_pub_sub_is_filled_from_the_log() {
    let Some(url) = redis_url() else { return };
    let (prefix, a, b) = instances(&url, HubConfig::default()).await;
    let mut sub = b.subscribe("campaign:1", None).await.unwrap();
    a.publish("campaign:1", "live_post", 0).await.unwrap();
    assert_eq!(next_seq(&mut sub).await, 1);

    // Event 2 reaches the id counter and the log but not the channel, as when an instance's
    // pub/sub connection drops (layout documented in the realtime module).
    let mut conn = redis_conn(&url).await;
    let seq: u64 = redis::cmd("INCR")
        .arg(format!("{prefix}:rt:seq:campaign:1"))
        .query_async(&mut conn)
        .await
        .unwrap();
    let body =
        json!({ "type": "live_post", "topic": "campaign:1", "data": 1, "at": chrono::Utc::now() });
    let _: String = redis::cmd("XADD")
        .arg(format!("{prefix}:rt:log:campaign:1"))
        .arg(format!("{seq}-0"))
        .arg("e")
        .arg(body.to_string())
        .query_async(&mut conn)
        .await
        .unwrap();

    a.publish("campaign:1", "live_post", 2).await.unwrap();
    assert_eq!(next_seq(&mut sub).await, 2);
    assert_eq!(next_seq(&mut sub).await, 3);
    cleanup(&url, &prefix).await;
}

#[tokio::test]
async fn redis_clients_on_one_server_see_events_published_on_another() {
    let Some(url) = redis_url() else { return };
    let (prefix, a, b) = instances(&url, HubConfig::default()).await;
    let server_a = serve(gateway(a.clone(), StreamConfig::default())).await;
    let server_b = serve(gateway(b.clone(), StreamConfig::default())).await;

    let mut ws = WsClient::connect(server_b, "/ws?user=bob").await;
    ws.subscribe("campaign:1", None).await;
    let mut sse = SseClient::connect(server_b, "user=bob&topics=campaign:1", None).await;
    sse.next().await;
    for _ in 0..3 {
        a.publish("campaign:1", "crisis_alert", json!({}))
            .await
            .unwrap();
    }
    assert_eq!(ws.seqs("campaign:1", 3).await, vec![1, 2, 3]);
    let mut last_id = None;
    for seq in 1..=3 {
        let m = sse.next().await;
        assert_eq!(m.data["seq"], seq);
        last_id = m.id;
    }
    drop(sse);
    drop(ws);

    // Reconnecting to the other instance resumes from the shared log.
    a.publish("campaign:1", "crisis_alert", json!({}))
        .await
        .unwrap();
    let mut ws = WsClient::connect(server_a, "/ws?user=bob").await;
    ws.subscribe("campaign:1", Some(3)).await;
    assert_eq!(ws.seqs("campaign:1", 1).await, vec![4]);
    let mut sse =
        SseClient::connect(server_b, "user=bob&topics=campaign:1", last_id.as_deref()).await;
    assert_eq!(sse.next().await.event, "subscribed");
    assert_eq!(sse.next().await.id.as_deref(), Some("4"));
    cleanup(&url, &prefix).await;
}
