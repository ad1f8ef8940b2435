//! Sign-in throttling: stops password (and second-factor) guessing without handing attackers a
//! button that locks the owner out (OWASP Authentication Cheat Sheet, "Account Lockout", and
//! its "Slow Down Online Guessing Attacks with Device Cookies").
//!
//! Only failures count. Failures are kept in *streaks*: one per (account, source), where the
//! source is the device (a valid device cookie for that account) or else the client address,
//! and one per account for the failures that come from *untrusted* sources. A source is
//! trusted for an account when it presents a device cookie issued to that account at a
//! successful sign-in, or when its address has signed in to the account successfully within
//! [`ThrottlePolicy::known_address_ttl`]. An attempt must wait for every streak that applies
//! to it: its own source's, and the account's unless it is trusted. So the owner on a known
//! device or address is never blocked by someone else's failures, while guessing from anywhere
//! else is slowed for the whole account.
//!
//! A streak of `n` failures lets the next attempt through at once while `n` is below
//! [`ThrottlePolicy::free_failures`], then only `first_delay · 2^(n − free)` after the last
//! failure, and from [`ThrottlePolicy::cooldown_after`] failures on only after the cool-down.
//! A streak is forgotten [`ThrottlePolicy::forget_after`] after its last failure; a success
//! ends its source's streak (the account streak only fades with time, so a guesser learns
//! nothing from the owner's sign-ins). Refused attempts evaluate nothing and count nothing.
//!
//! Attempts that are being evaluated count as possible failures ("pending"): a streak admits
//! only as many at once as it could still fail without a delay, and one at a time once delays
//! apply. The others wait (briefly, polling) for the outcome rather than being refused, so a
//! burst of right passwords all gets in while a burst of wrong ones evaluates no more than the
//! streak allows. Streaks live in memory, or in Redis (one Lua script per step, so the check and
//! the reservation are one atomic operation across instances).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use axum::{
    extract::FromRequestParts,
    http::{HeaderValue, header, request::Parts},
    response::{IntoResponseParts, ResponseParts},
};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore;
use subtle::ConstantTimeEq;

use super::{auth::HasIdentity, crypto};
use crate::{error::ApiError, extract::ClientInfo, ratelimit::LazyRedis};

/// The numbers of sign-in throttling (docs: each product's "Sign-in throttling").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures in a streak before attempts are slowed (3).
    pub free_failures: u32,
    /// The wait after the `free_failures`-th failure, doubling with each further one (1 s).
    pub first_delay: Duration,
    /// From this many failures on, each attempt waits the cool-down (10).
    pub cooldown_after: u32,
    /// The wait after a failure once the streak reaches `cooldown_after` (15 minutes).
    pub cooldown: Duration,
    /// A streak is forgotten this long after its last failure (1 hour).
    pub forget_after: Duration,
    /// An address that signed in successfully is trusted for that account this long (30 days).
    pub known_address_ttl: Duration,
    /// Device cookies are valid this long after the sign-in that issued them (90 days).
    pub device_ttl: Duration,
    /// How long an attempt may wait for other attempts' outcomes before it is refused (10 s).
    pub max_wait: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            free_failures: 3,
            first_delay: Duration::from_secs(1),
            cooldown_after: 10,
            cooldown: Duration::from_secs(15 * 60),
            forget_after: Duration::from_secs(3600),
            known_address_ttl: Duration::from_secs(30 * 24 * 3600),
            device_ttl: Duration::from_secs(90 * 24 * 3600),
            max_wait: Duration::from_secs(10),
        }
    }
}

impl ThrottlePolicy {
    /// How long after its last failure a streak of `failures` makes the next attempt wait.
    pub fn delay(&self, failures: u32) -> Duration {
        if failures >= self.cooldown_after {
            self.cooldown
        } else if failures >= self.free_failures {
            let doublings = failures - self.free_failures;
            self.first_delay
                .saturating_mul(2u32.saturating_pow(doublings))
                .min(self.cooldown)
        } else {
            Duration::ZERO
        }
    }

    /// Streaks outlive the longest wait they can impose.
    fn forget_ms(&self) -> i64 {
        ms(self.forget_after.max(self.cooldown))
    }

