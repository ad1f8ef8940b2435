//! Live event streams for every product: topics with per-topic sequence ids, a bounded replay
//! buffer, fan-out in process or through Redis, an authorization hook per subscription, and the
//! WebSocket and SSE adapters that carry it to clients. It knows no product: a product names its
//! topics (`campaign:<uuid>`), implements [`Authorize`] and mounts the adapters on its routes.
//!
//! # Delivery guarantees
//!
//! * An event announcing a change is written by the product to its database in the same
//!   transaction as the change ([`EventLog`], [`Batch`]), and gets its topic's sequence id
//!   (1, 2, 3, …, no holes) there. So an event exists if and only if its change committed, and
//!   ids never restart (they live in the database, not in the process or in Redis).
//! * Every logged event reaches the hub at least once, in id order per topic, whatever
//!   instance dies when: the writing instance publishes right after its commit, and the relay
//!   of every instance (every [`RELAY_EVERY`]) publishes what is still unpublished, e.g. the
//!   events of an instance killed between its commit and its publish. The hub drops an id it
//!   already has ([`Hub::publish_with_seq`]), so a run published twice reaches clients once.
//!   Event-log rules, and the failpoints the crash test aborts at, are in [`EventLog`]'s
//!   module.
//! * A subscription delivers the events of its topic in sequence order, each at most once. A
//!   subscription that starts `since` a position gets every event after it, then the live
//!   stream, with no gap and no duplicate, as long as the replay buffer still holds the event
//!   after `since` ([`HubConfig::replay_len`] events, none older than [`HubConfig::replay_age`]).
//!   Together: a client that resumes from the last id it saw gets every event exactly once.
//! * When it cannot keep that promise (the position is older than the buffer, the subscriber fell
//!   further behind than the buffer, the position is one the hub never gave out, or the hub
//!   skipped ids because its store lost its position) it says so with a [`Delivery::Resync`]
//!   carrying the current position, and continues live from there: the client reloads its
//!   state and keeps the stream. Events are never dropped silently.
//! * Publishing never waits for subscribers. A subscriber that does not keep up first catches up
//!   from the replay buffer, then is told to resync; a transport whose socket stays blocked is
//!   disconnected. Memory per subscriber is bounded.
//! * Denied topics never deliver: the transports subscribe only through [`Gateway`], which asks
//!   the product's [`Authorize`] hook for every topic.
//! * [`Hub::publish`], which gives out the id itself (in memory, or `INCR` in Redis), stays
//!   for topics whose events announce nothing stored; such an event is lost if its process
//!   dies before the call returns. A topic is fed by one of the two, never both.
//!
//! //! # Connections follow their session
//!
//! A transport opened for a signed-in user holds a [`Lease`] from the product's
//! [`Connections`] (`core.connections`): when the session ends (identity announces every
//! revocation on the product's bus, through Redis to every instance) or the access token
//! expires, the connection gets a last `closed { reason }` message and ends (WebSocket close
//! code 4001 with the reason). [`Connections`] states the rules.
//!
//! # Redis
//!
//! With Redis, publishing an event of the log runs one Lua script that, if the id is above the
//! topic's position (`<prefix>:rt:seq:<topic>`), sets the position to it, appends the event
//! and publishes it as below; otherwise it answers "duplicate" and changes nothing.
//! [`Hub::publish`] runs one that allocates the id
//! (`INCR <prefix>:rt:seq:<topic>`), appends the event to a capped stream
//! (`XADD <prefix>:rt:log:<topic> MAXLEN <replay_len>`, entry id `<seq>-0`) and publishes it
//! on one channel (`<prefix>:rt:events`). Because the script is atomic, every instance receives
//! a topic's events in sequence order. Each instance relays that channel to its local
//! subscribers; the Redis stream is the replay buffer shared by all instances (`XRANGE` answers
//! a resume), so an instance started later can replay events published before it started. If an
//! instance misses messages (its pub/sub connection dropped), its subscribers notice the gap in
//! sequence ids, or get a recheck when the connection is back, and fill it from the stream.
//!
//! Without Redis the replay buffer and the fan-out are in memory; the log tells a new process
//! where each topic stands, so ids continue, and a client resuming across a restart is told to
//! resync (the buffer is gone). Ids [`Hub::publish`] gives out without Redis restart with the
//! process.
//!
//! The hub's position in Redis must never be ahead of the log: after restoring a product's
//! database from a backup, delete its `<prefix>:rt:*` keys (clients resync), or the hub would
//! take the restored ids for duplicates until they pass the old position.

mod buffer;
mod event;
mod gateway;
mod hub;
mod log;
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
pub use hub::{Hub, HubConfig, Published};
pub use log::{Batch, EventLog, KEEP_PUBLISHED, LogError, RELAY_EVERY, failpoint};
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
