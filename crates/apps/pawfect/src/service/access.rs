//! PawfectMatch's roles and its rate-limit table (docs/pawfect.md).

use platform::{
    ApiError,
    identity::auth::AuthUser,
    ratelimit::{KeyKind, Rule},
    roles::RoleTable,
};

use crate::Ctx;

pub const USER: &str = "user";
pub const ADMIN: &str = "admin";

/// Least to most privileged. Domain resources join as their endpoints arrive.
pub const ROLES: RoleTable = RoleTable(&[
    ("user", &[("profile", &["read", "update"])]),
    (
        "moderator",
        &[
            ("profile", &["read", "update"]),
            ("moderation", &["read", "update"]),
        ],
    ),
    (
        "admin",
        &[
            ("profile", &["read", "update"]),
            ("moderation", &["read", "update"]),
            ("admin", &["read", "update"]),
        ],
    ),
]);

pub const LOGIN_IP: Rule = Rule::new("login_ip", 20, 60, KeyKind::Ip);
pub const LOGIN_ACCOUNT: Rule = Rule::new("login_account", 10, 900, KeyKind::Email);
pub const REGISTER_IP: Rule = Rule::new("register_ip", 10, 3600, KeyKind::Ip);
pub const FORGOT_IP: Rule = Rule::new("forgot_ip", 10, 3600, KeyKind::Ip);
pub const FORGOT_ACCOUNT: Rule = Rule::new("forgot_account", 5, 3600, KeyKind::Email);
pub const TOKEN_IP: Rule = Rule::new("token_ip", 30, 3600, KeyKind::Ip);

impl Ctx {
    /// `permission_denied` unless the caller's role grants `action` on `resource`.
    pub fn require(&self, user: &AuthUser, resource: &str, action: &str) -> Result<(), ApiError> {
        ROLES.require(&user.user.role, resource, action)
    }
}
