//! Fixed-window rate limits declared as rules (limit, window, what the key is) in each
//! product's route table ([`routes`]), the one way a product limits requests: the table is
//! applied before the handlers run and every answer of a limited route carries
//! `X-RateLimit-*`. Counted in memory on one instance, or in Redis (`REDIS_URL`) so the limits
//! hold across instances. (Guessing passwords is stopped by `identity::throttle`, which counts
//! failures, not requests.)

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
        let redis = Redis {
            redis: LazyRedis::new(url)?,
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

/// A Redis connection made on first use (and retried on the next use while it cannot be
/// made), so a Redis that is down at start delays nothing.
pub(crate) struct LazyRedis {
    client: redis::Client,
    conn: tokio::sync::OnceCell<ConnectionManager>,
}

impl LazyRedis {
    pub(crate) fn new(url: &str) -> anyhow::Result<Self> {
        Ok(Self {
            client: redis::Client::open(url)?,
            conn: tokio::sync::OnceCell::new(),
        })
    }

    /// The shared connection (a cheap clone); connecting gives up after 2 seconds.
    pub(crate) async fn conn(&self) -> redis::RedisResult<ConnectionManager> {
        let connect = self
            .conn
            .get_or_try_init(|| ConnectionManager::new(self.client.clone()));
        match tokio::time::timeout(Duration::from_secs(2), connect).await {
            Ok(conn) => conn.cloned(),
            Err(_) => Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "redis connection timed out",
            ))),
        }
    }
}

struct Redis {
    redis: LazyRedis,
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
        let mut conn = self.redis.conn().await?;
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

/// Declarative per-route limits: a product lists `(method, route, rule)` rows
/// (`Product::RATE_LIMITS`, kept in its `service/access.rs`) and the platform counts every
/// matching request under the rule's key before the handler runs; every answer of a limited
/// route carries `X-RateLimit-*` (of its tightest rule).
pub mod routes {
    use std::sync::Arc;

    use axum::{
        Router,
        body::{Body, to_bytes},
        extract::{MatchedPath, Request, State},
        http::{HeaderValue, StatusCode, header, request::Parts},
        middleware::{self, Next},
        response::{IntoResponse, Response},
    };
    use axum_extra::extract::CookieJar;

    use super::{Allowance, KeyKind, RateLimiter, Rule};
    use crate::{
        cookies::CookiePolicy,
        core::Core,
        error::{ApiError, ErrorCode},
        extract::ClientInfo,
        identity::Identity,
    };

    /// One row of a product's table; `route` is the router's pattern, e.g. `/api/leads/{id}`.
    /// Rows of one rule on several routes share its count.
    #[derive(Clone, Copy, Debug)]
    pub struct RouteLimit {
        pub method: &'static str,
        pub route: &'static str,
        pub rule: Rule,
    }

    impl RouteLimit {
        pub const fn new(method: &'static str, route: &'static str, rule: Rule) -> Self {
            Self {
                method,
                route,
                rule,
            }
        }

        /// A row for `POST route`.
        pub const fn post(route: &'static str, rule: Rule) -> Self {
            Self::new("POST", route, rule)
        }

        /// A row for `GET route`.
        pub const fn get(route: &'static str, rule: Rule) -> Self {
            Self::new("GET", route, rule)
        }
    }

    /// What the middleware needs: the counters, the table, and the identity service and
    /// session cookies (to read the user of an access token for per-user rules).
    #[derive(Clone)]
    pub struct RouteLimits {
        pub limiter: Arc<RateLimiter>,
        pub table: &'static [RouteLimit],
        pub identity: Identity,
        pub cookies: Option<Arc<CookiePolicy>>,
    }

    impl RouteLimits {
        pub fn new(core: &Core, table: &'static [RouteLimit]) -> Self {
            Self {
                limiter: core.limiter.clone(),
                table,
                identity: core.identity.clone(),
                cookies: core.cookies.clone(),
            }
        }
    }

    /// Applies `table` to `routes` (a route layer: only matched routes are counted).
    pub fn layer<S: Clone + Send + Sync + 'static>(
        routes: Router<S>,
        core: &Core,
        table: &'static [RouteLimit],
    ) -> Router<S> {
        if table.is_empty() {
            return routes;
        }
        let limits = Arc::new(RouteLimits::new(core, table));
        routes.route_layer(middleware::from_fn_with_state(limits, route_limits))
    }

