//! War Room's rules: one service per resource, each a struct that takes the calling `Actor`
//! and checks its permission before it reads the caller's input (`access` says who may do
//! what, and how often); and the processes War Room runs on its own (ingestion, crisis
//! detection, alert delivery, the live streams).

pub mod access;
pub mod actor;
pub mod alerts;
pub mod analytics;
pub mod campaigns;
pub mod crisis;
pub mod deliveries;
pub mod ingest;
pub mod monitoring;
pub mod notifications;
pub mod stream;
pub mod users;