    /// An evaluation that never reports back (a crashed instance) stops counting after this.
    fn pending_ms(&self) -> i64 {
        ms(self.max_wait.max(Duration::from_secs(30)))
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(ms)
        .unwrap_or(0)
}

/// What a streak says about one more attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Admit,
    /// Other attempts are being evaluated; their outcome decides.
    Wait,
    /// Not before this many milliseconds from now.
    Refuse(i64),
}

/// The rule, for one streak of `failures` (the last at `last_ms`) with `pending` attempts
/// under evaluation. The Redis script below is the same rule in Lua.
fn judge(p: &ThrottlePolicy, failures: u32, last_ms: i64, pending: usize, now: i64) -> Verdict {
    let until = last_ms.saturating_add(ms(p.delay(failures)));
    if now < until {
        return Verdict::Refuse(until - now);
    }
    let pending = u32::try_from(pending).unwrap_or(u32::MAX);
    if failures.saturating_add(pending) < p.free_failures
        || (failures >= p.free_failures && pending == 0)
    {
        Verdict::Admit
    } else {
        Verdict::Wait
    }
}

/// The stronger of two streaks' verdicts.
fn both(a: Verdict, b: Verdict) -> Verdict {
    match (a, b) {
        (Verdict::Refuse(x), Verdict::Refuse(y)) => Verdict::Refuse(x.max(y)),
        (r @ Verdict::Refuse(_), _) | (_, r @ Verdict::Refuse(_)) => r,
        (Verdict::Wait, _) | (_, Verdict::Wait) => Verdict::Wait,
        _ => Verdict::Admit,
    }
}

/// How an admitted attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// Wrong password or second factor: counts.
    Failure,
    /// Signed in: ends the source's streak and makes the address known.
    Success,
    /// Decided nothing about the credentials (a missing second factor, an unverified
    /// account, an error): counts nothing.
    Neutral,
}

/// The storage names of one attempt's streaks.
#[derive(Clone, Debug)]
struct Keys {
    /// The account's streak (failures from untrusted sources).
    account: String,
    /// The (account, source) streak.
    source: String,
    /// The (account, address) mark of a recent successful sign-in.
    known: String,
    /// The request carried a valid device cookie for the account.
    trusted_device: bool,
}

/// The sign-in throttle of one product. Cheap to clone.
#[derive(Clone)]
pub struct SignInThrottle {
    inner: Arc<Inner>,
}

struct Inner {
    policy: ThrottlePolicy,
    memory: Memory,
    redis: Option<RedisStreaks>,
    /// Names accounts in storage keys (so addresses are not stored in clear).
    account_key: [u8; 32],
    /// Signs device cookies.
    device_key: [u8; 32],
    cookie_name: String,
    cookie_secure: bool,
}

impl SignInThrottle {
    /// A throttle counting in this process. `secret` is the product's secret (keys for device
    /// cookies and storage names are derived from it); the device cookie is `<product>_device`.
    pub fn new(policy: ThrottlePolicy, secret: &[u8], product: &str, cookie_secure: bool) -> Self {
        Self {
            inner: Arc::new(Inner {
                policy,
                memory: Memory::default(),
                redis: None,
                account_key: crypto::derive_key(secret, "basalt sign-in throttle account v1"),
                device_key: crypto::derive_key(secret, "basalt device cookie v1"),
                cookie_name: format!("{product}_device"),
                cookie_secure,
            }),
        }
    }

    /// The same throttle counting in Redis under `prefix` (the product's Redis prefix), shared
    /// by every instance. While Redis cannot be reached, this instance counts in memory.
    pub fn in_redis(&self, url: &str, prefix: &str) -> anyhow::Result<Self> {
        let i = &self.inner;
        Ok(Self {
            inner: Arc::new(Inner {
                policy: i.policy.clone(),
                memory: Memory::default(),
                redis: Some(RedisStreaks {
                    redis: LazyRedis::new(url)?,
                    prefix: prefix.to_owned(),
                }),
                account_key: i.account_key,
                device_key: i.device_key,
                cookie_name: i.cookie_name.clone(),
                cookie_secure: i.cookie_secure,
            }),
        })
    }

