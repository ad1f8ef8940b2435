//! PawfectMatch's black-box API tests: each test starts the real router on its own socket with
//! a fresh database (SQLite always; PostgreSQL when `TEST_DATABASE_URL` is set) and speaks to
//! both mounts, `/api/v1` (web, cookies + CSRF) and `/api` (mobile, body tokens), over HTTP.

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
mod health;
mod helpers;
mod input;
mod mobile;
mod rate_limits;
mod web;
