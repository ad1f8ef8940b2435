//! The WebSocket transport: one connection following any number of topics, driven by the
//! client's `subscribe` / `unsubscribe` / `PING` messages, with heartbeats and dead-connection
//! detection. The product authenticates and checks the origin before upgrading, and hands over
//! the connection's [`Lease`] so it ends with its session.

use std::collections::HashMap;

use axum::extract::{
    WebSocketUpgrade,
    ws::{CloseFrame, Message, WebSocket, close_code},
};
use futures_util::{
    SinkExt, StreamExt,
    stream::{AbortHandle, Abortable, SelectAll, SplitSink, SplitStream},
};
use tokio::time::{Instant, MissedTickBehavior};

use super::{
    RealtimeError,
    event::Delivery,
    gateway::Gateway,
    metrics::{self, ConnectionGauge},
    sessions::{Lease, lease_ended},
    subscription::Subscription,
    wire::{ClientMessage, ControlMessage, StreamErrorCode, SubscribeRequest},
};

/// Sizes an upgrade for a stream connection. Clients only send small control messages
/// (`subscribe`, `PING`), so a small read buffer and message cap replace tungstenite's
/// 128 KiB read buffer and 64 MiB messages: memory per connection stays a few KiB, and a client
/// cannot make the server buffer a large frame. Events going out are small too; a write
/// buffer that fills flushes early instead of growing.
pub fn stream_upgrade(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(16 * 1024)
        .max_message_size(64 * 1024)
        .max_frame_size(64 * 1024)
}

impl<P: Send + Sync + 'static> Gateway<P> {
    /// Runs an upgraded WebSocket for `principal` until the client leaves, stops answering
    /// (no frame within [`StreamConfig::idle_timeout`](super::StreamConfig)), stops reading
    /// (a write blocked for `write_timeout`), or its `lease` ends: then the last message is
    /// `closed { reason }`, and the close frame carries the reason (`session_revoked`,
    /// `token_expired`) and its [`close_code`](super::CloseReason::close_code). Without a
    /// lease the connection belongs to no session.
    /// `initial` topics are subscribed first, as if the client had asked, for URLs that name
    /// their topic (`/ws/campaigns/{id}/stream`).
    ///
    /// Client → server: `{"type":"subscribe","topic","since"?}`, `{"type":"unsubscribe","topic"}`,
    /// `{"type":"PING"}`. Server → client: events `{"type":<event type>,"seq","topic","data","at"}`
    /// and the [`ControlMessage`]s: `subscribed` (with the position events follow),
    /// `unsubscribed`, `resync`, `HEARTBEAT`, `PONG`, and `error` for a refused or unreadable
    /// request, which never closes the connection.
    pub async fn run_websocket(
        &self,
        socket: WebSocket,
        principal: P,
        initial: Vec<SubscribeRequest>,
        lease: Option<Lease>,
    ) {
        let _gauge = ConnectionGauge::open("ws");
        let (sink, incoming) = socket.split();
        let mut conn = Connection {
            gateway: self,
            principal,
            sink,
            subs: SelectAll::new(),
            handles: HashMap::new(),
        };
        let reason = conn.run(incoming, initial, lease).await;
        metrics::disconnected("ws", reason);
    }
}

struct Connection<'a, P> {
    gateway: &'a Gateway<P>,
    principal: P,
    sink: SplitSink<WebSocket, Message>,
    /// Every subscription, polled fairly; unsubscribing aborts one through its handle.
    subs: SelectAll<Abortable<Subscription>>,
    handles: HashMap<String, AbortHandle>,
}

/// A write that failed: the peer is gone, or it stopped reading.
enum WriteError {
    Closed,
    Stuck,
}

impl WriteError {
    fn reason(&self) -> &'static str {
        match self {
            WriteError::Closed => "client",
            WriteError::Stuck => "slow",
        }
    }
}

