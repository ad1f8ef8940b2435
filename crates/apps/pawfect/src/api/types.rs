//! PawfectMatch's identity wire types, camelCase.

use chrono::{DateTime, Utc};
use platform::identity::User;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Which client a mount serves; it decides how the refresh token travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Client {
    /// `/api/v1`: refresh token in an httpOnly cookie, CSRF tokens bound to the session.
    Web,
    /// `/api`: refresh token in JSON bodies.
    Mobile,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Moderator,
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

/// Login and registration answer. `refreshToken` appears on the mobile mount only,
/// `csrfToken` on the web mount only.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthResponse {
    pub access_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Web: send it in `X-CSRF-Token` with cookie-authenticated requests (refresh, logout);
    /// the same value as the `csrf_token` cookie, for a page on another host than the API.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
    pub expires_in: i64,
    pub user: UserView,
}

/// Refresh answer. `refreshToken` appears on the mobile mount only, `csrfToken` (a fresh one)
/// on the web mount only.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshResponse {
    pub access_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
    pub expires_in: i64,
}

#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
pub struct Success {
    pub success: bool,
}

pub const OK: Success = Success { success: true };
