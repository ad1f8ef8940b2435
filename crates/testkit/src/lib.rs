//! The products' shared API-test harness (dev-only). testkit owns what does not depend on a
//! product's contract: a fresh database per test ([`TestDb`]: a SQLite file, or a new
//! `basalt_test_<uuid>` PostgreSQL database when `TEST_DATABASE_URL` is set), the product on a
//! random port ([`spawn`] → [`TestServer`]; with `TEST_INSTANCES=2`, two instances of it on one
//! PostgreSQL and one Redis behind a round-robin [`balancer`]), whole responses ([`Resp`],
//! [`SetCookie`]), request helpers ([`TestServer::request`], [`Call`]), outbox readers,
//! identity-table fixtures,
//! [`jwt_claims`], error assertions for each product's error body ([`ErrorShape`],
//! [`expect_error`], [`expect_no_internals`]), Redis for the tests that need it
//! ([`SharedRedis`]), one fake Google issuer ([`oidc`]), the access matrix ([`access`]: who may
//! call each operation of the product's OpenAPI document, a table every product's suite
//! declares), and the conformance tables every product's suite runs ([`conformance`]: error
//! shapes from the OpenAPI document, rate limits from `Product::RATE_LIMITS`, cookies and CSRF
//! from the cookie policy).
//!
//! A product's `tests/api/helpers.rs` is a thin layer: it names its [`ErrorShape`], wraps
//! `TestServer<its Ctx>` in its own `TestApp` (which derefs to the server, so `app.get(..)`,
//! `app.ctx`, `app.mails_to(..)` work), builds the product in `spawn_app_with`, and adds only
//! its own sign-in helpers:
//!
//! ```ignore
//! pub const ERRORS: ErrorShape = ErrorShape::Flat;
//! pub struct TestApp(TestServer<warroom::Ctx>);
//! impl Deref for TestApp { type Target = TestServer<warroom::Ctx>; /* &self.0 */ }
//!
//! pub async fn spawn_app_with(adjust: impl FnOnce(&mut ProductSettings)) -> TestApp {
//!     let server = testkit::spawn_product::<warroom::WarRoom>(ERRORS, adjust).await;
//!     TestApp(server.expect("build app"))
//! }
//! ```
//!
//! Its `tests/api/conformance.rs` says how the tables start it and sign a browser in, and runs
//! them:
//!
//! ```ignore
//! impl testkit::conformance::Suite for TestApp {
//!     type Product = warroom::WarRoom;
//!     fn spawn(adjust: Adjust) -> impl Future<Output = Self> { spawn_app_with(adjust) }
//!     async fn browser_sign_in(&self, email: &str) -> Resp { /* POST /api/v1/auth/login */ }
//! }
//! testkit::conformance_tests!(TestApp);
//! ```

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "dev-only test harness: a setup step that fails is a failed test"
)]

pub mod access;
pub mod balancer;
pub mod bench;
pub mod conformance;
mod db;
mod errors;
mod identity;
pub mod oidc;
mod outbox;
mod redis;
mod resp;
mod server;

pub use db::TestDb;
pub use errors::{
    ErrorShape, error_fields, error_problem, expect_error, expect_limited, expect_no_internals,
    expect_nul_refused, internals_problem, rate_headers,
};
pub use identity::{PASSWORD, jwt_claims};
pub use outbox::{Mail, extract_param, unique_email};
pub use redis::{SharedRedis, redis_url};
pub use resp::{Resp, SetCookie, read};
pub use server::{Call, Instance, JWT_SECRET, TestServer, instances_wanted, spawn, spawn_product};
