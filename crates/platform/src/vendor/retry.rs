//! Retry timing: exponential backoff with jitter, and the vendor's own `Retry-After`
//! (delta-seconds or an HTTP date), which wins when it is given.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use rand::Rng;

/// How often and how patiently a call is retried.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0: one attempt only).
    pub max_retries: u32,
    /// The first backoff; each retry doubles it ...
    pub base: Duration,
    /// ... up to this.
    pub max: Duration,
    /// 0.0 ..= 1.0: the share of each backoff that is random (0.5: between half and all of it),
    /// so clients that failed together do not retry together.
    pub jitter: f64,
    /// The longest `Retry-After` we wait inside a call; a longer one ends the call with
    /// `VendorError::Unavailable { retry_after }` so a job can reschedule instead.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            base: Duration::from_millis(250),
            max: Duration::from_secs(4),
            jitter: 0.5,
            max_retry_after: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0 for the first retry): `base * 2^retry`
    /// capped at `max`, less up to `jitter` of it.
    pub fn backoff(&self, retry: u32) -> Duration {
        let full = self
            .base
            .saturating_mul(2u32.saturating_pow(retry.min(31)))
            .min(self.max);
        let jitter = self.jitter.clamp(0.0, 1.0);
        if jitter == 0.0 || full.is_zero() {
            return full;
        }
        let cut = rand::rng().random_range(0.0..=jitter);
        full.mul_f64(1.0 - cut)
    }
}

/// A `Retry-After` value as a wait from `now`: delta-seconds, or an HTTP date (IMF-fixdate,
/// or the obsolete RFC 850 and asctime forms RFC 9110 asks recipients to accept). A date in
/// the past is a wait of zero; anything else unreadable is `None`.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"]
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(value, f).ok())
                .map(|n| n.and_utc())
        })?;
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(jitter: f64) -> RetryPolicy {
        RetryPolicy {
            max_retries: 10,
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
            jitter,
            max_retry_after: Duration::from_secs(5),
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_without_jitter() {
        let p = policy(0.0);
        let waits: Vec<u128> = (0..6).map(|n| p.backoff(n).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(p.backoff(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn jittered_backoff_stays_between_its_floor_and_the_full_wait() {
        let p = policy(0.5);
        for retry in 0..8 {
            let full = policy(0.0).backoff(retry);
            let mut seen = std::collections::HashSet::new();
            for _ in 0..200 {
                let w = p.backoff(retry);
                assert!(w <= full, "{w:?} > {full:?}");
                assert!(w >= full / 2, "{w:?} < half of {full:?}");
                seen.insert(w);
            }
            assert!(seen.len() > 1, "the wait is random");
        }
    }

    #[test]
    fn retry_after_reads_delta_seconds() {
        let now = Utc::now();
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("-3", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn retry_after_reads_http_dates_in_all_three_forms() {
        let now = DateTime::parse_from_rfc3339("1994-11-06T08:49:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let in_37s = Some(Duration::from_secs(37));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            in_37s
        );
        assert_eq!(
            parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now),
            in_37s
        );
        assert_eq!(parse_retry_after("Sun Nov  6 08:49:37 1994", now), in_37s);
    }

    #[test]
    fn a_retry_after_date_in_the_past_means_now() {
        let now = Utc::now();
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::ZERO)
        );
    }
}