impl<P: Send + Sync + 'static> Connection<'_, P> {
    /// The connection's loop; returns why it ended.
    async fn run(
        &mut self,
        mut incoming: SplitStream<WebSocket>,
        initial: Vec<SubscribeRequest>,
        mut lease: Option<Lease>,
    ) -> &'static str {
        for req in initial {
            if let Err(e) = self.subscribe(req).await {
                return e.reason();
            }
        }
        let every = self.gateway.config.heartbeat;
        let idle_timeout = self.gateway.config.idle_timeout;
        let write_timeout = self.gateway.config.write_timeout;
        let mut heartbeat = tokio::time::interval_at(Instant::now() + every, every);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_heard = Instant::now();
        loop {
            let written = tokio::select! {
                frame = incoming.next() => {
                    let Some(Ok(frame)) = frame else { return "client" };
                    last_heard = Instant::now();
                    match frame {
                        Message::Text(text) => self.handle(text.as_str()).await,
                        Message::Binary(_) => {
                            let msg = "binary frames are not part of the protocol";
                            let refusal = ControlMessage::error(StreamErrorCode::BadMessage, msg);
                            self.control(&refusal).await
                        }
                        Message::Close(_) => {
                            // Flushes the close reply tungstenite queued.
                            let _ = tokio::time::timeout(write_timeout, self.sink.close()).await;
                            return "client";
                        }
                        // axum answers pings itself; pongs only prove the client is alive.
                        Message::Ping(_) | Message::Pong(_) => Ok(()),
                    }
                }
                Some(delivery) = self.subs.next(), if !self.subs.is_empty() => {
                    self.deliver(delivery).await
                }
                reason = lease_ended(&mut lease) => {
                    // Best effort: the close frame says it too.
                    let _ = self.control(&ControlMessage::Closed { reason }).await;
                    self.close(&mut incoming, reason.close_code(), reason.as_str()).await;
                    return reason.as_str();
                }
                _ = heartbeat.tick() => {
                    // Browsers answer ping frames by themselves, so a live page always has
                    // been heard from within a couple of heartbeats.
                    if last_heard.elapsed() >= idle_timeout {
                        self.close(&mut incoming, close_code::AWAY, "idle").await;
                        return "idle";
                    }
                    self.heartbeat().await
                }
            };
            if let Err(e) = written {
                return e.reason();
            }
        }
    }

    async fn handle(&mut self, text: &str) -> Result<(), WriteError> {
        match serde_json::from_str::<ClientMessage>(text) {
            Ok(ClientMessage::Subscribe(req)) => self.subscribe(req).await,
            Ok(ClientMessage::Unsubscribe { topic }) => {
                if let Some(handle) = self.handles.remove(&topic) {
                    handle.abort();
                }
                self.control(&ControlMessage::Unsubscribed { topic }).await
            }
            Ok(ClientMessage::Ping) => self.control(&ControlMessage::Pong).await,
            Err(e) => {
                let msg = format!("unreadable message: {e}");
                self.control(&ControlMessage::error(StreamErrorCode::BadMessage, msg))
                    .await
            }
        }
    }

    /// Subscribes (or re-subscribes from a new position) and acknowledges, or says why not.
    async fn subscribe(&mut self, req: SubscribeRequest) -> Result<(), WriteError> {
        let topic = req.topic;
        let max = self.gateway.config.max_topics;
        if !self.handles.contains_key(&topic) && self.handles.len() >= max {
            let msg = format!("at most {max} topics per connection");
            let refusal = ControlMessage::topic_error(StreamErrorCode::TooManyTopics, msg, &topic);
            return self.control(&refusal).await;
        }
        let sub = match self
            .gateway
            .subscribe(&self.principal, &topic, req.since)
            .await
        {
            Ok(sub) => sub,
            Err(e) => return self.control(&refusal(e, &topic)).await,
        };
        if let Some(previous) = self.handles.remove(&topic) {
            previous.abort();
        }
        let seq = sub.position();
        let (sub, handle) = futures_util::stream::abortable(sub);
        self.handles.insert(topic.clone(), handle);
        self.subs.push(sub);
        self.control(&ControlMessage::Subscribed { topic, seq })
            .await
    }

    async fn deliver(&mut self, delivery: Delivery) -> Result<(), WriteError> {
        match delivery {
            Delivery::Event(event) => {
                self.send(Message::Text(event.to_json())).await?;
                metrics::delivered("ws");
                Ok(())
            }
            Delivery::Resync { topic, seq } => {
                self.control(&ControlMessage::Resync { topic, seq }).await
            }
        }
    }

    async fn heartbeat(&mut self) -> Result<(), WriteError> {
        let beat = ControlMessage::Heartbeat {
            at: chrono::Utc::now(),
        };
        self.control(&beat).await?;
        self.send(Message::Ping(Default::default())).await
    }

    /// Sends a close frame and waits, as long as for any write, for the client's: closing the
    /// TCP connection before the client has read everything could make it lose the frame.
    async fn close(&mut self, incoming: &mut SplitStream<WebSocket>, code: u16, reason: &str) {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        if self.send(Message::Close(Some(frame))).await.is_err() {
            return;
        }
        let acknowledged = async {
            while let Some(Ok(msg)) = incoming.next().await {
                if matches!(msg, Message::Close(_)) {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(self.gateway.config.write_timeout, acknowledged).await;
    }

    async fn control(&mut self, msg: &ControlMessage) -> Result<(), WriteError> {
        self.send(Message::Text(msg.to_json().into())).await
    }

    async fn send(&mut self, msg: Message) -> Result<(), WriteError> {
        match tokio::time::timeout(self.gateway.config.write_timeout, self.sink.send(msg)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(WriteError::Closed),
            Err(_) => Err(WriteError::Stuck),
        }
    }
}

/// The `error` message for a refused subscription.
fn refusal(e: RealtimeError, topic: &str) -> ControlMessage {
    let code = match &e {
        RealtimeError::InvalidTopic => StreamErrorCode::InvalidTopic,
        RealtimeError::Forbidden { .. } => StreamErrorCode::Forbidden,
        RealtimeError::TooManyTopics => StreamErrorCode::TooManyTopics,
        RealtimeError::Unavailable(cause) => {
            tracing::error!(error = %cause, "realtime: subscribe failed, redis unavailable");
            StreamErrorCode::Unavailable
        }
        RealtimeError::InvalidType | RealtimeError::Data(_) => StreamErrorCode::BadMessage,
    };
    let message = match code {
        // Never the store's own error text.
        StreamErrorCode::Unavailable => "live updates are unavailable, retry shortly".to_owned(),
        _ => e.to_string(),
    };
    ControlMessage::topic_error(code, message, topic)
}
