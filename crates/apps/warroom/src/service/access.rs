//! War Room's role → permission table (docs/warroom.md, "Roles and permissions") and its
//! rate-limit table (docs/warroom.md, "Rate limits").

use platform::{
    ratelimit::{KeyKind, Rule, routes::RouteLimit},
    roles::{Perm, RoleTable},
};

pub use platform::roles::{CONSOLE_READ, CONSOLE_UPDATE};

pub const VIEWER: &str = "viewer";
pub const ANALYST: &str = "analyst";
pub const MANAGER: &str = "manager";
pub const ADMIN: &str = "admin";

pub const CAMPAIGNS_READ: Perm = Perm::new("campaigns", "read");
pub const CAMPAIGNS_CREATE: Perm = Perm::new("campaigns", "create");
pub const CAMPAIGNS_UPDATE: Perm = Perm::new("campaigns", "update");
pub const CAMPAIGNS_DELETE: Perm = Perm::new("campaigns", "delete");
pub const MONITORING_READ: Perm = Perm::new("monitoring", "read");
pub const MONITORING_UPDATE: Perm = Perm::new("monitoring", "update");
pub const ALERTS_READ: Perm = Perm::new("alerts", "read");
pub const ALERTS_UPDATE: Perm = Perm::new("alerts", "update");
pub const ALERTS_SEND: Perm = Perm::new("alerts", "send");
pub const REPORTS_READ: Perm = Perm::new("reports", "read");
pub const REPORTS_CREATE: Perm = Perm::new("reports", "create");
pub const DOCUMENTS_READ: Perm = Perm::new("documents", "read");
pub const DOCUMENTS_CREATE: Perm = Perm::new("documents", "create");
pub const DOCUMENTS_DELETE: Perm = Perm::new("documents", "delete");
pub const INTELLIGENCE_READ: Perm = Perm::new("intelligence", "read");
pub const INTELLIGENCE_CREATE: Perm = Perm::new("intelligence", "create");
pub const INTEGRATIONS_READ: Perm = Perm::new("integrations", "read");
pub const INTEGRATIONS_UPDATE: Perm = Perm::new("integrations", "update");
pub const USERS_READ: Perm = Perm::new("users", "read");
pub const USERS_CREATE: Perm = Perm::new("users", "create");
pub const USERS_UPDATE: Perm = Perm::new("users", "update");
pub const USERS_DELETE: Perm = Perm::new("users", "delete");

/// Least to most privileged.
pub const ROLES: RoleTable = RoleTable(&[
    (
        VIEWER,
        &[
            CAMPAIGNS_READ,
            MONITORING_READ,
            ALERTS_READ,
            REPORTS_READ,
            DOCUMENTS_READ,
            INTELLIGENCE_READ,
        ],
    ),
    (
        ANALYST,
        &[
            CAMPAIGNS_READ,
            MONITORING_READ,
            ALERTS_READ,
            ALERTS_UPDATE,
            REPORTS_READ,
            REPORTS_CREATE,
            DOCUMENTS_READ,
            DOCUMENTS_CREATE,
            INTELLIGENCE_READ,
            INTELLIGENCE_CREATE,
            INTEGRATIONS_READ,
        ],
    ),
    (
        MANAGER,
        &[
            CAMPAIGNS_READ,
            CAMPAIGNS_CREATE,
            CAMPAIGNS_UPDATE,
            CAMPAIGNS_DELETE,
            MONITORING_READ,
            MONITORING_UPDATE,
            ALERTS_READ,
            ALERTS_UPDATE,
            ALERTS_SEND,
            REPORTS_READ,
            REPORTS_CREATE,
            DOCUMENTS_READ,
            DOCUMENTS_CREATE,
            DOCUMENTS_DELETE,
            INTELLIGENCE_READ,
            INTELLIGENCE_CREATE,
            INTEGRATIONS_READ,
            INTEGRATIONS_UPDATE,
        ],
    ),
    (
        ADMIN,
        &[
            USERS_READ,
            USERS_CREATE,
            USERS_UPDATE,
            USERS_DELETE,
            CAMPAIGNS_READ,
            CAMPAIGNS_CREATE,
            CAMPAIGNS_UPDATE,
            CAMPAIGNS_DELETE,
            MONITORING_READ,
            MONITORING_UPDATE,
            ALERTS_READ,
            ALERTS_UPDATE,
            ALERTS_SEND,
            REPORTS_READ,
            REPORTS_CREATE,
            DOCUMENTS_READ,
            DOCUMENTS_CREATE,
            DOCUMENTS_DELETE,
            INTELLIGENCE_READ,
            INTELLIGENCE_CREATE,
            INTEGRATIONS_READ,
            INTEGRATIONS_UPDATE,
            CONSOLE_READ,
            CONSOLE_UPDATE,
        ],
    ),
]);

