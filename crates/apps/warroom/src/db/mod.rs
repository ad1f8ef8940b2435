//! War Room's own tables (after the platform's identity tables) and every query on them.

pub mod alerts;
pub mod analytics;
pub mod campaigns;
pub mod migrations;
pub mod monitoring;
pub mod monitoring_queries;
