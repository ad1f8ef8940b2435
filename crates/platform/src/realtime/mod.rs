//! Live event streams for every product: topics with per-topic sequence ids, a bounded replay
//! buffer, fan-out in process or through Redis, an authorization hook per subscription, and the
//! WebSocket and SSE adapters that carry it to clients. It knows no product: a product names its
//! topics (`campaign:<uuid>`), implements [`Authorize`] and mounts the adapters on its routes.
//!
//! # Delivery guarantees
//!
//! * Every event of a topic gets the next sequence id of that topic (1, 2, 3, …), allocated by
//!   the hub in memory, or by Redis (`INCR`) when several instances share `REDIS_URL`, so every
//!   instance sees the same id for the same event.
//! * A subscription delivers the events of its topic in sequence order, each at most once. A
//!   subscription that starts `since` a position gets every event after it, then the live
//!   stream, with no gap and no duplicate, as long as the replay buffer still holds the event
//!   after `since` ([`HubConfig::replay_len`] events, none older than [`HubConfig::replay_age`]).
//! * When it cannot keep that promise (the position is older than the buffer, the subscriber fell
//!   further behind than the buffer, or the position is one the hub never gave out) it says so
//!   with a [`Delivery::Resync`] carrying the current position, and continues live from there:
//!   the client reloads its state and keeps the stream. Events are never dropped silently.
//! * Publishing never waits for subscribers. A subscriber that does not keep up first catches up
//!   from the replay buffer, then is told to resync; a transport whose socket stays blocked is
//!   disconnected. Memory per subscriber is bounded.
//! * Denied topics never deliver: the transports subscribe only through [`Gateway`], which asks
//!   the product's [`Authorize`] hook for every topic.
//!
//! # Connections follow their session
//!
//! A transport opened for a signed-in user holds a [`Lease`] from the product's
//! [`Connections`] (`core.connections`): when the session ends (identity announces every
//! revocation on the product's bus, through Redis to every instance) or the access token
//! expires, the connection gets a last `closed { reason }` message and ends (WebSocket close
//! code 4001 with the reason). [`Connections`] states the rules.
//!
//! # Redis
//!
//! With Redis, publishing runs one Lua script that allocates the id
//! (`INCR <prefix>:rt:seq:<topic>`), appends the event to a capped stream
//! (`XADD <prefix>:rt:log:<topic> MAXLEN <replay_len>`, entry id `<seq>-0`) and publishes it
//! on one channel (`<prefix>:rt:events`). Because the script is atomic, every instance receives
//! a topic's events in sequence order. Each instance relays that channel to its local
//! subscribers; the Redis stream is the replay buffer shared by all instances (`XRANGE` answers
//! a resume), so an instance started later can replay events published before it started. If an
//! instance misses messages (its pub/sub connection dropped), its subscribers notice the gap in
//! sequence ids, or get a recheck when the connection is back, and fill it from the stream.
//!
//! Without Redis everything is in memory and ids restart with the process. A client presenting
//! a position beyond the current one is told to resync; one whose old position happens to be
//! below the new head cannot be told apart and resumes in the new numbering (single-instance
//! deployments accept this; Redis ids never restart).

mod buffer;
mod event;
mod gateway;
mod hub;
mod metrics;
mod origin;
mod redis_store;
mod sessions;
mod sse;
mod subscription;
mod wire;
mod ws;

pub use event::{Delivery, Event};
pub use gateway::{Authorize, Gateway, StreamConfig};
pub use hub::{Hub, HubConfig};
pub use origin::origin_allowed;
pub use sessions::{CloseReason, Connections, Lease, Owner, RECHECK_EVERY, SessionCheck};
pub use sse::SseStream;
pub use subscription::Subscription;
pub use wire::{ClientMessage, ControlMessage, StreamErrorCode, SubscribeRequest};
pub use ws::stream_upgrade;

use crate::error::ApiError;

/// Why the hub or a gateway refused an operation.
#[derive(Debug, thiserror::Error)]
pub enum RealtimeError {
    /// Topics are 1 to 200 characters from `A-Z a-z 0-9 : _ - . @`.
    #[error("invalid topic name")]
    InvalidTopic,
    /// Event types are 1 to 100 printable characters and not one of the control types.
    #[error("invalid or reserved event type")]
    InvalidType,
    #[error("too many topics in one connection")]
    TooManyTopics,
    #[error("not allowed to subscribe to {topic}")]
    Forbidden { topic: String },
    #[error("event data does not serialise to JSON: {0}")]
    Data(#[from] serde_json::Error),
    #[error("realtime store unavailable: {0}")]
    Unavailable(#[from] redis::RedisError),
}

impl From<RealtimeError> for ApiError {
    fn from(e: RealtimeError) -> Self {
        match e {
            RealtimeError::InvalidTopic
            | RealtimeError::InvalidType
            | RealtimeError::TooManyTopics => ApiError::invalid(e.to_string()),
            RealtimeError::Forbidden { .. } => ApiError::forbidden(e.to_string()),
            RealtimeError::Data(_) => ApiError::internal(e),
            RealtimeError::Unavailable(ref cause) => {
                tracing::error!(error = %cause, "realtime: redis unavailable");
                ApiError::unavailable("live updates are unavailable, retry shortly")
            }
        }
    }
}

/// Whether `topic` is a name the hub accepts. The character set keeps topics safe inside Redis
/// keys and SSE event ids (`,` and `=` separate positions there).
pub fn valid_topic(topic: &str) -> bool {
    (1..=200).contains(&topic.len())
        && topic
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":_-.@".contains(&b))
}
