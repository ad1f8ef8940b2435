//! LeadGen's domain: ids, models and their invariants, with no I/O.

pub mod leads;
pub mod scoring;
