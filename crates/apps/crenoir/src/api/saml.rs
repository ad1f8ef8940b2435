//! SAML 2.0 sign-in (seed 002 "POST /auth/saml/login (enterprise)"):
//! - `GET /auth/saml/login?redirectTo=…` starts an SP-initiated sign-in (303 to the IdP,
//!   HTTP-Redirect binding); `POST /auth/saml/login` with a JSON body does the same for a
//!   script and answers `{ data: { redirectUrl } }`.
//! - `POST /auth/saml/login` with the IdP's form post (`SAMLResponse`, `RelayState`) is the
//!   assertion consumer: session cookies, then 303 to the page the sign-in started from. A
//!   JSON body with `samlResponse` gets `{ data: session }` instead of the redirect.
//! - `GET /auth/saml/metadata`: our SP metadata for the IdP's administrator.
//! - `/auth/saml/mock/*` (MOCK mode): the built-in IdP's pages.

use axum::{
    body::Bytes,
    extract::{FromRequest, Request, State},
    http::{StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
};
use axum_extra::extract::{
    CookieJar,
    cookie::{Cookie, SameSite},
};
use platform::{
    ApiError,
    error::{ErrorCode, FieldError},
    extract::{ClientInfo, Json, Query, form_pairs},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    auth::signed_in,
    types::{Data, SessionView, data},
};
use crate::{Ctx, service::saml::ACS_PATH};

/// The cookie holding the id of the sign-in this browser started.
pub const BINDING_COOKIE: &str = "saml_request";

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct StartQuery {
    /// A page of the app to land on after sign-in (default: the app's home).
    pub redirect_to: Option<String>,
}

/// `GET /auth/saml/login`: sends the browser to the identity provider.
#[utoipa::path(get, operation_id = "startSamlSignIn", path = "/auth/saml/login", tag = "saml", params(StartQuery),
    responses((status = 303, description = "To the identity provider's sign-on URL")))]
pub async fn start(
    State(ctx): State<Ctx>,
    jar: CookieJar,
    Query(q): Query<StartQuery>,
) -> Result<(CookieJar, Redirect), ApiError> {
    let begun = ctx.saml.begin(&ctx, q.redirect_to.as_deref()).await?;
    let jar = jar.add(binding_cookie(&ctx, begun.request_id));
    Ok((jar, Redirect::to(&begun.redirect_url)))
}

/// Keeps the started request's id in this browser, for the assertion consumer to check (the
/// login-CSRF defence of `platform::identity::saml_login`). The IdP's form post is
/// cross-site, so the cookie must be `SameSite=None`, which browsers accept only with
/// `Secure`; on plain-http development it falls back to `Lax`, which then works only with an
/// IdP on the same site (the built-in mock).
fn binding_cookie(ctx: &Ctx, request_id: String) -> Cookie<'static> {
    let same_site = if ctx.cookies.secure {
        SameSite::None
    } else {
        SameSite::Lax
    };
    Cookie::build((BINDING_COOKIE, request_id))
        .http_only(true)
        .secure(ctx.cookies.secure)
        .same_site(same_site)
        .path(ACS_PATH)
        .max_age(cookie::time::Duration::minutes(10))
        .build()
}

fn started_here(jar: &CookieJar) -> Option<String> {
    jar.get(BINDING_COOKIE).map(|c| c.value().to_owned())
}

/// Ends the binding once the sign-in it guarded is done.
fn spent_binding(jar: CookieJar) -> CookieJar {
    jar.remove(Cookie::build(BINDING_COOKIE).path(ACS_PATH))
}

/// The HTTP-POST binding's form.
#[derive(Deserialize, ToSchema)]
pub struct AcsForm {
    #[serde(rename = "SAMLResponse")]
    pub saml_response: String,
    #[serde(rename = "RelayState")]
    pub relay_state: Option<String>,
}

/// A script's call: start a sign-in, or hand over a `SAMLResponse` it received.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"redirectTo": "http://localhost:5173/"}))]
pub struct SamlLoginRequest {
    /// Start: the page to land on afterwards.
    #[schema(format = "uri")]
    pub redirect_to: Option<String>,
    /// Finish: the base64 `SAMLResponse` the IdP produced.
    #[schema(min_length = 1)]
    pub saml_response: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SamlStart {
    /// Send the browser here (the IdP's sign-on URL with the `SAMLRequest`).
    pub redirect_url: String,
}

/// The JSON answer: where to start, or the session a handed-over response opened.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum SamlLoginAnswer {
    Start(SamlStart),
    Session(SessionView),
}

