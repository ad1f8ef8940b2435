//! Crenoir X MAP's rules: roles and limits, and its SAML service provider.

pub mod access;
pub mod saml;