pub const LOGIN_IP: Rule = Rule::new("login_ip", 30, 60, KeyKind::Ip);
pub const REGISTER_IP: Rule = Rule::new("register_ip", 10, 3600, KeyKind::Ip);
/// Both halves of `/auth/reset-password`.
pub const RESET_IP: Rule = Rule::new("reset_ip", 10, 3600, KeyKind::Ip);
/// Keyed by the body's `email` (a request), else its `token` (a completion).
pub const RESET_ACCOUNT: Rule = Rule::new("reset_account", 5, 3600, KeyKind::Email);
pub const VERIFY_IP: Rule = Rule::new("verify_ip", 30, 3600, KeyKind::Ip);
/// Enabling 2FA (`/auth/2fa/verify`); the second factor at sign-in is the sign-in throttle's.
pub const TWO_FACTOR_USER: Rule = Rule::new("two_factor_user", 10, 900, KeyKind::User);
pub const CHANGE_PASSWORD_USER: Rule = Rule::new("change_password_user", 10, 900, KeyKind::User);
/// Google and Meta code exchanges and the mock provider's authorize step together.
pub const OAUTH_IP: Rule = Rule::new("oauth_ip", 30, 3600, KeyKind::Ip);
pub const MOCK_SIGN_IN_ACCOUNT: Rule = Rule::new("mock_sign_in_account", 5, 3600, KeyKind::Email);
/// `/notifications/sms`, `/notifications/whatsapp` and `/integrations/sms` together.
pub const SEND_MESSAGE_USER: Rule = Rule::new("send_message_user", 20, 3600, KeyKind::User);
/// `/alerting/send` and `/alerting/crisis` together.
pub const SEND_ALERT_USER: Rule = Rule::new("send_alert_user", 30, 3600, KeyKind::User);

/// Every limit (docs/warroom.md "Rate limits"), applied by the platform before the handlers
/// run. Per-account password guessing is the sign-in throttle's, not a row here.
pub const LIMITS: &[RouteLimit] = &[
    RouteLimit::post("/api/v1/auth/login", LOGIN_IP),
    RouteLimit::post("/api/v1/auth/register", REGISTER_IP),
    RouteLimit::post("/api/v1/auth/reset-password", RESET_IP),
    RouteLimit::post("/api/v1/auth/reset-password", RESET_ACCOUNT),
    RouteLimit::post("/api/v1/auth/verify-email", VERIFY_IP),
    RouteLimit::post("/api/v1/auth/2fa/verify", TWO_FACTOR_USER),
    RouteLimit::post("/api/v1/auth/change-password", CHANGE_PASSWORD_USER),
    RouteLimit::post("/api/v1/auth/oauth/google", OAUTH_IP),
    RouteLimit::post("/api/v1/auth/oauth/meta", OAUTH_IP),
    RouteLimit::post("/api/v1/auth/oauth/mock/authorize", OAUTH_IP),
    RouteLimit::post("/api/v1/auth/oauth/mock/authorize", MOCK_SIGN_IN_ACCOUNT),
    RouteLimit::post("/api/v1/notifications/sms", SEND_MESSAGE_USER),
    RouteLimit::post("/api/v1/notifications/whatsapp", SEND_MESSAGE_USER),
    RouteLimit::post("/api/v1/integrations/sms", SEND_MESSAGE_USER),
    RouteLimit::post("/api/v1/alerting/send", SEND_ALERT_USER),
    RouteLimit::post("/api/v1/alerting/crisis", SEND_ALERT_USER),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_table_is_well_formed() {
        assert_eq!(ROLES.check(), Ok(()));
    }

    #[test]
    fn only_admins_manage_users() {
        for role in [VIEWER, ANALYST, MANAGER] {
            assert!(!ROLES.allows(role, USERS_CREATE));
        }
        assert!(ROLES.allows(ADMIN, USERS_DELETE));
    }
}
