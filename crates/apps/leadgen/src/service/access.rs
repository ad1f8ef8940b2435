//! LeadGen's roles and its per-route rate-limit table, exactly as seed 004 states them
//! (limit, window, key). Later endpoints add their rows here.

use platform::{
    ratelimit::{KeyKind, Rule, routes::RouteLimit},
    roles::{CONSOLE_READ, CONSOLE_UPDATE, Perm, RoleTable},
};

pub const USER: &str = "user";
pub const ADMIN: &str = "admin";

pub const LEADS_READ: Perm = Perm::new("leads", "read");
pub const LEADS_CREATE: Perm = Perm::new("leads", "create");
pub const LEADS_UPDATE: Perm = Perm::new("leads", "update");

/// Least to most privileged.
pub const ROLES: RoleTable = RoleTable(&[
    (USER, &[LEADS_READ, LEADS_CREATE, LEADS_UPDATE]),
    (
        ADMIN,
        &[
            LEADS_READ,
            LEADS_CREATE,
            LEADS_UPDATE,
            CONSOLE_READ,
            CONSOLE_UPDATE,
        ],
    ),
]);

const HOUR: u64 = 3600;
const MINUTE: u64 = 60;

pub const REGISTER_IP: Rule = Rule::new("register_ip", 10, HOUR, KeyKind::Ip);
pub const LOGIN_IP: Rule = Rule::new("login_ip", 20, MINUTE, KeyKind::Ip);
/// Google sign-in is a login: the same 20 per minute per IP.
pub const GOOGLE_LOGIN_IP: Rule = Rule::new("google_login_ip", 20, MINUTE, KeyKind::Ip);
pub const VERIFY_EMAIL: Rule = Rule::new("verify_email", 10, HOUR, KeyKind::Email);
pub const RESET_EMAIL: Rule = Rule::new("reset_email", 5, HOUR, KeyKind::Email);
/// The mock Google provider (MOCK mode), which mails links: per IP (authorize and token
/// together), and per address so the outbox cannot be flooded for one person.
pub const MOCK_GOOGLE_IP: Rule = Rule::new("mock_google_ip", 20, MINUTE, KeyKind::Ip);
pub const MOCK_GOOGLE_EMAIL: Rule = Rule::new("mock_google_email", 5, 15 * MINUTE, KeyKind::Email);

/// Seed 004 "Lead Management Endpoints", per user. Reading one lead (Basalt's
/// `GET /api/leads/{id}`, not in the seed) counts with the list: both read leads.
pub const LIST_LEADS: Rule = Rule::new("leads_list", 1000, HOUR, KeyKind::User);
pub const CREATE_LEAD: Rule = Rule::new("leads_create", 500, HOUR, KeyKind::User);
pub const UPDATE_LEAD: Rule = Rule::new("leads_update", 1000, HOUR, KeyKind::User);

/// Seed 004, "Authentication Endpoints" and "Lead Management Endpoints", applied by the platform before the handlers run.
/// Per-account password guessing is the sign-in throttle's (docs/leadgen.md), not a row here.
pub const LIMITS: &[RouteLimit] = &[
    RouteLimit::post("/api/auth/register", REGISTER_IP),
    RouteLimit::post("/api/auth/login", LOGIN_IP),
    RouteLimit::post("/api/auth/google", GOOGLE_LOGIN_IP),
    RouteLimit::post("/api/auth/verify", VERIFY_EMAIL),
    RouteLimit::post("/api/auth/reset-password", RESET_EMAIL),
    RouteLimit::post("/api/auth/google/mock/authorize", MOCK_GOOGLE_IP),
    RouteLimit::post("/api/auth/google/mock/authorize", MOCK_GOOGLE_EMAIL),
    RouteLimit::post("/api/auth/google/mock/token", MOCK_GOOGLE_IP),
    RouteLimit::get("/api/leads", LIST_LEADS),
    RouteLimit::get("/api/leads/{id}", LIST_LEADS),
    RouteLimit::post("/api/leads", CREATE_LEAD),
    RouteLimit::new("PUT", "/api/leads/{id}", UPDATE_LEAD),
];

#[cfg(test)]
mod tests {
    #[test]
    fn the_role_table_is_well_formed() {
        assert_eq!(super::ROLES.check(), Ok(()));
    }
}
