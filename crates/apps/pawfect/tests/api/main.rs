//! PawfectMatch's black-box API tests: each test starts the real router on its own socket with
//! a fresh database (SQLite always; PostgreSQL when `TEST_DATABASE_URL` is set) and speaks to
//! both mounts, `/api/v1` (web, cookies + CSRF) and `/api` (mobile, body tokens), over HTTP.

mod accounts;
mod admin;
mod conformance;
mod errors;
mod health;
mod helpers;
mod mobile;
mod rate_limits;
mod web;
