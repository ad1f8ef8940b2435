//! Crenoir X MAP's roles and its rate-limit table (docs/crenoir.md).

use platform::{
    ApiError,
    identity::auth::AuthUser,
    ratelimit::{KeyKind, Rule},
    roles::RoleTable,
};

use crate::Ctx;

pub const MEMBER: &str = "member";
pub const ADMIN: &str = "admin";

/// Least to most privileged. Workspace resources join as their endpoints arrive.
pub const ROLES: RoleTable = RoleTable(&[
    ("member", &[("profile", &["read"])]),
    ("manager", &[("profile", &["read"])]),
    (
        "admin",
        &[("profile", &["read"]), ("admin", &["read", "update"])],
    ),
]);

/// Sign-in attempts (Google, SAML, mock provider) per client address.
pub const SIGN_IN_IP: Rule = Rule::new("sign_in_ip", 30, 60, KeyKind::Ip);
/// Mock-provider mails per address, so the outbox cannot be flooded for one person.
pub const MOCK_MAIL_ACCOUNT: Rule = Rule::new("mock_mail_account", 5, 900, KeyKind::Email);
pub const REFRESH_IP: Rule = Rule::new("refresh_ip", 60, 60, KeyKind::Ip);

impl Ctx {
    /// `permission_denied` unless the caller's role grants `action` on `resource`.
    pub fn require(&self, user: &AuthUser, resource: &str, action: &str) -> Result<(), ApiError> {
        ROLES.require(&user.user.role, resource, action)
    }
}
