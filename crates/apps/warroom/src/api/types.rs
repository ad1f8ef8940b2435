//! Wire types shared by War Room's identity endpoints (seed 001's `UserProfile`,
//! `LoginResponse`, `Permission`), camelCase as the seed writes them.

use chrono::{DateTime, Utc};
use platform::{
    identity::{IssuedTokens, User},
    roles::Permission,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::service::access::ROLES;

#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Manager,
    Analyst,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Manager => "manager",
            Self::Analyst => "analyst",
            Self::Viewer => "viewer",
        }
    }
}

// Seed 001 `UserProfile`, plus account-state flags.
/// A user, with the account-state flags a settings screen needs.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserProfile {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    #[schema(value_type = Role)]
    pub role: String,
    pub permissions: Vec<Permission>,
    pub email_verified: bool,
    pub two_factor_enabled: bool,
    pub phone: Option<String>,
    pub timezone: Option<String>,
    pub avatar_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

impl From<&User> for UserProfile {
    fn from(u: &User) -> Self {
        let text = |k: &str| u.profile.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        Self {
            id: u.id,
            email: u.email.clone(),
            name: u.name.clone(),
            role: u.role.clone(),
            permissions: ROLES.permissions(&u.role),
            email_verified: u.email_verified,
            two_factor_enabled: u.totp_enabled,
            phone: text("phone"),
            timezone: text("timezone"),
            avatar_url: text("avatarUrl"),
            created_at: u.created_at,
            last_login_at: u.last_login_at,
        }
    }
}

// Seed 001 `LoginResponse`.
/// A new session: the tokens and the signed-in user.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginResponse {
    pub access_token: String,
    pub refresh_token: String,
    pub user: UserProfile,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

impl LoginResponse {
    pub fn new(user: &User, tokens: IssuedTokens) -> Self {
        Self {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token.unwrap_or_default(),
            user: user.into(),
            expires_in: tokens.expires_in,
        }
    }
}

/// `{ "success": true }`.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
pub struct Success {
    pub success: bool,
}

pub const OK: Success = Success { success: true };