    pub fn policy(&self) -> &ThrottlePolicy {
        &self.inner.policy
    }

    /// The name of the device cookie (`<product>_device`).
    pub fn cookie_name(&self) -> &str {
        &self.inner.cookie_name
    }

    /// Waits until the attempt may be evaluated, and reserves it; or refuses it with 429
    /// (`Retry-After`). `account` is the normalised address the attempt names (existing or
    /// not: unknown accounts are throttled alike, so the answers reveal nothing).
    pub async fn admit(
        &self,
        account: &str,
        client: &ClientInfo,
        device: &Device,
    ) -> Result<Permit, ApiError> {
        let keys = self.keys(account, client, device);
        let id = uuid::Uuid::new_v4().simple().to_string();
        let deadline = Instant::now() + self.inner.policy.max_wait;
        loop {
            let (verdict, applied, in_redis) = self.try_admit(&keys, &id).await;
            match verdict {
                Verdict::Admit => {
                    return Ok(Permit {
                        throttle: self.clone(),
                        keys,
                        id,
                        account_applied: applied,
                        in_redis,
                        done: false,
                    });
                }
                Verdict::Refuse(wait_ms) => return Err(throttled(wait_ms)),
                Verdict::Wait if Instant::now() >= deadline => return Err(throttled(1000)),
                Verdict::Wait => {
                    let jitter = u64::from(rand::rng().next_u32() % 15);
                    tokio::time::sleep(Duration::from_millis(15 + jitter)).await;
                }
            }
        }
    }

    async fn try_admit(&self, keys: &Keys, id: &str) -> (Verdict, bool, bool) {
        let p = &self.inner.policy;
        if let Some(r) = &self.inner.redis {
            match r.admit(p, keys, id, now_ms()).await {
                Ok((v, applied)) => return (v, applied, true),
                Err(e) => {
                    tracing::error!(error = %e, "sign-in throttle: redis unavailable, counting in memory");
                }
            }
        }
        let (v, applied) = self.inner.memory.admit(p, keys, id, now_ms());
        (v, applied, false)
    }

    fn keys(&self, account: &str, client: &ClientInfo, device: &Device) -> Keys {
        let tag =
            hex::encode(&crypto::hmac_sha256(&self.inner.account_key, &[account.as_bytes()])[..16]);
        let ip = client.ip_string().unwrap_or_else(|| "unknown".into());
        let device = device.verified_for(self, account);
        let source = match &device {
            Some(nonce) => format!("d:{nonce}"),
            None => format!("ip:{ip}"),
        };
        // `{tag}` is a Redis hash tag: one account's keys live in one cluster slot.
        Keys {
            account: format!("{{{tag}}}:a"),
            source: format!("{{{tag}}}:s:{source}"),
            known: format!("{{{tag}}}:k:{ip}"),
            trusted_device: device.is_some(),
        }
    }

    /// A device cookie for `account`, to hand out with a successful sign-in.
    pub fn grant(&self, account: &str) -> DeviceGrant {
        let mut nonce = [0u8; 16];
        rand::rng().fill_bytes(&mut nonce);
        let nonce = URL_SAFE_NO_PAD.encode(nonce);
        let issued = now_ms() / 1000;
        let mac = self.device_mac(account, &nonce, issued);
        let i = &self.inner;
        let cookie = Cookie::build((i.cookie_name.clone(), format!("{nonce}.{issued}.{mac}")))
            .http_only(true)
            .secure(i.cookie_secure)
            .same_site(SameSite::Strict)
            .path("/")
            .max_age(cookie::time::Duration::seconds(
                i.policy.device_ttl.as_secs() as i64,
            ))
            .build();
        DeviceGrant(cookie)
    }

    fn device_mac(&self, account: &str, nonce: &str, issued: i64) -> String {
        let mac = crypto::hmac_sha256(
            &self.inner.device_key,
            &[
                b"device",
                account.as_bytes(),
                nonce.as_bytes(),
                &issued.to_be_bytes(),
            ],
        );
        URL_SAFE_NO_PAD.encode(mac)
    }

