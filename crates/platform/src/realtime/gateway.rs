//! The authorizing front of the hub that the transports use: the product's [`Authorize`]
//! hook is asked for every topic before anything of it is delivered.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;

use super::{RealtimeError, hub::Hub, metrics, subscription::Subscription, valid_topic};

/// The product's rule for who may follow which topic, `P` being its authenticated principal
/// (an access-token claim set, a user row, ...). Asked once per subscription.
#[async_trait]
pub trait Authorize<P>: Send + Sync + 'static {
    async fn may_subscribe(&self, principal: &P, topic: &str) -> bool;
}

/// Plain functions and closures are hooks too, for rules that need no I/O.
#[async_trait]
impl<P, F> Authorize<P> for F
where
    P: Sync,
    F: Fn(&P, &str) -> bool + Send + Sync + 'static,
{
    async fn may_subscribe(&self, principal: &P, topic: &str) -> bool {
        self(principal, topic)
    }
}

/// Timings and limits of the transports.
#[derive(Clone, Debug)]
pub struct StreamConfig {
    /// A `HEARTBEAT` (and, on WebSocket, a ping frame) goes out this often.
    pub heartbeat: Duration,
    /// A WebSocket that sent no frame at all (pongs to our pings included) for this long is
    /// closed as dead.
    pub idle_timeout: Duration,
    /// A write that cannot complete within this time (the client stopped reading and its
    /// socket buffer is full) closes the connection.
    pub write_timeout: Duration,
    /// Topics one connection may follow at once.
    pub max_topics: usize,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(10),
            max_topics: 100,
        }
    }
}

/// The hub, the product's authorization hook and the transport settings: what a product puts
/// in its state and calls from its stream handlers.
pub struct Gateway<P> {
    pub(crate) hub: Hub,
    authorize: Arc<dyn Authorize<P>>,
    pub(crate) config: StreamConfig,
}

impl<P> Clone for Gateway<P> {
    fn clone(&self) -> Self {
        Self {
            hub: self.hub.clone(),
            authorize: self.authorize.clone(),
            config: self.config.clone(),
        }
    }
}

impl<P> std::fmt::Debug for Gateway<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("hub", &self.hub)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<P: Send + Sync + 'static> Gateway<P> {
    pub fn new(hub: Hub, authorize: impl Authorize<P>, config: StreamConfig) -> Self {
        Self {
            hub,
            authorize: Arc::new(authorize),
            config,
        }
    }

    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    pub fn config(&self) -> &StreamConfig {
        &self.config
    }

    /// Asks the product's hook; for handlers that refuse an upgrade before it happens (a URL
    /// naming one topic answers 403 rather than opening a socket that delivers nothing).
    pub async fn may_subscribe(&self, principal: &P, topic: &str) -> bool {
        let allowed = self.authorize.may_subscribe(principal, topic).await;
        if !allowed {
            metrics::denied();
        }
        allowed
    }

    /// Subscribes `principal` to `topic` if the hook allows it.
    pub async fn subscribe(
        &self,
        principal: &P,
        topic: &str,
        since: Option<u64>,
    ) -> Result<Subscription, RealtimeError> {
        if !valid_topic(topic) {
            return Err(RealtimeError::InvalidTopic);
        }
        if !self.may_subscribe(principal, topic).await {
            return Err(RealtimeError::Forbidden {
                topic: topic.to_owned(),
            });
        }
        self.hub.subscribe(topic, since).await
    }
}
