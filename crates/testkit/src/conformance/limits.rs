//! The rate-limit table, generated from the product's declared rules (`Product::RATE_LIMITS`):
//! each rule is driven to its boundary at its real numbers over all of its routes in turn
//! (they share one count), with every other key of the request fresh, so only the rule under
//! test can bite. Requests carry bodies no handler accepts (`{ "email": … }` and nothing
//! else), so counting is all they do.

use platform::{
    core::HasCore,
    product::Product,
    ratelimit::{KeyKind, Rule, routes::RouteLimit},
};
use reqwest::Method;
use serde_json::json;

use super::{Findings, Suite, admin_role, fresh_ip, localhost, operator};
use crate::{
    errors::error_problem, outbox::unique_email, redis::SharedRedis, resp::Resp, server::TestServer,
};

/// Runs the rate-limit table against the product of `S` with in-memory counters, and again
/// with counters in Redis when `TEST_REDIS_URL` is set (under a key prefix of its own).
pub async fn rate_limits<S: Suite>() {
    run::<S>(None).await;
    if let Some(redis) = SharedRedis::from_env() {
        run::<S>(Some(redis)).await;
    }
}

async fn run<S: Suite>(redis: Option<SharedRedis>) {
    let on = if redis.is_some() { "Redis" } else { "memory" };
    let app = S::spawn(Box::new(move |s| {
        s.trusted_proxies = vec![localhost()];
        if let Some(redis) = redis {
            redis.apply(s);
        }
    }))
    .await;
    let table = S::Product::RATE_LIMITS;
    let mut findings = Findings::default();
    let mut seen: Vec<&str> = Vec::new();
    for row in table {
        let rule = row.rule;
        if seen.contains(&rule.name) {
            continue;
        }
        seen.push(rule.name);
        let rows: Vec<&RouteLimit> = table
            .iter()
            .filter(|r| r.rule.name == rule.name && !shadowed(table, r))
            .collect();
        if rows.is_empty() {
            findings.fail(
                rule.name,
                "every route of the rule has a tighter rule on the same key",
            );
            continue;
        }
        let keys = match rule.key {
            KeyKind::Ip => Keys::ip(),
            KeyKind::Email => Keys::email(),
            KeyKind::User => Keys::user(&app).await,
            // Tokens do not carry the organization yet: such rules count nothing
            // (`ratelimit::routes::key_for`).
            KeyKind::Organization => continue,
        };
        let server = app.server();
        let mut t = RuleProbe {
            server,
            rule,
            rows,
            findings: &mut findings,
            on,
        };
        t.boundary(&keys).await;
        t.isolation(&keys).await;
    }
    unlimited_routes(app.server(), &mut findings).await;
    findings.assert_none(&format!("rate limits ({on})"));
    if on == "memory" {
        untrusted_forwarded_for::<S>().await;
    }
}

/// A route of no rule (the kit's `/healthz`) answers without `X-RateLimit-*`.
async fn unlimited_routes<C>(server: &TestServer<C>, findings: &mut Findings) {
    let r = server.get("/healthz", None).await;
    let problem = r
        .header("x-ratelimit-limit")
        .map(|v| format!("X-RateLimit-Limit {v} on a route no rule limits"));
    findings.check("GET /healthz", problem);
}

/// Without trusted proxies `X-Forwarded-For` is the client's say and is ignored: requests
/// from one socket each naming another address share the first IP rule's count.
async fn untrusted_forwarded_for<S: Suite>() {
    let table = S::Product::RATE_LIMITS;
    let Some(row) = table
        .iter()
        .find(|r| r.rule.key == KeyKind::Ip && !shadowed(table, r))
    else {
        return;
    };
    let app = S::spawn(Box::new(|s| s.trusted_proxies = Vec::new())).await;
    let mut findings = Findings::default();
    let rule = row.rule;
    let t = RuleProbe {
        server: app.server(),
        rule,
        rows: vec![row],
        findings: &mut findings,
        on: "memory, no trusted proxy",
    };
    for n in 1..=rule.limit {
        let r = t.send(row, Some(&fresh_ip())).await;
        let what = t.what(row, n);
        t.findings.check(what, passed(&r));
    }
    let r = t.send(row, Some(&fresh_ip())).await;
    let problem = t.limited(&r);
    let what = format!(
        "{} (a new X-Forwarded-For from the same socket)",
        t.what(row, rule.limit + 1)
    );
    t.findings.check(what, problem);
    findings.assert_none("rate limits (X-Forwarded-For from an untrusted peer)");
}

