//! The hub: topics with their sequence ids and replay buffers, publishing, and the live
//! fan-out to this instance's subscribers. Ids and replay live in memory, or in Redis
//! ([`super::redis_store`]) when instances share them.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::broadcast;

use super::{
    RealtimeError,
    buffer::{Replay, ReplayBuffer},
    event::{Delivery, Event},
    metrics,
    redis_store::RedisStore,
    subscription::Subscription,
    valid_topic, wire,
};

/// How much history a topic keeps and how far a subscriber may fall behind.
#[derive(Clone, Debug)]
pub struct HubConfig {
    /// Events kept per topic for resuming subscribers.
    pub replay_len: usize,
    /// Events older than this are not replayed, even if fewer than `replay_len` are kept.
    pub replay_age: Duration,
    /// Live events a subscriber may have unread before it must catch up from the replay
    /// buffer (the capacity of the per-topic channel; memory is shared, not per subscriber).
    pub subscriber_lag: usize,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            replay_len: 1000,
            replay_age: Duration::from_secs(10 * 60),
            subscriber_lag: 256,
        }
    }
}

/// The realtime hub of one product. Cheap to clone; every clone is the same hub.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    topics: Arc<Topics>,
    store: Store,
}

enum Store {
    Memory,
    Redis(RedisStore),
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let store = if self.uses_redis() { "redis" } else { "memory" };
        f.debug_struct("Hub").field("store", &store).finish()
    }
}

