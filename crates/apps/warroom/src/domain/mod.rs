//! War Room's domain: ids, models and their invariants, the validated inputs services take,
//! and the vocabulary of alerts and live streams. Pure: no I/O, no axum, no database. `db/`
//! maps rows to these types; `service/` applies the rules; `api/` turns wire types into them.

/// `ALL`, `as_str`, `parse` and `names` for an enum stored and sent as a fixed string.
macro_rules! names {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }

            /// Every name, for an error message (`a, b, c`).
            pub fn names() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }
    };
}

pub mod alerts;
pub mod analytics;
pub mod campaigns;
pub mod crisis;
pub mod deliveries;
pub mod monitoring;
pub mod notifications;
pub mod sentiment;
pub mod stream;
