//! War Room's role → permission table (docs/warroom.md, "Roles and permissions") and its
//! rate-limit table (docs/warroom.md, "Rate limits").

use platform::{
    ApiError,
    identity::auth::AuthUser,
    ratelimit::{KeyKind, Rule},
    roles::RoleTable,
};

use crate::Ctx;

pub const ADMIN: &str = "admin";
pub const VIEWER: &str = "viewer";

/// Least to most privileged.
pub const ROLES: RoleTable = RoleTable(&[
    (
        "viewer",
        &[
            ("campaigns", &["read"]),
            ("monitoring", &["read"]),
            ("alerts", &["read"]),
            ("reports", &["read"]),
            ("documents", &["read"]),
            ("intelligence", &["read"]),
        ],
    ),
    (
        "analyst",
        &[
            ("campaigns", &["read"]),
            ("monitoring", &["read"]),
            ("alerts", &["read", "update"]),
            ("reports", &["read", "create"]),
            ("documents", &["read", "create"]),
            ("intelligence", &["read", "create"]),
            ("integrations", &["read"]),
        ],
    ),
    (
        "manager",
        &[
            ("campaigns", &["read", "create", "update", "delete"]),
            ("monitoring", &["read", "update"]),
            ("alerts", &["read", "update", "send"]),
            ("reports", &["read", "create"]),
            ("documents", &["read", "create", "delete"]),
            ("intelligence", &["read", "create"]),
            ("integrations", &["read", "update"]),
        ],
    ),
    (
        "admin",
        &[
            ("users", &["read", "create", "update", "delete"]),
            ("campaigns", &["read", "create", "update", "delete"]),
            ("monitoring", &["read", "update"]),
            ("alerts", &["read", "update", "send"]),
            ("reports", &["read", "create"]),
            ("documents", &["read", "create", "delete"]),
            ("intelligence", &["read", "create"]),
            ("integrations", &["read", "update"]),
            ("admin", &["read", "update"]),
        ],
    ),
]);

pub const LOGIN_IP: Rule = Rule::new("login_ip", 30, 60, KeyKind::Ip);
pub const LOGIN_ACCOUNT: Rule = Rule::new("login_account", 10, 900, KeyKind::Email);
pub const REGISTER_IP: Rule = Rule::new("register_ip", 10, 3600, KeyKind::Ip);
pub const RESET_IP: Rule = Rule::new("reset_ip", 10, 3600, KeyKind::Ip);
pub const RESET_ACCOUNT: Rule = Rule::new("reset_account", 5, 3600, KeyKind::Email);
pub const VERIFY_IP: Rule = Rule::new("verify_ip", 30, 3600, KeyKind::Ip);
pub const TWO_FACTOR_USER: Rule = Rule::new("two_factor_user", 10, 900, KeyKind::User);
pub const CHANGE_PASSWORD_USER: Rule = Rule::new("change_password_user", 10, 900, KeyKind::User);
pub const OAUTH_IP: Rule = Rule::new("oauth_ip", 30, 3600, KeyKind::Ip);
pub const MOCK_SIGN_IN_ACCOUNT: Rule = Rule::new("mock_sign_in_account", 5, 3600, KeyKind::Email);
/// `/notifications/sms`, `/notifications/whatsapp` and `/integrations/sms` together.
pub const SEND_MESSAGE_USER: Rule = Rule::new("send_message_user", 20, 3600, KeyKind::User);
/// `/alerting/send` and `/alerting/crisis` together.
pub const SEND_ALERT_USER: Rule = Rule::new("send_alert_user", 30, 3600, KeyKind::User);

impl Ctx {
    /// `permission_denied` unless the caller's role grants `action` on `resource`.
    pub fn require(&self, user: &AuthUser, resource: &str, action: &str) -> Result<(), ApiError> {
        ROLES.require(&user.user.role, resource, action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_holds_at_least_what_the_one_below_holds() {
        let roles: Vec<&str> = ROLES.roles().collect();
        for pair in roles.windows(2) {
            for p in ROLES.permissions(pair[0]) {
                for a in &p.actions {
                    assert!(
                        ROLES.allows(pair[1], &p.resource, a),
                        "{} lacks {}:{a}",
                        pair[1],
                        p.resource
                    );
                }
            }
        }
    }

    #[test]
    fn only_admins_manage_users() {
        for role in ["viewer", "analyst", "manager"] {
            assert!(!ROLES.allows(role, "users", "create"));
        }
        assert!(ROLES.allows(ADMIN, "users", "delete"));
    }
}