    async fn finish(&self, p: &Permit, outcome: Outcome) {
        let policy = &self.inner.policy;
        if p.in_redis
            && let Some(r) = &self.inner.redis
        {
            if let Err(e) = r
                .finish(policy, &p.keys, &p.id, outcome, p.account_applied, now_ms())
                .await
            {
                tracing::error!(error = %e, "sign-in throttle: could not record an outcome in redis");
            }
            return;
        }
        self.inner
            .memory
            .finish(policy, &p.keys, &p.id, outcome, p.account_applied, now_ms());
    }
}

fn throttled(wait_ms: i64) -> ApiError {
    let secs = u64::try_from(wait_ms.max(1))
        .unwrap_or(1)
        .div_ceil(1000)
        .max(1);
    let mut e = ApiError::rate_limited(secs);
    e.message = "too many failed sign-in attempts; try again later".into();
    e
}

/// An attempt admitted for evaluation. Report how it ended with [`failed`](Self::failed),
/// [`succeeded`](Self::succeeded) or [`release`](Self::release); dropped unreported (an error,
/// a client gone), it counts as neither.
pub struct Permit {
    throttle: SignInThrottle,
    keys: Keys,
    id: String,
    account_applied: bool,
    in_redis: bool,
    done: bool,
}

impl Permit {
    /// Wrong credentials: the streaks grow.
    pub async fn failed(mut self) {
        self.done = true;
        self.throttle.clone().finish(&self, Outcome::Failure).await;
    }

    /// Signed in: the source's streak ends and the address becomes known for the account.
    pub async fn succeeded(mut self) {
        self.done = true;
        self.throttle.clone().finish(&self, Outcome::Success).await;
    }

    /// The attempt decided nothing about the credentials.
    pub async fn release(mut self) {
        self.done = true;
        self.throttle.clone().finish(&self, Outcome::Neutral).await;
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let permit = Permit {
            throttle: self.throttle.clone(),
            keys: self.keys.clone(),
            id: std::mem::take(&mut self.id),
            account_applied: self.account_applied,
            in_redis: self.in_redis,
            done: true,
        };
        if !permit.in_redis {
            let t = &permit.throttle.inner;
            t.memory.finish(
                &t.policy,
                &permit.keys,
                &permit.id,
                Outcome::Neutral,
                permit.account_applied,
                now_ms(),
            );
        } else if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let t = permit.throttle.clone();
                t.finish(&permit, Outcome::Neutral).await;
            });
        }
    }
}

/// The device cookie a request carries, unchecked: it counts only for the account whose
/// sign-in issued it (its MAC names the account), and only until it expires.
#[derive(Clone, Debug, Default)]
pub struct Device(Option<String>);

impl Device {
    /// A device cookie value as a client sent it.
    pub fn new(value: Option<String>) -> Self {
        Self(value.filter(|v| !v.is_empty() && v.len() <= 256))
    }

    /// The device's id (its nonce) when the cookie is valid for `account`.
    fn verified_for(&self, t: &SignInThrottle, account: &str) -> Option<String> {
        let mut parts = self.0.as_deref()?.split('.');
        let (nonce, issued, mac) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || nonce.is_empty() {
            return None;
        }
        let issued: i64 = issued.parse().ok()?;
        let age = now_ms() / 1000 - issued;
        let ttl = i64::try_from(t.inner.policy.device_ttl.as_secs()).unwrap_or(i64::MAX);
        if !(-60..=ttl).contains(&age) {
            return None;
        }
        let expected = t.device_mac(account, nonce, issued);
        bool::from(expected.as_bytes().ct_eq(mac.as_bytes())).then(|| nonce.to_owned())
    }
}

impl<S: HasIdentity + Send + Sync> FromRequestParts<S> for Device {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let name = state.identity().throttle().cookie_name();
        Ok(Self::new(jar.get(name).map(|c| c.value().to_owned())))
    }
}

