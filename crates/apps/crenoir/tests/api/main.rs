//! Crenoir X MAP's black-box API tests: each test starts the real router on its own socket
//! with a fresh database (SQLite always; PostgreSQL when `TEST_DATABASE_URL` is set) and speaks
//! HTTP to it as a browser or a script would, cookies and CSRF header included. LIVE-mode
//! providers are played by a local fake (Google on wiremock) or the fixture SAML IdP.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed step is a failed test"
)]

mod access_matrix;
mod conformance;
mod conventions;
mod google;
mod google_live;
mod helpers;
mod identities;
mod input;
mod linking;
mod saml_live;
mod saml_mock;
mod session;
