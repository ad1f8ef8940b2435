//! `spawn_app()`, request helpers, fixtures and assertions shared by every LeadGen API test.

#![allow(dead_code)]

use std::net::SocketAddr;

use chrono::Utc;
use leadgen::db::organizations::{organization, profile};
use platform::{
    identity::{
        User,
        crypto::token_hash,
        entities::{refresh_token, session},
    },
    secrets::Secret,
    settings::ProductSettings,
};
use reqwest::{Method, StatusCode, header::HeaderMap};
use sea_orm::{ColumnTrait, ConnectionTrait, Database, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::net::TcpListener;

pub const PASSWORD: &str = "correct horse battery staple";

/// A running LeadGen on a random port with its own database.
pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub client: reqwest::Client,
    pub ctx: leadgen::Ctx,
    pub database_url: String,
    _dir: TempDir,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    /// The error code of a nested error body (`error.code`).
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A header parsed as a number; panics with the response when absent or not a number.
    #[track_caller]
    pub fn num_header(&self, name: &str) -> u64 {
        self.header(name)
            .unwrap_or_else(|| panic!("no {name} header on {} {}", self.status, self.text))
            .parse()
            .unwrap_or_else(|_| panic!("{name} is not a number: {:?}", self.header(name)))
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
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().expect("tempdir");
    let database_url = match std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|s| !s.is_empty())
    {
        Some(admin_url) => fresh_postgres_database(&admin_url).await,
        None => format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("leadgen.db").display()
        ),
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().unwrap();
    let mut settings = ProductSettings::new(
        addr,
        database_url.clone(),
        Secret::new("test-secret-0123456789abcdef0123456789"),
    );
    settings.app_url = "http://app.test".into();
    adjust(&mut settings);
    let app = leadgen::build(&settings).await.expect("build app");
    let router = app.router;
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    TestApp {
        addr,
        base: format!("http://{addr}"),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        ctx: app.ctx,
        database_url,
        _dir: dir,
    }
}

