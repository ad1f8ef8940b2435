//! LeadGen's roles and its per-route rate-limit table, exactly as seed 004 states them
//! (limit, window, key). Later endpoints add their rows here (e.g. 100/day per user).

use platform::{
    ApiError,
    identity::auth::AuthUser,
    ratelimit::{KeyKind, Rule, routes::RouteLimit},
    roles::RoleTable,
};

use crate::Ctx;

pub const USER: &str = "user";
pub const ADMIN: &str = "admin";

pub const ROLES: RoleTable = RoleTable(&[
    ("user", &[("leads", &["read", "create", "update"])]),
    (
        "admin",
        &[
            ("leads", &["read", "create", "update"]),
            ("admin", &["read", "update"]),
        ],
    ),
]);

const HOUR: u64 = 3600;
const MINUTE: u64 = 60;

/// Seed 004, "Authentication Endpoints".
pub const LIMITS: &[RouteLimit] = &[
    RouteLimit {
        method: "POST",
        route: "/api/auth/register",
        rule: Rule::new("register_ip", 10, HOUR, KeyKind::Ip),
    },
    RouteLimit {
        method: "POST",
        route: "/api/auth/login",
        rule: Rule::new("login_ip", 20, MINUTE, KeyKind::Ip),
    },
    // Google sign-in is a login: the same 20 per minute per IP.
    RouteLimit {
        method: "POST",
        route: "/api/auth/google",
        rule: Rule::new("google_login_ip", 20, MINUTE, KeyKind::Ip),
    },
    RouteLimit {
        method: "POST",
        route: "/api/auth/verify",
        rule: Rule::new("verify_email", 10, HOUR, KeyKind::Email),
    },
    RouteLimit {
        method: "POST",
        route: "/api/auth/reset-password",
        rule: Rule::new("reset_email", 5, HOUR, KeyKind::Email),
    },
];

/// The mock Google provider (MOCK mode), which mails links: per IP, and per address so the
/// outbox cannot be flooded for one person.
pub const MOCK_GOOGLE_IP: Rule = Rule::new("mock_google_ip", 20, MINUTE, KeyKind::Ip);
pub const MOCK_GOOGLE_EMAIL: Rule = Rule::new("mock_google_email", 5, 15 * MINUTE, KeyKind::Email);

impl Ctx {
    /// `permission_denied` unless the caller's role grants `action` on `resource`.
    pub fn require(&self, user: &AuthUser, resource: &str, action: &str) -> Result<(), ApiError> {
        ROLES.require(&user.user.role, resource, action)
    }
}
