//! LeadGen API tests: black-box HTTP tests against a spawned server with a fresh database
//! (SQLite, or PostgreSQL with `TEST_DATABASE_URL`; Redis-shared limits with `TEST_REDIS_URL`).

mod accounts;
mod admin;
mod conformance;
mod errors;
mod google;
mod helpers;
mod rate_limits;
mod sign_in_throttle;
mod tokens;
