//! Crenoir X MAP's roles and its rate-limit table (docs/crenoir.md).

use platform::{
    ratelimit::{KeyKind, Rule, routes::RouteLimit},
    roles::{CONSOLE_READ, CONSOLE_UPDATE, Perm, RoleTable},
};

pub const MEMBER: &str = "member";
pub const MANAGER: &str = "manager";
pub const ADMIN: &str = "admin";

pub const PROFILE_READ: Perm = Perm::new("profile", "read");

/// Least to most privileged. Workspace resources join as their endpoints arrive.
pub const ROLES: RoleTable = RoleTable(&[
    (MEMBER, &[PROFILE_READ]),
    (MANAGER, &[PROFILE_READ]),
    (ADMIN, &[PROFILE_READ, CONSOLE_READ, CONSOLE_UPDATE]),
]);

/// Sign-in attempts (Google, SAML, mock provider) per client address.
pub const SIGN_IN_IP: Rule = Rule::new("sign_in_ip", 30, 60, KeyKind::Ip);
/// Mock-provider mails per address, so the outbox cannot be flooded for one person.
pub const MOCK_MAIL_ACCOUNT: Rule = Rule::new("mock_mail_account", 5, 900, KeyKind::Email);
pub const REFRESH_IP: Rule = Rule::new("refresh_ip", 60, 60, KeyKind::Ip);

/// Every limit, applied by the platform before the handlers run; the sign-in rows share one
/// count per client.
pub const LIMITS: &[RouteLimit] = &[
    RouteLimit::post("/auth/google/login", SIGN_IN_IP),
    RouteLimit::post("/auth/google/mock/authorize", SIGN_IN_IP),
    RouteLimit::post("/auth/google/mock/authorize", MOCK_MAIL_ACCOUNT),
    RouteLimit::post("/auth/google/mock/token", SIGN_IN_IP),
    RouteLimit::get("/auth/saml/login", SIGN_IN_IP),
    RouteLimit::post("/auth/saml/login", SIGN_IN_IP),
    RouteLimit::post("/auth/saml/mock/sso", SIGN_IN_IP),
    RouteLimit::post("/auth/saml/mock/sso", MOCK_MAIL_ACCOUNT),
    RouteLimit::get("/auth/saml/mock/continue", SIGN_IN_IP),
    RouteLimit::post("/auth/refresh", REFRESH_IP),
];

#[cfg(test)]
mod tests {
    #[test]
    fn the_role_table_is_well_formed() {
        assert_eq!(super::ROLES.check(), Ok(()));
    }
}