impl Hub {
    /// A hub for one instance: ids, replay and fan-out in this process.
    pub fn memory(config: HubConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                topics: Arc::new(Topics::new(config)),
                store: Store::Memory,
            }),
        }
    }

    /// A hub shared with every instance using the same Redis and `prefix` (which keeps
    /// products apart). Returns once the pub/sub subscription is up, or after the first attempt
    /// failed: a Redis that is down at start is retried in the background, and subscribers
    /// catch up from the Redis log once it is back.
    pub async fn redis(url: &str, prefix: &str, config: HubConfig) -> Result<Self, RealtimeError> {
        let topics = Arc::new(Topics::new(config));
        let store = RedisStore::connect(url, prefix, topics.clone()).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                topics,
                store: Store::Redis(store),
            }),
        })
    }

    pub fn config(&self) -> &HubConfig {
        &self.inner.topics.config
    }

    /// Publishes an event of type `kind` on `topic` and returns it with its sequence id. It
    /// never waits for subscribers. With Redis, the event reaches local subscribers through
    /// Redis too, so every instance delivers it the same way.
    pub async fn publish(
        &self,
        topic: &str,
        kind: &str,
        data: impl Serialize,
    ) -> Result<Arc<Event>, RealtimeError> {
        if !valid_topic(topic) {
            return Err(RealtimeError::InvalidTopic);
        }
        if !valid_type(kind) {
            return Err(RealtimeError::InvalidType);
        }
        let data = serde_json::to_value(data)?;
        let at = Utc::now();
        let topics = &self.inner.topics;
        let event = match &self.inner.store {
            Store::Memory => topics.publish(topic, kind, data, at),
            Store::Redis(redis) => {
                let seq = redis
                    .publish(topic, kind, &data, at, topics.config())
                    .await?;
                Arc::new(Event::new(seq, topic.into(), kind.into(), data, at))
            }
        };
        metrics::published();
        topics.maybe_sweep(self.uses_redis());
        Ok(event)
    }

    /// Publishes the event `seq` of `topic`, whose id was given out elsewhere (the
    /// [`EventLog`](super::EventLog)). An id at or below the topic's position is a duplicate
    /// (another instance published it first): nothing happens and `Duplicate` comes back. A
    /// higher id is accepted, even one that skips ids (the store lost its position: a restart
    /// in memory, a flushed Redis); subscribers then fill the gap or are told to resync.
    /// Never mix with [`Hub::publish`] on one topic: one gives out the ids, or the other.
    pub async fn publish_with_seq(
        &self,
        topic: &str,
        seq: u64,
        kind: &str,
        data: serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<Published, RealtimeError> {
        if !valid_topic(topic) {
            return Err(RealtimeError::InvalidTopic);
        }
        if !valid_type(kind) {
            return Err(RealtimeError::InvalidType);
        }
        let topics = &self.inner.topics;
        let published = match &self.inner.store {
            Store::Memory => match topics.publish_with_seq(topic, seq, kind, data, at) {
                Some(event) => Published::Accepted(event),
                None => Published::Duplicate,
            },
            Store::Redis(redis) => {
                if redis
                    .publish_with_seq(topic, seq, kind, &data, at, topics.config())
                    .await?
                {
                    let event = Event::new(seq, topic.into(), kind.into(), data, at);
                    Published::Accepted(Arc::new(event))
                } else {
                    Published::Duplicate
                }
            }
        };
        match published {
            Published::Accepted(_) => metrics::published(),
            Published::Duplicate => metrics::duplicate(),
        }
        topics.maybe_sweep(self.uses_redis());
        Ok(published)
    }

    /// In memory: starts `topic` at position `seq` if it is further on than the hub knows
    /// (the event log tells a new process where its topics stand). With Redis: nothing, Redis
    /// keeps positions.
    pub fn prime(&self, topic: &str, seq: u64) {
        if let Store::Memory = self.inner.store {
            let entry = self.inner.topics.entry(topic);
            let mut t = lock(&entry);
            t.head = t.head.max(seq);
        }
    }

    /// The topic's current position: the sequence id of its last event, 0 if none yet.
    pub async fn head(&self, topic: &str) -> Result<u64, RealtimeError> {
        if !valid_topic(topic) {
            return Err(RealtimeError::InvalidTopic);
        }
        Ok(match &self.inner.store {
            Store::Memory => self.inner.topics.head(topic),
            Store::Redis(redis) => redis.head(topic).await?,
        })
    }

    /// Subscribes to `topic`: the events after `since`, then the live stream; without `since`,
    /// the events published from now on. This checks no authorization: transports subscribe
    /// through [`Gateway`](super::Gateway).
    pub async fn subscribe(
        &self,
        topic: &str,
        since: Option<u64>,
    ) -> Result<Subscription, RealtimeError> {
        if !valid_topic(topic) {
            return Err(RealtimeError::InvalidTopic);
        }
        let topics = &self.inner.topics;
        topics.maybe_sweep(self.uses_redis());
        let lag = topics.config.subscriber_lag;
        let (rx, (position, pending)) = match &self.inner.store {
            Store::Memory => {
                // Attaching and reading the buffer under the topic's lock, which publishing also
                // takes, makes replay and live stream meet exactly.
                let entry = topics.entry(topic);
                let mut t = lock(&entry);
                let rx = t.attach(lag);
                let start = match since {
                    None => (t.head, Vec::new()),
                    Some(s) => start_after(topic, s, t.head, t.buffer.after(s, t.head, Utc::now())),
                };
                (rx, start)
            }
            Store::Redis(redis) => {
                // Attach before asking Redis: every event Redis has not answered with is then
                // on its way to `rx`, and the overlap is skipped by sequence id.
                let rx = lock(&topics.entry(topic)).attach(lag);
                let start = match since {
                    None => (redis.head(topic).await?, Vec::new()),
                    Some(s) => {
                        let (head, replay) = redis.replay(topic, s, topics.config()).await?;
                        start_after(topic, s, head, replay)
                    }
                };
                (rx, start)
            }
        };
        Ok(Subscription::new(
            self.clone(),
            topic.to_owned(),
            rx,
            position,
            pending,
        ))
    }

    /// What came after `since` on `topic`, with the topic's current position.
    pub(crate) async fn replay(
        &self,
        topic: &str,
        since: u64,
    ) -> Result<(u64, Replay), RealtimeError> {
        let topics = &self.inner.topics;
        Ok(match &self.inner.store {
            Store::Memory => {
                let entry = topics.entry(topic);
                let t = lock(&entry);
                (t.head, t.buffer.after(since, t.head, Utc::now()))
            }
            Store::Redis(redis) => redis.replay(topic, since, topics.config()).await?,
        })
    }

    pub(crate) fn uses_redis(&self) -> bool {
        matches!(self.inner.store, Store::Redis(_))
    }
}

/// What [`Hub::publish_with_seq`] did.
#[derive(Clone, Debug)]
pub enum Published {
    /// The event is the topic's newest; subscribers get it.
    Accepted(Arc<Event>),
    /// The topic is already at or past this id: nothing was published.
    Duplicate,
}

