//! LeadGen's layer over `testkit`: `spawn_app()` builds the real router on a fresh database,
//! errors are nested `{ error: { code, message, details, requestId } }` with the request id
//! echoed from `X-Request-Id`, and fixtures for users with their organization.

#![allow(dead_code)]

use std::ops::Deref;

use leadgen::db::organizations::{organization, profile};
use platform::{
    identity::{User, UserFilter},
    settings::ProductSettings,
    validate::Paging,
};
use reqwest::StatusCode;
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use testkit::{
    ErrorShape, TestServer,
    access::{Caller, Seat},
};

pub use testkit::{
    PASSWORD, Resp, error_fields, expect_error, expect_limited, extract_param, rate_headers,
    unique_email,
};

/// LeadGen's error body: nested, `details` always present, `requestId` = `X-Request-Id`.
pub const ERRORS: ErrorShape = ErrorShape::Nested {
    always_details: true,
    request_id: Some("x-request-id"),
};

/// Where mock Google's mailed sign-in link points (on the app's origin).
pub const REDIRECT: &str = "http://app.test/auth/google/callback";

/// A running LeadGen on a random port with its own database; derefs to the [`TestServer`]
/// for requests, `ctx`, outbox readers and identity fixtures.
pub struct TestApp(TestServer<leadgen::Ctx>);

impl Deref for TestApp {
    type Target = TestServer<leadgen::Ctx>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// Tokens of a signed-in test user.
#[derive(Clone, Debug)]
pub struct Login {
    pub user: User,
    pub org: organization::Model,
    pub access: String,
    pub refresh: String,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like `spawn_app`, with a chance to adjust the settings first (trusted proxies, Redis).
pub async fn spawn_app_with(adjust: impl FnOnce(&mut ProductSettings)) -> TestApp {
    let server = testkit::spawn_product::<leadgen::LeadGen>(ERRORS, adjust).await;
    TestApp(server.expect("build app"))
}

impl TestApp {
    pub async fn register(&self, email: &str, name: &str, org: Option<&str>) -> Resp {
        let mut body = json!({ "email": email, "password": PASSWORD, "name": name });
        if let Some(o) = org {
            body["organizationName"] = json!(o);
        }
        self.post("/api/auth/register", None, body).await
    }

    /// Registers `email` (expecting the contract's 202) and waits until the verification mail
    /// or owner notice, sent after the response, is in the outbox; returns the stored user.
    pub async fn register_ok(&self, email: &str, name: &str, org: Option<&str>) -> User {
        let before = self.mails_now(&email.trim().to_lowercase()).await.len();
        let r = self.register(email, name, org).await;
        assert_eq!(
            r.status,
            StatusCode::ACCEPTED,
            "register failed: {}",
            r.text
        );
        assert_eq!(r.body, json!({ "verificationSent": true }));
        let mails = self
            .wait_for_mails(&email.trim().to_lowercase(), before + 1)
            .await;
        assert_eq!(
            mails.len(),
            before + 1,
            "one mail per registration: {mails:?}"
        );
        self.ctx
            .identity
            .user_by_email(email)
            .await
            .unwrap()
            .expect("a user under the address")
    }

    pub async fn login(&self, email: &str, password: &str) -> Resp {
        self.post(
            "/api/auth/login",
            None,
            json!({ "email": email, "password": password }),
        )
        .await
    }

    pub async fn refresh(&self, refresh: &str) -> Resp {
        self.post(
            "/api/auth/refresh",
            None,
            json!({ "refreshToken": refresh }),
        )
        .await
    }

    pub async fn verify(&self, body: Value) -> Resp {
        self.post("/api/auth/verify", None, body).await
    }

    pub async fn reset(&self, body: Value) -> Resp {
        self.post("/api/auth/reset-password", None, body).await
    }

    pub async fn me(&self, token: &str) -> Resp {
        self.get("/api/auth/me", Some(token)).await
    }

    /// A user (with their organization) created directly through the service: no HTTP, no
    /// limits. Stands in for testkit's `create_user`, which makes no organization.
    pub async fn create_user(
        &self,
        email: &str,
        role: &str,
        verified: bool,
    ) -> (User, organization::Model) {
        let account = leadgen::service::accounts::NewAccount {
            email,
            password: PASSWORD,
            name: &format!("Test {role}"),
            organization_name: None,
            role,
            email_verified: verified,
        };
        leadgen::service::accounts::create_with_organization(&self.ctx, account)
            .await
            .expect("create user")
    }

