//! Crenoir X MAP's layer over `testkit`: `spawn_app()` builds the real router on a fresh
//! database (MOCK mode, `app_url = http://app.test`, cookies `Secure` as in production), errors
//! are nested `{ error: { code, message, details? } }`. The client keeps no cookies: a
//! [`Session`] is read from `Set-Cookie` and sent back as `Cookie` by the helpers here, so each
//! test decides exactly what a request carries. Also: the mock Google and mock SAML flows as a
//! browser walks them, testkit's fake Google for LIVE mode, and the fixture SAML IdP.

#![allow(dead_code)]

use std::{collections::HashSet, ops::Deref, sync::Mutex};

use platform::{
    datamode::Mode,
    identity::{NewUser, User},
    saml::{IdpConfig, IdpKey, IdpSigner, SpConfig},
    settings::{ProductSettings, SamlSettings},
};
use reqwest::Method;
use serde_json::{Value, json};
use testkit::{
    Call, ErrorShape, TestServer,
    access::{Caller, Seat},
};
use url::Url;

pub use testkit::{Resp, error_fields, expect_error, expect_limited, extract_param};

/// Crenoir's error body: `{ "error": { code, message, details? } }`, no request id inside.
pub const ERRORS: ErrorShape = ErrorShape::Nested {
    always_details: false,
    request_id: None,
};
/// `settings.app_url` of every test server (testkit's default).
pub const APP: &str = "http://app.test";
/// The page of the app that receives mock Google's mailed link.
pub const REDIRECT: &str = "http://app.test/auth/google/callback";
/// A well-formed PKCE verifier (43 to 128 unreserved characters).
pub const PKCE_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-0123456789";
/// 15 minutes, the access cookie's life.
pub const ACCESS_TTL: i64 = 15 * 60;
/// 7 days, the refresh cookie's life.
pub const REFRESH_TTL: i64 = 7 * 24 * 3600;

/// A running Crenoir on a random port with its own database; derefs to the [`TestServer`]
/// for requests, `ctx`, `settings` and the outbox readers.
///
/// For SAML it also plays one browser's cookie for the sign-in in progress: `saml_start`
/// keeps the `saml_request` cookie the start sets, and the consumer calls (`acs`,
/// `acs_json`) send it back, as the browser that started the sign-in would.
pub struct TestApp(TestServer<crenoir::Ctx>, Mutex<Option<String>>);

impl Deref for TestApp {
    type Target = TestServer<crenoir::Ctx>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like `spawn_app`, with a chance to adjust the settings first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut ProductSettings)) -> TestApp {
    try_spawn_app_with(adjust).await.expect("build app")
}

/// `spawn_app_with`, returning the build error instead of panicking.
pub async fn try_spawn_app_with(
    adjust: impl FnOnce(&mut ProductSettings),
) -> anyhow::Result<TestApp> {
    Ok(TestApp(
        testkit::spawn_product::<crenoir::Crenoir>(ERRORS, adjust).await?,
        Mutex::new(None),
    ))
}

/// A signed-in browser: the three cookies, and the JSON body when the sign-in had one.
#[derive(Clone, Debug)]
pub struct Session {
    pub access: String,
    pub refresh: String,
    pub csrf: String,
    /// `data` of the answer (`{ user, expiresIn, csrfToken }`), `Null` after a form sign-in.
    pub data: Value,
}

impl Session {
    /// Reads the cookies a sign-in or refresh set.
    #[track_caller]
    pub fn from_resp(r: &Resp) -> Self {
        Self {
            access: r.cookie_value("access_token"),
            refresh: r.cookie_value("refresh_token"),
            csrf: r.cookie_value("csrf_token"),
            data: r.body["data"].clone(),
        }
    }

    pub fn user_id(&self) -> &str {
        self.data["user"]["id"]
            .as_str()
            .expect("user id in session")
    }
}

