//! Conformance tables: checks every product's suite runs against its own routes, generated
//! from what the product declares rather than written per endpoint, so a new endpoint, limit
//! or cookie is covered the day it is added. A product opts in by implementing [`Suite`] for
//! its `TestApp` (how to start it, its validation status, how a browser signs in, its cookie
//! session's routes) and calling the tables from `tests/api/conformance.rs`:
//!
//! | table | generated from | checks |
//! |---|---|---|
//! | [`error_shapes`] | the OpenAPI document (`/openapi.json`) | every JSON body: malformed JSON, not UTF-8, a top-level array, string or null (where the schema does not admit one), a wrong, missing or form content type, an empty or missing body (where it is required), an unknown field (where the schema refuses them, named in the refusal), each field of a type its schema does not admit (named), a body over the limit; every UUID, number, date or enumerated path and query parameter: a malformed value; every path: each undocumented method (405), an extra segment (404); unknown routes (404); a body just under the limit is read, one over it sent in chunks is 413. Each answer is the product's error shape (`ErrorShape`) with the catalogue's status and code, `invalid_argument` at the product's validation status when it names fields, nothing internal in it, never a 5xx or plain text |
//! | [`request_examples`] | the OpenAPI document | every JSON request body has an example; sent by an admin (path ids of nothing), it succeeds or fails only with a status the operation documents, never a validation failure naming fields or a 5xx |
//! | [`rate_limits`] | `Product::RATE_LIMITS` | per rule: the N-th request passes (with `X-RateLimit-*` saying so), the N+1-th is 429 `resource_exhausted` with `Retry-After` (also in the details) and `X-RateLimit-*`, on every route of the rule (they share one count); another key of the same kind passes; the key is what the rule says and nothing else (the normalised email, the user across sessions, the client address behind an address it prepends to `X-Forwarded-For`); a per-user rule does not count the anonymous; `X-Forwarded-For` from an untrusted peer is ignored; a route of no rule carries no `X-RateLimit-*`. In memory, and again on Redis when `TEST_REDIS_URL` is set |
//! | [`cookies`] | the cookies a browser sign-in sets, the product's `CookiePolicy` and its [`SessionRoutes`] | attributes (HttpOnly except the CSRF cookie, `Secure` exactly when `cookie_secure`, `SameSite` Strict or Lax, a path, the refresh cookie on the policy's path, a positive life); for cookie sessions: refresh and logout by cookie need the CSRF token of their own session (missing, empty, wrong, another session's — the same user's too —, a planted cookie/header pair → 403, nothing spent or cleared), refresh needs a live refresh cookie (401), rotates, and a rotated cookie replayed within the grace gets the one successor and after it ends the session; logout clears every session cookie on its own path and a spent cookie is 401; a Bearer logout needs no token and ends only its session; the CORS preflight lets the allowed origin send the token; a state change by access cookie needs it too |
//!
//! Each table collects every failure before failing, so one run lists all of them. The
//! requests of a table come from addresses of their own (`X-Forwarded-For` behind a trusted
//! `127.0.0.1`), so the tables never trip over the limits they are not testing.

mod cookies;
pub mod document;
mod errors;
mod examples;
mod limits;

use std::{
    future::Future,
    net::{IpAddr, Ipv4Addr},
    ops::Deref,
    sync::atomic::{AtomicU32, Ordering},
};

use platform::{
    core::{HasCore, OperatorUser},
    identity::User,
    product::Product,
    settings::ProductSettings,
};

pub use cookies::{SessionRoutes, cookies};
pub use document::{Document, Operation, Param};
pub use errors::error_shapes;
pub use examples::{EXAMPLE_APP_URL, request_examples};
pub use limits::rate_limits;

use crate::{PASSWORD, outbox::unique_email, resp::Resp, server::TestServer};

/// The three tables as `#[tokio::test]`s of a product's suite, for the `TestApp` that
/// implements [`Suite`]: `testkit::conformance_tests!(TestApp);` in `tests/api/conformance.rs`.
#[macro_export]
macro_rules! conformance_tests {
    ($suite:ty) => {
        #[tokio::test]
        async fn bad_input_is_refused_in_the_error_shape() {
            $crate::conformance::error_shapes::<$suite>().await;
        }

        #[tokio::test]
        async fn every_request_body_example_is_accepted() {
            $crate::conformance::request_examples::<$suite>().await;
        }

        #[tokio::test]
        async fn every_rate_limit_rule_holds_at_its_boundary() {
            $crate::conformance::rate_limits::<$suite>().await;
        }

        #[tokio::test]
        async fn cookies_are_safe_and_cookie_sessions_need_their_csrf_token() {
            $crate::conformance::cookies::<$suite>().await;
        }
    };
}