/// True when another rule on the same route and key kind is tighter: its count runs in step
/// with `row`'s, so `row`'s boundary cannot be reached through that route.
fn shadowed(table: &[RouteLimit], row: &RouteLimit) -> bool {
    table.iter().any(|o| {
        o.method == row.method
            && o.route == row.route
            && o.rule.name != row.rule.name
            && o.rule.key == row.rule.key
            && o.rule.limit < row.rule.limit
    })
}

/// The key under test, and who else may send.
struct Keys {
    kind: KeyKind,
    /// The exhausted key: an address, an email, or a user's token.
    key: String,
    /// Another key of the same kind.
    other: String,
    /// The same key in another form the rule must count as the same: the address behind a
    /// prepended one, the email in capitals, the user's other session.
    same: Option<String>,
}

impl Keys {
    fn ip() -> Self {
        let key = fresh_ip();
        // Behind a trusted proxy the client is the nearest untrusted address: one it prepends
        // itself does not make it someone else.
        let same = Some(format!("203.0.113.77, {key}"));
        Self {
            kind: KeyKind::Ip,
            key,
            other: fresh_ip(),
            same,
        }
    }

    fn email() -> Self {
        let key = unique_email("limit");
        let same = Some(key.to_ascii_uppercase());
        Self {
            kind: KeyKind::Email,
            key,
            other: unique_email("limit"),
            same,
        }
    }

    async fn user<S: Suite>(app: &S) -> Self {
        let (user, key) = operator(app, admin_role::<S>()).await;
        let (_, other) = operator(app, admin_role::<S>()).await;
        let second = app
            .server()
            .ctx
            .core()
            .operator_session(&user.email)
            .await
            .expect("a second session");
        Self {
            kind: KeyKind::User,
            key,
            other,
            same: Some(second.access_token),
        }
    }
}

struct RuleProbe<'a, C> {
    server: &'a TestServer<C>,
    rule: Rule,
    rows: Vec<&'a RouteLimit>,
    findings: &'a mut Findings,
    on: &'static str,
}

