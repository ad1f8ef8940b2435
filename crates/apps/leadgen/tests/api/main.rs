//! LeadGen API tests: black-box HTTP tests against a spawned server with a fresh database
//! (SQLite, or PostgreSQL with `TEST_DATABASE_URL`; Redis-shared limits with `TEST_REDIS_URL`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed step is a failed test"
)]

mod access_matrix;
mod accounts;
mod admin;
mod conformance;
mod errors;
mod google;
mod helpers;
mod input;
mod lead_limits;
mod leads;
mod rate_limits;
mod sign_in_throttle;
mod tokens;
