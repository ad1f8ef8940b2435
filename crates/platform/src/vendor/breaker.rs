//! The circuit breaker: after `failure_threshold` consecutive failed calls a vendor is left
//! alone for `cool_down` (calls fail fast, nothing is sent), then one trial call decides
//! whether it is back.

use std::{
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// When a breaker opens and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Consecutive failed calls (each after its retries) that open the circuit.
    pub failure_threshold: u32,
    /// How long the circuit stays open before a trial call is let through.
    pub cool_down: Duration,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            cool_down: Duration::from_secs(30),
        }
    }
}

/// What a status endpoint reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// No calls until `retry_after` has passed.
    Open { retry_after: Duration },
    /// The cool-down is over: the next call is the trial (or is in flight).
    HalfOpen,
}

#[derive(Debug)]
enum Inner {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { trial_in_flight: bool },
}

/// How the calls through one breaker ended, since the process started (the product's
/// `/metrics` reads them as `vendor_calls_total`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallCounts {
    /// The vendor answered (a 2xx, or a 4xx it meant: the vendor is up).
    pub succeeded: u64,
    /// Failed after its retries (one breaker failure each).
    pub failed: u64,
    /// Refused without sending anything: the circuit was open, or another call's trial was
    /// deciding.
    pub short_circuited: u64,
}

#[derive(Debug, Default)]
struct Counters {
    succeeded: AtomicU64,
    failed: AtomicU64,
    short_circuited: AtomicU64,
}

/// A shared breaker: clones see the same state. A `std` mutex held for a few instructions,
/// never across an `.await`.
#[derive(Clone, Debug)]
pub struct CircuitBreaker {
    policy: BreakerPolicy,
    inner: Arc<Mutex<Inner>>,
    counts: Arc<Counters>,
}

/// Leave to make one call. Report its outcome with `success`/`failure`; dropped without an
/// outcome (the caller's future was cancelled), a half-open trial slot is handed back.
#[must_use = "report the call's outcome with success() or failure()"]
#[derive(Debug)]
pub struct Permit {
    breaker: CircuitBreaker,
    trial: bool,
    done: bool,
}

impl CircuitBreaker {
    pub fn new(policy: BreakerPolicy) -> Self {
        Self {
            policy,
            inner: Arc::new(Mutex::new(Inner::Closed { failures: 0 })),
            counts: Arc::default(),
        }
    }

    /// How the calls through this breaker ended so far.
    pub fn calls(&self) -> CallCounts {
        CallCounts {
            succeeded: self.counts.succeeded.load(Ordering::Relaxed),
            failed: self.counts.failed.load(Ordering::Relaxed),
            short_circuited: self.counts.short_circuited.load(Ordering::Relaxed),
        }
    }

    pub fn policy(&self) -> BreakerPolicy {
        self.policy
    }

    pub fn state(&self) -> BreakerState {
        self.state_at(Instant::now())
    }

    /// True while calls fail fast.
    pub fn is_open(&self) -> bool {
        matches!(self.state(), BreakerState::Open { .. })
    }

