//! Redis as the hub's shared store: sequence ids (`INCR`), the replay log (a capped stream per
//! topic) and the fan-out channel, written together by one script (or, for an id the event log
//! gave out, a script that publishes only ids above the position); plus the task relaying
//! the channel to this instance's subscribers. Key layout (`P` = the product's prefix):
//!
//! * `P:rt:seq:<topic>`: the topic's last sequence id. Never expires, so ids never restart.
//! * `P:rt:log:<topic>`: stream of the last `replay_len` events, entry id `<seq>-0`, field `e`
//!   = the event without its id. Expires `replay_age` after the topic's last publish.
//! * `P:rt:events`: pub/sub channel; message `<seq> <topic> <event without id>`.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use redis::{
    Client, RedisResult, Script, ScriptInvocation,
    aio::{ConnectionManager, ConnectionManagerConfig, PubSub},
};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use super::{
    RealtimeError,
    buffer::{self, Replay},
    event::Event,
    hub::{HubConfig, Signal, Topics},
};

/// Allocates the id, appends to the log and publishes, atomically: every instance therefore
/// receives a topic's events in id order, and an event is in the log before anyone hears of it.
const PUBLISH: &str = r"
local seq = redis.call('INCR', KEYS[1])
local id = string.format('%d', seq)
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[3], id .. '-0', 'e', ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('PUBLISH', ARGV[5], id .. ' ' .. ARGV[1] .. ' ' .. ARGV[2])
return seq
";

/// Publishes an event whose id was given out by the event log: only when it is above the
/// topic's position (ARGV[6] the id), else answers 0, "duplicate". The position check is the
/// de-duplication; XADD, which refuses an id not above the stream's last, backs it up for a
/// position key lost while its stream lived.
const PUBLISH_WITH_SEQ: &str = r"
local seq = tonumber(ARGV[6])
local head = tonumber(redis.call('GET', KEYS[1]) or '0')
if seq <= head then
  return 0
end
local added = redis.pcall('XADD', KEYS[2], 'MAXLEN', ARGV[3], ARGV[6] .. '-0', 'e', ARGV[2])
if type(added) == 'table' and added.err then
  return 0
end
redis.call('SET', KEYS[1], ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('PUBLISH', ARGV[5], ARGV[6] .. ' ' .. ARGV[1] .. ' ' .. ARGV[2])
return 1
";

/// The topic's position and the logged events from ARGV[1] on, flattened to
/// `[head, id, event, id, event, ...]`, read together so they agree.
const REPLAY: &str = r"
local out = { redis.call('GET', KEYS[1]) or '0' }
for _, entry in ipairs(redis.call('XRANGE', KEYS[2], ARGV[1], '+')) do
  out[#out + 1] = entry[1]
  out[#out + 1] = entry[2][2]
end
return out
";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const RETRY_MIN: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// An event as logged and published: everything but its id, which Redis allocates.
#[derive(Serialize)]
struct BodyRef<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    topic: &'a str,
    data: &'a serde_json::Value,
    at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct Body {
    #[serde(rename = "type")]
    kind: String,
    topic: String,
    data: serde_json::Value,
    at: DateTime<Utc>,
}

impl Body {
    fn into_event(self, seq: u64) -> Event {
        Event::new(seq, self.topic, self.kind, self.data, self.at)
    }
}

pub(crate) struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    publish: Script,
    publish_with_seq: Script,
    replay: Script,
    /// Dropping the store (with the hub) stops the relay task.
    _stop: oneshot::Sender<()>,
}

impl RedisStore {
    /// Starts the relay and waits for its first connection attempt.
    pub(crate) async fn connect(url: &str, prefix: &str, topics: Arc<Topics>) -> RedisResult<Self> {
        let client = Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(CONNECT_TIMEOUT));
        let conn = client.get_connection_manager_lazy(config)?;
        let (stop, stopped) = oneshot::channel();
        let (ready, is_ready) = oneshot::channel();
        let channel = format!("{prefix}:rt:events");
        tokio::spawn(relay(client, channel, topics, stopped, ready));
        let _ = is_ready.await;
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
            publish: Script::new(PUBLISH),
            publish_with_seq: Script::new(PUBLISH_WITH_SEQ),
            replay: Script::new(REPLAY),
            _stop: stop,
        })
    }

    fn key(&self, kind: &str, topic: &str) -> String {
        format!("{}:rt:{kind}:{topic}", self.prefix)
    }

    /// Both publish scripts' keys and arguments: the topic's id and log keys, the event, the
    /// log's bounds and the channel.
    fn invocation<'a>(
        &self,
        script: &'a Script,
        topic: &str,
        event: BodyRef<'_>,
        config: &HubConfig,
    ) -> Result<ScriptInvocation<'a>, RealtimeError> {
        let mut invocation = script.prepare_invoke();
        invocation
            .key(self.key("seq", topic))
            .key(self.key("log", topic))
            .arg(topic)
            .arg(serde_json::to_string(&event)?)
            .arg(config.replay_len)
            .arg(config.replay_age.as_millis().max(1) as u64)
            .arg(format!("{}:rt:events", self.prefix));
        Ok(invocation)
    }

    pub(crate) async fn publish(
        &self,
        topic: &str,
        kind: &str,
        data: &serde_json::Value,
        at: DateTime<Utc>,
        config: &HubConfig,
    ) -> Result<u64, RealtimeError> {
        let event = BodyRef {
            kind,
            topic,
            data,
            at,
        };
        let seq = self
            .invocation(&self.publish, topic, event, config)?
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(seq)
    }

    /// Publishes the event `seq`; false when the topic is already there (a duplicate).
    pub(crate) async fn publish_with_seq(
        &self,
        topic: &str,
        seq: u64,
        kind: &str,
        data: &serde_json::Value,
        at: DateTime<Utc>,
        config: &HubConfig,
    ) -> Result<bool, RealtimeError> {
        let event = BodyRef {
            kind,
            topic,
            data,
            at,
        };
        let accepted: i64 = self
            .invocation(&self.publish_with_seq, topic, event, config)?
            .arg(seq)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(accepted == 1)
    }

    pub(crate) async fn head(&self, topic: &str) -> RedisResult<u64> {
        let head: Option<u64> = redis::cmd("GET")
            .arg(self.key("seq", topic))
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(head.unwrap_or(0))
    }

    /// The topic's position and what the log holds after `since`.
    pub(crate) async fn replay(
        &self,
        topic: &str,
        since: u64,
        config: &HubConfig,
    ) -> RedisResult<(u64, Replay)> {
        let reply: Vec<String> = self
            .replay
            .key(self.key("seq", topic))
            .key(self.key("log", topic))
            .arg(format!("{}-0", since.saturating_add(1)))
            .invoke_async(&mut self.conn.clone())
            .await?;
        let mut items = reply.into_iter();
        let head = items.next().and_then(|h| h.parse().ok()).unwrap_or(0);
        let mut held = Vec::new();
        while let (Some(id), Some(body)) = (items.next(), items.next()) {
            let seq = id.split('-').next().and_then(|s| s.parse().ok());
            match (seq, serde_json::from_str::<Body>(&body)) {
                (Some(seq), Ok(body)) => held.push(Arc::new(body.into_event(seq))),
                // An unreadable entry is a hole: the resume rule then answers "too old".
                _ => tracing::warn!(topic, id, "realtime: unreadable event in the redis log"),
            }
        }
        let oldest = buffer::cutoff(Utc::now(), config.replay_age);
        Ok((head, buffer::resume(since, head, held, oldest)))
    }
}

