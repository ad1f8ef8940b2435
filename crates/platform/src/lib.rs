//! Basalt's shared core. It knows no product: each product crate configures these pieces
//! (error shape, token lifetimes, roles, rate-limit rules) and mounts them under its contract.

pub mod bus;
pub mod console;
pub mod cookies;
pub mod core;
pub mod datamode;
pub mod db;
pub mod docs;
pub mod error;
pub mod extract;
pub mod health;
pub mod http;
pub mod identity;
pub mod jobs;
pub mod keys;
pub mod keyset;
pub mod landing;
pub mod lifecycle;
pub mod mail;
pub mod migrations;
pub mod observability;
pub mod outbox;
pub mod phone;
pub mod product;
pub mod ratelimit;
pub mod realtime;
pub mod roles;
pub mod saml;
pub mod secrets;
pub mod server;
pub mod settings;
pub mod telemetry;
pub mod untrusted;
pub mod validate;
pub mod vendor;

pub use error::{ApiError, ApiResult};