    /// A permit to call, or how long until the next try is worth making.
    pub fn acquire(&self) -> Result<Permit, Duration> {
        self.acquire_at(Instant::now())
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves a valid state behind: keep going.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn state_at(&self, now: Instant) -> BreakerState {
        match *self.lock() {
            Inner::Closed { .. } => BreakerState::Closed,
            Inner::Open { until } if now < until => BreakerState::Open {
                retry_after: until - now,
            },
            Inner::Open { .. } | Inner::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    fn acquire_at(&self, now: Instant) -> Result<Permit, Duration> {
        let permit = self.permit_at(now);
        if permit.is_err() {
            self.counts.short_circuited.fetch_add(1, Ordering::Relaxed);
        }
        permit
    }

    fn permit_at(&self, now: Instant) -> Result<Permit, Duration> {
        let mut inner = self.lock();
        let trial = match *inner {
            Inner::Closed { .. } => false,
            Inner::Open { until } if now < until => return Err(until - now),
            Inner::Open { .. }
            | Inner::HalfOpen {
                trial_in_flight: false,
            } => {
                *inner = Inner::HalfOpen {
                    trial_in_flight: true,
                };
                true
            }
            // Someone else's trial decides; ask again shortly.
            Inner::HalfOpen {
                trial_in_flight: true,
            } => return Err(Duration::from_secs(1).min(self.policy.cool_down)),
        };
        Ok(Permit {
            breaker: self.clone(),
            trial,
            done: false,
        })
    }

    fn record_success(&self) {
        self.counts.succeeded.fetch_add(1, Ordering::Relaxed);
        *self.lock() = Inner::Closed { failures: 0 };
    }

    /// A failed call; `at_least` keeps the circuit open as long as the vendor asked
    /// (a `Retry-After` longer than the cool-down).
    fn record_failure_at(&self, now: Instant, trial: bool, at_least: Option<Duration>) {
        self.counts.failed.fetch_add(1, Ordering::Relaxed);
        let open_for = self.policy.cool_down.max(at_least.unwrap_or_default());
        let mut inner = self.lock();
        *inner = match *inner {
            Inner::Closed { failures }
                if !trial && failures + 1 < self.policy.failure_threshold =>
            {
                Inner::Closed {
                    failures: failures + 1,
                }
            }
            // A call that started while closed may finish after the circuit opened: it
            // does not extend the open window.
            Inner::Open { until } if !trial => Inner::Open { until },
            _ => Inner::Open {
                until: now + open_for,
            },
        };
    }

    fn release_trial(&self) {
        let mut inner = self.lock();
        if let Inner::HalfOpen { .. } = *inner {
            *inner = Inner::HalfOpen {
                trial_in_flight: false,
            };
        }
    }
}

impl Permit {
    pub fn success(mut self) {
        self.done = true;
        self.breaker.record_success();
    }

    /// The call failed; `retry_after` is the vendor's own wait, when it gave one.
    pub fn failure(self, retry_after: Option<Duration>) {
        self.failure_at(Instant::now(), retry_after);
    }

    fn failure_at(mut self, now: Instant, retry_after: Option<Duration>) {
        self.done = true;
        self.breaker.record_failure_at(now, self.trial, retry_after);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.done && self.trial {
            self.breaker.release_trial();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(threshold: u32, cool_down_secs: u64) -> CircuitBreaker {
        CircuitBreaker::new(BreakerPolicy {
            failure_threshold: threshold,
            cool_down: Duration::from_secs(cool_down_secs),
        })
    }

    fn fail(b: &CircuitBreaker, now: Instant) {
        b.acquire_at(now).expect("permit").failure_at(now, None);
    }

    #[test]
    fn the_circuit_opens_after_the_threshold_of_consecutive_failures() {
        let b = breaker(3, 30);
        let now = Instant::now();
        fail(&b, now);
        fail(&b, now);
        assert_eq!(b.state_at(now), BreakerState::Closed);
        fail(&b, now);
        assert_eq!(
            b.state_at(now),
            BreakerState::Open {
                retry_after: Duration::from_secs(30)
            }
        );
        assert_eq!(
            b.acquire_at(now + Duration::from_secs(10)).unwrap_err(),
            Duration::from_secs(20)
        );
    }

    #[test]
    fn calls_are_counted_by_how_they_ended_and_clones_share_the_counts() {
        let b = breaker(2, 30);
        let now = Instant::now();
        b.acquire_at(now).unwrap().success();
        fail(&b, now);
        fail(&b, now);
        assert!(b.clone().acquire_at(now).is_err(), "open");
        assert!(b.acquire_at(now).is_err(), "still open");
        // A permit dropped without an outcome (a cancelled call) is no call that ended.
        drop(b.acquire_at(now + Duration::from_secs(31)).unwrap());
        assert_eq!(
            b.clone().calls(),
            CallCounts {
                succeeded: 1,
                failed: 2,
                short_circuited: 2
            }
        );
    }

    #[test]
    fn a_success_resets_the_count_of_consecutive_failures() {
        let b = breaker(2, 30);
        let now = Instant::now();
        fail(&b, now);
        b.acquire_at(now).unwrap().success();
        fail(&b, now);
        assert_eq!(b.state_at(now), BreakerState::Closed);
    }

    #[test]
    fn after_the_cool_down_one_trial_goes_through_and_its_success_closes_the_circuit() {
        let b = breaker(1, 30);
        let now = Instant::now();
        fail(&b, now);
        let later = now + Duration::from_secs(31);
        assert_eq!(b.state_at(later), BreakerState::HalfOpen);
        let trial = b.acquire_at(later).expect("the trial");
        assert!(
            b.acquire_at(later).is_err(),
            "a second call waits for the trial"
        );
        trial.success();
        assert_eq!(b.state_at(later), BreakerState::Closed);
        assert!(b.acquire_at(later).is_ok());
    }

    #[test]
    fn a_failed_trial_opens_the_circuit_for_another_cool_down() {
        let b = breaker(1, 30);
        let now = Instant::now();
        fail(&b, now);
        let later = now + Duration::from_secs(31);
        fail(&b, later);
        assert_eq!(
            b.acquire_at(later + Duration::from_secs(1)).unwrap_err(),
            Duration::from_secs(29)
        );
    }

    #[test]
    fn an_abandoned_trial_hands_its_slot_back() {
        let b = breaker(1, 30);
        let now = Instant::now();
        fail(&b, now);
        let later = now + Duration::from_secs(31);
        drop(b.acquire_at(later).unwrap());
        assert!(b.acquire_at(later).is_ok());
    }

    #[test]
    fn a_vendor_retry_after_longer_than_the_cool_down_keeps_the_circuit_open() {
        let b = breaker(1, 30);
        let now = Instant::now();
        b.acquire_at(now)
            .unwrap()
            .failure_at(now, Some(Duration::from_secs(120)));
        assert_eq!(b.acquire_at(now).unwrap_err(), Duration::from_secs(120));
    }
}
