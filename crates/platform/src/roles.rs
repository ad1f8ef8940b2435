//! Role → permission tables. A product declares its permissions as `Perm` constants and its
//! role table from them, so every check names a constant (a typo does not compile); `GET
//! …/permissions` reports the caller's row from the same data.

use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;

/// One permission: an action on a resource (`campaigns:read`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Perm {
    pub resource: &'static str,
    pub action: &'static str,
}

impl Perm {
    pub const fn new(resource: &'static str, action: &'static str) -> Self {
        Self { resource, action }
    }
}

/// The console API's permissions (`/admin/api/*`); every product's admin role holds both.
pub const CONSOLE_READ: Perm = Perm::new("admin", "read");
pub const CONSOLE_UPDATE: Perm = Perm::new("admin", "update");

/// The permissions a role holds.
pub type Grants = &'static [Perm];

/// A product's whole table: `(role, grants)`, least to most privileged.
#[derive(Clone, Copy, Debug)]
pub struct RoleTable(pub &'static [(&'static str, Grants)]);

/// One entry of the contracts' `Permission[]`: a resource and the actions allowed on it.
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

    /// The most privileged role (the table's last row).
    pub fn top(&self) -> Option<&'static str> {
        self.0.last().map(|(r, _)| *r)
    }

    fn grants(&self, role: &str) -> Grants {
        self.0
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, g)| *g)
            .unwrap_or(&[])
    }

    pub fn allows(&self, role: &str, perm: Perm) -> bool {
        self.grants(role).contains(&perm)
    }

    /// `Ok` when `role` holds `perm`, else `permission_denied`.
    pub fn require(&self, role: &str, perm: Perm) -> Result<(), ApiError> {
        if self.allows(role, perm) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "your role may not {} {}",
                perm.action, perm.resource
            )))
        }
    }

    /// The roles that hold `perm`, least privileged first.
    pub fn holders(&self, perm: Perm) -> impl Iterator<Item = &'static str> + '_ {
        self.0
            .iter()
            .filter(move |(_, g)| g.contains(&perm))
            .map(|(r, _)| *r)
    }

    /// The role's grants grouped by resource, in the table's order.
    pub fn permissions(&self, role: &str) -> Vec<Permission> {
        let mut out: Vec<Permission> = Vec::new();
        for p in self.grants(role) {
            match out.iter_mut().find(|e| e.resource == p.resource) {
                Some(e) => e.actions.push(p.action.to_owned()),
                None => out.push(Permission {
                    resource: p.resource.to_owned(),
                    actions: vec![p.action.to_owned()],
                }),
            }
        }
        out
    }

    /// Every permission any role holds, once each, in the table's order.
    pub fn all(&self) -> Vec<Perm> {
        let mut out: Vec<Perm> = Vec::new();
        for (_, grants) in self.0 {
            for p in *grants {
                if !out.contains(p) {
                    out.push(*p);
                }
            }
        }
        out
    }

    /// Checks what the platform relies on: roles named once, each role holding at least what
    /// the one below it holds, and the top role holding the console's permissions. Products
    /// call this from a unit test.
    pub fn check(&self) -> Result<(), String> {
        let roles: Vec<&str> = self.roles().collect();
        for (i, r) in roles.iter().enumerate() {
            if roles[..i].contains(r) {
                return Err(format!("role {r} is listed twice"));
            }
        }
        for pair in self.0.windows(2) {
            let (lower, lower_grants) = pair[0];
            let (higher, _) = pair[1];
            if let Some(p) = lower_grants.iter().find(|p| !self.allows(higher, **p)) {
                return Err(format!(
                    "{higher} lacks {}:{}, which {lower} holds",
                    p.resource, p.action
                ));
            }
        }
        let top = self.top().ok_or("the table has no roles")?;
        for p in [CONSOLE_READ, CONSOLE_UPDATE] {
            if !self.allows(top, p) {
                return Err(format!(
                    "{top} lacks the console's {}:{}",
                    p.resource, p.action
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const READ: Perm = Perm::new("campaigns", "read");
    const DELETE: Perm = Perm::new("campaigns", "delete");

    const TABLE: RoleTable = RoleTable(&[
        ("viewer", &[READ]),
        ("admin", &[READ, DELETE, CONSOLE_READ, CONSOLE_UPDATE]),
    ]);

    #[test]
    fn roles_hold_only_their_grants() {
        assert!(TABLE.allows("viewer", READ));
        assert!(!TABLE.allows("viewer", DELETE));
        assert!(TABLE.require("admin", DELETE).is_ok());
        assert!(TABLE.require("ghost", READ).is_err());
        assert_eq!(TABLE.permissions("viewer")[0].actions, vec!["read"]);
        assert_eq!(
            TABLE.permissions("admin")[0].actions,
            vec!["read", "delete"]
        );
        assert_eq!(TABLE.holders(DELETE).collect::<Vec<_>>(), ["admin"]);
        assert_eq!(TABLE.all().len(), 4);
        assert_eq!(TABLE.check(), Ok(()));
    }

    #[test]
    fn a_table_whose_higher_role_holds_less_is_refused() {
        const BAD: RoleTable = RoleTable(&[("viewer", &[READ]), ("admin", &[DELETE])]);
        assert!(
            BAD.check()
                .unwrap_err()
                .contains("admin lacks campaigns:read")
        );
    }
}
