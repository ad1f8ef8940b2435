//! LeadGen's own tables and their queries.

pub mod leads;
pub mod organizations;
