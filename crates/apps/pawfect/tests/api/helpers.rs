//! `spawn_app()`, explicit cookie handling and request helpers shared by every PawfectMatch
//! API test. Cookies are never stored by the client: tests read `Set-Cookie` and send the
//! `Cookie` header themselves, so each test decides exactly what a request carries.

#![allow(dead_code)]

use std::net::SocketAddr;

use chrono::Utc;
use platform::{
    identity::{
        NewUser, User,
        crypto::token_hash,
        entities::{one_time_token, refresh_token, session},
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
/// The web client's mount: refresh token in a cookie, CSRF double submit.
pub const WEB: &str = "/api/v1";
/// The mobile client's mount: refresh token in JSON bodies.
pub const MOBILE: &str = "/api";
/// 30 days, the refresh token's life (docs/pawfect.md).
pub const REFRESH_TTL_SECS: i64 = 30 * 24 * 3600;
/// 15 minutes, the access token's life.
pub const ACCESS_TTL_SECS: i64 = 15 * 60;

/// A running PawfectMatch on a random port with its own database.
pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub client: reqwest::Client,
    pub ctx: pawfect::Ctx,
    pub settings: ProductSettings,
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
    /// The error code, for error responses.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every `Set-Cookie` of the response, parsed.
    pub fn set_cookies(&self) -> Vec<SetCookie> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(SetCookie::parse)
            .collect()
    }

    /// The `Set-Cookie` for `name`; fails the test when there are several.
    pub fn cookie(&self, name: &str) -> Option<SetCookie> {
        let mut found: Vec<_> = self
            .set_cookies()
            .into_iter()
            .filter(|c| c.name == name)
            .collect();
        assert!(
            found.len() <= 1,
            "{} Set-Cookie headers for {name}: {found:?}",
            found.len()
        );
        found.pop()
    }

    /// The value of a cookie the response sets (not clears); panics with the response when absent.
    #[track_caller]
    pub fn cookie_value(&self, name: &str) -> String {
        let c = self
            .cookie(name)
            .unwrap_or_else(|| panic!("no {name} cookie set: {:?} {}", self.headers, self.text));
        assert!(!c.is_cleared(), "{name} is cleared, not set: {}", c.raw);
        c.value
    }
}

/// One `Set-Cookie` header: name, value and attributes (names lower-cased).
#[derive(Clone, Debug)]
pub struct SetCookie {
    pub raw: String,
    pub name: String,
    pub value: String,
    pub attrs: Vec<(String, Option<String>)>,
}

impl SetCookie {
    pub fn parse(raw: &str) -> Option<Self> {
        let mut parts = raw.split(';');
        let (name, value) = parts.next()?.split_once('=')?;
        let attrs = parts
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim().to_owned())),
                None => (p.to_ascii_lowercase(), None),
            })
            .collect();
        Some(Self {
            raw: raw.to_owned(),
            name: name.trim().to_owned(),
            value: value.trim().trim_matches('"').to_owned(),
            attrs,
        })
    }

    /// The value of attribute `name` (`Some(None)` for a flag such as `HttpOnly`).
    pub fn attr(&self, name: &str) -> Option<Option<&str>> {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }

    pub fn http_only(&self) -> bool {
        self.attr("httponly").is_some()
    }

    pub fn secure(&self) -> bool {
        self.attr("secure").is_some()
    }

    pub fn path(&self) -> Option<&str> {
        self.attr("path").flatten()
    }

    pub fn same_site(&self) -> Option<&str> {
        self.attr("samesite").flatten()
    }

    pub fn max_age(&self) -> Option<i64> {
        self.attr("max-age").flatten().and_then(|v| v.parse().ok())
    }

    /// `Expires`, when present and parseable.
    pub fn expires(&self) -> Option<chrono::DateTime<chrono::FixedOffset>> {
        let v = self.attr("expires").flatten()?;
        chrono::DateTime::parse_from_rfc2822(v)
            .or_else(|_| chrono::DateTime::parse_from_str(v, "%a, %d-%b-%Y %H:%M:%S GMT"))
            .ok()
    }

    /// True when a browser would delete the cookie: `Max-Age` zero or negative, or `Expires`
    /// in the past.
    pub fn is_cleared(&self) -> bool {
        self.max_age().is_some_and(|a| a <= 0)
            || (self.max_age().is_none() && self.expires().is_some_and(|e| e < Utc::now()))
    }
}

