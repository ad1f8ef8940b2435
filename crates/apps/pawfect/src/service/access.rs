//! PawfectMatch's roles and its rate-limit table (docs/pawfect.md, "Rate limits").

use platform::{
    ratelimit::{KeyKind, Rule, routes::RouteLimit},
    roles::{CONSOLE_READ, CONSOLE_UPDATE, Perm, RoleTable},
};

pub const USER: &str = "user";
pub const MODERATOR: &str = "moderator";
pub const ADMIN: &str = "admin";

pub const PROFILE_READ: Perm = Perm::new("profile", "read");
pub const PROFILE_UPDATE: Perm = Perm::new("profile", "update");
pub const MODERATION_READ: Perm = Perm::new("moderation", "read");
pub const MODERATION_UPDATE: Perm = Perm::new("moderation", "update");

/// Least to most privileged. Domain resources join as their endpoints arrive.
pub const ROLES: RoleTable = RoleTable(&[
    (USER, &[PROFILE_READ, PROFILE_UPDATE]),
    (
        MODERATOR,
        &[
            PROFILE_READ,
            PROFILE_UPDATE,
            MODERATION_READ,
            MODERATION_UPDATE,
        ],
    ),
    (
        ADMIN,
        &[
            PROFILE_READ,
            PROFILE_UPDATE,
            MODERATION_READ,
            MODERATION_UPDATE,
            CONSOLE_READ,
            CONSOLE_UPDATE,
        ],
    ),
]);

pub const LOGIN_IP: Rule = Rule::new("login_ip", 20, 60, KeyKind::Ip);
pub const REGISTER_IP: Rule = Rule::new("register_ip", 10, 3600, KeyKind::Ip);
pub const FORGOT_IP: Rule = Rule::new("forgot_ip", 10, 3600, KeyKind::Ip);
pub const FORGOT_ACCOUNT: Rule = Rule::new("forgot_account", 5, 3600, KeyKind::Email);
/// Reset-password and verify-email together.
pub const TOKEN_IP: Rule = Rule::new("token_ip", 30, 3600, KeyKind::Ip);

/// Every limit, on both mounts (`/api/v1` web, `/api` mobile): a rule's rows share one count,
/// so a client cannot double its allowance by switching mounts. Per-account password guessing
/// is the sign-in throttle's (docs/pawfect.md), not a row here.
pub const LIMITS: &[RouteLimit] = &[
    RouteLimit::post("/api/v1/auth/login", LOGIN_IP),
    RouteLimit::post("/api/auth/login", LOGIN_IP),
    RouteLimit::post("/api/v1/auth/register", REGISTER_IP),
    RouteLimit::post("/api/auth/register", REGISTER_IP),
    RouteLimit::post("/api/v1/auth/forgot-password", FORGOT_IP),
    RouteLimit::post("/api/auth/forgot-password", FORGOT_IP),
    RouteLimit::post("/api/v1/auth/forgot-password", FORGOT_ACCOUNT),
    RouteLimit::post("/api/auth/forgot-password", FORGOT_ACCOUNT),
    RouteLimit::post("/api/v1/auth/reset-password", TOKEN_IP),
    RouteLimit::post("/api/auth/reset-password", TOKEN_IP),
    RouteLimit::post("/api/v1/auth/verify-email", TOKEN_IP),
    RouteLimit::post("/api/auth/verify-email", TOKEN_IP),
];

#[cfg(test)]
mod tests {
    #[test]
    fn the_role_table_is_well_formed() {
        assert_eq!(super::ROLES.check(), Ok(()));
    }
}