/// Creates `basalt_test_<uuid>` on the server of `admin_url` and returns its URL.
async fn fresh_postgres_database(admin_url: &str) -> String {
    let name = format!("basalt_test_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(admin_url)
        .await
        .expect("connect to TEST_DATABASE_URL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    admin.close().await.ok();
    let mut url = url::Url::parse(admin_url).expect("TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// An address no other test run has used (Redis keys outlive a run).
pub fn unique_email(prefix: &str) -> String {
    format!("{prefix}-{}@example.com", uuid::Uuid::new_v4().simple())
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends a request; `body` is sent as JSON when present.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        read(req.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.request(Method::POST, path, token, Some(body)).await
    }

    /// Sends `body` as raw bytes with exactly the given headers (plus a Bearer token when given).
    pub async fn raw_request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Resp {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        read(req.send().await.expect("request sent")).await
    }

    /// A JSON POST with extra headers (`X-Forwarded-For`, `X-Request-Id`).
    pub async fn post_with(&self, path: &str, headers: &[(&str, &str)], body: Value) -> Resp {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        self.raw_request(
            Method::POST,
            path,
            None,
            &all,
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    pub async fn register(&self, email: &str, name: &str, org: Option<&str>) -> Resp {
        let mut body = json!({ "email": email, "password": PASSWORD, "name": name });
        if let Some(o) = org {
            body["organizationName"] = json!(o);
        }
        self.post("/api/auth/register", None, body).await
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
    /// limits.
    pub async fn create_user(
        &self,
        email: &str,
        role: &str,
        verified: bool,
    ) -> (User, organization::Model) {
        leadgen::service::accounts::create_with_organization(
            &self.ctx,
            email,
            PASSWORD,
            &format!("Test {role}"),
            None,
            role,
            verified,
        )
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

    /// The outbox for `recipient` as it is now, newest first: `(subject, body)`.
    pub async fn mails_now(&self, recipient: &str) -> Vec<(String, String)> {
        let (msgs, _) = self.ctx.outbox.list(1, 1000).await.unwrap();
        msgs.into_iter()
            .filter(|m| m.recipient == recipient)
            .map(|m| (m.subject.unwrap_or_default(), m.body))
            .collect()
    }

    /// Messages for `recipient`, waiting up to 1 s for the first to land.
    pub async fn mails_to(&self, recipient: &str) -> Vec<(String, String)> {
        for _ in 0..50 {
            let found = self.mails_now(recipient).await;
            if !found.is_empty() {
                return found;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        Vec::new()
    }

    /// Waits (up to 5 s) until at least `n` mails to `recipient` are in the outbox; mail sent
    /// after the response (reset, resend) lands a little later.
    pub async fn wait_for_mails(&self, recipient: &str, n: usize) -> Vec<(String, String)> {
        for _ in 0..250 {
            let mails = self.mails_now(recipient).await;
            if mails.len() >= n {
                return mails;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        self.mails_now(recipient).await
    }

    /// Gives detached work (resend, reset) time to run, then returns the outbox for
    /// `recipient`: for asserting that nothing was sent.
    pub async fn settled_mails(&self, recipient: &str) -> Vec<(String, String)> {
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        self.mails_now(recipient).await
    }

    /// The `token=` value of the newest mail to `recipient` whose subject contains `subject`.
    pub async fn token_from_mail(&self, recipient: &str, subject: &str) -> String {
        let mails = self.mails_to(recipient).await;
        let (_, body) = mails
            .iter()
            .find(|(s, _)| s.contains(subject))
            .unwrap_or_else(|| panic!("no {subject:?} mail to {recipient}: {mails:?}"));
        extract_param(body, "token").expect("token in mail")
    }

    /// The stored row of a refresh token.
    pub async fn refresh_row(&self, refresh: &str) -> refresh_token::Model {
        refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(token_hash(refresh)))
            .one(&self.ctx.db)
            .await
            .unwrap()
            .expect("refresh token stored")
    }

    /// The session a refresh token belongs to, as stored.
    pub async fn session_of(&self, refresh: &str) -> session::Model {
        let row = self.refresh_row(refresh).await;
        session::Entity::find_by_id(row.session_id)
            .one(&self.ctx.db)
            .await
            .unwrap()
            .expect("session stored")
    }

    /// Every session row of a user.
    pub async fn sessions_of(&self, user: uuid::Uuid) -> Vec<session::Model> {
        session::Entity::find()
            .filter(session::Column::UserId.eq(user))
            .all(&self.ctx.db)
            .await
            .unwrap()
    }

    /// Moves the rotation time of one refresh token `secs` seconds into the past.
    pub async fn age_rotation(&self, refresh: &str, secs: i64) {
        let n = refresh_token::Entity::update_many()
            .col_expr(
                refresh_token::Column::RotatedAt,
                Expr::value(Some(Utc::now() - chrono::Duration::seconds(secs))),
            )
            .filter(refresh_token::Column::TokenHash.eq(token_hash(refresh)))
            .filter(refresh_token::Column::RotatedAt.is_not_null())
            .exec(&self.ctx.db)
            .await
            .unwrap()
            .rows_affected;
        assert_eq!(n, 1, "the rotated refresh token row exists");
    }

    /// Every organization row.
    pub async fn organizations(&self) -> Vec<organization::Model> {
        organization::Entity::find()
            .all(&self.ctx.db)
            .await
            .unwrap()
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

/// The value of `name=` in the first URL of `text`.
pub fn extract_param(text: &str, name: &str) -> Option<String> {
    let start = text.find(&format!("{name}="))? + name.len() + 1;
    let rest = &text[start..];
    let end = rest
        .find(|c: char| c == '&' || c.is_whitespace())
        .unwrap_or(rest.len());
    Some(rest[..end].to_owned())
}

pub async fn read(res: reqwest::Response) -> Resp {
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        body,
        text,
    }
}

/// The `field` names listed in an error's `error.details.fields`.
pub fn error_fields(r: &Resp) -> Vec<String> {
    r.body["error"]["details"]["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts a LeadGen error: the status, `error.code`, a non-empty `error.message`, an
/// `error.details` key, JSON content, and `error.requestId` equal to the `X-Request-Id` header.
#[track_caller]
pub fn expect_error(r: &Resp, status: u16, code: &str) {
    assert_eq!(
        r.status.as_u16(),
        status,
        "expected {status} {code}, got: {} {}",
        r.status,
        r.text
    );
    let err = r.body["error"]
        .as_object()
        .unwrap_or_else(|| panic!("no error object in: {}", r.text));
    assert_eq!(r.code(), code, "wrong error code in: {}", r.text);
    let message = err["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no string message in: {}", r.text));
    assert!(!message.trim().is_empty(), "empty message in: {}", r.text);
    assert!(err.contains_key("details"), "no details key in: {}", r.text);
    let header = r
        .header("x-request-id")
        .unwrap_or_else(|| panic!("no X-Request-Id header on: {}", r.text));
    assert!(!header.is_empty(), "empty X-Request-Id");
    assert_eq!(
        err.get("requestId").and_then(Value::as_str),
        Some(header),
        "requestId differs from the X-Request-Id header in: {}",
        r.text
    );
    assert!(
        r.header("content-type")
            .is_some_and(|v| v.starts_with("application/json")),
        "error is not JSON: {:?}",
        r.header("content-type")
    );
}

/// Asserts the three `X-RateLimit-*` headers and returns `(limit, remaining, reset)`.
#[track_caller]
pub fn rate_headers(r: &Resp) -> (u64, u64, u64) {
    (
        r.num_header("x-ratelimit-limit"),
        r.num_header("x-ratelimit-remaining"),
        r.num_header("x-ratelimit-reset"),
    )
}

/// Asserts a 429 in the contract's shape: `resource_exhausted`, `Retry-After` within the
/// window, `X-RateLimit-Limit` = `limit`, `X-RateLimit-Remaining: 0`.
#[track_caller]
pub fn assert_limited(r: &Resp, limit: u64, window_secs: u64) {
    expect_error(r, 429, "resource_exhausted");
    let after = r.num_header("retry-after");
    assert!(
        (1..=window_secs).contains(&after),
        "Retry-After {after} outside 1..={window_secs}"
    );
    let (l, remaining, reset) = rate_headers(r);
    assert_eq!(l, limit, "X-RateLimit-Limit on the 429");
    assert_eq!(remaining, 0, "X-RateLimit-Remaining on the 429");
    assert!(
        (1..=window_secs).contains(&reset),
        "X-RateLimit-Reset {reset} outside 1..={window_secs}"
    );
}
