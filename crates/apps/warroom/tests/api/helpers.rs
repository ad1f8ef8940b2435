//! War Room's layer over `testkit`: `spawn_app()` builds the real router on a fresh database,
//! errors are Encore's flat `{ code, message, details }`, and `login_as` signs a user in.

#![allow(dead_code)]

use std::ops::Deref;

use platform::{identity::User, settings::ProductSettings};
use reqwest::StatusCode;
use serde_json::json;
use testkit::{
    ErrorShape, TestServer,
    access::{Caller, Seat},
};

pub use testkit::{
    PASSWORD, Resp, error_fields, expect_error, expect_limited, expect_no_internals, extract_param,
};

/// War Room's error body: `{ code, message, details }`.
pub const ERRORS: ErrorShape = ErrorShape::Flat;

/// Where the mock OAuth provider's mailed links point (on the app's origin).
pub const REDIRECT: &str = "http://app.test/cb";

/// A running War Room on a random port with its own database; derefs to the
/// [`TestServer`] for requests, `ctx`, outbox readers and identity fixtures.
pub struct TestApp(TestServer<warroom::Ctx>);

impl Deref for TestApp {
    type Target = TestServer<warroom::Ctx>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// Tokens of a signed-in test user.
#[derive(Clone, Debug)]
pub struct Login {
    pub user: User,
    pub access: String,
    pub refresh: String,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like `spawn_app`, with a chance to adjust the settings first (LIVE mode, SMTP, OAuth URLs).
pub async fn spawn_app_with(adjust: impl FnOnce(&mut ProductSettings)) -> TestApp {
    let server = testkit::spawn_product::<warroom::WarRoom>(ERRORS, adjust).await;
    TestApp(server.expect("build app"))
}

/// Reads a response sent with `app.client` directly.
pub async fn read(res: reqwest::Response) -> Resp {
    testkit::read(res, ERRORS).await
}

impl TestApp {
    /// Creates a user and signs them in over HTTP.
    pub async fn login_as(&self, email: &str, role: &str) -> Login {
        let user = self.create_user(email, role).await;
        self.sign_in(user).await
    }

    /// Signs an existing user (password [`PASSWORD`]) in over HTTP.
    pub async fn sign_in(&self, user: User) -> Login {
        let r = self
            .post(
                "/api/v1/auth/login",
                None,
                json!({ "email": user.email, "password": PASSWORD }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "login failed: {}", r.text);
        Login {
            user,
            access: r.body["accessToken"].as_str().unwrap().to_owned(),
            refresh: r.body["refreshToken"].as_str().unwrap().to_owned(),
        }
    }

    /// The access matrix's caller in `seat`: its user made on first use, signed in anew on
    /// every call; `refresh` keeps the session's refresh token.
    pub async fn seat(&self, seat: &Seat) -> Caller {
        let login = self.sign_in(self.seat_user(seat).await).await;
        Caller::bearer(&login.access).with("refresh", &login.refresh)
    }

    /// Asks the mock provider for a sign-in link and returns the code it mailed to `email`.
    pub async fn mock_code(&self, provider: &str, email: &str) -> String {
        let r = self
            .post(
                "/api/v1/auth/oauth/mock/authorize",
                None,
                json!({ "provider": provider, "email": email, "name": "Mock Person",
                        "redirectUri": REDIRECT, "state": "xyz" }),
            )
            .await;
        assert_eq!(r.status, 202, "{}", r.text);
        let mails = self.mails_to(email).await;
        let (_, body) = mails
            .first()
            .unwrap_or_else(|| panic!("no sign-in mail to {email}"));
        extract_param(body, "code").expect("code in the sign-in link")
    }
}

/// The current TOTP code for a base32 secret.
pub fn totp_now(secret: &str) -> String {
    platform::identity::crypto::totp::code_at(secret, chrono::Utc::now().timestamp() as u64)
        .unwrap()
}