/// A device cookie to set on a successful sign-in's response (`Set-Cookie`, httpOnly,
/// SameSite=Strict, Secure unless the product's cookies are not).
#[derive(Clone, Debug)]
pub struct DeviceGrant(Cookie<'static>);

impl DeviceGrant {
    pub fn cookie(&self) -> &Cookie<'static> {
        &self.0
    }
}

impl IntoResponseParts for DeviceGrant {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        if let Ok(v) = HeaderValue::from_str(&self.0.to_string()) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
        Ok(res)
    }
}

// ---------------------------------------------------------------- in memory

#[derive(Default)]
struct Memory {
    state: Mutex<MemoryState>,
}

#[derive(Default)]
struct MemoryState {
    streaks: HashMap<String, Streak>,
    /// Known (account, address) pairs and when they stop being known.
    known: HashMap<String, i64>,
}

#[derive(Default)]
struct Streak {
    failures: u32,
    last_ms: i64,
    forget_at: i64,
    /// Attempts under evaluation: (id, counts until).
    pending: Vec<(String, i64)>,
}

impl Streak {
    fn prune(&mut self, now: i64) {
        self.pending.retain(|(_, until)| *until > now);
        if self.forget_at <= now {
            self.failures = 0;
            self.last_ms = 0;
        }
    }
}

impl Memory {
    fn admit(&self, p: &ThrottlePolicy, k: &Keys, id: &str, now: i64) -> (Verdict, bool) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if st.streaks.len() > 100_000 {
            st.streaks
                .retain(|_, s| s.forget_at > now || s.pending.iter().any(|(_, u)| *u > now));
            st.known.retain(|_, until| *until > now);
        }
        let applies = !k.trusted_device && st.known.get(&k.known).is_none_or(|u| *u <= now);
        let mut names = vec![k.source.as_str()];
        if applies {
            names.push(k.account.as_str());
        }
        let mut verdict = Verdict::Admit;
        for name in &names {
            let s = st.streaks.entry((*name).to_owned()).or_default();
            s.prune(now);
            verdict = both(
                verdict,
                judge(p, s.failures, s.last_ms, s.pending.len(), now),
            );
        }
        if verdict == Verdict::Admit {
            for name in names {
                let s = st.streaks.entry(name.to_owned()).or_default();
                s.pending.push((id.to_owned(), now + p.pending_ms()));
            }
        }
        (verdict, applies)
    }

    fn finish(
        &self,
        p: &ThrottlePolicy,
        k: &Keys,
        id: &str,
        outcome: Outcome,
        account_applied: bool,
        now: i64,
    ) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut names = vec![k.source.as_str()];
        if account_applied {
            names.push(k.account.as_str());
        }
        for name in names {
            let s = st.streaks.entry(name.to_owned()).or_default();
            s.pending.retain(|(pid, _)| pid != id);
            s.prune(now);
            if outcome == Outcome::Failure {
                s.failures += 1;
                s.last_ms = now;
                s.forget_at = now + p.forget_ms();
            }
        }
        if outcome == Outcome::Success {
            if let Some(s) = st.streaks.get_mut(&k.source) {
                s.failures = 0;
                s.last_ms = 0;
            }
            st.known
                .insert(k.known.clone(), now + ms(p.known_address_ttl));
        }
    }
}

// ---------------------------------------------------------------- in Redis

struct RedisStreaks {
    redis: LazyRedis,
    prefix: String,
}

/// Judges the streaks that apply (the source's; the account's unless the device is trusted or
/// the address known) and, when both admit, reserves the attempt in each. Returns
/// `{verdict (0 admit, 1 refuse, 2 wait), wait ms, account streak applied (0/1)}`.
/// KEYS: source, source pending, account, account pending, known address.
/// ARGV: now ms, id, pending ms, trusted device (0/1), free failures, cool-down after,
/// then the delay in ms after 0, 1, …, cool-down-after failures.
const ADMIT: &str = r"
local now = tonumber(ARGV[1])
local free = tonumber(ARGV[5])
local after = tonumber(ARGV[6])
local function judge(key, pkey)
  redis.call('ZREMRANGEBYSCORE', pkey, '-inf', now)
  local n = tonumber(redis.call('HGET', key, 'n') or 0)
  local last = tonumber(redis.call('HGET', key, 'last') or 0)
  local pending = redis.call('ZCARD', pkey)
  local untl = last + tonumber(ARGV[7 + math.min(n, after)])
  if now < untl then return untl - now end
  if n + pending < free or (n >= free and pending == 0) then return 0 end
  return -1