/// `POST /auth/saml/login`: the assertion consumer (form post from the IdP), or a script's
/// start/finish (JSON).
#[utoipa::path(post, operation_id = "completeSamlSignIn", path = "/auth/saml/login", tag = "saml",
    request_body(content(
        (AcsForm = "application/x-www-form-urlencoded"),
        (SamlLoginRequest = "application/json"),
    )),
    responses((status = 401, description = "The SAML response is not valid for this service"), 
        (status = 303, description = "Signed in (form post): session cookies set, on to the app"),
        (status = 200, description = "JSON: the IdP URL to start at, or the new session", body = Data<SamlLoginAnswer>),
    ))]
pub async fn login(
    State(ctx): State<Ctx>,
    info: ClientInfo,
    jar: CookieJar,
    req: Request,
) -> Result<Response, ApiError> {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        let body = form_body(req).await?;
        let form = acs_form(&body)?;
        let here = started_here(&jar);
        let (user, tokens, land) = ctx
            .saml
            .finish(&ctx, &form.saml_response, here.as_deref(), &info)
            .await?;
        let (jar, _) = signed_in(&ctx, spent_binding(jar), &user, tokens);
        return Ok((jar, Redirect::to(&land)).into_response());
    }
    let Json(body) = Json::<SamlLoginRequest>::from_request(req, &()).await?;
    match body.saml_response {
        Some(response) if response.trim().is_empty() => {
            Err(ApiError::validation(vec![FieldError {
                field: "samlResponse".into(),
                message: "must not be empty".into(),
            }]))
        }
        Some(response) => {
            let here = started_here(&jar);
            let (user, tokens, _) = ctx
                .saml
                .finish(&ctx, &response, here.as_deref(), &info)
                .await?;
            Ok(signed_in(&ctx, spent_binding(jar), &user, tokens).into_response())
        }
        None => {
            let begun = ctx.saml.begin(&ctx, body.redirect_to.as_deref()).await?;
            let jar = jar.add(binding_cookie(&ctx, begun.request_id));
            let start = SamlStart {
                redirect_url: begun.redirect_url,
            };
            Ok((jar, data(SamlLoginAnswer::Start(start))).into_response())
        }
    }
}

/// The form post's bytes, within the product's body limit: a body over it, declared or (when
/// chunked) found while reading, is 413 `resource_exhausted`, not a malformed request.
async fn form_body(req: Request) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, &()).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(ErrorCode::ResourceExhausted, "request body too large")
                .with_status(StatusCode::PAYLOAD_TOO_LARGE)
        } else {
            ApiError::invalid("unreadable request body")
        }
    })
}

fn acs_form(body: &[u8]) -> Result<AcsForm, ApiError> {
    let mut saml_response = None;
    let mut relay_state = None;
    for (k, v) in form_pairs(body)? {
        match k.as_str() {
            "SAMLResponse" => saml_response = Some(v),
            "RelayState" => relay_state = Some(v),
            _ => {}
        }
    }
    let saml_response = saml_response.filter(|s| !s.is_empty()).ok_or_else(|| {
        ApiError::validation(vec![FieldError {
            field: "SAMLResponse".into(),
            message: "is required".into(),
        }])
    })?;
    Ok(AcsForm {
        saml_response,
        relay_state,
    })
}

/// `GET /auth/saml/metadata`: the service provider's SAML metadata (XML).
#[utoipa::path(get, operation_id = "getSamlMetadata", path = "/auth/saml/metadata", tag = "saml",
    responses((status = 200, description = "SAML 2.0 EntityDescriptor", content_type = "application/samlmetadata+xml", body = String)))]
pub async fn metadata(State(ctx): State<Ctx>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/samlmetadata+xml")],
        ctx.saml.metadata(),
    )
        .into_response()
}

#[derive(Deserialize, IntoParams)]
pub struct MockSsoQuery {
    #[serde(rename = "SAMLRequest")]
    #[param(rename = "SAMLRequest")]
    pub saml_request: String,
    #[serde(rename = "RelayState")]
    #[param(rename = "RelayState")]
    pub relay_state: Option<String>,
}

/// `GET /auth/saml/mock/sso` (MOCK mode): the mock IdP's sign-on page, asking who you are.
#[utoipa::path(get, operation_id = "getMockSamlSignInPage", path = "/auth/saml/mock/sso", tag = "mock", params(MockSsoQuery),
    responses((status = 200, description = "HTML form", content_type = "text/html", body = String)))]
