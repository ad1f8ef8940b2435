//! Crenoir X MAP's wire types: every success is `{ "data": T, "meta"?: { total, page, limit } }`
//! (seed 002 "Response Format"), camelCase inside.

use chrono::{DateTime, Utc};
use platform::{extract::Json, identity::User};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// The success envelope.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Data<T> {
    pub data: T,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

/// Pagination of a list.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
pub struct Meta {
    pub total: u64,
    pub page: u64,
    pub limit: u64,
}

/// `{ "data": value }`.
pub fn data<T>(value: T) -> Json<Data<T>> {
    Json(Data {
        data: value,
        meta: None,
    })
}

/// `{ "data": items, "meta": { total, page, limit } }`.
pub fn page<T>(items: T, meta: Meta) -> Json<Data<T>> {
    Json(Data {
        data: items,
        meta: Some(meta),
    })
}

#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Member,
    Manager,
    Admin,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    #[schema(value_type = Role)]
    pub role: String,
    pub email_verified: bool,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id,
            email: u.email.clone(),
            name: u.name.clone(),
            role: u.role.clone(),
            email_verified: u.email_verified,
            created_at: u.created_at,
            last_login_at: u.last_login_at,
        }
    }
}

/// A signed-in session. The tokens themselves are only in httpOnly cookies.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub user: UserView,
    /// Seconds until the access cookie expires; refresh before then (`POST /auth/refresh`).
    pub expires_in: i64,
    /// The value of the `csrf_token` cookie: send it as `X-CSRF-Token` on every
    /// state-changing request.
    pub csrf_token: String,
}

#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
pub struct Sent {
    pub sent: bool,
}
