//! The cookie table: the attributes of every cookie a browser sign-in sets, with the product's
//! `cookie_secure` on and off, and — for products that keep browser sessions in cookies (a
//! `CookiePolicy`) — the CSRF rules of refresh, logout and other state changes by cookie:
//! only the token the server made for that very session passes.

use platform::{cookies::CookiePolicy, core::HasCore};
use reqwest::Method;

use super::{Findings, Suite, localhost};
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
}

/// A token-shaped value the server never made (`<nonce>.<mac>` in base64url).
const PLANTED: &str = "cGxhbnRlZC1ieS1hbi1hdHRhY2tlcg.aW52ZW50ZWQtbWFjLW9mLTMyLWJ5dGVzLXh4eHh4eHh4";

/// Runs the cookie table against the product of `S` (see the module docs of `conformance`).
pub async fn cookies<S: Suite>() {
    let mut findings = Findings::default();
    for secure in [true, false] {
        let app = S::spawn(Box::new(move |s| {
            s.cookie_secure = secure;
            s.trusted_proxies = vec![localhost()];
        }))
        .await;
        let r = app.browser_sign_in(&unique_email("cookies")).await;
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

/// A signed-in browser: its session cookies as set.
struct Browser {
    refresh: String,
    csrf: String,
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
        let Some(mine) = self.sign_in(&email, "first session").await else {
            return;
        };
        let Some(other) = self
            .sign_in(&unique_email("session"), "another user's session")
            .await
        else {
            return;
        };
        let Some(twin) = self.sign_in(&email, "the same user's other session").await else {
            return;
        };
        let Some(mine) = self.refresh_needs_its_own_token(&mine, &other, &twin).await else {
            return;
        };
        self.logout_needs_its_own_token(&mine, &other).await;
        if self.policy.access_name.is_some() {
            self.access_cookie_changes_need_the_token(&other).await;
        }
    }

    /// Signs a browser in as `email` and reads its cookies (and the body's CSRF token).
    async fn sign_in(&mut self, email: &str, what: &str) -> Option<Browser> {
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
        let access = self.policy.access_name.and_then(value);
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
        if self.policy.access_name.is_some() && access.is_none() {
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
        Some(Browser {
            refresh,
            csrf,
            access,
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

    /// The CSRF headers (and cookie) that must not pass for `mine`.
    fn forgeries<'b>(
        &self,
        mine: &'b Browser,
        other: &'b Browser,
        twin: &'b Browser,
    ) -> Vec<(&'static str, Option<&'b str>, Option<&'b str>)> {
        vec![
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
        ]
    }

    /// Refresh by cookie: every forgery is 403 and spends nothing; the session's own token
    /// (from the header alone, as a page on another host sends it) refreshes; no refresh
    /// cookie is 401. Returns the refreshed browser.
    async fn refresh_needs_its_own_token(
        &mut self,
        mine: &Browser,
        other: &Browser,
        twin: &Browser,
    ) -> Option<Browser> {
        let refresh = self.routes.refresh;
        let name = self.policy.refresh_name;
        let csrf_name = self.policy.csrf_name;
        for (case, cookie, header) in self.forgeries(mine, other, twin) {
            let mut cookies = vec![(name, mine.refresh.as_str())];
            if let Some(c) = cookie {
                cookies.push((csrf_name, c));
            }
            let r = self.call(refresh, &cookies, header).send().await;
            let mut problem = error_problem(&r, 403, "permission_denied");
            if problem.is_none() && !r.set_cookies().is_empty() {
                problem = Some(format!("a refused refresh set cookies: {:?}", r.headers));
            }
            self.findings.check(format!("refresh with {case}"), problem);
        }
        let r = self
            .call(refresh, &[(name, mine.refresh.as_str())], Some(&mine.csrf))
            .send()
            .await;
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
        let r = self
            .call(
                refresh,
                &[(csrf_name, next.csrf.as_str())],
                Some(&next.csrf),
            )
            .send()
            .await;
        let problem = error_problem(&r, 401, "unauthenticated");
        self.findings
            .check("refresh without the refresh cookie", problem);
        Some(next)
    }

    /// Every session cookie a browser holds for the logout route.
    fn session_cookies<'b>(&self, b: &'b Browser) -> Vec<(&'static str, &'b str)> {
        let mut cookies = vec![
            (self.policy.refresh_name, b.refresh.as_str()),
            (self.policy.csrf_name, b.csrf.as_str()),
        ];
        if let (Some(name), Some(v)) = (self.policy.access_name, &b.access) {
            cookies.push((name, v.as_str()));
        }
        cookies
    }

    /// Logout by cookie: forgeries are 403 and clear nothing; the session's own token ends it
    /// and clears each session cookie on the path it was set on; its refresh cookie is then
    /// worthless.
    async fn logout_needs_its_own_token(&mut self, mine: &Browser, other: &Browser) {
        let logout = self.routes.logout;
        let cookies = self.session_cookies(mine);
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
        let r = self.call(logout, &cookies, Some(&mine.csrf)).send().await;
        if !r.status.is_success() {
            self.findings.fail(
                "logout with the session's own token",
                format!("expected 2xx; got {} {}", r.status, r.text),
            );
            return;
        }
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
                // A removal on another path deletes nothing.
                Some(c) if c.path() != Some(path) => {
                    Some(format!("cleared on another path than {path}: {}", c.raw))
                }
                Some(_) => None,
            };
            self.findings
                .check(format!("logout: cookie {name}"), problem);
        }
        let r = self
            .call(
                self.routes.refresh,
                &[(self.policy.refresh_name, mine.refresh.as_str())],
                Some(&mine.csrf),
            )
            .send()
            .await;
        let problem = error_problem(&r, 401, "unauthenticated");
        self.findings.check("refresh after logout", problem);
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
        let (Some(name), Some(access)) = (self.policy.access_name, mine.access.as_deref()) else {
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
        let cookies = [(name, access)];
        let r = self.call(logout, &cookies, Some(&mine.csrf)).send().await;
        if !r.status.is_success() {
            self.findings.fail(
                "logout by access cookie with the session's own token",
                format!("expected 2xx; got {} {}", r.status, r.text),
            );
        }
    }
}
