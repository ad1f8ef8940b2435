//! War Room's own extractor, the calling [`Actor`] (from the bearer token), and the platform's
//! [`Id`], an id in a path, which is a UUID or not a route at all.

use axum::{extract::FromRequestParts, http::request::Parts};
pub use platform::extract::Id;
use platform::{ApiError, identity::auth::AuthUser};

use crate::{Ctx, service::actor::Actor};

impl FromRequestParts<Ctx> for Actor {
    type Rejection = ApiError;

    /// The signed-in caller; 401 without a valid token.
    async fn from_request_parts(parts: &mut Parts, ctx: &Ctx) -> Result<Self, ApiError> {
        let user = AuthUser::from_request_parts(parts, ctx).await?;
        Ok(Actor::from(&user))
    }
}
