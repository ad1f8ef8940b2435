//! User management for admins (seed 001 DataService): `Users` lists, creates, changes and
//! deletes accounts through the platform's identity, with War Room's rules: an admin neither
//! demotes nor deletes themself, and a changed role ends that user's sessions.

use platform::{
    ApiError,
    error::ApiResult,
    identity::{NewUser, User, UserUpdate},
    validate::{Page, PageQuery},
};
use uuid::Uuid;

use crate::{
    Ctx,
    service::{
        access::{ADMIN, USERS_CREATE, USERS_DELETE, USERS_READ, USERS_UPDATE},
        actor::Actor,
    },
};

/// The deployment's accounts.
#[derive(Clone)]
pub struct Users {
    ctx: Ctx,
}

impl Ctx {
    pub fn users(&self) -> Users {
        Users { ctx: self.clone() }
    }
}

impl Users {
    /// One page of users, oldest first.
    pub async fn list(&self, actor: &Actor, page: PageQuery) -> ApiResult<Page<User>> {
        actor.require(USERS_READ)?;
        let paging = page.paging()?;
        Ok(self.ctx.identity.users(&Default::default(), paging).await?)
    }

    /// A new account with a role (the platform checks the address, password and name).
    pub async fn create(&self, actor: &Actor, new: NewUser) -> ApiResult<User> {
        actor.require(USERS_CREATE)?;
        self.ctx.identity.create_user(new).await
    }

    /// One account; 404 "user not found".
    pub async fn get(&self, actor: &Actor, id: Uuid) -> ApiResult<User> {
        actor.require(USERS_READ)?;
        self.find(id).await
    }

    async fn find(&self, id: Uuid) -> ApiResult<User> {
        self.ctx
            .identity
            .user(id)
            .await?
            .ok_or_else(|| ApiError::not_found("user not found"))
    }

    /// Name, email, role. Changing someone's role ends their sessions.
    pub async fn update(&self, actor: &Actor, id: Uuid, update: UserUpdate) -> ApiResult<User> {
        actor.require(USERS_UPDATE)?;
        let target = self.find(id).await?;
        if id == actor.id && update.role.as_deref().is_some_and(|r| r != ADMIN) {
            return Err(ApiError::forbidden("admins cannot demote themselves"));
        }
        let role_changed = update.role.as_deref().is_some_and(|r| r != target.role);
        let updated = self.ctx.identity.update_user(target, update).await?;
        if role_changed {
            self.ctx
                .identity
                .revoke_all_sessions(id, None, "role_changed")
                .await?;
        }
        Ok(updated)
    }

    /// Removes the user and everything tied to them.
    pub async fn delete(&self, actor: &Actor, id: Uuid) -> ApiResult<()> {
        actor.require(USERS_DELETE)?;
        if id == actor.id {
            return Err(ApiError::forbidden("admins cannot delete themselves"));
        }
        self.ctx.identity.delete_user(id).await
    }
}