end
local applies = ARGV[4] ~= '1' and redis.call('EXISTS', KEYS[5]) == 0
local a = judge(KEYS[1], KEYS[2])
local b = 0
if applies then b = judge(KEYS[3], KEYS[4]) end
local flag = 0
if applies then flag = 1 end
if a > 0 or b > 0 then return {1, math.max(a, b), flag} end
if a < 0 or b < 0 then return {2, 0, flag} end
local untl = now + tonumber(ARGV[3])
redis.call('ZADD', KEYS[2], untl, ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
if applies then
  redis.call('ZADD', KEYS[4], untl, ARGV[2])
  redis.call('PEXPIRE', KEYS[4], ARGV[3])
end
return {0, 0, flag}
";

/// Records an admitted attempt's outcome. KEYS as for `ADMIT`. ARGV: now ms, id, outcome
/// (`f`ailure, `s`uccess, `n`eutral), account applied (0/1), forget ms, known-address ms.
const FINISH: &str = r"
redis.call('ZREM', KEYS[2], ARGV[2])
if ARGV[4] == '1' then redis.call('ZREM', KEYS[4], ARGV[2]) end
local function fail(key)
  redis.call('HINCRBY', key, 'n', 1)
  redis.call('HSET', key, 'last', ARGV[1])
  redis.call('PEXPIRE', key, ARGV[5])
end
if ARGV[3] == 'f' then
  fail(KEYS[1])
  if ARGV[4] == '1' then fail(KEYS[3]) end
elseif ARGV[3] == 's' then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[5], '1', 'PX', ARGV[6])
end
return 1
";

impl RedisStreaks {
    fn script_keys(&self, k: &Keys) -> [String; 5] {
        let p = &self.prefix;
        [
            format!("{p}:signin:{}", k.source),
            format!("{p}:signin:{}:p", k.source),
            format!("{p}:signin:{}", k.account),
            format!("{p}:signin:{}:p", k.account),
            format!("{p}:signin:{}", k.known),
        ]
    }

    async fn admit(
        &self,
        p: &ThrottlePolicy,
        k: &Keys,
        id: &str,
        now: i64,
    ) -> redis::RedisResult<(Verdict, bool)> {
        let mut conn = self.redis.conn().await?;
        let script = redis::Script::new(ADMIT);
        let mut call = script.prepare_invoke();
        for key in self.script_keys(k) {
            call.key(key);
        }
        call.arg(now)
            .arg(id)
            .arg(p.pending_ms())
            .arg(if k.trusted_device { "1" } else { "0" })
            .arg(p.free_failures)
            .arg(p.cooldown_after);
        for n in 0..=p.cooldown_after {
            call.arg(ms(p.delay(n)));
        }
        let (code, wait, applied): (i64, i64, i64) = call.invoke_async(&mut conn).await?;
        let verdict = match code {
            0 => Verdict::Admit,
            1 => Verdict::Refuse(wait),
            _ => Verdict::Wait,
        };
        Ok((verdict, applied == 1))
    }

    async fn finish(
        &self,
        p: &ThrottlePolicy,
        k: &Keys,
        id: &str,
        outcome: Outcome,
        account_applied: bool,
        now: i64,
    ) -> redis::RedisResult<()> {
        let mut conn = self.redis.conn().await?;
        let script = redis::Script::new(FINISH);
        let mut call = script.prepare_invoke();
        for key in self.script_keys(k) {
            call.key(key);
        }
        let outcome = match outcome {
            Outcome::Failure => "f",
            Outcome::Success => "s",
            Outcome::Neutral => "n",
        };
        call.arg(now)
            .arg(id)
            .arg(outcome)
            .arg(if account_applied { "1" } else { "0" })
            .arg(p.forget_ms())
            .arg(ms(p.known_address_ttl));
        let _: i64 = call.invoke_async(&mut conn).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
