//! `/auth/*` (seed 002 "OAuth Integration", "Session Management"): Google sign-in (an ID
//! token `credential`, or an authorization code with PKCE), the profile, refresh and logout.
//! Tokens never appear in bodies: the access token lives in the httpOnly `access_token`
//! cookie, the refresh token in the httpOnly `refresh_token` cookie (path `/auth`), and every
//! cookie-authenticated state change must send, in `X-CSRF-Token`, the CSRF token the server
//! made for the session (the `csrf_token` cookie, also `data.csrfToken` of sign-in answers).

use axum::{extract::State, http::HeaderMap, http::StatusCode};
use axum_extra::extract::CookieJar;
use platform::{
    ApiError,
    error::ErrorCode,
    extract::{ClientInfo, Json},
    identity::{
        IssuedTokens, User,
        auth::AuthUser,
        google::{
            GoogleSignIn, GoogleSignInBody, MockAuthorizeRequest, MockTokenRequest,
            MockTokenResponse,
        },
    },
};
use serde::Serialize;
use utoipa::ToSchema;

use super::types::{Data, Sent, SessionView, UserView, data};
use crate::Ctx;

/// Puts a new session in the cookies and describes it.
pub(super) fn signed_in(
    ctx: &Ctx,
    jar: CookieJar,
    user: &User,
    t: IssuedTokens,
) -> (CookieJar, Json<Data<SessionView>>) {
    let cfg = &ctx.identity.cfg;
    let jar = ctx.cookies.set_access(jar, &t.access_token, cfg.access_ttl);
    let (jar, csrf_token) = match &t.refresh_token {
        Some(rt) => ctx
            .cookies
            .set_session(jar, t.session_id, rt, cfg.refresh_ttl),
        None => ctx.cookies.set_csrf(jar, t.session_id, cfg.access_ttl),
    };
    let view = SessionView {
        user: user.into(),
        expires_in: t.expires_in,
        csrf_token,
    };
    (jar, data(view))
}

/// `POST /auth/google/login`: signs in with Google and sets the session cookies. A new
/// person is provisioned as a `member`; an existing account with the same verified address
/// is linked.
#[utoipa::path(post, operation_id = "signInWithGoogle", path = "/auth/google/login", tag = "auth", request_body = GoogleSignInBody,
    responses((status = 401, description = "Google refused the credential or code"), (status = 409, description = "The Google account's email belongs to another account"), (status = 503, description = "Google is unreachable or not configured"), (status = 200, body = Data<SessionView>)))]
pub async fn google_login(
    State(ctx): State<Ctx>,
    info: ClientInfo,
    jar: CookieJar,
    Json(req): Json<GoogleSignIn>,
) -> Result<(CookieJar, Json<Data<SessionView>>), ApiError> {
    let profile = ctx.google_profile(req.proof()?).await?;
    let (user, tokens) = ctx.identity.sign_in_external(profile, None, &info).await?;
    Ok(signed_in(&ctx, jar, &user, tokens))
}

/// `GET /auth/user/profile`: the signed-in person.
#[utoipa::path(get, operation_id = "getProfile", path = "/auth/user/profile", tag = "auth", security(("cookie" = [])),
    responses((status = 200, body = Data<UserView>)))]
pub async fn profile(user: AuthUser) -> Json<Data<UserView>> {
    data((&user.user).into())
}

/// `POST /auth/refresh`: rotates the refresh cookie and renews the access cookie (a reused
/// refresh token ends the session). Needs `X-CSRF-Token`.
#[utoipa::path(post, operation_id = "refreshSession", path = "/auth/refresh", tag = "auth", security(("cookie" = [])),
    responses((status = 200, body = Data<SessionView>)))]
pub async fn refresh(
    State(ctx): State<Ctx>,
    info: ClientInfo,
    jar: CookieJar,
    headers: HeaderMap,
) -> Result<(CookieJar, Json<Data<SessionView>>), ApiError> {
    let token = ctx
        .cookies
        .checked_refresh_token(&ctx.identity, &jar, &headers)
        .await?;
    let (user, tokens) = ctx.identity.refresh(&token, &info).await?;
    Ok(signed_in(&ctx, jar, &user, tokens))
}

/// `POST /auth/logout`: ends the session (found by the access cookie, or the refresh cookie
/// once the access token has expired) and clears the cookies. Needs `X-CSRF-Token`.
#[utoipa::path(post, operation_id = "signOut", path = "/auth/logout", tag = "auth",
    extensions(("x-basalt-effect" = json!("ends-session"))), security(("cookie" = [])),
    responses((status = 200, body = Data<LoggedOut>)))]
pub async fn logout(
    State(ctx): State<Ctx>,
    info: ClientInfo,
    user: Result<AuthUser, ApiError>,
    jar: CookieJar,
    headers: HeaderMap,
) -> Result<(CookieJar, Json<Data<LoggedOut>>), ApiError> {
    let user_id = match user {
        Ok(u) => {
            ctx.identity
                .revoke_session(u.id(), u.session_id, "logout")
                .await?;
            u.id()
        }
        // A present access cookie without its CSRF header is refused as such, not retried
        // through the refresh cookie.
        Err(e) if e.code == ErrorCode::PermissionDenied => return Err(e),
        Err(_) => {
            let token = ctx
                .cookies
                .checked_refresh_token(&ctx.identity, &jar, &headers)
                .await?;
            ctx.identity
                .revoke_by_refresh_token(&token, "logout")
                .await?
        }
    };
    ctx.identity
        .log_event(Some(user_id), None, "logout", &info, None)
        .await;
    Ok((
        ctx.cookies.clear_session(jar),
        data(LoggedOut { logged_out: true }),
    ))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoggedOut {
    pub logged_out: bool,
}

/// `POST /auth/google/mock/authorize` (MOCK mode only): the mock Google consent step. It
/// mails a sign-in link with a single-use `code` to the address (see the outbox); knowing an
/// address is not enough to sign in.
#[utoipa::path(post, operation_id = "authorizeMockGoogle", path = "/auth/google/mock/authorize", tag = "mock", request_body = MockAuthorizeRequest,
    responses((status = 202, body = Data<Sent>)))]
pub async fn mock_authorize(
    State(ctx): State<Ctx>,
    Json(req): Json<MockAuthorizeRequest>,
) -> Result<(StatusCode, Json<Data<Sent>>), ApiError> {
    ctx.mock_google_authorize(&req).await?;
    Ok((StatusCode::ACCEPTED, data(Sent { sent: true })))
}

/// `POST /auth/google/mock/token` (MOCK mode only): the mock Google token endpoint. It
/// redeems a mailed code for an ID token, so a client built around the `credential` flow
/// works offline too.
#[utoipa::path(post, operation_id = "exchangeMockGoogleCode", path = "/auth/google/mock/token", tag = "mock", request_body = MockTokenRequest,
    responses((status = 401, description = "The code is unknown, already used or expired"), (status = 200, body = Data<MockTokenResponse>)))]
pub async fn mock_token(
    State(ctx): State<Ctx>,
    Json(req): Json<MockTokenRequest>,
) -> Result<Json<Data<MockTokenResponse>>, ApiError> {
    Ok(data(ctx.mock_google_token(req).await?))
}
