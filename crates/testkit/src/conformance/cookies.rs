//! The cookie table: the attributes of every cookie a browser sign-in sets, with the product's
//! `cookie_secure` on and off, and — for products that keep browser sessions in cookies (a
//! `CookiePolicy`) — the session's life by cookie: refresh and logout (and any other state
//! change by cookie) need the CSRF token the server made for that very session; refresh
//! rotates, a rotated cookie replayed within the grace gets the one successor and after it ends
//! the session; logout ends only its session and clears every cookie where it was set; a Bearer
//! logout needs no token; the CORS preflight lets the allowed origin send the token.

use platform::{
    cookies::CookiePolicy, core::HasCore, identity::entities::refresh_token, product::Product,
};
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};

use super::{Findings, Suite, account, localhost};
use crate::{
    errors::error_problem,
    outbox::unique_email,
    resp::{Resp, SetCookie},
    server::{Call, TestServer},
};

/// A cookie session's routes (both `POST`).
#[derive(Clone, Copy, Debug)]
pub struct SessionRoutes {
    /// Rotates the session's cookies when called with the refresh cookie.
    pub refresh: &'static str,
    /// Ends the session and clears its cookies.
    pub logout: &'static str,
    /// Where sign-in and refresh answers carry the CSRF token in their body (a JSON pointer,
    /// e.g. `/csrfToken`), for pages that cannot read the API host's cookie.
    pub csrf_in_body: Option<&'static str>,
    /// Where they carry the access token, when it is not in a cookie (`/accessToken`).
    pub access_in_body: Option<&'static str>,
    /// A `GET` that answers 200 to a live session's access token (as a Bearer) and 401 once
    /// the session has ended.
    pub me: &'static str,
}

/// The web app's origin in the CORS allow-list of the table's server.
const ORIGIN: &str = "http://localhost:5173";

/// A token-shaped value the server never made (`<nonce>.<mac>` in base64url).
const PLANTED: &str = "cGxhbnRlZC1ieS1hbi1hdHRhY2tlcg.aW52ZW50ZWQtbWFjLW9mLTMyLWJ5dGVzLXh4eHh4eHh4";

/// Runs the cookie table against the product of `S` (see the module docs of `conformance`).
pub async fn cookies<S: Suite>() {
    let mut findings = Findings::default();
    for secure in [true, false] {
        let app = S::spawn(Box::new(move |s| {
            s.cookie_secure = secure;
            s.trusted_proxies = vec![localhost()];
            s.cors_origins = vec![ORIGIN.into()];
        }))
        .await;
        let email = unique_email("cookies");
        account(&app, &email, S::Product::DEFAULT_ROLE).await;
        let r = app.browser_sign_in(&email).await;
        let what = format!("sign-in with cookie_secure = {secure}");
        if !r.status.is_success() {
            findings.fail(&what, format!("failed: {} {}", r.status, r.text));
            continue;
        }
        let set = r.set_cookies();
        if set.is_empty() {
            findings.fail(&what, "no cookie set");
        }
        let policy = app.server().ctx.core().cookies.clone();
        for c in &set {
            findings.check(
                format!("{what}: cookie {}", c.name),
                attributes(c, secure, policy.as_deref()),
            );
        }
        if let (true, Some(policy)) = (secure, policy) {
            match S::SESSION {
                Some(routes) => {
                    let mut flows = Flows {
                        app: &app,
                        policy: &policy,
                        routes,
                        findings: &mut findings,
                    };
                    flows.run().await;
                }
                None => findings.fail(
                    "cookie sessions",
                    "the product has a CookiePolicy but its Suite names no SESSION routes",
                ),
            }
        }
    }
    findings.assert_none("cookies");
}

/// What every cookie must be: `Secure` exactly as configured, `SameSite` Strict or Lax, a
/// path, a positive life; out of scripts' reach unless it is the CSRF cookie, which the page
/// reads and which is sent everywhere (`Path=/`).
fn attributes(c: &SetCookie, secure: bool, policy: Option<&CookiePolicy>) -> Option<String> {
    let csrf = policy.is_some_and(|p| p.csrf_name == c.name);
    let same_site = c.same_site().map(str::to_ascii_lowercase);
    let problem = if c.secure() != secure {
        "Secure does not follow cookie_secure"
    } else if !matches!(same_site.as_deref(), Some("strict" | "lax")) {
        "SameSite is not Strict or Lax"
    } else if c.path().is_none() {
        "no Path"
    } else if c.is_cleared() || c.max_age().is_some_and(|a| a <= 0) {
        "set already expired"
    } else if csrf && c.http_only() {
        "the CSRF cookie is HttpOnly (the page cannot read it)"
    } else if csrf && c.path() != Some("/") {
        "the CSRF cookie is not on Path=/"
    } else if !csrf && !c.http_only() {
        "not HttpOnly"
    } else if policy.is_some_and(|p| p.refresh_name == c.name && c.path() != Some(&p.refresh_path))
    {
        "the refresh cookie is not scoped to the policy's refresh path"
    } else {
        return None;
    };
    Some(format!("{problem}: {}", c.raw))
}