/// `text` with the HTML escapes of the product's pages undone.
pub fn unescape_html(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of the `<input name="{name}" value="…">` of an HTML page, unescaped.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!(r#"name="{name}" value=""#))? + name.len() + 15;
    let end = html[start..].find('"')?;
    Some(unescape_html(&html[start..start + end]))
}

/// The `action` of the first form of an HTML page, unescaped.
pub fn form_action(html: &str) -> Option<String> {
    let start = html.find(r#"action=""#)? + 8;
    let end = html[start..].find('"')?;
    Some(unescape_html(&html[start..start + end]))
}

/// A URL-encoded form body.
pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// The query parameter `name` of `url`.
pub fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

impl TestApp {
    /// A user created without HTTP (as `basalt user create` does), address verified or not.
    pub async fn existing_user(&self, email: &str, role: &str, email_verified: bool) -> User {
        self.ctx
            .identity
            .create_user(NewUser {
                email: email.into(),
                password: Some(testkit::PASSWORD.into()),
                name: format!("Existing {role}"),
                role: role.into(),
                email_verified,
            })
            .await
            .expect("create user")
    }

    /// The access matrix's caller in `seat`: its user made on first use (as an operator
    /// would, so Google links it), signed in with mock Google anew on every call; a browser
    /// holding the three cookies and sending the CSRF token on writes.
    pub async fn seat(&self, seat: &Seat) -> Caller {
        self.seat_user(seat).await;
        let s = self.google_sign_in(&seat.email()).await;
        let cookies = [
            ("access_token", s.access.as_str()),
            ("refresh_token", s.refresh.as_str()),
            ("csrf_token", s.csrf.as_str()),
        ];
        Caller::browser(&s.access, &cookies, &s.csrf)
    }

    // ------------------------------------------------------------ session endpoints

    /// A request carrying every cookie a browser holds for `/auth/*` (access, refresh, CSRF),
    /// without the `X-CSRF-Token` header.
    pub fn browser(&self, method: Method, path: &str, s: &Session) -> testkit::Call<'_> {
        self.call(method, path)
            .cookie("access_token", &s.access)
            .cookie("refresh_token", &s.refresh)
            .cookie("csrf_token", &s.csrf)
    }

    /// `GET /auth/user/profile` with the access cookie only.
    pub async fn profile(&self, access: &str) -> Resp {
        self.call(Method::GET, "/auth/user/profile")
            .cookie("access_token", access)
            .send()
            .await
    }

    /// `POST /auth/refresh` with the given refresh cookie, CSRF cookie and CSRF header.
    pub async fn refresh(
        &self,
        refresh: Option<&str>,
        csrf_cookie: Option<&str>,
        csrf_header: Option<&str>,
    ) -> Resp {
        self.call(Method::POST, "/auth/refresh")
            .refresh_cookie(refresh)
            .csrf(csrf_cookie, csrf_header)
            .send()
            .await
    }

    /// A correct refresh of `s` (refresh cookie + matching CSRF).
    pub async fn refresh_ok(&self, s: &Session) -> Session {
        let r = self
            .refresh(Some(&s.refresh), Some(&s.csrf), Some(&s.csrf))
            .await;
        assert_eq!(r.status, 200, "refresh failed: {}", r.text);
        Session::from_resp(&r)
    }

    /// `POST /auth/logout` with every cookie of `s` and `csrf_header`.
    pub async fn logout(&self, s: &Session, csrf_header: Option<&str>) -> Resp {
        let c = self.browser(Method::POST, "/auth/logout", s);
        match csrf_header {
            Some(h) => c.header("x-csrf-token", h),
            None => c,
        }
        .send()
        .await
    }

    // ------------------------------------------------------------ Google (MOCK)

    pub async fn google_login(&self, body: Value) -> Resp {
        self.post("/auth/google/login", None, body).await
    }

    pub async fn mock_authorize(&self, body: Value) -> Resp {
        self.post("/auth/google/mock/authorize", None, body).await
    }

    /// Asks mock Google for a sign-in link to [`REDIRECT`] (with `challenge` as the PKCE
    /// challenge) and returns the code mailed to `email`.
    pub async fn mock_code(&self, email: &str, challenge: Option<&str>) -> String {
        let state = uuid::Uuid::new_v4().simple().to_string();
        let body = json!({
            "email": email, "name": "Gina Google", "redirectUri": REDIRECT,
            "state": state, "codeChallenge": challenge,
        });
        let r = self.mock_authorize(body).await;
        assert_eq!(r.status, 202, "mock authorize failed: {}", r.text);
        self.mail_link(email, &format!("state={state}"), "code")
            .await
    }

    /// Signs `email` in through the mock Google code flow.
    pub async fn google_sign_in(&self, email: &str) -> Session {
        let code = self.mock_code(email, None).await;
        let r = self
            .google_login(json!({ "code": code, "redirectUri": REDIRECT }))
            .await;
        assert_eq!(r.status, 200, "google sign-in failed: {}", r.text);
        Session::from_resp(&r)
    }

    /// The `param` of the link in the (single) mail to `email` whose body contains `needle`.
    /// Mail goes to the normalised (lower-case) address.
    pub async fn mail_link(&self, email: &str, needle: &str, param: &str) -> String {
        let mails = self.mails_to(&email.to_lowercase()).await;
        let found: Vec<_> = mails.iter().filter(|(_, b)| b.contains(needle)).collect();
        assert_eq!(found.len(), 1, "mails to {email} with {needle}: {mails:?}");
        extract_param(&found[0].1, param).unwrap_or_else(|| panic!("no {param}= in {}", found[0].1))
    }

    /// Every `token=` value in the mails to `email` (normalised to lower case).
    pub async fn mailed_tokens(&self, email: &str) -> HashSet<String> {
        self.mails_now(&email.to_lowercase())
            .await
            .iter()
            .filter_map(|(_, b)| extract_param(b, "token"))
            .collect()
    }

    // ------------------------------------------------------------ SAML

    /// A form post (`application/x-www-form-urlencoded`).
    pub async fn post_form(&self, path: &str, pairs: &[(&str, &str)]) -> Resp {
        self.call(Method::POST, path)
            .header("content-type", "application/x-www-form-urlencoded")
            .raw(form(pairs))
            .send()
            .await
    }

    /// `GET /auth/saml/login?redirectTo=…`: asserts the 303 and reads the IdP URL.
    pub async fn saml_start(&self, redirect_to: Option<&str>) -> SamlStart {
        let path = match redirect_to {
            Some(to) => format!("/auth/saml/login?{}", form(&[("redirectTo", to)])),
            None => "/auth/saml/login".to_owned(),
        };
        let r = self.get(&path, None).await;
        assert_eq!(r.status, 303, "SAML start failed: {}", r.text);
        self.keep_saml_binding(&r);
        let location = r.header("location").expect("Location of the 303");
        SamlStart::parse(location)
    }

    /// Keeps the `saml_request` cookie a start set (this test's browser).
    pub fn keep_saml_binding(&self, r: &Resp) {
        let c = r
            .cookie("saml_request")
            .expect("the start sets saml_request");
        assert!(c.http_only(), "{}", c.raw);
        assert_eq!(c.path(), Some("/auth/saml/login"), "{}", c.raw);
        *self.1.lock().unwrap() = Some(c.value);
    }

    /// Forgets the sign-in this browser started (a different browser posts next).
    pub fn forget_saml_binding(&self) {
        *self.1.lock().unwrap() = None;
    }

    fn with_saml_binding<'a>(&self, call: Call<'a>) -> Call<'a> {
        match self.1.lock().unwrap().clone() {
            Some(v) => call.cookie("saml_request", &v),
            None => call,
        }
    }

    /// The assertion consumer, as the IdP's auto-posting page calls it.
    pub async fn acs(&self, saml_response: &str, relay_state: Option<&str>) -> Resp {
        let mut pairs = vec![("SAMLResponse", saml_response)];
        if let Some(r) = relay_state {
            pairs.push(("RelayState", r));
        }
        let call = self
            .call(Method::POST, "/auth/saml/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .raw(form(&pairs));
        self.with_saml_binding(call).send().await
    }

    /// The consumer called by a script: `{ samlResponse }` as JSON.
    pub async fn acs_json(&self, saml_response: &str) -> Resp {
        let call = self
            .call(Method::POST, "/auth/saml/login")
            .json(json!({ "samlResponse": saml_response }));
        self.with_saml_binding(call).send().await
    }

    /// The mock IdP's form: mails `email` a continue link; returns the link's token.
    pub async fn mock_sso_submit(
        &self,
        start: &SamlStart,
        email: &str,
        name: Option<&str>,
    ) -> String {
        let before = self.mailed_tokens(email).await;
        let mut pairs = vec![
            ("SAMLRequest", start.saml_request.as_str()),
            ("email", email),
        ];
        if let Some(relay) = &start.relay_state {
            pairs.push(("RelayState", relay));
        }
        if let Some(n) = name {
            pairs.push(("name", n));
        }
        let r = self.post_form("/auth/saml/mock/sso", &pairs).await;
        assert_eq!(r.status, 200, "mock SSO submit failed: {}", r.text);
        let mut new: Vec<_> = self
            .mailed_tokens(email)
            .await
            .difference(&before)
            .cloned()
            .collect();
        assert_eq!(new.len(), 1, "one new continue link for {email}: {new:?}");
        new.pop().unwrap()
    }

    /// `GET /auth/saml/mock/continue?token=…`: the auto-posting page, read.
    pub async fn mock_continue(&self, token: &str) -> Resp {
        self.get(&format!("/auth/saml/mock/continue?token={token}"), None)
            .await
    }

    /// The mock IdP walked as a browser does, up to the page that posts to the consumer:
    /// start (→ `redirect_to`), the IdP's page, its form, the mailed link. Returns the signed
    /// `SAMLResponse` and the `RelayState` of that page.
    pub async fn mock_saml_response(
        &self,
        email: &str,
        name: Option<&str>,
        redirect_to: Option<&str>,
    ) -> (String, Option<String>) {
        let start = self.saml_start(redirect_to).await;
        let token = self.mock_sso_submit(&start, email, name).await;
        let page = self.mock_continue(&token).await;
        assert_eq!(page.status, 200, "continue failed: {}", page.text);
        let response = input_value(&page.text, "SAMLResponse").expect("SAMLResponse input");
        (response, input_value(&page.text, "RelayState"))
    }

    /// Signs `email` in through the mock SAML IdP and returns the session its consumer set.
    pub async fn saml_sign_in(&self, email: &str, name: Option<&str>) -> Session {
        let (response, relay) = self.mock_saml_response(email, name, None).await;
        let r = self.acs(&response, relay.as_deref()).await;
        assert_eq!(r.status, 303, "SAML consumer failed: {}", r.text);
        let binding = r
            .cookie("saml_request")
            .expect("the consumer ends the binding");
        assert!(binding.is_cleared(), "{}", binding.raw);
        Session::from_resp(&r)
    }

    /// The SP as the product describes it (`<public_url>/auth/saml/{metadata,login}`), for
    /// building responses in the IdP's place.
    pub fn sp(&self) -> SpConfig {
        SpConfig {
            entity_id: format!("{}/auth/saml/metadata", self.base),
            acs_url: format!("{}/auth/saml/login", self.base),
            idp: IdpConfig {
                entity_id: IDP_ENTITY_ID.into(),
                sso_url: IDP_SSO_URL.into(),
                key: IdpKey::none(),
            },
        }
    }
}