/// A web (`/api/v1`) sign-in: the access token from the body, the two cookies from the headers.
#[derive(Clone, Debug)]
pub struct WebSession {
    pub access: String,
    pub refresh: String,
    pub csrf: String,
    pub user: Value,
}

impl WebSession {
    /// Reads a sign-in or refresh answer of the web mount.
    #[track_caller]
    pub fn from_resp(r: &Resp) -> Self {
        Self {
            access: r.body["accessToken"]
                .as_str()
                .unwrap_or_else(|| panic!("no accessToken in {}", r.text))
                .to_owned(),
            refresh: r.cookie_value("refresh_token"),
            csrf: r.cookie_value("csrf_token"),
            user: r.body["user"].clone(),
        }
    }
}

/// A mobile (`/api`) sign-in: both tokens from the body.
#[derive(Clone, Debug)]
pub struct MobileSession {
    pub access: String,
    pub refresh: String,
    pub user: Value,
}

impl MobileSession {
    #[track_caller]
    pub fn from_resp(r: &Resp) -> Self {
        Self {
            access: r.body["accessToken"]
                .as_str()
                .unwrap_or_else(|| panic!("no accessToken in {}", r.text))
                .to_owned(),
            refresh: r.body["refreshToken"]
                .as_str()
                .unwrap_or_else(|| panic!("no refreshToken in {}", r.text))
                .to_owned(),
            user: r.body["user"].clone(),
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like `spawn_app`, with a chance to adjust the settings first. Cookies are not `Secure` by
/// default here (the tests speak plain http); `adjust` may turn it back on.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut ProductSettings)) -> TestApp {
    try_spawn_app_with(adjust).await.expect("build app")
}

/// `spawn_app_with`, returning the build error instead of panicking.
pub async fn try_spawn_app_with(
    adjust: impl FnOnce(&mut ProductSettings),
) -> anyhow::Result<TestApp> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().expect("tempdir");
    let database_url = match std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|s| !s.is_empty())
    {
        Some(admin_url) => fresh_postgres_database(&admin_url).await,
        None => format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("pawfect.db").display()
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
    settings.cookie_secure = false;
    adjust(&mut settings);
    let app = pawfect::build(&settings).await?;
    let router = app.router;
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    Ok(TestApp {
        addr,
        base: format!("http://{addr}"),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        ctx: app.ctx,
        settings,
        database_url,
        _dir: dir,
    })
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

/// A request under construction: exactly the headers, cookies and body the test adds.
pub struct Call<'a> {
    app: &'a TestApp,
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    cookies: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

impl Call<'_> {
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn cookie(mut self, name: &str, value: &str) -> Self {
        self.cookies.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The `refresh_token` cookie, when `Some`.
    pub fn refresh_cookie(self, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.cookie("refresh_token", v),
            None => self,
        }
    }

    /// The `csrf_token` cookie and the `X-CSRF-Token` header, each when `Some`.
    pub fn csrf(self, cookie: Option<&str>, header: Option<&str>) -> Self {
        let s = match cookie {
            Some(v) => self.cookie("csrf_token", v),
            None => self,
        };
        match header {
            Some(v) => s.header("x-csrf-token", v),
            None => s,
        }
    }

    pub fn json(mut self, body: Value) -> Self {
        self.headers
            .push(("content-type".into(), "application/json".into()));
        self.body = Some(body.to_string().into_bytes());
        self
    }

    pub fn raw(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    pub async fn send(self) -> Resp {
        let mut req = self
            .app
            .client
            .request(self.method, self.app.url(&self.path));
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        if !self.cookies.is_empty() {
            let line = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            req = req.header("cookie", line);
        }
        if let Some(b) = self.body {
            req = req.body(b);
        }
        read(req.send().await.expect("request sent")).await
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Starts a request to `path`.
    pub fn call(&self, method: Method, path: &str) -> Call<'_> {
        Call {
            app: self,
            method,
            path: path.to_owned(),
            headers: Vec::new(),
            cookies: Vec::new(),
            body: None,
        }
    }

    /// Sends a request; `body` is sent as JSON when present.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut c = self.call(method, path);
        if let Some(t) = token {
            c = c.bearer(t);
        }
        if let Some(b) = body {
            c = c.json(b);
        }
        c.send().await
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
        let mut c = self.call(method, path);
        if let Some(t) = token {
            c = c.bearer(t);
        }
        for (k, v) in headers {
            c = c.header(k, v);
        }
        if let Some(b) = body {
            c = c.raw(b);
        }
        c.send().await
    }

    /// `GET /api/v1/auth/me` with `token`.
    pub async fn me(&self, token: &str) -> Resp {
        self.get(&format!("{WEB}/auth/me"), Some(token)).await
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

    /// `POST {base}/auth/register` with `PASSWORD`.
    pub async fn register(&self, base: &str, email: &str, name: &str) -> Resp {
        self.post(
            &format!("{base}/auth/register"),
            None,
            json!({ "email": email, "password": PASSWORD, "name": name }),
        )
        .await
    }

    /// `POST {base}/auth/login`.
    pub async fn login(&self, base: &str, email: &str, password: &str) -> Resp {
        self.post(
            &format!("{base}/auth/login"),
            None,
            json!({ "email": email, "password": password }),
        )
        .await
    }

    /// Registers on the web mount and returns the session.
    pub async fn web_register(&self, email: &str) -> WebSession {
        let r = self.register(WEB, email, "Web User").await;
        assert_eq!(r.status, 201, "web register failed: {}", r.text);
        WebSession::from_resp(&r)
    }

    /// Signs an existing user in on the web mount.
    pub async fn web_login(&self, email: &str) -> WebSession {
        let r = self.login(WEB, email, PASSWORD).await;
        assert_eq!(r.status, 200, "web login failed: {}", r.text);
        WebSession::from_resp(&r)
    }

    /// Registers on the mobile mount and returns the session.
    pub async fn mobile_register(&self, email: &str) -> MobileSession {
        let r = self.register(MOBILE, email, "Mobile User").await;
        assert_eq!(r.status, 201, "mobile register failed: {}", r.text);
        MobileSession::from_resp(&r)
    }

    /// Signs an existing user in on the mobile mount.
    pub async fn mobile_login(&self, email: &str) -> MobileSession {
        let r = self.login(MOBILE, email, PASSWORD).await;
        assert_eq!(r.status, 200, "mobile login failed: {}", r.text);
        MobileSession::from_resp(&r)
    }

    /// `POST /api/v1/auth/refresh` with the given refresh cookie, CSRF cookie and CSRF header.
    pub async fn web_refresh(
        &self,
        refresh: Option<&str>,
        csrf_cookie: Option<&str>,
        csrf_header: Option<&str>,
    ) -> Resp {
        self.call(Method::POST, &format!("{WEB}/auth/refresh"))
            .refresh_cookie(refresh)
            .csrf(csrf_cookie, csrf_header)
            .send()
            .await
    }

    /// A correct web refresh of `s` (cookie + matching CSRF).
    pub async fn web_refresh_ok(&self, s: &WebSession) -> WebSession {
        let r = self
            .web_refresh(Some(&s.refresh), Some(&s.csrf), Some(&s.csrf))
            .await;
        assert_eq!(r.status, 200, "web refresh failed: {}", r.text);
        WebSession::from_resp(&r)
    }

    /// `POST /api/auth/refresh` with `{ refreshToken }`.
    pub async fn mobile_refresh(&self, refresh: &str) -> Resp {
        self.post(
            &format!("{MOBILE}/auth/refresh"),
            None,
            json!({ "refreshToken": refresh }),
        )
        .await
    }

    /// The session a refresh token belongs to, as stored.
    pub async fn session_of(&self, refresh: &str) -> session::Model {
        let row = refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(token_hash(refresh)))
            .one(&self.ctx.db)
            .await
            .unwrap()
            .expect("refresh token stored");
        session::Entity::find_by_id(row.session_id)
            .one(&self.ctx.db)
            .await
            .unwrap()
            .expect("session stored")
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

    /// Moves the rotation time of every rotated refresh token `secs` into the past, so that
    /// presenting one again falls outside the reuse grace.
    pub async fn age_rotated_refresh_tokens(&self, secs: i64) {
        let at = Utc::now() - chrono::Duration::seconds(secs);
        let n = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RotatedAt, Expr::value(Some(at)))
            .filter(refresh_token::Column::RotatedAt.is_not_null())
            .exec(&self.ctx.db)
            .await
            .unwrap()
            .rows_affected;
        assert!(n > 0, "no rotated refresh token to age");
    }

    /// Expires every one-time token (verification and reset links) of `purpose`.
    pub async fn expire_one_time_tokens(&self, purpose: &str) {
        let past = Utc::now() - chrono::Duration::seconds(1);
        let n = one_time_token::Entity::update_many()
            .col_expr(one_time_token::Column::ExpiresAt, Expr::value(past))
            .filter(one_time_token::Column::Purpose.eq(purpose))
            .exec(&self.ctx.db)
            .await
            .unwrap()
            .rows_affected;
        assert!(n > 0, "no {purpose} token to expire");
    }

    /// Messages the outbox recorded for `recipient`, newest first: `(subject, body)`.
    pub async fn mails_to(&self, recipient: &str) -> Vec<(String, String)> {
        // Password-reset mail is sent after the response; give it a moment to land.
        for _ in 0..50 {
            let found = self.mails_now(recipient).await;
            if !found.is_empty() {
                return found;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        Vec::new()
    }

    /// The outbox for `recipient` as it is now, without waiting.
    pub async fn mails_now(&self, recipient: &str) -> Vec<(String, String)> {
        let (msgs, _) = self.ctx.outbox.list(1, 100).await.unwrap();
        msgs.into_iter()
            .filter(|m| m.recipient == recipient)
            .map(|m| (m.subject.unwrap_or_default(), m.body))
            .collect()
    }

    /// Waits (up to 5 s) until at least `n` mails to `recipient` are in the outbox; mail sent
    /// after the response may land a little later.
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

    /// The `token=` value of the newest mail to `recipient` whose subject contains `subject`.
    pub async fn token_from_mail(&self, recipient: &str, subject: &str) -> String {
        let mails = self.mails_to(recipient).await;
        let (_, body) = mails
            .iter()
            .find(|(s, _)| s.contains(subject))
            .unwrap_or_else(|| panic!("no {subject:?} mail to {recipient}: {mails:?}"));
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

/// The claims of a JWT, decoded without checking the signature.
pub fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    let bytes = base64url_decode(payload).expect("JWT payload is base64url");
    serde_json::from_slice(&bytes).expect("JWT payload is JSON")
}

fn base64url_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
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

/// Asserts an error in the contract's shape: the status, its `code`, a non-empty `message`,
/// a `details` key, nothing else, and a JSON content type.
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
    let obj = r
        .body
        .as_object()
        .unwrap_or_else(|| panic!("error body is not an object: {}", r.text));
    assert!(obj.contains_key("details"), "no details key in: {}", r.text);
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["code", "details", "message"],
        "error body has other keys: {}",
        r.text
    );
    assert!(
        r.header("content-type")
            .is_some_and(|v| v.starts_with("application/json")),
        "error is not JSON: {:?}",
        r.header("content-type")
    );
}

/// Asserts a 429 `resource_exhausted` whose `Retry-After` is within the rule's window and
/// matches `details.retryAfter`.
#[track_caller]
pub fn expect_limited(r: &Resp, window_secs: u64) {
    expect_error(r, 429, "resource_exhausted");
    let header: u64 = r
        .header("retry-after")
        .unwrap_or_else(|| panic!("no Retry-After on {}", r.text))
        .parse()
        .expect("Retry-After is whole seconds");
    assert!(
        (1..=window_secs).contains(&header),
        "Retry-After {header} outside 1..={window_secs}"
    );
    assert_eq!(
        r.body["details"]["retryAfter"].as_u64(),
        Some(header),
        "{}",
        r.text
    );
}