/// Relays the channel to local subscribers for as long as the hub lives, reconnecting with
/// backoff. `ready` fires after the first attempt, successful or not.
async fn relay(
    client: Client,
    channel: String,
    topics: Arc<Topics>,
    mut stop: oneshot::Receiver<()>,
    ready: oneshot::Sender<()>,
) {
    let mut ready = Some(ready);
    let mut retry = RETRY_MIN;
    loop {
        match tokio::time::timeout(CONNECT_TIMEOUT, subscribe(&client, &channel)).await {
            Ok(Ok(pubsub)) => {
                if let Some(r) = ready.take() {
                    let _ = r.send(());
                }
                retry = RETRY_MIN;
                // Whatever was published while this instance was not listening is in the log.
                topics.recheck_all();
                let mut messages = pubsub.into_on_message();
                loop {
                    tokio::select! {
                        _ = &mut stop => return,
                        msg = messages.next() => match msg {
                            Some(msg) => dispatch(&topics, msg.get_payload_bytes()),
                            None => break,
                        },
                    }
                }
                tracing::warn!("realtime: redis pub/sub connection lost, reconnecting");
            }
            Ok(Err(e)) => tracing::error!(error = %e, "realtime: redis pub/sub unavailable"),
            Err(_) => tracing::error!("realtime: redis pub/sub connection timed out"),
        }
        if let Some(r) = ready.take() {
            let _ = r.send(());
        }
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(retry) => {}
        }
        retry = (retry * 2).min(RETRY_MAX);
    }
}

async fn subscribe(client: &Client, channel: &str) -> RedisResult<PubSub> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    Ok(pubsub)
}

/// Parses `<seq> <topic> <event>` (topics contain no space) and hands the event over.
fn dispatch(topics: &Topics, payload: &[u8]) {
    let Some((seq, topic, body)) = std::str::from_utf8(payload).ok().and_then(|p| {
        let (seq, rest) = p.split_once(' ')?;
        let (topic, body) = rest.split_once(' ')?;
        Some((seq.parse::<u64>().ok()?, topic, body))
    }) else {
        tracing::warn!("realtime: unreadable message on the redis channel");
        return;
    };
    topics.relay(topic, || match serde_json::from_str::<Body>(body) {
        Ok(b) => Some(Signal::Event(Arc::new(b.into_event(seq)))),
        Err(e) => {
            tracing::warn!(error = %e, topic, "realtime: unreadable event on the redis channel");
            None
        }
    });
}