impl<C> RuleProbe<'_, C> {
    /// One request to `row` counted under `key` (of the rule's kind) and fresh in every other
    /// key.
    async fn send(&self, row: &RouteLimit, key: Option<&str>) -> Resp {
        let method = Method::from_bytes(row.method.as_bytes()).expect("a method");
        let path = concrete(row.route);
        let (ip, email, token) = match (self.rule.key, key) {
            (KeyKind::Ip, Some(ip)) => (ip.to_owned(), unique_email("other"), None),
            (KeyKind::Email, Some(email)) => (fresh_ip(), email.to_owned(), None),
            (KeyKind::User, Some(token)) => (fresh_ip(), unique_email("other"), Some(token)),
            _ => (fresh_ip(), unique_email("other"), None),
        };
        let mut call = self
            .server
            .call(method.clone(), &path)
            .header("x-forwarded-for", &ip);
        if let Some(t) = token {
            call = call.bearer(t);
        }
        if method != Method::GET && method != Method::HEAD {
            call = call.json(json!({ "email": email }));
        }
        call.send().await
    }

    fn what(&self, row: &RouteLimit, n: u32) -> String {
        format!(
            "{} ({} per {} s by {:?}, {}) request {n} to {} {}",
            self.rule.name,
            self.rule.limit,
            self.rule.window.as_secs(),
            self.rule.key,
            self.on,
            row.method,
            row.route
        )
    }

    /// The N-th request passes, over every route of the rule in turn; the N+1-th is refused on
    /// each of them.
    async fn boundary(&mut self, keys: &Keys) {
        let limit = self.rule.limit;
        for n in 1..=limit {
            let row = self.rows[(n as usize - 1) % self.rows.len()];
            let r = self.send(row, Some(&keys.key)).await;
            let problem = passed(&r).or_else(|| {
                (n == limit)
                    .then(|| counting(&r, u64::from(limit), 0, self.rule.window.as_secs()))
                    .flatten()
            });
            let what = self.what(row, n);
            self.findings.check(what, problem);
        }
        for row in self.rows.clone() {
            let r = self.send(row, Some(&keys.key)).await;
            let problem = self.limited(&r);
            let what = self.what(row, limit + 1);
            self.findings.check(what, problem);
        }
    }

    /// The count is the key's alone: another key of the kind passes, the same key in another
    /// form (or from elsewhere) does not, and a user rule does not count the anonymous.
    async fn isolation(&mut self, keys: &Keys) {
        let row = self.rows[0];
        let r = self.send(row, Some(&keys.other)).await;
        let problem = passed(&r);
        let what = format!("{} (another {:?} key)", self.what(row, 1), keys.kind);
        self.findings.check(what, problem);
        if let Some(same) = &keys.same {
            let r = self.send(row, Some(same)).await;
            let problem = self.limited(&r);
            let what = format!(
                "{} (the same {:?} key, spelled or held otherwise)",
                self.what(row, self.rule.limit + 1),
                keys.kind
            );
            self.findings.check(what, problem);
        }
        if keys.kind == KeyKind::User {
            // Not counted, so no count to report either: only "not refused by the limit".
            let r = self.send(row, None).await;
            let problem = (r.status == 429 || r.status.is_server_error())
                .then(|| format!("expected to pass the limit; got {} {}", r.status, r.text));
            let what = format!("{} (anonymous: not counted)", self.what(row, 1));
            self.findings.check(what, problem);
        }
    }

    /// 429 `resource_exhausted` in the product's shape, `Retry-After` within the window and in
    /// the details, and `X-RateLimit-*` saying the rule is spent until then.
    fn limited(&self, r: &Resp) -> Option<String> {
        if let Some(p) = error_problem(r, 429, "resource_exhausted") {
            return Some(p);
        }
        let window = self.rule.window.as_secs();
        let Some(after) = r.header("retry-after").and_then(|v| v.parse::<u64>().ok()) else {
            return Some(format!("no Retry-After in seconds: {:?}", r.headers));
        };
        if !(1..=window).contains(&after) {
            return Some(format!("Retry-After {after} outside 1..={window}"));
        }
        if r.error()["details"]["retryAfter"].as_u64() != Some(after) {
            return Some(format!("details.retryAfter is not {after}: {}", r.text));
        }
        counting(r, u64::from(self.rule.limit), 0, window).or_else(|| {
            let reset = r.header("x-ratelimit-reset").and_then(|v| v.parse().ok());
            (reset != Some(after))
                .then(|| format!("X-RateLimit-Reset {reset:?} is not Retry-After {after}"))
        })
    }
}

/// Not refused by a limit, not a server error, and the limit headers present.
fn passed(r: &Resp) -> Option<String> {
    if r.status == 429 || r.status.is_server_error() {
        return Some(format!(
            "expected to pass the limit; got {} {}",
            r.status, r.text
        ));
    }
    [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ]
    .iter()
    .find(|h| r.header(h).and_then(|v| v.parse::<u64>().ok()).is_none())
    .map(|h| format!("no numeric {h} on {} {}", r.status, r.text))
}

/// `X-RateLimit-Limit` and `-Remaining` are `limit` and `remaining`, `-Reset` within the window.
fn counting(r: &Resp, limit: u64, remaining: u64, window: u64) -> Option<String> {
    let num = |h: &str| r.header(h).and_then(|v| v.parse::<u64>().ok());
    let got = (
        num("x-ratelimit-limit"),
        num("x-ratelimit-remaining"),
        num("x-ratelimit-reset"),
    );
    match got {
        (Some(l), Some(rem), Some(reset))
            if l == limit && rem == remaining && (1..=window).contains(&reset) =>
        {
            None
        }
        _ => Some(format!(
            "X-RateLimit-(Limit, Remaining, Reset) {got:?}; expected ({limit}, {remaining}, 1..={window})"
        )),
    }
}

/// `route` with every `{param}` a fresh UUID.
fn concrete(route: &str) -> String {
    route
        .split('/')
        .map(|s| {
            if s.starts_with('{') && s.ends_with('}') {
                uuid::Uuid::new_v4().to_string()
            } else {
                s.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}
