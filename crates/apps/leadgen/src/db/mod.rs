//! LeadGen's own tables and their queries.

pub mod organizations;
