//! `AuthUser`: the authenticated caller, extracted from a Bearer token (or, for products
//! that keep tokens in cookies, the access cookie), checked against its live session on every
//! request. A cookie-authenticated state-changing request must carry a CSRF token made for its
//! session (`cookies`).

use axum::{
    extract::{FromRequestParts, OptionalFromRequestParts, OriginalUri},
    http::{header, request::Parts},
};
use axum_extra::extract::CookieJar;
use serde_json::json;
use uuid::Uuid;

use super::{Identity, User};
use crate::{cookies::CookiePolicy, error::ApiError, extract::ClientInfo};

/// Product state that carries an identity service.
pub trait HasIdentity {
    fn identity(&self) -> &Identity;

    /// The product's session cookies when its access token travels in one.
    fn session_cookies(&self) -> Option<&CookiePolicy> {
        None
    }
}

/// The caller of an authenticated endpoint.
#[derive(Clone, Debug)]
pub struct AuthUser {
    pub user: User,
    pub session_id: Uuid,
    /// The admin behind an impersonation token.
    pub impersonator: Option<Uuid>,
    pub client: ClientInfo,
}

impl AuthUser {
    pub fn id(&self) -> Uuid {
        self.user.id
    }
}

/// The access token of the request: the Bearer header, else the access cookie, which for a
/// state-changing method must come with a CSRF token made for the token's session.
/// `Ok(None)`: no credentials at all.
fn presented_token<S: HasIdentity>(parts: &Parts, state: &S) -> Result<Option<String>, ApiError> {
    if parts.headers.contains_key(header::AUTHORIZATION) {
        return bearer(parts)
            .map(|t| Some(t.to_owned()))
            .ok_or_else(|| ApiError::unauthenticated("malformed Authorization header"));
    }
    let Some(policy) = state.session_cookies() else {
        return Ok(None);
    };
    let jar = CookieJar::from_headers(&parts.headers);
    let Some(token) = policy.access_token(&jar) else {
        return Ok(None);
    };
    if !parts.method.is_safe() {
        // The signature and expiry are checked here to learn the session; `from_token` then
        // checks that the session still lives.
        let claims = state
            .identity()
            .access_claims(token)
            .ok_or_else(|| ApiError::unauthenticated("invalid or expired access token"))?;
        policy.check_csrf(&parts.headers, claims.sid)?;
    }
    Ok(Some(token.to_owned()))
}

fn bearer(parts: &Parts) -> Option<&str> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

impl AuthUser {
    /// Checks `token` against its live session and builds the caller; what the extractors
    /// share once they have found the token.
    pub async fn from_token(
        identity: &Identity,
        token: &str,
        parts: &Parts,
    ) -> Result<Self, ApiError> {
        let (user, session, claims) = identity.authenticate(token).await?;
        let client = ClientInfo::from_parts(parts);
        identity.touch_session(&session).await?;
        if let Some(admin) = claims.imp {
            // Everything done with an impersonation token is attributed to both people.
            let path = parts
                .extensions
                .get::<OriginalUri>()
                .map_or(parts.uri.path(), |u| u.0.path());
            let details = json!({ "method": parts.method.as_str(), "path": path });
            identity
                .log_event(
                    Some(user.id),
                    Some(admin),
                    "impersonated_request",
                    &client,
                    Some(details),
                )
                .await;
        }
        Ok(Self {
            user,
            session_id: session.id,
            impersonator: claims.imp,
            client,
        })
    }
}

impl<S: HasIdentity + Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = presented_token(parts, state)?.ok_or_else(|| {
            ApiError::unauthenticated(match state.session_cookies() {
                Some(_) => "not signed in",
                None => "missing bearer token",
            })
        })?;
        Self::from_token(state.identity(), &token, parts).await
    }
}

/// The caller of a live-stream endpoint (WebSocket upgrade or SSE). Browsers cannot set an
/// `Authorization` header on `new WebSocket(...)` or `new EventSource(...)`, so besides the
/// header (and the access cookie of cookie products) the access token is accepted:
///
/// * as a WebSocket subprotocol pair, `Sec-WebSocket-Protocol: bearer, <token>`
///   (`new WebSocket(url, ["bearer", token])`); the upgrade then selects `bearer`, as
///   browsers require ([`StreamUser::protocol`]);
/// * as the `access_token` query parameter (`EventSource` has no other way). Request logs
///   record the path only, never the query, so the token does not reach them.
pub struct StreamUser {
    pub user: AuthUser,
    /// The subprotocol the upgrade must answer with, when the token came in one.
    pub protocol: Option<&'static str>,
    /// When the access token expires (the stream ends then: `realtime::Lease`).
    pub token_expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The subprotocol name that introduces an access token in `Sec-WebSocket-Protocol`.
pub const BEARER_PROTOCOL: &str = "bearer";

impl<S: HasIdentity + Send + Sync> FromRequestParts<S> for StreamUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let (token, protocol) = match presented_token(parts, state)? {
            Some(t) => (t, None),
            None => match protocol_token(parts) {
                Some(t) => (t, Some(BEARER_PROTOCOL)),
                None => (
                    query_token(parts).ok_or_else(|| {
                        ApiError::unauthenticated(
                            "missing access token (Authorization header, `bearer` subprotocol \
                             or access_token parameter)",
                        )
                    })?,
                    None,
                ),
            },
        };
        let user = AuthUser::from_token(state.identity(), &token, parts).await?;
        let token_expires_at = state
            .identity()
            .access_claims(&token)
            .and_then(|c| chrono::DateTime::from_timestamp(c.exp, 0));
        Ok(Self {
            user,
            protocol,
            token_expires_at,
        })
    }
}

/// `Sec-WebSocket-Protocol: bearer, <token>`: the value after the `bearer` entry.
fn protocol_token(parts: &Parts) -> Option<String> {
    let offered = parts
        .headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    let at = offered
        .iter()
        .position(|p| p.eq_ignore_ascii_case(BEARER_PROTOCOL))?;
    offered
        .get(at + 1)
        .filter(|t| !t.is_empty())
        .map(|t| (*t).to_owned())
}

/// `?access_token=<token>`.
fn query_token(parts: &Parts) -> Option<String> {
    url::form_urlencoded::parse(parts.uri.query()?.as_bytes())
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v.into_owned())
        .filter(|t| !t.is_empty())
}

/// `Option<AuthUser>`: `None` without credentials (no `Authorization` header, no access
/// cookie); present but bad ones are still an error (a client that sent credentials should
/// learn they failed).
impl<S: HasIdentity + Send + Sync> OptionalFromRequestParts<S> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let cookies = state.session_cookies();
        let has_cookie = cookies.is_some_and(|p| {
            p.access_token(&CookieJar::from_headers(&parts.headers))
                .is_some()
        });
        if !parts.headers.contains_key(header::AUTHORIZATION) && !has_cookie {
            return Ok(None);
        }
        <Self as FromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map(Some)
    }
}
