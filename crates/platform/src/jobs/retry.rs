//! How long a failed job waits before its next attempt: capped exponential backoff with jitter,
//! so a vendor outage does not get every queued delivery back at the same instant.

use std::time::Duration;

use rand::Rng;

/// How the computed backoff is randomised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jitter {
    /// Exactly the exponential value (tests, or when a single job retries alone).
    None,
    /// Uniform in `[0, backoff]`: spreads retries the most, but may retry at once.
    Full,
    /// Uniform in `[backoff / 2, backoff]`: spread, and never less than half the backoff.
    Equal,
}

/// Backoff between attempts: `base * 2^(attempt - 1)`, capped at `max`, then jittered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max: Duration,
    pub jitter: Jitter,
}

impl Default for RetryPolicy {
    /// 2 s, 4 s, 8 s, … up to 10 minutes, with equal jitter.
    fn default() -> Self {
        Self {
            base: Duration::from_secs(2),
            max: Duration::from_secs(600),
            jitter: Jitter::Equal,
        }
    }
}

impl RetryPolicy {
    pub fn new(base: Duration, max: Duration, jitter: Jitter) -> Self {
        Self { base, max, jitter }
    }

    /// The un-jittered backoff after `attempt` failed runs (1 for the first failure).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(63);
        let factor = 1u128 << exp;
        let nanos = self.base.as_nanos().saturating_mul(factor);
        let capped = nanos.min(self.max.as_nanos());
        Duration::from_nanos(u64::try_from(capped).unwrap_or(u64::MAX))
    }

    /// The wait before the next attempt after `attempt` failed runs, jitter applied.
    pub fn delay(&self, attempt: u32) -> Duration {
        let backoff = self.backoff(attempt);
        let nanos = u64::try_from(backoff.as_nanos()).unwrap_or(u64::MAX);
        let mut rng = rand::rng();
        let jittered = match self.jitter {
            Jitter::None => nanos,
            Jitter::Full => rng.random_range(0..=nanos),
            Jitter::Equal => nanos / 2 + rng.random_range(0..=nanos - nanos / 2),
        };
        Duration::from_nanos(jittered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(jitter: Jitter) -> RetryPolicy {
        RetryPolicy::new(Duration::from_millis(100), Duration::from_secs(5), jitter)
    }

    #[test]
    fn backoff_doubles_from_the_base_and_stops_at_the_cap() {
        let p = policy(Jitter::None);
        assert_eq!(p.backoff(1), Duration::from_millis(100));
        assert_eq!(p.backoff(2), Duration::from_millis(200));
        assert_eq!(p.backoff(3), Duration::from_millis(400));
        assert_eq!(p.backoff(6), Duration::from_millis(3200));
        assert_eq!(p.backoff(7), Duration::from_secs(5));
        assert_eq!(p.backoff(1000), Duration::from_secs(5));
        assert_eq!(p.delay(3), Duration::from_millis(400));
    }

    #[test]
    fn attempt_zero_is_treated_as_the_first_failure() {
        assert_eq!(policy(Jitter::None).backoff(0), Duration::from_millis(100));
    }

    #[test]
    fn full_jitter_stays_between_zero_and_the_backoff() {
        let p = policy(Jitter::Full);
        let delays: Vec<_> = (0..500).map(|_| p.delay(4)).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_millis(800)));
        // 500 draws from [0, 800 ms] are not all in one half of it.
        assert!(delays.iter().any(|d| *d < Duration::from_millis(400)));
        assert!(delays.iter().any(|d| *d > Duration::from_millis(400)));
    }

    #[test]
    fn equal_jitter_never_waits_less_than_half_the_backoff() {
        let p = policy(Jitter::Equal);
        let delays: Vec<_> = (0..500).map(|_| p.delay(20)).collect();
        assert!(
            delays
                .iter()
                .all(|d| *d >= Duration::from_millis(2500) && *d <= Duration::from_secs(5))
        );
        assert!(delays.iter().any(|d| *d != delays[0]));
    }

    #[test]
    fn huge_bases_saturate_instead_of_overflowing() {
        let p = RetryPolicy::new(Duration::MAX, Duration::MAX, Jitter::Full);
        assert!(p.delay(64) <= Duration::from_nanos(u64::MAX));
    }
}
