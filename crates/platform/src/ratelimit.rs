//! Fixed-window rate limits declared as rules (limit, window, what the key is), checked by
//! handlers and services. In memory on one instance.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::http::{HeaderMap, HeaderValue};

use crate::error::ApiError;

/// What a rule counts by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Ip,
    Email,
    User,
    Organization,
}

/// One line of a product's rate-limit table.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    pub name: &'static str,
    pub limit: u32,
    pub window: Duration,
    pub key: KeyKind,
}

impl Rule {
    pub const fn new(name: &'static str, limit: u32, window_secs: u64, key: KeyKind) -> Self {
        Self {
            name,
            limit,
            window: Duration::from_secs(window_secs),
            key,
        }
    }
}

/// The counter after a permitted hit.
#[derive(Clone, Copy, Debug)]
pub struct Allowance {
    pub limit: u32,
    pub remaining: u32,
    pub reset_after: Duration,
}

impl Allowance {
    /// `X-RateLimit-*` headers for a response.
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        headers.insert("x-ratelimit-limit", HeaderValue::from(self.limit));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(self.remaining));
        headers.insert(
            "x-ratelimit-reset",
            HeaderValue::from(self.reset_after.as_secs().max(1)),
        );
    }
}

#[derive(Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one hit of `rule` for `key`; the N-th hit in a window passes, the N+1-th fails
    /// with 429 and the seconds until the window ends.
    pub async fn hit(&self, rule: &Rule, key: &str) -> Result<Allowance, ApiError> {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() > 100_000 {
            windows
                .retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(86_400));
        }
        let entry = windows
            .entry(format!("{}:{}", rule.name, key))
            .or_insert((now, 0));
        if now.duration_since(entry.0) >= rule.window {
            *entry = (now, 0);
        }
        let reset_after = rule.window.saturating_sub(now.duration_since(entry.0));
        if entry.1 >= rule.limit {
            return Err(ApiError::rate_limited(reset_after.as_secs().max(1)));
        }
        entry.1 += 1;
        Ok(Allowance {
            limit: rule.limit,
            remaining: rule.limit - entry.1,
            reset_after,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_nth_hit_passes_and_the_next_is_refused() {
        let rule = Rule::new("t", 3, 60, KeyKind::Ip);
        let rl = RateLimiter::new();
        for left in [2, 1, 0] {
            assert_eq!(rl.hit(&rule, "1.2.3.4").await.unwrap().remaining, left);
        }
        let err = rl.hit(&rule, "1.2.3.4").await.unwrap_err();
        assert_eq!(err.code, crate::error::ErrorCode::ResourceExhausted);
        assert!(err.retry_after.unwrap() <= 60);
        assert!(
            rl.hit(&rule, "5.6.7.8").await.is_ok(),
            "keys are counted apart"
        );
    }
}
