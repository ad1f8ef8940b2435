//! `spawn_app()` and request helpers shared by every API test.

#![allow(dead_code)]

use std::net::SocketAddr;

use platform::{
    identity::{NewUser, User},
    secrets::Secret,
    settings::ProductSettings,
};
use reqwest::{Method, StatusCode, header::HeaderMap};
use sea_orm::{ConnectionTrait, Database};
use serde_json::Value;
use tempfile::TempDir;
use tokio::net::TcpListener;

pub const PASSWORD: &str = "correct horse battery staple";

/// A running War Room on a random port with its own database.
pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub client: reqwest::Client,
    pub ctx: warroom::Ctx,
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
    /// The Encore error code, for error responses.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
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
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().expect("tempdir");
    let database_url = match std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|s| !s.is_empty())
    {
        Some(admin_url) => fresh_postgres_database(&admin_url).await,
        None => format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("warroom.db").display()
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
    let app = warroom::build(&settings).await.expect("build app");
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

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Resp {
        self.request(Method::DELETE, path, token, None).await
    }

    /// A user created directly through the service (no HTTP, no rate limits), email verified.
    pub async fn create_user(&self, email: &str, role: &str) -> User {
        self.ctx
            .identity
            .create_user(NewUser {
                email: email.into(),
                password: Some(PASSWORD.into()),
                name: format!("Test {role}"),
                role: role.into(),
                email_verified: true,
            })
            .await
            .expect("create user")
    }

    /// Creates a user and signs them in over HTTP.
    pub async fn login_as(&self, email: &str, role: &str) -> Login {
        let user = self.create_user(email, role).await;
        let r = self
            .post(
                "/api/v1/auth/login",
                None,
                serde_json::json!({ "email": email, "password": PASSWORD }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "login failed: {}", r.text);
        Login {
            user,
            access: r.body["accessToken"].as_str().unwrap().to_owned(),
            refresh: r.body["refreshToken"].as_str().unwrap().to_owned(),
        }
    }

    /// Messages the outbox recorded for `recipient`, newest first: `(subject, body)`.
    pub async fn mails_to(&self, recipient: &str) -> Vec<(String, String)> {
        // Password-reset mail is sent after the response; give it a moment to land.
        for _ in 0..50 {
            let (msgs, _) = self.ctx.outbox.list(1, 100).await.unwrap();
            let found: Vec<_> = msgs
                .into_iter()
                .filter(|m| m.recipient == recipient)
                .map(|m| (m.subject.unwrap_or_default(), m.body))
                .collect();
            if !found.is_empty() {
                return found;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        Vec::new()
    }

    /// Waits (up to 5 s) until at least `n` mails to `recipient` are in the outbox; mail sent
    /// after the response may land a little later.
    pub async fn wait_for_mails(&self, recipient: &str, n: usize) -> Vec<(String, String)> {
        for _ in 0..250 {
            let mails = self.mails_to(recipient).await;
            if mails.len() >= n {
                return mails;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        self.mails_to(recipient).await
    }

    /// The `token=` value of the newest mail to `recipient` whose subject contains `subject`.
    pub async fn token_from_mail(&self, recipient: &str, subject: &str) -> String {
        let mails = self.mails_to(recipient).await;
        let (_, body) = mails
            .iter()
            .find(|(s, _)| s.contains(subject))
            .unwrap_or_else(|| panic!("no {subject:?} mail to {recipient}"));
        extract_param(body, "token").expect("token in mail")
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

/// The current TOTP code for a base32 secret.
pub fn totp_now(secret: &str) -> String {
    platform::identity::crypto::totp::code_at(secret, chrono::Utc::now().timestamp() as u64)
        .unwrap()
}

/// The `field` names listed in an error's `details.fields`.
pub fn error_fields(r: &Resp) -> Vec<String> {
    r.body["details"]["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts an Encore error: the status, its `code`, a non-empty `message`, and a `details` key.
#[track_caller]
pub fn expect_error(r: &Resp, status: u16, code: &str) {
    assert_eq!(
        r.status.as_u16(),
        status,
        "expected {status} {code}, got: {} {}",
        r.status,
        r.text
    );
    assert_eq!(r.code(), code, "wrong error code in: {}", r.text);
    let message = r.body["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no string message in: {}", r.text));
    assert!(!message.trim().is_empty(), "empty message in: {}", r.text);
    assert!(
        r.body
            .as_object()
            .is_some_and(|o| o.contains_key("details")),
        "no details key in: {}",
        r.text
    );
    assert!(
        r.header("content-type")
            .is_some_and(|v| v.starts_with("application/json")),
        "error is not JSON: {:?}",
        r.header("content-type")
    );
}

impl TestApp {
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
}
