//! Role → permission tables. Each product declares its own table; every endpoint checks
//! through it, and `GET …/permissions` reports the caller's row from the same data.

use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;

/// `(resource, actions)` pairs a role holds.
pub type Grants = &'static [(&'static str, &'static [&'static str])];

/// A product's whole table: `(role, grants)`, least to most privileged.
#[derive(Clone, Copy, Debug)]
pub struct RoleTable(pub &'static [(&'static str, Grants)]);

/// One entry of the contract's `Permission[]`.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq, Eq)]
pub struct Permission {
    pub resource: String,
    pub actions: Vec<String>,
}

impl RoleTable {
    pub fn is_role(&self, role: &str) -> bool {
        self.0.iter().any(|(r, _)| *r == role)
    }

    pub fn roles(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().map(|(r, _)| *r)
    }

    fn grants(&self, role: &str) -> Grants {
        self.0
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, g)| *g)
            .unwrap_or(&[])
    }

    pub fn allows(&self, role: &str, resource: &str, action: &str) -> bool {
        self.grants(role)
            .iter()
            .any(|(r, actions)| *r == resource && actions.contains(&action))
    }

    /// `Ok` when `role` may do `action` on `resource`, else `permission_denied`.
    pub fn require(&self, role: &str, resource: &str, action: &str) -> Result<(), ApiError> {
        if self.allows(role, resource, action) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "your role may not {action} {resource}"
            )))
        }
    }

    pub fn permissions(&self, role: &str) -> Vec<Permission> {
        self.grants(role)
            .iter()
            .map(|(r, a)| Permission {
                resource: (*r).to_owned(),
                actions: a.iter().map(|s| (*s).to_owned()).collect(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: RoleTable = RoleTable(&[
        ("viewer", &[("campaigns", &["read"])]),
        ("admin", &[("campaigns", &["read", "delete"])]),
    ]);

    #[test]
    fn roles_hold_only_their_grants() {
        assert!(TABLE.allows("viewer", "campaigns", "read"));
        assert!(!TABLE.allows("viewer", "campaigns", "delete"));
        assert!(TABLE.require("admin", "campaigns", "delete").is_ok());
        assert!(TABLE.require("ghost", "campaigns", "read").is_err());
        assert_eq!(TABLE.permissions("viewer")[0].actions, vec!["read"]);
    }
}
