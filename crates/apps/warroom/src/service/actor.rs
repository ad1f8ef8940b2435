//! The `Actor`: the authenticated caller a service acts for, with what services need to decide
//! and record: who, on whose behalf (an admin impersonating them), and their role.

use platform::{ApiError, error::ApiResult, identity::auth::AuthUser, roles::Perm};
use uuid::Uuid;

use super::access::ROLES;

/// Who is asking. Services check an actor's permission before they look at its input
/// ([`Actor::admit`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub id: Uuid,
    /// The admin behind an impersonation token.
    pub impersonator: Option<Uuid>,
    /// One of `service::access`'s roles.
    pub role: String,
}

impl Actor {
    /// `Ok` when the actor's role holds `perm`, else `permission_denied`.
    pub fn require(&self, perm: Perm) -> ApiResult<()> {
        ROLES.require(&self.role, perm)
    }

    /// `input`, checked, once the actor's role holds `perm`: the permission first, so a
    /// caller who may not act learns nothing about what is wrong with their request. Every
    /// service operation on a caller's input starts here.
    pub fn admit<T>(&self, perm: Perm, input: impl TryInto<T, Error = ApiError>) -> ApiResult<T> {
        self.require(perm)?;
        input.try_into()
    }

    /// The actor's id as a rate-limit key.
    pub fn key(&self) -> String {
        self.id.to_string()
    }
}

impl From<&AuthUser> for Actor {
    fn from(u: &AuthUser) -> Self {
        Self {
            id: u.id(),
            impersonator: u.impersonator,
            role: u.user.role.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::access::{ALERTS_SEND, CAMPAIGNS_READ, VIEWER};

    #[test]
    fn an_actor_holds_what_its_role_grants_and_nothing_else() {
        let viewer = Actor {
            id: Uuid::now_v7(),
            impersonator: None,
            role: VIEWER.into(),
        };
        assert!(viewer.require(CAMPAIGNS_READ).is_ok());
        let refused = viewer.require(ALERTS_SEND).unwrap_err();
        assert_eq!(refused.code, platform::error::ErrorCode::PermissionDenied);
    }
}
