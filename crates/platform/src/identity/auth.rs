//! `AuthUser`: the authenticated caller, extracted from a Bearer token (or, for products
//! that keep tokens in cookies, a cookie), checked against its live session on every request.

use axum::{
    extract::{FromRequestParts, OptionalFromRequestParts, OriginalUri},
    http::{header, request::Parts},
};
use serde_json::json;
use uuid::Uuid;

use super::{Identity, User};
use crate::{error::ApiError, extract::ClientInfo};

/// Product state that carries an identity service.
pub trait HasIdentity {
    fn identity(&self) -> &Identity;
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

fn bearer(parts: &Parts) -> Option<&str> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

impl<S: HasIdentity + Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token =
            bearer(parts).ok_or_else(|| ApiError::unauthenticated("missing bearer token"))?;
        let identity = state.identity();
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

/// `Option<AuthUser>`: `None` without an `Authorization` header; a present but bad token is
/// still an error (a client that sent credentials should learn they failed).
impl<S: HasIdentity + Send + Sync> OptionalFromRequestParts<S> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            return Ok(None);
        }
        <Self as FromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map(Some)
    }
}