/// Where `GET /auth/saml/login` sent the browser.
#[derive(Clone, Debug)]
pub struct SamlStart {
    pub url: Url,
    /// `SAMLRequest`, URL-decoded (base64 of the DEFLATEd AuthnRequest).
    pub saml_request: String,
    pub relay_state: Option<String>,
}

impl SamlStart {
    pub fn parse(location: &str) -> Self {
        let url = Url::parse(location).unwrap_or_else(|_| panic!("not a URL: {location}"));
        let saml_request =
            query_param(&url, "SAMLRequest").unwrap_or_else(|| panic!("no SAMLRequest: {url}"));
        let relay_state = query_param(&url, "RelayState");
        Self {
            url,
            saml_request,
            relay_state,
        }
    }

    /// The AuthnRequest's ID, which the response must answer (`InResponseTo`).
    pub fn request_id(&self) -> String {
        platform::saml::decode_redirect_request(&self.saml_request)
            .expect("an AuthnRequest")
            .id
    }

    /// `path?query` of the IdP URL, for requests to our own server.
    pub fn path_and_query(&self) -> String {
        format!("{}?{}", self.url.path(), self.url.query().unwrap_or(""))
    }
}

// ---------------------------------------------------------------- the fixture SAML IdP (LIVE)

pub const IDP_ENTITY_ID: &str = "https://idp.corp.test/saml";
pub const IDP_SSO_URL: &str = "https://idp.corp.test/sso";
pub const IDP_CERT: &str = include_str!("fixtures/idp.crt");
const IDP_KEY: &str = include_str!("fixtures/idp.key");

