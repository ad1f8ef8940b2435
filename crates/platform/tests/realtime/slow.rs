//! Slow consumers.

use super::*;

/// Checks what a client that fell behind received: ids strictly increase, and every jump
/// is announced by a resync to the position before it.
fn consistent(deliveries: &[Value]) {
    let mut last = 0;
    for d in deliveries {
        let seq = d["seq"].as_u64().unwrap();
        if d["type"] == "resync" {
            assert!(seq >= last, "resync backwards: {d}");
        } else {
            assert_eq!(seq, last + 1, "gap or duplicate without resync at {d}");
        }
        last = seq;
    }
}

#[tokio::test]
async fn a_slow_consumer_blocks_neither_publishers_nor_other_clients() {
    // A short channel, so the slow client lags; a buffer deep enough that the fast ones,
    // should the scheduler let them lag for a moment, catch up without loss.
    let (hub, addr) = start(HubConfig {
        subscriber_lag: 8,
        ..HubConfig::default()
    })
    .await;
    let mut slow = WsClient::connect(addr, "/ws?user=bob").await;
    slow.subscribe("campaign:1", None).await;
    let mut fast = WsClient::connect(addr, "/ws?user=bob").await;
    fast.subscribe("campaign:1", None).await;
    let mut sse = SseClient::connect(addr, "user=bob&topics=campaign:1", None).await;
    sse.next().await;

    // Large enough that the slow client's socket buffers fill and its server task blocks.
    let payload = "x".repeat(32 * 1024);
    let n = 300;
    let publisher = {
        let hub = hub.clone();
        tokio::spawn(async move {
            for _ in 0..n {
                hub.publish("campaign:1", "live_post", json!({ "blob": payload }))
                    .await
                    .unwrap();
                tokio::task::yield_now().await;
            }
        })
    };
    // The fast clients keep up with everything while `slow` reads nothing.
    let mut fast_seqs = Vec::new();
    let mut sse_seqs = Vec::new();
    while fast_seqs.len() < n || sse_seqs.len() < n {
        tokio::select! {
            e = fast.next(), if fast_seqs.len() < n => fast_seqs.push(e["seq"].as_u64().unwrap()),
            m = sse.next(), if sse_seqs.len() < n => sse_seqs.push(m.data["seq"].as_u64().unwrap()),
        }
    }
    tokio::time::timeout(WAIT, publisher)
        .await
        .unwrap()
        .unwrap();
    let all: Vec<u64> = (1..=n as u64).collect();
    assert_eq!(fast_seqs, all);
    assert_eq!(sse_seqs, all);

    // The slow one got what it could, and was told when it lost something.
    let mut deliveries = Vec::new();
    loop {
        let d = slow.next().await;
        let seq = d["seq"].as_u64().unwrap();
        deliveries.push(d);
        if seq == n as u64 {
            break;
        }
    }
    consistent(&deliveries);
}
