//! LeadGen's rules: accounts with organizations, roles, the rate-limit table, and leads.

pub mod access;
pub mod accounts;
pub mod leads;
pub mod member;