/// A signed-in browser: its session cookies as set, and its access token.
struct Browser {
    refresh: String,
    csrf: String,
    /// The access cookie's value, for products that keep it in one.
    access_cookie: Option<String>,
    /// The access token, from its cookie or the body.
    access: Option<String>,
}

struct Flows<'a, S> {
    app: &'a S,
    policy: &'a CookiePolicy,
    routes: SessionRoutes,
    findings: &'a mut Findings,
}

impl<S: Suite> Flows<'_, S> {
    fn server(&self) -> &TestServer<super::Ctx<S>> {
        self.app.server()
    }

    async fn run(&mut self) {
        let email = unique_email("session");
        let other_email = unique_email("session");
        let Some(mine) = self.sign_in(&email, "first session").await else {
            return;
        };
        let Some(other) = self.sign_in(&other_email, "another user's session").await else {
            return;
        };
        let Some(twin) = self.sign_in(&email, "the same user's other session").await else {
            return;
        };
        self.refresh_needs_its_own_token(&mine, &other, &twin).await;
        self.refresh_needs_a_live_cookie(&mine).await;
        let Some(next) = self.refresh_rotates(&mine).await else {
            return;
        };
        self.replays(&mine, &next).await;
        self.preflight().await;
        self.logout_needs_its_own_token(&twin, &other).await;
        self.logout_needs_a_credential().await;
        self.bearer_logout(&other_email).await;
        if self.policy.access_name.is_some() {
            self.access_cookie_changes_need_the_token(&other).await;
        }
    }

    /// Signs a browser in as `email` and reads its cookies (and the body's tokens).
    async fn sign_in(&mut self, email: &str, what: &str) -> Option<Browser> {
        account(self.app, email, S::Product::DEFAULT_ROLE).await;
        let r = self.app.browser_sign_in(email).await;
        self.browser(&r, what)
    }

    fn browser(&mut self, r: &Resp, what: &str) -> Option<Browser> {
        let value = |name: &str| {
            r.cookie(name)
                .filter(|c| !c.is_cleared() && !c.value.is_empty())
                .map(|c| c.value)
        };
        let refresh = value(self.policy.refresh_name);
        let csrf = value(self.policy.csrf_name);
        let access_cookie = self.policy.access_name.and_then(value);
        let (Some(refresh), Some(csrf)) = (refresh, csrf) else {
            self.findings.fail(
                what,
                format!(
                    "no refresh and CSRF cookies set: {} {:?}",
                    r.status, r.headers
                ),
            );
            return None;
        };
        if self.policy.access_name.is_some() && access_cookie.is_none() {
            self.findings.fail(what, "no access cookie set");
        }
        if let Some(pointer) = self.routes.csrf_in_body
            && r.body.pointer(pointer).and_then(|v| v.as_str()) != Some(csrf.as_str())
        {
            self.findings.fail(
                what,
                format!(
                    "the body's {pointer} is not the CSRF cookie's token: {}",
                    r.text
                ),
            );
        }
        if r.text.contains(&refresh) {
            self.findings
                .fail(what, "the refresh token is in the body, in scripts' reach");
        }
        let in_body = self
            .routes
            .access_in_body
            .and_then(|p| r.body.pointer(p))
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        Some(Browser {
            refresh,
            csrf,
            access: access_cookie.clone().or(in_body),
            access_cookie,
        })
    }

    /// `POST path` with exactly the given cookies and CSRF header.
    fn call(&self, path: &str, cookies: &[(&str, &str)], header: Option<&str>) -> Call<'_> {
        let mut c = self.server().call(Method::POST, path);
        for (name, value) in cookies {
            c = c.cookie(name, value);
        }
        match header {
            Some(h) => c.header(platform::cookies::CSRF_HEADER, h),
            None => c,
        }
    }

    /// A refresh with the refresh cookie `refresh` and `csrf` in the header only (as a page on
    /// another host than the API sends it).
    async fn refresh(&self, refresh: &str, csrf: &str) -> Resp {
        self.call(
            self.routes.refresh,
            &[(self.policy.refresh_name, refresh)],
            Some(csrf),
        )
        .send()
        .await
    }

    /// `GET me` with `b`'s access token: 200 when `alive`, else 401.
    async fn session_is(&mut self, b: &Browser, alive: bool, what: &str) {
        let Some(access) = &b.access else {
            return;
        };
        let r = self.server().get(self.routes.me, Some(access)).await;
        let problem = if alive {
            (r.status != 200).then(|| format!("expected 200; got {} {}", r.status, r.text))
        } else {
            error_problem(&r, 401, "unauthenticated")
        };
        self.findings
            .check(format!("GET {} {what}", self.routes.me), problem);
    }

    /// Refresh by cookie: every forgery (missing, empty, wrong, another session's — also the
    /// same user's —, a planted pair) is 403, sets no cookie and spends nothing.
    async fn refresh_needs_its_own_token(
        &mut self,
        mine: &Browser,
        other: &Browser,
        twin: &Browser,
    ) {
        let (name, csrf_name) = (self.policy.refresh_name, self.policy.csrf_name);
        let forgeries = [
            ("no header", Some(mine.csrf.as_str()), None),
            ("an empty header", Some(""), Some("")),
            ("a wrong header", Some(mine.csrf.as_str()), Some("forged")),
            (
                "another session's token as a pair",
                Some(other.csrf.as_str()),
                Some(other.csrf.as_str()),
            ),
            (
                "another session's token in the header",
                Some(mine.csrf.as_str()),
                Some(other.csrf.as_str()),
            ),
            (
                "the same user's other session's token",
                Some(twin.csrf.as_str()),
                Some(twin.csrf.as_str()),
            ),
            ("a planted pair", Some("forged"), Some("forged")),
            ("a planted token-shaped pair", Some(PLANTED), Some(PLANTED)),
        ];
        for (case, cookie, header) in forgeries {
            let mut cookies = vec![(name, mine.refresh.as_str())];
            if let Some(c) = cookie {
                cookies.push((csrf_name, c));
            }
            let r = self
                .call(self.routes.refresh, &cookies, header)
                .send()
                .await;
            let mut problem = error_problem(&r, 403, "permission_denied");
            if problem.is_none() && !r.set_cookies().is_empty() {
                problem = Some(format!("a refused refresh set cookies: {:?}", r.headers));
            }
            self.findings.check(format!("refresh with {case}"), problem);
        }
    }

    /// Refresh with the session's token but no live refresh cookie (none, empty, made up, the
    /// access token in its place) is 401.
    async fn refresh_needs_a_live_cookie(&mut self, mine: &Browser) {
        let mut cases = vec![
            ("an empty refresh cookie", Some("")),
            ("a made-up refresh cookie", Some("made-up")),
        ];
        if let Some(access) = &mine.access {
            cases.push(("the access token as refresh cookie", Some(access.as_str())));
        }
        cases.push(("no refresh cookie", None));
        for (case, refresh) in cases {
            let mut cookies = vec![(self.policy.csrf_name, mine.csrf.as_str())];
            if let Some(v) = refresh {
                cookies.push((self.policy.refresh_name, v));
            }
            let r = self
                .call(self.routes.refresh, &cookies, Some(&mine.csrf))
                .send()
                .await;
            let problem = error_problem(&r, 401, "unauthenticated");
            self.findings.check(format!("refresh with {case}"), problem);
        }
    }

    /// The session's own token refreshes (none of the forgeries spent the cookie): new cookies
    /// with the same attributes, a rotated refresh token and a new CSRF token.
    async fn refresh_rotates(&mut self, mine: &Browser) -> Option<Browser> {
        let r = self.refresh(&mine.refresh, &mine.csrf).await;
        if r.status != 200 {
            self.findings.fail(
                "refresh with the session's own token",
                format!(
                    "expected 200 (no forgery may spend the token); got {} {}",
                    r.status, r.text
                ),
            );
            return None;
        }
        for c in r.set_cookies() {
            let problem = attributes(&c, true, Some(self.policy));
            self.findings
                .check(format!("refresh: cookie {}", c.name), problem);
        }
        let next = self.browser(&r, "refresh")?;
        if next.refresh == mine.refresh {
            self.findings
                .fail("refresh", "the refresh cookie was not rotated");
        }
        if next.csrf == mine.csrf {
            self.findings
                .fail("refresh", "the CSRF token was not renewed");
        }
        Some(next)
    }

    /// The rotated cookie replayed within the grace (a second tab) gets the one successor;
    /// replayed after it, it ends the session: the successor is worthless too.
    async fn replays(&mut self, mine: &Browser, next: &Browser) {
        let r = self.refresh(&mine.refresh, &mine.csrf).await;
        let successor = r.cookie(self.policy.refresh_name).map(|c| c.value);
        if r.status != 200 || successor.as_deref() != Some(next.refresh.as_str()) {
            self.findings.fail(
                "a rotated refresh cookie replayed within the grace",
                format!(
                    "expected 200 with the one successor; got {} {:?}",
                    r.status, successor
                ),
            );
        }
        let aged = refresh_token::Entity::update_many()
            .col_expr(
                refresh_token::Column::RotatedAt,
                Expr::value(Some(chrono::Utc::now() - chrono::Duration::hours(1))),
            )
            .filter(refresh_token::Column::RotatedAt.is_not_null())
            .exec(&self.server().ctx.core().db)
            .await;
        if aged.is_err() {
            self.findings
                .fail("ageing the rotated refresh token", format!("{aged:?}"));
            return;
        }
        let r = self.refresh(&mine.refresh, &mine.csrf).await;
        let problem = error_problem(&r, 401, "unauthenticated");
        self.findings
            .check("a rotated refresh cookie replayed after the grace", problem);
        let r = self.refresh(&next.refresh, &next.csrf).await;
        let problem = error_problem(&r, 401, "unauthenticated");
        self.findings.check(
            "the successor after its predecessor was replayed (the session ended)",
            problem,
        );
        self.session_is(next, false, "with the newest access token after the replay")
            .await;
        self.session_is(mine, false, "with the first access token after the replay")
            .await;
    }

    /// The web app on its own origin may send the CSRF header with credentials; another origin
    /// gets no CORS answer.
    async fn preflight(&mut self) {
        for path in [self.routes.refresh, self.routes.logout] {
            for origin in [ORIGIN, "https://evil.example"] {
                let r = self
                    .server()
                    .call(Method::OPTIONS, path)
                    .header("origin", origin)
                    .header("access-control-request-method", "POST")
                    .header(
                        "access-control-request-headers",
                        "content-type, x-csrf-token",
                    )
                    .send()
                    .await;
                let allowed = r
                    .header("access-control-allow-headers")
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let problem = if origin != ORIGIN {
                    r.header("access-control-allow-origin")
                        .map(|o| format!("a foreign origin is allowed: {o}"))
                } else if !r.status.is_success()
                    || r.header("access-control-allow-origin") != Some(ORIGIN)
                    || r.header("access-control-allow-credentials") != Some("true")
                    || !(allowed.contains("x-csrf-token") || allowed.contains('*'))
                {
                    Some(format!(
                        "not allowed with credentials and X-CSRF-Token: {} {:?}",
                        r.status, r.headers
                    ))
                } else {
                    None
                };
                self.findings
                    .check(format!("CORS preflight of {path} from {origin}"), problem);
            }
        }
    }

    /// Logout by refresh cookie: forgeries are 403 and clear nothing; the session's own token
    /// ends it and clears each session cookie on the path it was set on; its refresh cookie is
    /// then worthless, and a second logout with it has no session to end.
    async fn logout_needs_its_own_token(&mut self, mine: &Browser, other: &Browser) {
        let logout = self.routes.logout;
        let cookies = [
            (self.policy.refresh_name, mine.refresh.as_str()),
            (self.policy.csrf_name, mine.csrf.as_str()),
        ];
        for (case, header) in [
            ("no header", None),
            ("a wrong header", Some("forged")),
            ("another session's token", Some(other.csrf.as_str())),
        ] {
            let r = self.call(logout, &cookies, header).send().await;
            let mut problem = error_problem(&r, 403, "permission_denied");
            if problem.is_none() && !r.set_cookies().is_empty() {
                problem = Some(format!("a refused logout touched cookies: {:?}", r.headers));
            }
            self.findings.check(format!("logout with {case}"), problem);
        }
        self.session_is(mine, true, "after the refused logouts")
            .await;
        let r = self.call(logout, &cookies, Some(&mine.csrf)).send().await;
        if !r.status.is_success() {
            self.findings.fail(
                "logout with the session's own token",
                format!("expected 2xx; got {} {}", r.status, r.text),
            );
            return;
        }
        self.cleared(&r, "logout");
        self.session_is(mine, false, "after logout").await;
        let r = self.refresh(&mine.refresh, &mine.csrf).await;
        let problem = error_problem(&r, 401, "unauthenticated");
        self.findings.check("refresh after logout", problem);
        let r = self.call(logout, &cookies, Some(&mine.csrf)).send().await;
        let problem = error_problem(&r, 401, "unauthenticated");
        self.findings
            .check("logout again with the spent cookie", problem);
    }

    /// `r` tells the browser to delete every session cookie, each on the path it was set on (a
    /// removal on another path deletes nothing).
    fn cleared(&mut self, r: &Resp, what: &str) {
        let mut names = vec![
            (self.policy.refresh_name, self.policy.refresh_path.as_str()),
            (self.policy.csrf_name, "/"),
        ];
        if let Some(name) = self.policy.access_name {
            names.push((name, "/"));
        }
        for (name, path) in names {
            let problem = match r.cookie(name) {
                None => Some("not cleared".to_owned()),
                Some(c) if !c.is_cleared() => Some(format!("not cleared: {}", c.raw)),
                Some(c) if c.path() != Some(path) => {
                    Some(format!("cleared on another path than {path}: {}", c.raw))
                }
                Some(_) => None,
            };
            self.findings
                .check(format!("{what}: cookie {name}"), problem);
        }
    }

    /// Logout with no credential, or a Bearer that is no token, is 401.
    async fn logout_needs_a_credential(&mut self) {
        let logout = self.routes.logout;
        let r = self
            .call(logout, &[(self.policy.csrf_name, "abc")], Some("abc"))
            .send()
            .await;
        let problem = error_problem(&r, 401, "unauthenticated");
        self.findings.check("logout with no credential", problem);
        let r = self
            .server()
            .call(Method::POST, logout)
            .bearer("not-a-jwt")
            .send()
            .await;
        let problem = error_problem(&r, 401, "unauthenticated");
        self.findings
            .check("logout with a Bearer that is no token", problem);
    }

    /// A Bearer logout (an API tool's) needs no CSRF token and ends that session only.
    async fn bearer_logout(&mut self, email: &str) {
        let (Some(one), Some(two)) = (
            self.sign_in(email, "a session for a Bearer logout").await,
            self.sign_in(email, "another session of that user").await,
        ) else {
            return;
        };
        let Some(access) = one.access.clone() else {
            self.findings.fail(
                "Bearer logout",
                "no access token in a cookie or the body (SessionRoutes::access_in_body)",
            );
            return;
        };
        let r = self
            .server()
            .call(Method::POST, self.routes.logout)
            .bearer(&access)
            .send()
            .await;
        if !r.status.is_success() {
            self.findings.fail(
                "Bearer logout without a CSRF token",
                format!("expected 2xx; got {} {}", r.status, r.text),
            );
        }
        let r = self.refresh(&one.refresh, &one.csrf).await;
        let problem = error_problem(&r, 401, "unauthenticated");
        self.findings
            .check("refresh after a Bearer logout", problem);
        let r = self.refresh(&two.refresh, &two.csrf).await;
        let problem =
            (r.status != 200).then(|| format!("expected 200; got {} {}", r.status, r.text));
        self.findings
            .check("the user's other session after a Bearer logout", problem);
    }

    /// A state change authenticated by the access cookie alone needs the session's token too.
    async fn access_cookie_changes_need_the_token(&mut self, other: &Browser) {
        let email = unique_email("session");
        let Some(mine) = self
            .sign_in(&email, "a session for the access cookie")
            .await
        else {
            return;
        };
        let (Some(name), Some(access)) = (self.policy.access_name, mine.access_cookie.as_deref())
        else {
            return;
        };
        let logout = self.routes.logout;
        for (case, header) in [
            ("no header", None),
            ("a planted pair", Some("forged")),
            ("another session's token", Some(other.csrf.as_str())),
        ] {
            let csrf = header.unwrap_or(mine.csrf.as_str());
            let cookies = [(name, access), (self.policy.csrf_name, csrf)];
            let r = self.call(logout, &cookies, header).send().await;
            let problem = error_problem(&r, 403, "permission_denied");
            self.findings
                .check(format!("logout by access cookie with {case}"), problem);
        }
        self.session_is(&mine, true, "after the refused logouts by access cookie")
            .await;
        let cookies = [(name, access)];
        let r = self.call(logout, &cookies, Some(&mine.csrf)).send().await;
        if !r.status.is_success() {
            self.findings.fail(
                "logout by access cookie with the session's own token",
                format!("expected 2xx; got {} {}", r.status, r.text),
            );
        }
        self.session_is(&mine, false, "after a logout by access cookie")
            .await;
    }
}
