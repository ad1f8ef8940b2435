//! PawfectMatch's roles and its rate-limit table (docs/pawfect.md).

use platform::{
    ratelimit::{KeyKind, Rule},
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
pub const LOGIN_ACCOUNT: Rule = Rule::new("login_account", 10, 900, KeyKind::Email);
pub const REGISTER_IP: Rule = Rule::new("register_ip", 10, 3600, KeyKind::Ip);
pub const FORGOT_IP: Rule = Rule::new("forgot_ip", 10, 3600, KeyKind::Ip);
pub const FORGOT_ACCOUNT: Rule = Rule::new("forgot_account", 5, 3600, KeyKind::Email);
pub const TOKEN_IP: Rule = Rule::new("token_ip", 30, 3600, KeyKind::Ip);

#[cfg(test)]
mod tests {
    #[test]
    fn the_role_table_is_well_formed() {
        assert_eq!(super::ROLES.check(), Ok(()));
    }
}
