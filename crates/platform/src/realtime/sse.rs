//! The SSE transport: a fixed set of topics per response, resumable with `Last-Event-ID`.
//!
//! Event ids carry the client's position in every topic of the response, so the browser's
//! automatic reconnect resumes all of them:
//!
//! * one topic: the sequence id, `42`;
//! * several: `topic=seq` pairs in topic order, joined by `,`: `campaign:a=42,campaign:b=7`
//!   (topic names contain neither `=` nor `,`).
//!
//! A `Last-Event-ID` naming topics the request does not follow is ignored for those topics; a
//! topic it does not name starts live. One that cannot be read at all starts every topic live
//! with a `resync`, since where the client was is unknown.
//!
//! A response whose [`Lease`] ends (its session was revoked, its access token expired) sends a
//! last `closed` event naming the reason, then ends.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap, VecDeque},
    convert::Infallible,
    pin::Pin,
    task::{Context, Poll},
};

use axum::response::sse::{Event as SseEvent, Sse};
use futures_util::{
    Stream, StreamExt,
    stream::{BoxStream, SelectAll},
};
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::{
    RealtimeError,
    event::Delivery,
    gateway::Gateway,
    metrics::{self, ConnectionGauge},
    sessions::{Lease, lease_ended},
    subscription::Subscription,
    valid_topic,
    wire::ControlMessage,
};

impl<P: Send + Sync + 'static> Gateway<P> {
    /// An SSE response following `topics` for `principal`, resuming from `last_event_id` (the
    /// `Last-Event-ID` header, or a query parameter for clients that cannot set headers).
    /// Refuses with [`RealtimeError::Forbidden`] if the hook denies any of the topics.
    ///
    /// Events are `event: <event type>`, `id: <positions>` and
    /// `data: {"type","seq","topic","data","at"}`.
    /// The stream opens with a `subscribed` event per topic (its id is the starting position, so
    /// a client that reconnects before any event still resumes), sends `resync` when events
    /// were lost for the client, and a `HEARTBEAT` event (no id) every heartbeat interval.
    /// When `lease` ends, a last `closed` event (`{"type":"closed","reason"}`) ends the stream.
    pub async fn sse(
        &self,
        principal: &P,
        topics: &[String],
        last_event_id: Option<&str>,
        lease: Option<Lease>,
    ) -> Result<Sse<SseStream>, RealtimeError> {
        let topics: BTreeSet<&str> = topics.iter().map(String::as_str).collect();
        if topics.is_empty() || !topics.iter().all(|t| valid_topic(t)) {
            return Err(RealtimeError::InvalidTopic);
        }
        if topics.len() > self.config.max_topics {
            return Err(RealtimeError::TooManyTopics);
        }
        let resume = parse_last_event_id(last_event_id, &topics);
        let mut subs = SelectAll::new();
        let mut positions = BTreeMap::new();
        for &topic in &topics {
            let since = match &resume {
                Resume::At(at) => at.get(topic).copied(),
                Resume::Fresh | Resume::Unreadable => None,
            };
            let sub = self.subscribe(principal, topic, since).await?;
            positions.insert(topic.to_owned(), sub.position());
            subs.push(sub);
        }

        let id = encode_positions(&positions);
        let mut prologue = VecDeque::new();
        for (topic, &seq) in &positions {
            let topic = topic.clone();
            let msg = ControlMessage::Subscribed { topic, seq };
            prologue.push_back(control_event("subscribed", &msg).id(&id));
        }
        if matches!(resume, Resume::Unreadable) {
            for (topic, &seq) in &positions {
                let topic = topic.clone();
                let msg = ControlMessage::Resync { topic, seq };
                prologue.push_back(control_event("resync", &msg).id(&id));
            }
        }

        let every = self.config.heartbeat;
        let mut heartbeat = tokio::time::interval_at(Instant::now() + every, every);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let state = Connection {
            subs,
            positions,
            prologue,
            heartbeat,
            lease,
            ended: false,
            _gauge: ConnectionGauge::open("sse"),
        };
        let stream = futures_util::stream::unfold(state, |mut c| async move {
            let event = c.next().await?;
            Some((Ok(event), c))
        });
        Ok(Sse::new(SseStream(stream.boxed())))
    }
}

/// The body of an SSE response from [`Gateway::sse`].
pub struct SseStream(BoxStream<'static, Result<SseEvent, Infallible>>);

impl Stream for SseStream {
    type Item = Result<SseEvent, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_next_unpin(cx)
    }
}

struct Connection {
    subs: SelectAll<Subscription>,
    /// The client's position per topic, as the next event id tells it.
    positions: BTreeMap<String, u64>,
    prologue: VecDeque<SseEvent>,
    heartbeat: Interval,
    lease: Option<Lease>,
    /// The `closed` event went out: the stream ends.
    ended: bool,
    _gauge: ConnectionGauge,
}

