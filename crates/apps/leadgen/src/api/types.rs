//! LeadGen's identity wire types, camelCase.

use chrono::{DateTime, Utc};
use platform::identity::User;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::organizations::Organization;

#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: String,
    pub email_verified: bool,
    pub created_at: DateTime<Utc>,
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
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationView {
    pub id: Uuid,
    pub name: String,
    pub owner_id: Uuid,
    pub created_at: DateTime<Utc>,
}

impl From<&Organization> for OrganizationView {
    fn from(o: &Organization) -> Self {
        Self {
            id: o.id,
            name: o.name.clone(),
            owner_id: o.owner_id,
            created_at: o.created_at,
        }
    }
}

#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
pub struct Success {
    pub success: bool,
}

pub const OK: Success = Success { success: true };