/// Where a subscription resuming from `since` starts, and what it delivers first.
fn start_after(topic: &str, since: u64, head: u64, replay: Replay) -> (u64, Vec<Delivery>) {
    match replay {
        Replay::Events(events) => (since, events.into_iter().map(Delivery::Event).collect()),
        Replay::TooOld => {
            metrics::resync("too_old");
            let resync = Delivery::Resync {
                topic: topic.to_owned(),
                seq: head,
            };
            (head, vec![resync])
        }
    }
}

/// Event types are the product's names; the transports' control types are reserved so a
/// client can always tell an event from a control message.
pub(crate) fn valid_type(kind: &str) -> bool {
    (1..=100).contains(&kind.len())
        && !kind.chars().any(char::is_control)
        && !wire::RESERVED_TYPES.contains(&kind)
}

/// What travels on a topic's local channel.
#[derive(Clone, Debug)]
pub(crate) enum Signal {
    Event(Arc<Event>),
    /// Events may have been missed (the Redis pub/sub connection was re-established):
    /// subscribers compare their position with the store.
    Recheck,
}

/// Idle topics are tidied at most this often.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// This instance's topics. Lock order: the map, then a topic; never the other way round.
pub(crate) struct Topics {
    config: HubConfig,
    map: Mutex<HashMap<String, Arc<Mutex<Topic>>>>,
    last_sweep: Mutex<Instant>,
}

struct Topic {
    /// The last sequence id given out (memory store only; Redis keeps its own).
    head: u64,
    /// Memory store only.
    buffer: ReplayBuffer,
    /// Only while someone subscribes: a topic nobody listens to costs no channel.
    tx: Option<broadcast::Sender<Signal>>,
}

impl Topic {
    fn attach(&mut self, capacity: usize) -> broadcast::Receiver<Signal> {
        match &self.tx {
            Some(tx) => tx.subscribe(),
            None => {
                let (tx, rx) = broadcast::channel(capacity.max(1));
                self.tx = Some(tx);
                rx
            }
        }
    }

    fn send(&mut self, signal: Signal) {
        // `send` fails only when every receiver is gone.
        if let Some(tx) = &self.tx
            && tx.send(signal).is_err()
        {
            self.tx = None;
        }
    }
}

impl Topics {
    fn new(config: HubConfig) -> Self {
        Self {
            config,
            map: Mutex::new(HashMap::new()),
            last_sweep: Mutex::new(Instant::now()),
        }
    }

    pub(crate) fn config(&self) -> &HubConfig {
        &self.config
    }

    fn entry(&self, name: &str) -> Arc<Mutex<Topic>> {
        let mut map = lock(&self.map);
        if let Some(t) = map.get(name) {
            return t.clone();
        }
        let topic = Topic {
            head: 0,
            buffer: ReplayBuffer::new(self.config.replay_len, self.config.replay_age),
            tx: None,
        };
        let t = Arc::new(Mutex::new(topic));
        map.insert(name.to_owned(), t.clone());
        t
    }

    fn head(&self, name: &str) -> u64 {
        let entry = lock(&self.map).get(name).cloned();
        entry.map_or(0, |t| lock(&t).head)
    }

    /// Memory store: gives the event the next id, keeps it for replay, hands it to subscribers.
    fn publish(
        &self,
        topic: &str,
        kind: &str,
        data: serde_json::Value,
        at: DateTime<Utc>,
    ) -> Arc<Event> {
        let entry = self.entry(topic);
        let mut t = lock(&entry);
        t.head += 1;
        let event = Arc::new(Event::new(t.head, topic.into(), kind.into(), data, at));
        t.buffer.push(event.clone(), at);
        t.send(Signal::Event(event.clone()));
        event
    }

    /// Memory store: the event with the id it was given, unless the topic is already there.
    fn publish_with_seq(
        &self,
        topic: &str,
        seq: u64,
        kind: &str,
        data: serde_json::Value,
        at: DateTime<Utc>,
    ) -> Option<Arc<Event>> {
        let entry = self.entry(topic);
        let mut t = lock(&entry);
        if seq <= t.head {
            return None;
        }
        t.head = seq;
        let event = Arc::new(Event::new(seq, topic.into(), kind.into(), data, at));
        t.buffer.push(event.clone(), at);
        t.send(Signal::Event(event.clone()));
        Some(event)
    }