impl Connection {
    async fn next(&mut self) -> Option<SseEvent> {
        if self.ended {
            return None;
        }
        if let Some(event) = self.prologue.pop_front() {
            return Some(event);
        }
        tokio::select! {
            reason = lease_ended(&mut self.lease) => {
                self.ended = true;
                metrics::disconnected("sse", reason.as_str());
                Some(control_event("closed", &ControlMessage::Closed { reason }))
            }
            delivery = self.subs.next() => Some(self.event(delivery?)),
            _ = self.heartbeat.tick() => {
                let beat = ControlMessage::Heartbeat { at: chrono::Utc::now() };
                Some(control_event("HEARTBEAT", &beat))
            }
        }
    }

    fn event(&mut self, delivery: Delivery) -> SseEvent {
        self.positions
            .insert(delivery.topic().to_owned(), delivery.seq());
        let id = encode_positions(&self.positions);
        match delivery {
            Delivery::Event(e) => {
                metrics::delivered("sse");
                SseEvent::default()
                    .event(&e.kind)
                    .id(id)
                    .data(e.to_json().as_str())
            }
            Delivery::Resync { topic, seq } => {
                control_event("resync", &ControlMessage::Resync { topic, seq }).id(id)
            }
        }
    }
}

fn control_event(name: &str, msg: &ControlMessage) -> SseEvent {
    SseEvent::default().event(name).data(msg.to_json())
}

/// What a `Last-Event-ID` says about where the client was.
#[derive(Debug, PartialEq)]
enum Resume {
    /// No id: a first connection.
    Fresh,
    /// Positions per topic, for the requested topics it names.
    At(HashMap<String, u64>),
    /// An id this server did not write.
    Unreadable,
}

fn parse_last_event_id(raw: Option<&str>, topics: &BTreeSet<&str>) -> Resume {
    let raw = match raw.map(str::trim) {
        None | Some("") => return Resume::Fresh,
        Some(raw) => raw,
    };
    if let Ok(seq) = raw.parse::<u64>() {
        return match topics.first() {
            Some(&only) if topics.len() == 1 => Resume::At(HashMap::from([(only.to_owned(), seq)])),
            // A bare number cannot say which of several topics it belongs to.
            _ => Resume::Unreadable,
        };
    }
    let mut at = HashMap::new();
    for pair in raw.split(',') {
        let Some((topic, seq)) = pair.rsplit_once('=') else {
            return Resume::Unreadable;
        };
        let Ok(seq) = seq.parse::<u64>() else {
            return Resume::Unreadable;
        };
        if topics.contains(topic) {
            at.insert(topic.to_owned(), seq);
        }
    }
    Resume::At(at)
}

fn encode_positions(positions: &BTreeMap<String, u64>) -> String {
    if positions.len() == 1
        && let Some(seq) = positions.values().next()
    {
        return seq.to_string();
    }
    positions
        .iter()
        .map(|(topic, seq)| format!("{topic}={seq}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set<'a>(topics: &[&'a str]) -> BTreeSet<&'a str> {
        topics.iter().copied().collect()
    }

    #[test]
    fn one_topic_uses_the_bare_sequence_id() {
        let positions = BTreeMap::from([("campaign:a".to_owned(), 42)]);
        assert_eq!(encode_positions(&positions), "42");
        assert_eq!(
            parse_last_event_id(Some("42"), &set(&["campaign:a"])),
            Resume::At(HashMap::from([("campaign:a".to_owned(), 42)]))
        );
    }

    #[test]
    fn several_topics_use_topic_seq_pairs_that_round_trip() {
        let positions =
            BTreeMap::from([("campaign:b".to_owned(), 7), ("campaign:a".to_owned(), 42)]);
        let id = encode_positions(&positions);
        assert_eq!(id, "campaign:a=42,campaign:b=7");
        let topics = set(&["campaign:a", "campaign:b"]);
        assert_eq!(
            parse_last_event_id(Some(&id), &topics),
            Resume::At(positions.into_iter().collect())
        );
    }

    #[test]
    fn positions_of_topics_not_requested_are_ignored_and_missing_ones_start_live() {
        let topics = set(&["a", "c"]);
        assert_eq!(
            parse_last_event_id(Some("a=1,b=2"), &topics),
            Resume::At(HashMap::from([("a".to_owned(), 1)]))
        );
    }

    #[test]
    fn no_id_is_a_fresh_start_and_a_foreign_id_is_unreadable() {
        let topics = set(&["a", "b"]);
        assert_eq!(parse_last_event_id(None, &topics), Resume::Fresh);
        assert_eq!(parse_last_event_id(Some(" "), &topics), Resume::Fresh);
        for foreign in ["5", "a=x", "hello", "a=1,,b=2", "a=-1"] {
            assert_eq!(
                parse_last_event_id(Some(foreign), &topics),
                Resume::Unreadable,
                "{foreign}"
            );
        }
    }
}
