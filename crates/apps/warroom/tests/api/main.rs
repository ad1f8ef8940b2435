//! War Room's black-box API tests: each test starts the real router on its own socket with a
//! fresh database (SQLite always; PostgreSQL when `TEST_DATABASE_URL` is set).

mod helpers;
mod smoke;
mod auth;
mod sessions;
mod two_factor;
mod reset_verify;
mod access;
mod users;
mod admin;
mod errors;
mod oauth;
mod mail;
mod rate_limits;
