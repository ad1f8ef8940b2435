//! `/api/v1/users`: user management for admins (seed 001, DataService).

use axum::{extract::State, http::StatusCode};
use platform::{
    ApiError,
    extract::{Json, Path, Query},
    identity::{NewUser, UserUpdate, auth::AuthUser},
    validate::{PageQuery, Paging},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::types::{OK, Role, Success, UserProfile};
use crate::service::access::{USERS_CREATE, USERS_DELETE, USERS_READ, USERS_UPDATE};
use crate::{Ctx, service::access};

#[derive(Serialize, ToSchema)]
pub struct UserList {
    pub users: Vec<UserProfile>,
    pub total: u64,
    pub page: u64,
    pub limit: u64,
}

#[derive(Serialize, ToSchema)]
pub struct UserEnvelope {
    pub user: UserProfile,
}

/// `GET /api/v1/users`: every user, oldest first.
#[utoipa::path(get, path = "/users", tag = "users", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = UserList)))]
pub async fn list(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Query(q): Query<PageQuery>,
) -> Result<Json<UserList>, ApiError> {
    ctx.require(&user, USERS_READ)?;
    let Paging { page, limit } = q.paging()?;
    let platform::validate::Page {
        items: users,
        total,
        ..
    } = ctx
        .identity
        .users(&Default::default(), Paging { page, limit })
        .await?;
    Ok(Json(UserList {
        users: users.iter().map(Into::into).collect(),
        total,
        page,
        limit,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    #[schema(format = "email")]
    pub email: String,
    #[schema(min_length = 8, max_length = 1024)]
    pub password: String,
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Defaults to `viewer`.
    pub role: Option<Role>,
}

/// `POST /api/v1/users`: creates a user with a role (admins only).
#[utoipa::path(post, path = "/users", tag = "users", security(("bearer" = [])), request_body = CreateUserRequest,
    responses((status = 201, body = UserEnvelope)))]
pub async fn create(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Json(req): Json<CreateUserRequest>,
) -> Result<(StatusCode, Json<UserEnvelope>), ApiError> {
    ctx.require(&user, USERS_CREATE)?;
    let new = NewUser {
        email: req.email,
        password: Some(req.password),
        name: req.name,
        role: req.role.map_or(access::VIEWER, Role::as_str).to_owned(),
        email_verified: false,
    };
    let created = ctx.identity.create_user(new).await?;
    Ok((
        StatusCode::CREATED,
        Json(UserEnvelope {
            user: (&created).into(),
        }),
    ))
}

async fn find(ctx: &Ctx, id: Uuid) -> Result<platform::identity::User, ApiError> {
    ctx.identity
        .user(id)
        .await?
        .ok_or_else(|| ApiError::not_found("user not found"))
}

/// `GET /api/v1/users/{id}`.
#[utoipa::path(get, path = "/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "User id")), responses((status = 200, body = UserEnvelope)))]
pub async fn get(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<Json<UserEnvelope>, ApiError> {
    ctx.require(&user, USERS_READ)?;
    Ok(Json(UserEnvelope {
        user: (&find(&ctx, id).await?).into(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[schema(format = "email")]
    pub email: Option<String>,
    pub role: Option<Role>,
}

/// `PUT /api/v1/users/{id}`: name, email, role. Changing someone's role ends their sessions.
#[utoipa::path(put, path = "/users/{id}", tag = "users", security(("bearer" = [])), request_body = UpdateUserRequest,
    params(("id" = Uuid, Path, description = "User id")), responses((status = 200, body = UserEnvelope)))]
pub async fn update(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Path(id): Path<Uuid>,
    Json(req): Json<UpdateUserRequest>,
) -> Result<Json<UserEnvelope>, ApiError> {
    ctx.require(&user, USERS_UPDATE)?;
    let target = find(&ctx, id).await?;
    let new_role = req.role.map(Role::as_str);
    if id == user.id() && new_role.is_some_and(|r| r != access::ADMIN) {
        return Err(ApiError::forbidden("admins cannot demote themselves"));
    }
    let role_changed = new_role.is_some_and(|r| r != target.role);
    let update = UserUpdate {
        name: req.name,
        email: req.email,
        role: new_role.map(str::to_owned),
        profile: None,
    };
    let updated = ctx.identity.update_user(target, update).await?;
    if role_changed {
        ctx.identity
            .revoke_all_sessions(id, None, "role_changed")
            .await?;
    }
    Ok(Json(UserEnvelope {
        user: (&updated).into(),
    }))
}

/// `DELETE /api/v1/users/{id}`: removes the user and everything tied to them.
#[utoipa::path(delete, path = "/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "User id")), responses((status = 200, body = Success)))]
pub async fn delete(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<Json<Success>, ApiError> {
    ctx.require(&user, USERS_DELETE)?;
    if id == user.id() {
        return Err(ApiError::forbidden("admins cannot delete themselves"));
    }
    ctx.identity.delete_user(id).await?;
    Ok(Json(OK))
}