pub async fn mock_sso_page(
    State(ctx): State<Ctx>,
    Query(q): Query<MockSsoQuery>,
) -> Result<Html<String>, ApiError> {
    ctx.saml.require_mock(&ctx)?;
    let relay = q.relay_state.as_deref().unwrap_or("");
    Ok(Html(page(
        "Mock SAML identity provider",
        &format!(
            r#"<p>This is Basalt's built-in identity provider (MOCK mode). Enter your address: a sign-in link goes to it (see the outbox).</p>
<form method="post" action="sso">
<input type="hidden" name="SAMLRequest" value="{}">
<input type="hidden" name="RelayState" value="{}">
<label>Email <input type="email" name="email" required></label>
<label>Name <input type="text" name="name"></label>
<button type="submit">Send sign-in link</button>
</form>"#,
            escape(&q.saml_request),
            escape(relay)
        ),
    )))
}

#[derive(Deserialize, ToSchema)]
pub struct MockSsoForm {
    #[serde(rename = "SAMLRequest")]
    pub saml_request: String,
    #[serde(rename = "RelayState")]
    pub relay_state: Option<String>,
    #[schema(format = "email")]
    pub email: String,
    pub name: Option<String>,
}

/// `POST /auth/saml/mock/sso` (MOCK mode): mails the sign-in link.
#[utoipa::path(post, operation_id = "submitMockSamlSignIn", path = "/auth/saml/mock/sso", tag = "mock",
    request_body(content = MockSsoForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "HTML: check your mail", content_type = "text/html", body = String)))]
pub async fn mock_sso_submit(
    State(ctx): State<Ctx>,
    body: Bytes,
) -> Result<Html<String>, ApiError> {
    let form = mock_sso_form(&body)?;
    ctx.saml
        .mock_consent(
            &ctx,
            &form.saml_request,
            form.relay_state.as_deref().filter(|r| !r.is_empty()),
            &form.email,
            form.name.as_deref(),
        )
        .await?;
    Ok(Html(page(
        "Check your mail",
        "<p>A sign-in link is on its way (MOCK mode: see the outbox). It works once, for 10 minutes.</p>",
    )))
}

fn mock_sso_form(body: &[u8]) -> Result<MockSsoForm, ApiError> {
    let mut f = MockSsoForm {
        saml_request: String::new(),
        relay_state: None,
        email: String::new(),
        name: None,
    };
    for (k, v) in form_pairs(body)? {
        match k.as_str() {
            "SAMLRequest" => f.saml_request = v,
            "RelayState" => f.relay_state = Some(v),
            "email" => f.email = v,
            "name" => f.name = Some(v).filter(|n| !n.trim().is_empty()),
            _ => {}
        }
    }
    let mut missing = Vec::new();
    for (name, value) in [("SAMLRequest", &f.saml_request), ("email", &f.email)] {
        if value.trim().is_empty() {
            missing.push(FieldError {
                field: name.into(),
                message: "is required".into(),
            });
        }
    }
    if missing.is_empty() {
        Ok(f)
    } else {
        Err(ApiError::validation(missing))
    }
}

#[derive(Deserialize, IntoParams)]
pub struct ContinueQuery {
    /// The token of the mailed link.
    pub token: String,
}

/// `GET /auth/saml/mock/continue` (MOCK mode): the mailed link. Answers a page that posts
/// the signed assertion to the assertion consumer, as a real IdP does.
#[utoipa::path(get, operation_id = "continueMockSamlSignIn", path = "/auth/saml/mock/continue", tag = "mock", params(ContinueQuery),
    responses((status = 200, description = "HTML auto-submitting form", content_type = "text/html", body = String)))]
pub async fn mock_continue(
    State(ctx): State<Ctx>,
    Query(q): Query<ContinueQuery>,
) -> Result<Response, ApiError> {
    let answer = ctx.saml.mock_assert(&ctx, &q.token).await?;
    let relay = answer
        .relay_state
        .as_deref()
        .map(|r| {
            format!(
                r#"<input type="hidden" name="RelayState" value="{}">"#,
                escape(r)
            )
        })
        .unwrap_or_default();
    let html = page(
        "Signing in…",
        &format!(
            r#"<form method="post" action="{}" id="saml">
<input type="hidden" name="SAMLResponse" value="{}">{relay}
<noscript><button type="submit">Continue</button></noscript>
</form>
<script>document.getElementById("saml").submit()</script>"#,
            escape(&answer.acs_url),
            escape(&answer.saml_response)
        ),
    );
    // The page carries a signed assertion: keep it out of every cache.
    Ok((
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-store")],
        Html(html),
    )
        .into_response())
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head><body><h1>{}</h1>{body}</body></html>",
        escape(title),
        escape(title)
    )
}

/// HTML-escapes text for element content and double-quoted attributes.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escape_neutralises_markup() {
        assert_eq!(
            escape(r#""><script>x</script>&'"#),
            "&quot;&gt;&lt;script&gt;x&lt;/script&gt;&amp;&#39;"
        );
    }
}
