//! War Room's rules: who may do what, and how often.

pub mod access;
pub mod alerting;
pub mod analytics;
pub mod campaigns;
pub mod crisis;
pub mod delivery;
pub mod ingest;
pub mod monitoring;
pub mod notifications;
pub mod profile;
pub mod sentiment;
pub mod stream;
