//! War Room's own extractors: the calling [`Actor`] (from the bearer token), and [`Id`], an id
//! in a path, which is a UUID or not a route at all.

use axum::{
    extract::{FromRequestParts, RawPathParams},
    http::request::Parts,
};
use platform::{ApiError, identity::auth::AuthUser};
use uuid::Uuid;

use crate::{Ctx, service::actor::Actor};

impl FromRequestParts<Ctx> for Actor {
    type Rejection = ApiError;

    /// The signed-in caller; 401 without a valid token.
    async fn from_request_parts(parts: &mut Parts, ctx: &Ctx) -> Result<Self, ApiError> {
        let user = AuthUser::from_request_parts(parts, ctx).await?;
        Ok(Actor::from(&user))
    }
}

/// The route's id segment as `T`. Ids are UUIDs, so a segment that is not one names no
/// resource and the route does not exist: 404 "no such route", the answer the platform gives
/// any unknown path. A fixed word beside an `{id}` (`/campaigns/recommendations`) is thus never
/// read as an unknown id. A segment holding NUL is refused like any input with NUL (the
/// platform's one input rule): a validation error naming the parameter. Put it first among a handler's extractors, so an unknown route is
/// 404 whoever asks, as it is everywhere else.
#[derive(Clone, Copy, Debug)]
pub struct Id<T>(pub T);

impl<S: Send + Sync, T: From<Uuid>> FromRequestParts<S> for Id<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        platform::extract::refuse_nul_in_path(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::internal(format!("path parameters: {e}")))?;
        let mut values = params.iter().map(|(_, v)| v);
        match (values.next(), values.next()) {
            (Some(raw), None) => Uuid::parse_str(raw)
                .map(|id| Self(T::from(id)))
                .map_err(|_| no_such_route()),
            _ => Err(ApiError::internal("Id<T> wants a route with one parameter")),
        }
    }
}

/// The platform's answer to a path no route matches.
fn no_such_route() -> ApiError {
    ApiError::not_found("no such route")
}
