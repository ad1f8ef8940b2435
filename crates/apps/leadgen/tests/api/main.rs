//! LeadGen API tests.