    /// Bodies larger than this are not read for an email key (the body limit is 1 MiB anyway).
    const PEEK_LIMIT: usize = 1024 * 1024;

    pub async fn route_limits(
        State(limits): State<Arc<RouteLimits>>,
        req: Request,
        next: Next,
    ) -> Response {
        // Every matched route passes here: the common case (no row for it) allocates nothing.
        let rows: Vec<Rule> = match req.extensions().get::<MatchedPath>() {
            Some(route) => {
                let route = route.as_str();
                let method = req.method().as_str();
                let applies = |r: &&RouteLimit| r.route == route && r.method == method;
                if !limits.table.iter().any(|r| applies(&r)) {
                    return next.run(req).await;
                }
                limits
                    .table
                    .iter()
                    .filter(applies)
                    .map(|r| r.rule)
                    .collect()
            }
            None => return next.run(req).await,
        };
        let (parts, body) = req.into_parts();
        let client = ClientInfo::from_parts(&parts);
        // The body is read (and handed on) only when a rule keys on its address.
        let (bytes, body) = if rows.iter().any(|r| r.key == KeyKind::Email) {
            match to_bytes(body, PEEK_LIMIT).await {
                Ok(b) => (b.clone(), Body::from(b)),
                Err(_) => return too_large().into_response(),
            }
        } else {
            (axum::body::Bytes::new(), body)
        };
        let mut tightest: Option<Allowance> = None;
        for rule in &rows {
            let Some(key) = key_for(rule.key, &parts, &client, &bytes, &limits) else {
                continue;
            };
            match limits.limiter.hit(rule, &key).await {
                Ok(a) => {
                    if tightest.is_none_or(|t| a.remaining < t.remaining) {
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
        let mut res = next.run(Request::from_parts(parts, body)).await;
        if let Some(a) = tightest {
            a.write_headers(res.headers_mut());
        }
        res
    }

    fn too_large() -> ApiError {
        ApiError::new(ErrorCode::ResourceExhausted, "request body too large")
            .with_status(StatusCode::PAYLOAD_TOO_LARGE)
    }

    /// The key a rule counts by, when the request has one: IP always; email from the body's
    /// `email` (JSON, or a form) or, for token-only requests, the token, which stands for one
    /// address; with neither, the client IP; user from the access token's subject (the
    /// Bearer header, or the product's access cookie). Organization keys need the
    /// organization of the caller, which tokens do not carry yet: such rows count nothing
    /// until they do.
    fn key_for(
        kind: KeyKind,
        parts: &Parts,
        client: &ClientInfo,
        body: &[u8],
        limits: &RouteLimits,
    ) -> Option<String> {
        let ip = || client.ip_string().unwrap_or_else(|| "unknown".into());
        match kind {
            KeyKind::Ip => Some(ip()),
            KeyKind::Email => {
                let (email, token) = body_fields(parts, body);
                Some(match (email, token) {
                    (Some(e), _) => crate::identity::normalize_email(&e),
                    (None, Some(t)) => format!("token:{}", crate::identity::crypto::token_hash(&t)),
                    // Neither: still counted (by address), so no request escapes the rule.
                    _ => format!("ip:{}", ip()),
                })
            }
            KeyKind::Organization => None,
            KeyKind::User => {
                let token = bearer(parts).or_else(|| {
                    let jar = CookieJar::from_headers(&parts.headers);
                    let policy = limits.cookies.as_deref()?;
                    policy.access_token(&jar).map(str::to_owned)
                })?;
                limits
                    .identity
                    .access_claims(&token)
                    .map(|c| c.sub.to_string())
            }
        }
    }

    fn bearer(parts: &Parts) -> Option<String> {
        let auth = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, token) = auth.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned())
    }

    /// `email` and `token` of a JSON or form body (strings only).
    fn body_fields(parts: &Parts, body: &[u8]) -> (Option<String>, Option<String>) {
        let is_form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if is_form {
            let mut f = url::form_urlencoded::parse(body);
            let mut email = None;
            let mut token = None;
            for (k, v) in f.by_ref() {
                match k.as_ref() {
                    "email" if email.is_none() => email = Some(v.into_owned()),
                    "token" if token.is_none() => token = Some(v.into_owned()),
                    _ => {}
                }
            }
            return (email, token);
        }
        let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let text = |k: &str| v[k].as_str().map(str::to_owned);
        (text("email"), text("token"))
    }
}
