//! One subscriber's view of one topic: replay first, then the live channel, with every gap
//! filled from the store (or announced as a resync) and every duplicate skipped.

use std::{
    collections::VecDeque,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use futures_util::{Stream, StreamExt, stream::BoxStream};
use tokio::sync::broadcast::{self, error::RecvError};

use super::{
    buffer::Replay,
    event::{Delivery, Event},
    hub::{Hub, Signal},
    metrics,
};

/// The deliveries of one topic for one subscriber, in sequence order, each once.
pub struct Subscription {
    topic: String,
    position: u64,
    stream: BoxStream<'static, Delivery>,
}

impl Subscription {
    pub(crate) fn new(
        hub: Hub,
        topic: String,
        rx: broadcast::Receiver<Signal>,
        position: u64,
        pending: Vec<Delivery>,
    ) -> Self {
        let cursor = Cursor {
            hub,
            topic: topic.clone(),
            rx,
            last: pending.last().map_or(position, Delivery::seq),
            pending: pending.into(),
        };
        let stream = futures_util::stream::unfold(cursor, |mut c| async move {
            let delivery = c.next().await?;
            Some((delivery, c))
        })
        .boxed();
        Self {
            topic,
            position,
            stream,
        }
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Where the subscription starts: it delivers the events after this sequence id.
    pub fn position(&self) -> u64 {
        self.position
    }
}

impl Stream for Subscription {
    type Item = Delivery;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Delivery>> {
        self.stream.poll_next_unpin(cx)
    }
}

struct Cursor {
    hub: Hub,
    topic: String,
    rx: broadcast::Receiver<Signal>,
    /// The sequence id of the last delivery handed out.
    last: u64,
    pending: VecDeque<Delivery>,
}

impl Cursor {
    async fn next(&mut self) -> Option<Delivery> {
        loop {
            if let Some(d) = self.pending.pop_front() {
                return Some(d);
            }
            match self.rx.recv().await {
                // Replay and live stream overlap by design; the overlap is skipped here.
                Ok(Signal::Event(e)) if e.seq <= self.last => {}
                Ok(Signal::Event(e)) if e.seq == self.last + 1 => {
                    self.last = e.seq;
                    return Some(Delivery::Event(e));
                }
                // Only with Redis: this instance missed messages on pub/sub.
                Ok(Signal::Event(e)) => self.catch_up("gap", Some(e)).await,
                Ok(Signal::Recheck) => self.catch_up("recheck", None).await,
                Err(RecvError::Lagged(_)) => self.catch_up("lagged", None).await,
                Err(RecvError::Closed) => return None,
            }
        }
    }

    /// Queues what the store holds after `last`, or a resync when it no longer holds it.
    /// `seen` is the live event that revealed a gap, if one did.
    async fn catch_up(&mut self, reason: &'static str, seen: Option<Arc<Event>>) {
        metrics::catch_up(reason);
        match self.hub.replay(&self.topic, self.last).await {
            Ok((_, Replay::Events(events))) => {
                for e in events {
                    if e.seq > self.last {
                        self.last = e.seq;
                        self.pending.push_back(Delivery::Event(e));
                    }
                }
            }
            Ok((head, Replay::TooOld)) => {
                metrics::resync(reason);
                self.resync(head);
            }
            // Without the store the gap cannot be filled; if a live event showed it, the
            // resync below says so. Otherwise the next event will show it again.
            Err(e) => tracing::warn!(error = %e, topic = %self.topic, "realtime: cannot catch up"),
        }
        // The store had the revealing event before it was published, so the replay normally
        // covered it; this keeps the promise if the store has lost it meanwhile.
        if let Some(e) = seen
            && e.seq > self.last
        {
            if e.seq > self.last + 1 {
                metrics::resync("store_unavailable");
                self.resync(e.seq - 1);
            }
            self.last = e.seq;
            self.pending.push_back(Delivery::Event(e));
        }
    }

    fn resync(&mut self, seq: u64) {
        self.last = seq;
        self.pending.push_back(Delivery::Resync {
            topic: self.topic.clone(),
            seq,
        });
    }
}
