//! LeadGen's rules: accounts with organizations, roles, and the rate-limit table.

pub mod access;
pub mod accounts;