/// A change to the settings a table starts the product with.
pub type Adjust = Box<dyn FnOnce(&mut ProductSettings) + Send>;

/// The context of the product a suite tests.
pub type Ctx<S> = <<S as Suite>::Product as Product>::Ctx;

/// What the tables need from a product's suite: its `TestApp` (which derefs to the running
/// [`TestServer`]), how to start it (the suite's own `spawn_app_with`, so its defaults apply),
/// and the few facts the document does not carry.
pub trait Suite: Sized + Deref<Target = TestServer<Ctx<Self>>> {
    type Product: Product;

    /// The status of an `invalid_argument` error that names fields (`details.fields`): 400,
    /// or the product's own (Crenoir X MAP: 422).
    const VALIDATION_STATUS: u16 = 400;

    /// The routes of the product's cookie session, when its browser clients keep their
    /// session in cookies (the product sets a `CookiePolicy`).
    const SESSION: Option<SessionRoutes> = None;

    /// The largest request body the product reads (`HttpOptions::body_limit`).
    const BODY_LIMIT: usize = 1024 * 1024;

    /// Starts the product as the suite's `spawn_app_with(adjust)` does.
    fn spawn(adjust: Adjust) -> impl Future<Output = Self>;

    /// The running server.
    fn server(&self) -> &TestServer<Ctx<Self>> {
        self
    }

    /// Signs a browser in to the account at `email` (made by the table with [`PASSWORD`], as
    /// `basalt user create` makes one) the way the product's web client does, and returns the
    /// answer that sets its cookies.
    fn browser_sign_in(&self, email: &str) -> impl Future<Output = Resp>;
}

/// `127.0.0.1`: the tables' servers trust it as a proxy, so `X-Forwarded-For` names the client.
pub fn localhost() -> IpAddr {
    IpAddr::V4(Ipv4Addr::LOCALHOST)
}

/// A client address no other request of this process has used.
pub fn fresh_ip() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    // 10.0.0.0/8 less its first address: enough for any run.
    Ipv4Addr::from(0x0A00_0000 + n).to_string()
}

/// The account at `email`, made as `basalt user create` makes one (the product's own hook, so
/// LeadGen's gets its organization) with [`PASSWORD`] and `role`, unless it exists.
pub async fn account<S: Suite>(app: &S, email: &str, role: &str) -> User {
    let ctx = &app.server().ctx;
    if let Some(user) = ctx
        .core()
        .identity
        .user_by_email(email)
        .await
        .expect("look up")
    {
        return user;
    }
    let new = OperatorUser {
        email,
        password: PASSWORD,
        name: "Conformance",
        role,
    };
    S::Product::create_user(ctx, new)
        .await
        .expect("create an account")
}

/// A new account of `role` (see [`account`]), and the access token of a session started for
/// it as `basalt user token` does.
pub async fn operator<S: Suite>(app: &S, role: &str) -> (User, String) {
    let user = account(app, &unique_email("conformance"), role).await;
    let tokens = app
        .server()
        .ctx
        .core()
        .operator_session(&user.email)
        .await
        .expect("an operator session");
    (user, tokens.access_token)
}

/// The product's admin role (the last of its role table).
pub fn admin_role<S: Suite>() -> &'static str {
    S::Product::ROLES.top().unwrap_or("admin")
}

/// Failures collected by a table, reported together, and how many checks ran.
#[derive(Default)]
pub(crate) struct Findings {
    failures: Vec<String>,
    checks: usize,
}

impl Findings {
    pub(crate) fn check(&mut self, what: impl std::fmt::Display, problem: Option<String>) {
        self.checks += 1;
        if let Some(p) = problem {
            self.failures.push(format!("{what}: {p}"));
        }
    }

    pub(crate) fn fail(&mut self, what: impl std::fmt::Display, problem: impl Into<String>) {
        self.check(what, Some(problem.into()));
    }

    #[track_caller]
    pub(crate) fn assert_none(self, table: &str) {
        eprintln!("{table}: {} checks", self.checks);
        assert!(
            self.failures.is_empty(),
            "{table}: {} of {} checks failed:\n  {}",
            self.failures.len(),
            self.checks,
            self.failures.join("\n  ")
        );
    }
}
