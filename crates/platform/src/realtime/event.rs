//! What a stream carries: published events, and what a subscription hands its transport.

use std::sync::{Arc, OnceLock};

use axum::extract::ws::Utf8Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One published event. On the wire (WebSocket message, SSE `data`) it is
/// `{ "type", "seq", "topic", "data", "at" }`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Event {
    /// The event type the product chose (`live_post`, `crisis_alert`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// Position in the topic: 1 for its first event, then +1 per event.
    pub seq: u64,
    pub topic: String,
    pub data: serde_json::Value,
    /// When it was published.
    pub at: DateTime<Utc>,
    /// The serialised form, made once however many subscribers the event goes to.
    #[serde(skip)]
    json: OnceLock<Utf8Bytes>,
}

impl Event {
    pub(crate) fn new(
        seq: u64,
        topic: String,
        kind: String,
        data: serde_json::Value,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            kind,
            seq,
            topic,
            data,
            at,
            json: OnceLock::new(),
        }
    }

    /// The wire form, `{ "type", "seq", "topic", "data", "at" }`.
    pub fn to_json(&self) -> Utf8Bytes {
        self.json
            .get_or_init(|| {
                // A Value and plain fields always serialise.
                serde_json::to_string(self).unwrap_or_default().into()
            })
            .clone()
    }
}

/// What a [`Subscription`](super::Subscription) yields.
#[derive(Clone, Debug)]
pub enum Delivery {
    /// The next event of the topic.
    Event(Arc<Event>),
    /// Events after the subscriber's position can no longer be delivered (too old for the
    /// replay buffer, or the subscriber fell too far behind). The client should reload its
    /// state; the subscription continues with the events after `seq`.
    Resync { topic: String, seq: u64 },
}

impl Delivery {
    pub fn topic(&self) -> &str {
        match self {
            Delivery::Event(e) => &e.topic,
            Delivery::Resync { topic, .. } => topic,
        }
    }

    /// The subscriber's position once this delivery is handled.
    pub fn seq(&self) -> u64 {
        match self {
            Delivery::Event(e) => e.seq,
            Delivery::Resync { seq, .. } => *seq,
        }
    }
}