/// The enterprise IdP's signing key (the fixture pair whose certificate LIVE mode trusts).
pub fn idp_signer() -> IdpSigner {
    IdpSigner::from_pkcs8_pem(IDP_KEY).expect("fixture key")
}

/// LIVE mode with the fixture IdP configured.
pub fn live_saml(s: &mut ProductSettings) {
    s.data_mode = Mode::Live;
    s.saml = SamlSettings {
        idp_entity_id: Some(IDP_ENTITY_ID.into()),
        idp_sso_url: Some(IDP_SSO_URL.into()),
        idp_certificate: Some(IDP_CERT.into()),
        sp_entity_id: None,
    };
}

// ---------------------------------------------------------------- a fake Google (LIVE)

pub use testkit::oidc::{
    CLIENT_ID, CLIENT_SECRET, FakeGoogle, JWKS_PATH, KID, TOKEN_PATH, USERINFO_PATH, signed_jwt,
    unix_now,
};

/// A LIVE app whose fake Google serves its key under [`KID`] (exactly `fetches` times, when
/// given; wiremock checks it when the fake drops).
pub async fn live_google_app(fake: &FakeGoogle, fetches: Option<u64>) -> TestApp {
    fake.serve_keys(fetches).await;
    spawn_app_with(|s| fake.configure(s)).await
}
