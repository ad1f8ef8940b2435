//! War Room's rules: who may do what, and how often.

pub mod access;
pub mod profile;
pub mod sentiment;
