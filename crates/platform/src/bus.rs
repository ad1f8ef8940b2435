//! The instance bus: small notices one instance of a product gives every instance of it (an
//! admin's data-mode switch, a revoked session). Delivered in process at once, and through
//! Redis pub/sub to the other instances when `REDIS_URL` is set. Notices are hints to re-read
//! the database, never the data itself, so a notice lost while Redis is away costs a delay
//! (the subscribers' periodic re-read), not a wrong answer.

use std::{sync::Arc, time::Duration};

use futures_util::StreamExt;
use redis::{AsyncCommands, Client, aio::ConnectionManager};
use serde::{Deserialize, Serialize};
use tokio::sync::{OnceCell, broadcast, watch};
use uuid::Uuid;

use crate::lifecycle::Background;

/// One notice: what changed (`topic`) and which thing (`payload`, e.g. a session id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub topic: String,
    pub payload: String,
}

/// A product's bus. Cheap to clone.
#[derive(Clone)]
pub struct Bus {
    inner: Arc<Inner>,
}

struct Inner {
    local: broadcast::Sender<Arc<Notice>>,
    /// This instance, so that its own notices coming back from Redis are not delivered twice.
    instance: Uuid,
    redis: Option<RedisSide>,
    /// True while notices from other instances can arrive (always, without Redis).
    relaying: watch::Sender<bool>,
}

struct RedisSide {
    client: Client,
    channel: String,
    conn: OnceCell<ConnectionManager>,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    from: Uuid,
    #[serde(flatten)]
    notice: Notice,
}

const CAPACITY: usize = 1024;
const RETRY_MIN: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(10);

impl Bus {
    /// A bus for this process only (one instance, or no Redis).
    pub fn local() -> Self {
        Self::with(None)
    }

    /// A bus over Redis: `channel` is the product's (prefixed) channel name. The relay from
    /// Redis runs until `background` stops.
    pub fn redis(url: &str, channel: String, background: &Background) -> anyhow::Result<Self> {
        let client = Client::open(url)?;
        let bus = Self::with(Some(RedisSide {
            client: client.clone(),
            channel: channel.clone(),
            conn: OnceCell::new(),
        }));
        let relay = bus.clone();
        let stopping = background.stopping();
        background.spawn(async move {
            tokio::select! {
                () = relay.relay(client, channel) => {}
                () = stopping => {}
            }
        });
        Ok(bus)
    }

    fn with(redis: Option<RedisSide>) -> Self {
        let (local, _) = broadcast::channel(CAPACITY);
        let (relaying, _) = watch::channel(redis.is_none());
        Self {
            inner: Arc::new(Inner {
                local,
                instance: Uuid::now_v7(),
                redis,
                relaying,
            }),
        }
    }

    /// Resolves once notices from other instances reach this one: at once without Redis,
    /// else when the relay has subscribed to the channel (it subscribes in the background, so
    /// a notice another instance gives right after this one starts may arrive before it
    /// listens; the notice's subscribers re-read periodically for that case).
    pub async fn ready(&self) {
        let mut relaying = self.inner.relaying.subscribe();
        // The sender lives as long as `self`.
        let _ = relaying.wait_for(|up| *up).await;
    }

