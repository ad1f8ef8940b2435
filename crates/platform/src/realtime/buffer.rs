//! The replay buffer of one topic (in memory), and the rule every store answers a resume with:
//! all events after the position, or "too old" when the first of them is no longer held.

use std::{collections::VecDeque, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};

use super::event::Event;

/// The answer to "what came after position `since`?".
#[derive(Debug)]
pub(crate) enum Replay {
    /// Every event after the position, oldest first (empty when the position is current).
    Events(Vec<Arc<Event>>),
    /// The event right after the position is gone (or the position was never given out): the
    /// subscriber must resync.
    TooOld,
}

/// Decides a resume from the events a store still holds, `held`, oldest first: the store keeps
/// a suffix of the topic, so a resume is complete iff it starts right after `since`.
pub(crate) fn resume(
    since: u64,
    head: u64,
    held: impl IntoIterator<Item = Arc<Event>>,
    oldest: DateTime<Utc>,
) -> Replay {
    if since > head {
        // A position this store never gave out: it was reset (process restart, flushed Redis).
        return Replay::TooOld;
    }
    if since == head {
        return Replay::Events(Vec::new());
    }
    let events: Vec<_> = held
        .into_iter()
        .skip_while(|e| e.at < oldest)
        .filter(|e| e.seq > since)
        .collect();
    match events.first() {
        Some(first) if first.seq == since + 1 => Replay::Events(events),
        _ => Replay::TooOld,
    }
}

/// The last `max_len` events of a topic, none older than `max_age`.
#[derive(Debug)]
pub(crate) struct ReplayBuffer {
    events: VecDeque<Arc<Event>>,
    max_len: usize,
    max_age: Duration,
}

impl ReplayBuffer {
    pub(crate) fn new(max_len: usize, max_age: Duration) -> Self {
        Self {
            events: VecDeque::new(),
            max_len,
            max_age,
        }
    }

    /// Appends the newest event and forgets what falls out of the window.
    pub(crate) fn push(&mut self, event: Arc<Event>, now: DateTime<Utc>) {
        self.events.push_back(event);
        while self.events.len() > self.max_len {
            self.events.pop_front();
        }
        self.prune(now);
    }

    /// Forgets events older than `max_age`, and gives memory back once the topic is idle.
    pub(crate) fn prune(&mut self, now: DateTime<Utc>) {
        let oldest = cutoff(now, self.max_age);
        while self.events.front().is_some_and(|e| e.at < oldest) {
            self.events.pop_front();
        }
        if self.events.is_empty() {
            self.events.shrink_to_fit();
        }
    }

    /// What came after `since`, given the topic's current position `head`.
    pub(crate) fn after(&self, since: u64, head: u64, now: DateTime<Utc>) -> Replay {
        // Events are contiguous in sequence, so skip straight to the first one after `since`.
        let start = self.events.partition_point(|e| e.seq <= since);
        resume(
            since,
            head,
            self.events.range(start..).cloned(),
            cutoff(now, self.max_age),
        )
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.events.len()
    }
}

/// The publication time before which events no longer count as held.
pub(crate) fn cutoff(now: DateTime<Utc>, max_age: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(max_age)
        .ok()
        .and_then(|age| now.checked_sub_signed(age))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
    }

    fn event(seq: u64, secs: i64) -> Arc<Event> {
        Arc::new(Event::new(
            seq,
            "t".into(),
            "k".into(),
            serde_json::Value::Null,
            at(secs),
        ))
    }

    fn filled(n: u64, max_len: usize) -> ReplayBuffer {
        let mut b = ReplayBuffer::new(max_len, Duration::from_secs(600));
        for seq in 1..=n {
            b.push(event(seq, seq as i64), at(seq as i64));
        }
        b
    }

    fn seqs(r: Replay) -> Vec<u64> {
        match r {
            Replay::Events(v) => v.iter().map(|e| e.seq).collect(),
            Replay::TooOld => panic!("expected events, got TooOld"),
        }
    }

    #[test]
    fn resume_returns_every_event_after_the_position() {
        let b = filled(5, 10);
        assert_eq!(seqs(b.after(2, 5, at(5))), vec![3, 4, 5]);
        assert_eq!(seqs(b.after(0, 5, at(5))), vec![1, 2, 3, 4, 5]);
    }

    #[test]
    fn resume_at_the_head_returns_nothing() {
        let b = filled(5, 10);
        assert!(seqs(b.after(5, 5, at(5))).is_empty());
        let empty = ReplayBuffer::new(10, Duration::from_secs(600));
        assert!(seqs(empty.after(0, 0, at(0))).is_empty());
    }

    #[test]
    fn buffer_keeps_only_the_last_max_len_events() {
        let b = filled(10, 3);
        assert_eq!(b.len(), 3);
        assert_eq!(seqs(b.after(7, 10, at(10))), vec![8, 9, 10]);
    }

    #[test]
    fn a_position_older_than_the_buffer_is_too_old() {
        let b = filled(10, 3);
        assert!(matches!(b.after(6, 10, at(10)), Replay::TooOld));
        assert!(matches!(b.after(0, 10, at(10)), Replay::TooOld));
    }

    #[test]
    fn a_position_beyond_the_head_is_too_old() {
        let b = filled(3, 10);
        assert!(matches!(b.after(7, 3, at(3)), Replay::TooOld));
    }

    #[test]
    fn events_older_than_max_age_are_not_replayed() {
        let mut b = ReplayBuffer::new(10, Duration::from_secs(60));
        b.push(event(1, 0), at(0));
        b.push(event(2, 50), at(50));
        b.push(event(3, 100), at(100));
        // At t=100 the event of t=0 is gone, so resuming from 0 is too old, from 1 is fine.
        assert!(matches!(b.after(0, 3, at(100)), Replay::TooOld));
        assert_eq!(seqs(b.after(1, 3, at(100))), vec![2, 3]);
        // Later, without a publish, reading applies the age limit too.
        assert!(matches!(b.after(1, 3, at(115)), Replay::TooOld));
        b.prune(at(1000));
        assert_eq!(b.len(), 0);
    }

    #[test]
    fn a_store_that_lost_the_next_event_answers_too_old() {
        // What Redis may hold after trimming: a suffix starting past the position.
        let held = vec![event(5, 0), event(6, 0)];
        assert!(matches!(resume(3, 6, held.clone(), at(-1)), Replay::TooOld));
        assert_eq!(seqs(resume(4, 6, held, at(-1))), vec![5, 6]);
    }
}
