//! The `Member`: the signed-in caller an organization-scoped service acts for: who, their
//! role, and the organization whose data they see (and nothing else).

use platform::{ApiError, error::ApiResult, identity::auth::AuthUser, roles::Perm};
use uuid::Uuid;

use super::access::ROLES;
use crate::{Ctx, db::organizations};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub id: Uuid,
    pub role: String,
    pub organization_id: Uuid,
}

impl Member {
    /// The caller with their organization. Every LeadGen account has one (made with it), so
    /// a user without one is an internal error, not a refusal.
    pub async fn of(ctx: &Ctx, user: &AuthUser) -> ApiResult<Self> {
        let organization_id = organizations::id_of_user(&ctx.db, user.id())
            .await?
            .ok_or_else(|| ApiError::internal(format!("user {} has no organization", user.id())))?;
        Ok(Self {
            id: user.id(),
            role: user.user.role.clone(),
            organization_id,
        })
    }

    /// `Ok` when the member's role holds `perm`, else `permission_denied`.
    pub fn require(&self, perm: Perm) -> ApiResult<()> {
        ROLES.require(&self.role, perm)
    }

    /// `input`, checked, once the role holds `perm`: the permission first, so a caller who
    /// may not act learns nothing about what is wrong with their request.
    pub fn admit<T>(&self, perm: Perm, input: impl TryInto<T, Error = ApiError>) -> ApiResult<T> {
        self.require(perm)?;
        input.try_into()
    }
}
