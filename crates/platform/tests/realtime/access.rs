//! Authorization and origin.

use super::*;

#[tokio::test]
async fn a_denied_topic_never_delivers() {
    let (hub, addr) = start(HubConfig::default()).await;
    let mut mallory = WsClient::connect(addr, "/ws?user=mallory").await;
    let refused = mallory.subscribe("private:plans", None).await;
    assert_eq!(
        (&refused["type"], &refused["code"], &refused["topic"]),
        (
            &json!("error"),
            &json!("forbidden"),
            &json!("private:plans")
        )
    );
    mallory.subscribe("public", None).await;
    let mut alice = WsClient::connect(addr, "/ws?user=alice").await;
    assert_eq!(
        alice.subscribe("private:plans", None).await["type"],
        "subscribed"
    );

    hub.publish("private:plans", "k", json!({ "secret": true }))
        .await
        .unwrap();
    hub.publish("public", "k", json!({})).await.unwrap();
    assert_eq!(alice.seqs("private:plans", 1).await, vec![1]);
    // Mallory's next message is the public event, and nothing follows before the PONG.
    assert_eq!(mallory.seqs("public", 1).await, vec![1]);
    mallory.send(json!({ "type": "PING" })).await;
    assert_eq!(mallory.next().await, json!({ "type": "PONG" }));

    let denied = SseClient::request(addr, "user=mallory&topics=public,private:plans", None).await;
    assert_eq!(denied.status(), 403);
    let refused =
        WsClient::try_connect(addr, "/ws/campaigns/private/stream?user=mallory", None).await;
    assert_eq!(
        http_status(refused),
        403,
        "a URL naming a denied topic is refused"
    );
    let refused =
        WsClient::try_connect(addr, "/ws?user=mallory", Some("https://evil.example")).await;
    assert_eq!(http_status(refused), 403, "a foreign origin is refused");
    assert!(
        WsClient::try_connect(addr, "/ws?user=bob", Some(ALLOWED_ORIGIN))
            .await
            .is_ok()
    );
}

fn http_status(result: Result<WsClient, tungstenite::Error>) -> u16 {
    match result {
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("expected an HTTP refusal, got {e}"),
        Ok(_) => panic!("expected an HTTP refusal, got an open socket"),
    }
}
