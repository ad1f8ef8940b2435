//! Fixed-window rate limits declared as rules (limit, window, what the key is), checked by
//! handlers and services. Counted in memory on one instance, or in Redis (`REDIS_URL`) so the
//! limits hold across instances.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::http::{HeaderMap, HeaderValue};
use redis::aio::ConnectionManager;

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

/// Counts hits per (rule, key) in fixed windows.
pub struct RateLimiter {
    memory: Memory,
    redis: Option<Redis>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl RateLimiter {
    /// Counts in this process only.
    pub fn new() -> Self {
        Self {
            memory: Memory::default(),
            redis: None,
        }
    }

    /// Counts in Redis, shared by every instance. `prefix` keeps products apart. The
    /// connection is made on first use, so a Redis that is down at start delays nothing: hits
    /// are counted in memory until it answers.
    pub async fn redis(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let redis = Redis {
            client,
            conn: tokio::sync::OnceCell::new(),
            prefix: prefix.to_owned(),
        };
        Ok(Self {
            memory: Memory::default(),
            redis: Some(redis),
        })
    }

    /// Counts one hit of `rule` for `key`; the N-th hit in a window passes, the N+1-th fails
    /// with 429 and the seconds until the window ends.
    pub async fn hit(&self, rule: &Rule, key: &str) -> Result<Allowance, ApiError> {
        let (count, reset_after) = match &self.redis {
            Some(r) => match r.incr(rule, key).await {
                Ok(v) => v,
                Err(e) => {
                    // Losing Redis must not lift the limits: count locally until it is back.
                    tracing::error!(error = %e, "rate limiter: redis unavailable, counting in memory");
                    self.memory.incr(rule, key)
                }
            },
            None => self.memory.incr(rule, key),
        };
        if count > u64::from(rule.limit) {
            return Err(ApiError::rate_limited(reset_after.as_secs().max(1)));
        }
        Ok(Allowance {
            limit: rule.limit,
            remaining: rule.limit - count as u32,
            reset_after,
        })
    }
}

#[derive(Default)]
struct Memory {
    windows: Mutex<HashMap<String, (Instant, u64)>>,
}

impl Memory {
    fn incr(&self, rule: &Rule, key: &str) -> (u64, Duration) {
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
        entry.1 += 1;
        (
            entry.1,
            rule.window.saturating_sub(now.duration_since(entry.0)),
        )
    }
}

struct Redis {
    client: redis::Client,
    conn: tokio::sync::OnceCell<ConnectionManager>,
    prefix: String,
}

/// INCR, and start the window's expiry on its first hit, atomically.
const INCR_SCRIPT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
";

impl Redis {
    async fn incr(&self, rule: &Rule, key: &str) -> redis::RedisResult<(u64, Duration)> {
        let conn = self
            .conn
            .get_or_try_init(|| ConnectionManager::new(self.client.clone()))
            .await?;
        let mut conn = conn.clone();
        let k = format!("{}:rl:{}:{}", self.prefix, rule.name, key);
        let (n, ttl): (u64, i64) = redis::Script::new(INCR_SCRIPT)
            .key(k)
            .arg(rule.window.as_millis() as u64)
            .invoke_async(&mut conn)
            .await?;
        Ok((n, Duration::from_millis(ttl.max(0) as u64)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn boundary(rl: &RateLimiter, rule: &Rule) {
        for left in [2, 1, 0] {
            assert_eq!(rl.hit(rule, "1.2.3.4").await.unwrap().remaining, left);
        }
        let err = rl.hit(rule, "1.2.3.4").await.unwrap_err();
        assert_eq!(err.code, crate::error::ErrorCode::ResourceExhausted);
        assert!((1..=60).contains(&err.retry_after.unwrap()));
        assert!(
            rl.hit(rule, "5.6.7.8").await.is_ok(),
            "keys are counted apart"
        );
    }

    #[tokio::test]
    async fn the_nth_hit_passes_and_the_next_is_refused_in_memory() {
        boundary(&RateLimiter::new(), &Rule::new("t", 3, 60, KeyKind::Ip)).await;
    }

    /// Needs Redis; runs when `TEST_REDIS_URL` is set (CI sets it).
    #[tokio::test]
    async fn two_instances_share_one_count_in_redis() {
        let Ok(url) = std::env::var("TEST_REDIS_URL") else {
            return;
        };
        let prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
        let a = RateLimiter::redis(&url, &prefix).await.unwrap();
        let b = RateLimiter::redis(&url, &prefix).await.unwrap();
        let rule = Rule::new("t", 3, 60, KeyKind::Ip);
        a.hit(&rule, "k").await.unwrap();
        b.hit(&rule, "k").await.unwrap();
        a.hit(&rule, "k").await.unwrap();
        assert!(
            b.hit(&rule, "k").await.is_err(),
            "the 4th hit across instances is refused"
        );
        boundary(
            &RateLimiter::redis(&url, &format!("{prefix}-2"))
                .await
                .unwrap(),
            &rule,
        )
        .await;
    }
}

/// Declarative per-route limits: a product lists `(method, route, rule)` rows and mounts
/// `route_limits` as a route layer; every matching request is counted under the rule's key,
/// and every answer carries `X-RateLimit-*` headers.
pub mod routes {
    use std::sync::Arc;

    use axum::{
        body::{Body, to_bytes},
        extract::{MatchedPath, Request, State},
        http::{HeaderValue, Method, header},
        middleware::Next,
        response::{IntoResponse, Response},
    };

    use super::{KeyKind, RateLimiter, Rule};
    use crate::{extract::ClientInfo, identity::Identity};

    /// One row of a product's table; `route` is the router's pattern, e.g. `/api/leads/{id}`.
    #[derive(Clone, Copy, Debug)]
    pub struct RouteLimit {
        pub method: &'static str,
        pub route: &'static str,
        pub rule: Rule,
    }

    /// What the middleware needs: the counters, the table, and the identity service (to read
    /// the user of a Bearer token for per-user rules).
    #[derive(Clone)]
    pub struct RouteLimits {
        pub limiter: Arc<RateLimiter>,
        pub table: &'static [RouteLimit],
        pub identity: Identity,
    }

    /// Bodies larger than this are not read for an email key (the body limit is 1 MiB anyway).
    const PEEK_LIMIT: usize = 1024 * 1024;

    pub async fn route_limits(
        State(limits): State<RouteLimits>,
        req: Request,
        next: Next,
    ) -> Response {
        let Some(route) = req
            .extensions()
            .get::<MatchedPath>()
            .map(|p| p.as_str().to_owned())
        else {
            return next.run(req).await;
        };
        let rows: Vec<Rule> = limits
            .table
            .iter()
            .filter(|r| {
                r.route == route
                    && Method::from_bytes(r.method.as_bytes()).is_ok_and(|m| m == req.method())
            })
            .map(|r| r.rule)
            .collect();
        if rows.is_empty() {
            return next.run(req).await;
        }
        let (parts, body) = req.into_parts();
        let client = ClientInfo::from_parts(&parts);
        let bytes = match to_bytes(body, PEEK_LIMIT).await {
            Ok(b) => b,
            Err(_) => return crate::ApiError::invalid("request body unreadable").into_response(),
        };
        let mut tightest = None;
        for rule in &rows {
            let Some(key) = key_for(rule.key, &parts, &client, &bytes, &limits.identity) else {
                continue;
            };
            match limits.limiter.hit(rule, &key).await {
                Ok(a) => {
                    if tightest.is_none_or(|t: super::Allowance| a.remaining < t.remaining) {
                        tightest = Some(a);
                    }
                }
                Err(e) => {
                    let mut res = e.into_response();
                    let h = res.headers_mut();
                    h.insert("x-ratelimit-limit", HeaderValue::from(rule.limit));
                    h.insert("x-ratelimit-remaining", HeaderValue::from(0));
                    if let Some(after) = h.get(header::RETRY_AFTER).cloned() {
                        h.insert("x-ratelimit-reset", after);
                    }
                    return res;
                }
            }
        }
        let mut res = next
            .run(Request::from_parts(parts, Body::from(bytes)))
            .await;
        if let Some(a) = tightest {
            a.write_headers(res.headers_mut());
        }
        res
    }

    /// The key a rule counts by, when the request has one: IP always; email from the JSON
    /// body's `email` (or, for token-only requests, the token, which stands for one address;
    /// with neither, the client IP);
    /// user from the Bearer token's subject. Organization keys need the organization of the
    /// caller, which tokens do not carry yet: such rows count nothing until they do.
    fn key_for(
        kind: KeyKind,
        parts: &axum::http::request::Parts,
        client: &ClientInfo,
        body: &[u8],
        identity: &Identity,
    ) -> Option<String> {
        match kind {
            KeyKind::Ip => Some(client.ip_string().unwrap_or_else(|| "unknown".into())),
            KeyKind::Email => {
                let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
                Some(match (v["email"].as_str(), v["token"].as_str()) {
                    (Some(e), _) => crate::identity::normalize_email(e),
                    (None, Some(t)) => format!("token:{}", crate::identity::crypto::token_hash(t)),
                    // Neither: still counted (by address), so no request escapes the rule.
                    _ => format!(
                        "ip:{}",
                        client.ip_string().unwrap_or_else(|| "unknown".into())
                    ),
                })
            }
            KeyKind::Organization => None,
            KeyKind::User => {
                let auth = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
                let token = auth
                    .strip_prefix("Bearer ")
                    .or_else(|| auth.strip_prefix("bearer "))?;
                identity
                    .access_claims(token.trim())
                    .map(|c| c.sub.to_string())
            }
        }
    }
}