    /// Hands a signal to this instance's subscribers of `topic`, if it has any (the Redis
    /// relay). `make` runs only then, so topics nobody follows here cost no parsing.
    pub(crate) fn relay(&self, topic: &str, make: impl FnOnce() -> Option<Signal>) {
        let Some(entry) = lock(&self.map).get(topic).cloned() else {
            return;
        };
        let mut t = lock(&entry);
        if t.tx.is_some()
            && let Some(signal) = make()
        {
            t.send(signal);
        }
    }

    /// Asks every subscriber of this instance to compare its position with the store.
    pub(crate) fn recheck_all(&self) {
        let entries: Vec<_> = lock(&self.map).values().cloned().collect();
        for entry in entries {
            lock(&entry).send(Signal::Recheck);
        }
    }

    /// At most once per [`SWEEP_EVERY`]: forgets aged events and closes channels nobody
    /// listens to. With Redis, topics without local subscribers are dropped; in memory the
    /// entry stays, as it holds the topic's position (dropping it would restart ids at 1).
    fn maybe_sweep(&self, drop_idle: bool) {
        {
            let mut last = lock(&self.last_sweep);
            if last.elapsed() < SWEEP_EVERY {
                return;
            }
            *last = Instant::now();
        }
        let now = Utc::now();
        lock(&self.map).retain(|_, entry| {
            let mut t = lock(entry);
            t.buffer.prune(now);
            if t.tx.as_ref().is_some_and(|tx| tx.receiver_count() == 0) {
                t.tx = None;
            }
            // A count of 1 means nobody is between looking the topic up and using it.
            !(drop_idle && t.tx.is_none() && Arc::strong_count(entry) == 1)
        });
    }
}

