//! `/api/v1/users`: user management for admins (seed 001, DataService).

use axum::{extract::State, http::StatusCode};
use platform::{
    ApiError,
    extract::{Json, Path, Query},
    identity::{NewUser, UserUpdate},
    validate::{Listed, Page, PageQuery},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::types::{OK, Role, Success, UserProfile};
use crate::{
    Ctx,
    service::{access, actor::Actor},
};

impl Listed for UserProfile {
    const KEY: &'static str = "users";
}

#[derive(Serialize, ToSchema)]
pub struct UserEnvelope {
    pub user: UserProfile,
}

impl From<&platform::identity::User> for UserEnvelope {
    fn from(user: &platform::identity::User) -> Self {
        Self { user: user.into() }
    }
}

/// `GET /api/v1/users`: every user, oldest first (`{ users, total, page, limit }`).
#[utoipa::path(get, operation_id = "listUsers", path = "/users", tag = "users", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Page<UserProfile>)))]
pub async fn list(
    State(ctx): State<Ctx>,
    actor: Actor,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<UserProfile>>, ApiError> {
    let users = ctx.users().list(&actor, q).await?;
    Ok(Json(users.map(|u| UserProfile::from(&u))))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "jordan.lee@example.com", "password": "a-long-passphrase", "name": "Jordan Lee", "role": "analyst"}))]
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

impl From<CreateUserRequest> for NewUser {
    fn from(req: CreateUserRequest) -> Self {
        Self {
            email: req.email,
            password: Some(req.password),
            name: req.name,
            role: req.role.map_or(access::VIEWER, Role::as_str).to_owned(),
            email_verified: false,
        }
    }
}

/// `POST /api/v1/users`: creates a user with a role (admins only).
#[utoipa::path(post, operation_id = "createUser", path = "/users", tag = "users", security(("bearer" = [])), request_body = CreateUserRequest,
    responses((status = 409, description = "A user with this email exists"), (status = 201, body = UserEnvelope)))]
pub async fn create(
    State(ctx): State<Ctx>,
    actor: Actor,
    Json(req): Json<CreateUserRequest>,
) -> Result<(StatusCode, Json<UserEnvelope>), ApiError> {
    let created = ctx.users().create(&actor, req.into()).await?;
    Ok((StatusCode::CREATED, Json((&created).into())))
}

/// `GET /api/v1/users/{id}`.
#[utoipa::path(get, operation_id = "getUser", path = "/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "User id")), responses((status = 200, body = UserEnvelope)))]
pub async fn get(
    State(ctx): State<Ctx>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> Result<Json<UserEnvelope>, ApiError> {
    Ok(Json((&ctx.users().get(&actor, id).await?).into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Jordan Lee", "role": "manager"}))]
pub struct UpdateUserRequest {
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[schema(format = "email")]
    pub email: Option<String>,
    pub role: Option<Role>,
}

impl From<UpdateUserRequest> for UserUpdate {
    fn from(req: UpdateUserRequest) -> Self {
        Self {
            name: req.name,
            email: req.email,
            role: req.role.map(|r| r.as_str().to_owned()),
            profile: None,
        }
    }
}

/// `PUT /api/v1/users/{id}`: changes a user's name, email or role. Changing someone's role ends their sessions.
#[utoipa::path(put, operation_id = "updateUser", path = "/users/{id}", tag = "users", security(("bearer" = [])), request_body = UpdateUserRequest,
    params(("id" = Uuid, Path, description = "User id")), responses((status = 409, description = "A user with this email exists"), (status = 200, body = UserEnvelope)))]
pub async fn update(
    State(ctx): State<Ctx>,
    actor: Actor,
    Path(id): Path<Uuid>,
    Json(req): Json<UpdateUserRequest>,
) -> Result<Json<UserEnvelope>, ApiError> {
    let updated = ctx.users().update(&actor, id, req.into()).await?;
    Ok(Json((&updated).into()))
}

/// `DELETE /api/v1/users/{id}`: removes the user and everything tied to them.
#[utoipa::path(delete, operation_id = "deleteUser", path = "/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "User id")), responses((status = 200, body = Success)))]
pub async fn delete(
    State(ctx): State<Ctx>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> Result<Json<Success>, ApiError> {
    ctx.users().delete(&actor, id).await?;
    Ok(Json(OK))
}