    /// Notices from now on, from this instance and (with Redis) every other. A receiver that
    /// falls more than 1024 notices behind loses the oldest (`RecvError::Lagged`) and should
    /// re-read what it follows.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Notice>> {
        self.inner.local.subscribe()
    }

    /// Tells every instance. Local subscribers have it when this returns; a Redis failure is
    /// logged, not returned: the change it announces is already stored.
    pub async fn announce(&self, topic: &str, payload: impl Into<String>) {
        let notice = Notice {
            topic: topic.to_owned(),
            payload: payload.into(),
        };
        if let Some(r) = &self.inner.redis
            && let Err(e) = self.publish(r, &notice).await
        {
            tracing::error!(error = %e, topic, "bus: could not announce through redis");
        }
        let _ = self.inner.local.send(Arc::new(notice));
    }

    async fn publish(&self, r: &RedisSide, notice: &Notice) -> anyhow::Result<()> {
        let conn = tokio::time::timeout(
            Duration::from_secs(2),
            r.conn
                .get_or_try_init(|| ConnectionManager::new(r.client.clone())),
        )
        .await??;
        let wire = serde_json::to_string(&Wire {
            from: self.inner.instance,
            notice: notice.clone(),
        })?;
        let _: i64 = conn.clone().publish(&r.channel, wire).await?;
        Ok(())
    }

    /// Relays the Redis channel to local subscribers, reconnecting with backoff.
    async fn relay(&self, client: Client, channel: String) {
        let mut retry = RETRY_MIN;
        loop {
            match client.get_async_pubsub().await {
                Ok(mut pubsub) => match pubsub.subscribe(&channel).await {
                    Ok(()) => {
                        retry = RETRY_MIN;
                        self.inner.relaying.send_replace(true);
                        let mut messages = pubsub.into_on_message();
                        while let Some(msg) = messages.next().await {
                            self.deliver(msg.get_payload_bytes());
                        }
                        self.inner.relaying.send_replace(false);
                        tracing::warn!("bus: redis connection lost, reconnecting");
                    }
                    Err(e) => tracing::error!(error = %e, "bus: redis subscribe failed"),
                },
                Err(e) => tracing::error!(error = %e, "bus: redis unavailable"),
            }
            tokio::time::sleep(retry).await;
            retry = (retry * 2).min(RETRY_MAX);
        }
    }

    fn deliver(&self, payload: &[u8]) {
        match serde_json::from_slice::<Wire>(payload) {
            Ok(w) if w.from == self.inner.instance => {}
            Ok(w) => {
                let _ = self.inner.local.send(Arc::new(w.notice));
            }
            Err(e) => tracing::warn!(error = %e, "bus: unreadable notice"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_local_notice_reaches_every_subscriber() {
        let bus = Bus::local();
        let mut a = bus.subscribe();
        let mut b = bus.subscribe();
        bus.announce("session_revoked", "s1").await;
        assert_eq!(a.recv().await.unwrap().payload, "s1");
        assert_eq!(b.recv().await.unwrap().topic, "session_revoked");
    }

    #[tokio::test]
    async fn a_local_bus_is_ready_at_once() {
        tokio::time::timeout(Duration::from_millis(100), Bus::local().ready())
            .await
            .expect("ready");
    }

    /// Needs Redis; runs when `TEST_REDIS_URL` is set.
    #[tokio::test]
    async fn once_ready_an_instance_hears_the_first_notice_of_another() {
        let Ok(url) = std::env::var("TEST_REDIS_URL") else {
            return;
        };
        let channel = format!("test-bus-{}", Uuid::new_v4().simple());
        let bg = Background::new();
        let one = Bus::redis(&url, channel.clone(), &bg).unwrap();
        let two = Bus::redis(&url, channel, &bg).unwrap();
        let mut on_two = two.subscribe();
        tokio::time::timeout(Duration::from_secs(5), two.ready())
            .await
            .expect("the relay subscribes within 5 s");
        one.announce("session_revoked", "s1").await;
        let heard = tokio::time::timeout(Duration::from_secs(2), on_two.recv())
            .await
            .expect("heard within 2 s")
            .unwrap();
        assert_eq!(heard.payload, "s1");
        bg.shutdown().await;
    }

    /// Needs Redis; runs when `TEST_REDIS_URL` is set (CI sets it).
    #[tokio::test]
    async fn a_notice_crosses_instances_through_redis_once() {
        let Ok(url) = std::env::var("TEST_REDIS_URL") else {
            return;
        };
        let channel = format!("test-bus-{}", Uuid::new_v4().simple());
        let bg = Background::new();
        let one = Bus::redis(&url, channel.clone(), &bg).unwrap();
        let two = Bus::redis(&url, channel.clone(), &bg).unwrap();
        let other = Bus::redis(&url, format!("{channel}-other"), &bg).unwrap();
        let mut on_one = one.subscribe();
        let mut on_two = two.subscribe();
        let mut on_other = other.subscribe();
        // The relays subscribe in the background; announce until the other instance hears.
        let mut sent = 0;
        let heard = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                one.announce("mode", "LIVE").await;
                sent += 1;
                if let Ok(Ok(n)) =
                    tokio::time::timeout(Duration::from_millis(200), on_two.recv()).await
                {
                    return n;
                }
            }
        })
        .await
        .expect("the other instance hears the notice");
        assert_eq!(heard.payload, "LIVE");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut own = 0;
        while on_one.try_recv().is_ok() {
            own += 1;
        }
        assert_eq!(own, sent, "each notice reaches its own instance once");
        assert!(
            on_other.try_recv().is_err(),
            "another channel hears nothing"
        );
        bg.shutdown().await;
    }
}