/// Locks, ignoring poisoning: the guarded data stays consistent at every await-free step.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures_util::StreamExt;
    use serde_json::json;

    use super::*;

    fn hub(replay_len: usize, subscriber_lag: usize) -> Hub {
        Hub::memory(HubConfig {
            replay_len,
            replay_age: Duration::from_secs(600),
            subscriber_lag,
        })
    }

    async fn next(sub: &mut Subscription) -> Delivery {
        tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .expect("a delivery within 5 s")
            .expect("subscription open")
    }

    fn seq_of(d: &Delivery) -> u64 {
        match d {
            Delivery::Event(e) => e.seq,
            Delivery::Resync { .. } => panic!("expected an event, got {d:?}"),
        }
    }

    #[tokio::test]
    async fn sequence_ids_count_per_topic_from_one() {
        let hub = hub(10, 10);
        for expected in 1..=3 {
            let e = hub.publish("a", "k", json!({})).await.unwrap();
            assert_eq!(e.seq, expected);
        }
        assert_eq!(hub.publish("b", "k", json!({})).await.unwrap().seq, 1);
        assert_eq!(hub.head("a").await.unwrap(), 3);
        assert_eq!(hub.head("never").await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_subscriber_gets_live_events_in_order_and_only_its_topic() {
        let hub = hub(10, 10);
        hub.publish("a", "k", 0).await.unwrap();
        let mut sub = hub.subscribe("a", None).await.unwrap();
        assert_eq!(sub.position(), 1);
        hub.publish("b", "k", 0).await.unwrap();
        hub.publish("a", "k", 1).await.unwrap();
        hub.publish("a", "k", 2).await.unwrap();
        assert_eq!(seq_of(&next(&mut sub).await), 2);
        let d = next(&mut sub).await;
        assert_eq!((d.topic(), seq_of(&d)), ("a", 3));
    }

    #[tokio::test]
    async fn resuming_replays_then_continues_live_without_gap_or_duplicate() {
        let hub = hub(10, 10);
        for i in 0..5 {
            hub.publish("a", "k", i).await.unwrap();
        }
        let mut sub = hub.subscribe("a", Some(2)).await.unwrap();
        assert_eq!(sub.position(), 2);
        hub.publish("a", "k", 5).await.unwrap();
        let mut seqs = Vec::new();
        for _ in 0..4 {
            seqs.push(seq_of(&next(&mut sub).await));
        }
        assert_eq!(seqs, vec![3, 4, 5, 6]);
    }

    #[tokio::test]
    async fn resuming_from_a_position_older_than_the_buffer_gets_resync() {
        let hub = hub(3, 10);
        for i in 0..10 {
            hub.publish("a", "k", i).await.unwrap();
        }
        let mut sub = hub.subscribe("a", Some(2)).await.unwrap();
        assert_eq!(sub.position(), 10);
        match next(&mut sub).await {
            Delivery::Resync { topic, seq } => assert_eq!((topic.as_str(), seq), ("a", 10)),
            d => panic!("expected resync, got {d:?}"),
        }
        hub.publish("a", "k", 10).await.unwrap();
        assert_eq!(seq_of(&next(&mut sub).await), 11);
    }

    #[tokio::test]
    async fn a_position_the_hub_never_gave_out_gets_resync() {
        let hub = hub(10, 10);
        hub.publish("a", "k", 0).await.unwrap();
        let mut sub = hub.subscribe("a", Some(50)).await.unwrap();
        assert!(matches!(
            next(&mut sub).await,
            Delivery::Resync { seq: 1, .. }
        ));
    }

    #[tokio::test]
    async fn a_lagging_subscriber_catches_up_from_the_buffer_and_publishers_never_wait() {
        let hub = hub(100, 4);
        let mut slow = hub.subscribe("a", None).await.unwrap();
        let mut fast = hub.subscribe("a", None).await.unwrap();
        for i in 0..20 {
            hub.publish("a", "k", i).await.unwrap();
            assert_eq!(seq_of(&next(&mut fast).await), i + 1);
        }
        // `slow` read nothing while 20 events passed a channel of 4: it lagged, and the
        // buffer still holds everything, so it gets all of them, once each, in order.
        let mut seqs = Vec::new();
        for _ in 0..20 {
            seqs.push(seq_of(&next(&mut slow).await));
        }
        assert_eq!(seqs, (1..=20).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_subscriber_behind_the_buffer_is_told_to_resync() {
        let hub = hub(8, 4);
        let mut slow = hub.subscribe("a", None).await.unwrap();
        for i in 0..100 {
            hub.publish("a", "k", i).await.unwrap();
        }
        assert!(matches!(
            next(&mut slow).await,
            Delivery::Resync { seq: 100, .. }
        ));
        hub.publish("a", "k", 100).await.unwrap();
        assert_eq!(seq_of(&next(&mut slow).await), 101);
    }

    #[tokio::test]
    async fn a_given_id_at_or_below_the_head_is_dropped_and_a_jump_makes_subscribers_resync() {
        let hub = hub(10, 10);
        let mut sub = hub.subscribe("a", None).await.unwrap();
        let at = Utc::now();
        let first = hub.publish_with_seq("a", 1, "k", json!(1), at).await;
        assert!(matches!(first, Ok(Published::Accepted(_))));
        let again = hub.publish_with_seq("a", 1, "k", json!(1), at).await;
        assert!(matches!(again, Ok(Published::Duplicate)));
        assert_eq!(seq_of(&next(&mut sub).await), 1);
        // Ids 2 to 4 never reached this hub (its store lost them): the subscriber is told.
        hub.publish_with_seq("a", 5, "k", json!(5), at)
            .await
            .unwrap();
        assert!(matches!(
            next(&mut sub).await,
            Delivery::Resync { seq: 5, .. }
        ));
        hub.publish_with_seq("a", 6, "k", json!(6), at)
            .await
            .unwrap();
        assert_eq!(seq_of(&next(&mut sub).await), 6);
        assert_eq!(hub.head("a").await.unwrap(), 6);
    }

    #[tokio::test]
    async fn invalid_topics_and_reserved_types_are_refused() {
        let hub = hub(10, 10);
        assert!(matches!(
            hub.publish("has space", "k", 0).await,
            Err(RealtimeError::InvalidTopic)
        ));
        assert!(matches!(
            hub.publish("a", "HEARTBEAT", 0).await,
            Err(RealtimeError::InvalidType)
        ));
        assert!(matches!(
            hub.publish("a", "bad\ntype", 0).await,
            Err(RealtimeError::InvalidType)
        ));
        assert!(hub.subscribe("", None).await.is_err());
    }
}
