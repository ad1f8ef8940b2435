//! War Room's black-box API tests: each test starts the real router on its own socket with a
//! fresh database (SQLite always; PostgreSQL when `TEST_DATABASE_URL` is set).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed step is a failed test"
)]

mod access;
mod access_matrix;
mod admin;
mod alerts;
mod analytics;
mod auth;
mod campaigns;
mod conformance;
mod crisis;
mod delivery;
mod errors;
mod helpers;
mod ingest;
mod input;
mod integrations;
mod journey;
mod mail;
mod monitoring;
mod notifications;
mod oauth;
mod rate_limits;
mod redis_prefix;
mod refresh;
mod reset_verify;
mod sessions;
mod sign_in_throttle;
mod smoke;
mod stream_sessions;
mod streams;
mod two_factor;
mod users;
mod vendors_live;