    /// Creates a verified user and signs them in over HTTP.
    pub async fn login_as(&self, email: &str, role: &str) -> Login {
        let (user, org) = self.create_user(email, role, true).await;
        let r = self.login(email, PASSWORD).await;
        assert_eq!(r.status, StatusCode::OK, "login failed: {}", r.text);
        Login {
            user,
            org,
            access: r.body["accessToken"].as_str().unwrap().to_owned(),
            refresh: r.body["refreshToken"].as_str().unwrap().to_owned(),
        }
    }

    /// The access matrix's caller in `seat`: a verified user with their organization, made
    /// on first use, signed in anew on every call.
    pub async fn seat(&self, seat: &Seat) -> Caller {
        let email = seat.email();
        if self
            .ctx
            .identity
            .user_by_email(&email)
            .await
            .unwrap()
            .is_none()
        {
            self.create_user(&email, seat.role, true).await;
        }
        let r = self.login(&email, PASSWORD).await;
        assert_eq!(r.status, StatusCode::OK, "login failed: {}", r.text);
        Caller::bearer(r.body["accessToken"].as_str().unwrap())
            .with("refresh", r.body["refreshToken"].as_str().unwrap())
    }

    /// Runs the mock provider's consent step for `email` and returns the mailed code.
    pub async fn mock_code(&self, email: &str) -> String {
        let before = self.mails_now(email).await.len();
        let r = self
            .post(
                "/api/auth/google/mock/authorize",
                None,
                json!({ "email": email, "name": "Gina Google", "redirectUri": REDIRECT }),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        // Newest first; a verification mail may land beside it.
        let mails = self.wait_for_mails(email, before + 1).await;
        mails
            .iter()
            .find_map(|(_, body)| extract_param(body, "code"))
            .expect("a sign-in mail with a code")
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call(reqwest::Method::PUT, path)
            .bearer(token)
            .json(body)
            .send()
            .await
    }

    /// `POST /api/leads` with `body`.
    pub async fn create_lead(&self, token: &str, body: Value) -> Resp {
        self.post("/api/leads", Some(token), body).await
    }

    /// Creates a lead (expecting 201) and returns it.
    pub async fn lead_ok(&self, token: &str, body: Value) -> Value {
        let r = self.create_lead(token, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "create lead: {}", r.text);
        r.body
    }

    /// `GET /api/leads?<query>`.
    pub async fn leads(&self, token: &str, query: &str) -> Resp {
        self.get(&format!("/api/leads?{query}"), Some(token)).await
    }

    /// Every organization row.
    pub async fn organizations(&self) -> Vec<organization::Model> {
        organization::Entity::find()
            .all(&self.ctx.db)
            .await
            .unwrap()
    }

    /// Every user row.
    pub async fn user_count(&self) -> u64 {
        let all = Paging::new(1, 1);
        let page = self.ctx.identity.users(&UserFilter::default(), all).await;
        page.unwrap().total
    }

    /// Every profile row.
    pub async fn profiles(&self) -> Vec<profile::Model> {
        profile::Entity::find().all(&self.ctx.db).await.unwrap()
    }

    /// The profile row of a user, if any.
    pub async fn profile_of(&self, user: uuid::Uuid) -> Option<profile::Model> {
        profile::Entity::find_by_id(user)
            .one(&self.ctx.db)
            .await
            .unwrap()
    }
}

/// Asserts a 429 in the contract's shape: `resource_exhausted`, `Retry-After` within the
/// window (and equal to `error.details.retryAfter`), `X-RateLimit-Limit` = `limit`,
/// `X-RateLimit-Remaining: 0`.
#[track_caller]
pub fn assert_limited(r: &Resp, limit: u64, window_secs: u64) {
    expect_limited(r, window_secs);
    let (l, remaining, reset) = rate_headers(r);
    assert_eq!(l, limit, "X-RateLimit-Limit on the 429");
    assert_eq!(remaining, 0, "X-RateLimit-Remaining on the 429");
    assert!(
        (1..=window_secs).contains(&reset),
        "X-RateLimit-Reset {reset} outside 1..={window_secs}"
    );
}
