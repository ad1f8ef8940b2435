//! PawfectMatch's layer over `testkit`: `spawn_app()` builds the real router on a fresh database
//! (cookies not `Secure`, since tests speak plain http), errors are flat `{ code, message,
//! details }`, and sign-in helpers for both mounts. Cookies are never stored by the client:
//! tests read `Set-Cookie` and send the `Cookie` header themselves (`app.call(..)`), so each
//! test decides exactly what a request carries.

#![allow(dead_code)]

use std::ops::Deref;

use platform::settings::ProductSettings;
use reqwest::Method;
use serde_json::{Value, json};
use testkit::{
    ErrorShape, TestServer,
    access::{Caller, Seat},
};

pub use testkit::{
    PASSWORD, Resp, error_fields, expect_error, expect_limited, expect_no_internals, jwt_claims,
};

/// PawfectMatch's error body: `{ code, message, details }`.
pub const ERRORS: ErrorShape = ErrorShape::Flat;
/// The web client's mount: refresh token in a cookie, CSRF token bound to the session.
pub const WEB: &str = "/api/v1";
/// The mobile client's mount: refresh token in JSON bodies.
pub const MOBILE: &str = "/api";
/// 30 days, the refresh token's life (docs/pawfect.md).
pub const REFRESH_TTL_SECS: i64 = 30 * 24 * 3600;
/// 15 minutes, the access token's life.
pub const ACCESS_TTL_SECS: i64 = 15 * 60;

/// A running PawfectMatch on a random port with its own database; derefs to the
/// [`TestServer`] for requests, `ctx`, `settings`, outbox readers and identity fixtures.
pub struct TestApp(TestServer<pawfect::Ctx>);

impl Deref for TestApp {
    type Target = TestServer<pawfect::Ctx>;

    fn deref(&self) -> &Self::Target {
        &self.0
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
    let adjust = |s: &mut ProductSettings| {
        s.cookie_secure = false;
        adjust(s);
    };
    Ok(TestApp(
        testkit::spawn_product::<pawfect::Pawfect>(ERRORS, adjust).await?,
    ))
}

impl TestApp {
    /// `GET /api/v1/auth/me` with `token`.
    pub async fn me(&self, token: &str) -> Resp {
        self.get(&format!("{WEB}/auth/me"), Some(token)).await
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

    /// The access matrix's caller in `seat`: its user made on first use, signed in on the web
    /// mount anew on every call. The access token goes as Bearer, the refresh and CSRF cookies
    /// with every request (the web mount's refresh and cookie logout read them), the CSRF
    /// token in `X-CSRF-Token` on writes; `refresh` keeps the refresh token for the mobile
    /// mount's body.
    pub async fn seat(&self, seat: &Seat) -> Caller {
        self.seat_user(seat).await;
        let s = self.web_login(&seat.email()).await;
        Caller::bearer(&s.access)
            .with_cookies(
                &[("refresh_token", &s.refresh), ("csrf_token", &s.csrf)],
                Some(&s.csrf),
            )
            .with("refresh", &s.refresh)
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
}
