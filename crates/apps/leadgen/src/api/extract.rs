//! LeadGen's own extractors: the calling [`Member`] (from the bearer token, with their
//! organization), and [`Id`], an id in a path, which is a UUID or not a route at all.

use axum::{
    extract::{FromRequestParts, RawPathParams},
    http::request::Parts,
};
use platform::{ApiError, identity::auth::AuthUser};
use uuid::Uuid;

use crate::{Ctx, service::member::Member};

impl FromRequestParts<Ctx> for Member {
    type Rejection = ApiError;

    /// The signed-in caller and their organization; 401 without a valid token.
    async fn from_request_parts(parts: &mut Parts, ctx: &Ctx) -> Result<Self, ApiError> {
        let user = AuthUser::from_request_parts(parts, ctx).await?;
        Member::of(ctx, &user).await
    }
}

/// The route's one id segment. Ids are UUIDs, so a segment that is not one names no resource:
/// 404 "no such route", as for any unknown path. A segment holding NUL is refused as any
/// input with NUL is. Put it first among a handler's extractors, so an unknown route is 404
/// whoever asks.
#[derive(Clone, Copy, Debug)]
pub struct Id(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        platform::extract::refuse_nul_in_path(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::internal(format!("path parameters: {e}")))?;
        let mut values = params.iter().map(|(_, v)| v);
        match (values.next(), values.next()) {
            (Some(raw), None) => Uuid::parse_str(raw)
                .map(Self)
                .map_err(|_| ApiError::not_found("no such route")),
            _ => Err(ApiError::internal("Id wants a route with one parameter")),
        }
    }
}
