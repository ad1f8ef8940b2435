//! Leads (seed 004 `public.leads`, `public.lead_interactions`): the wire model, its statuses
//! and sources, the checked input of create and update, and the list's query (filters, sort,
//! cursor). No I/O.

use chrono::{DateTime, Utc};
use platform::{ApiError, keyset::Cursor};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::scoring::Score;

/// Where a lead is in the sales process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LeadStatus {
    New,
    Contacted,
    Qualified,
    Unqualified,
    Converted,
    Lost,
}

impl LeadStatus {
    pub const ALL: [Self; 6] = [
        Self::New,
        Self::Contacted,
        Self::Qualified,
        Self::Unqualified,
        Self::Converted,
        Self::Lost,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Contacted => "contacted",
            Self::Qualified => "qualified",
            Self::Unqualified => "unqualified",
            Self::Converted => "converted",
            Self::Lost => "lost",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// How the lead came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LeadSource {
    /// Typed in by a user.
    Manual,
    /// From LeadGen's search (`/api/search/results`).
    Search,
    Import,
    Referral,
    Website,
    Event,
    Other,
}

impl LeadSource {
    pub const ALL: [Self; 7] = [
        Self::Manual,
        Self::Search,
        Self::Import,
        Self::Referral,
        Self::Website,
        Self::Event,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Search => "search",
            Self::Import => "import",
            Self::Referral => "referral",
            Self::Website => "website",
            Self::Event => "event",
            Self::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// The names of `values`, for "must be one of …" messages.
pub fn names<T: Copy>(values: &[T], name: impl Fn(T) -> &'static str) -> String {
    values
        .iter()
        .map(|v| name(*v))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A lead as the API answers it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Lead {
    pub id: Uuid,
    pub organization_id: Uuid,
    /// The user responsible for the lead (notified of status changes); its creator unless
    /// reassigned. Absent once that user's account is deleted.
    pub owner_id: Option<Uuid>,
    /// Lower-cased; unique within the organization.
    pub email: String,
    pub name: Option<String>,
    /// Job title.
    pub title: Option<String>,
    pub company: Option<String>,
    pub website: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    pub location: Option<String>,
    pub industry: Option<String>,
    pub status: LeadStatus,
    pub source: LeadSource,
    pub tags: Vec<String>,
    pub notes: Option<String>,
    /// 0 to 100, with the factors it is made of.
    pub score: Score,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One entry of a lead's timeline (`lead_interactions`): who did what, when.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Interaction {
    pub id: Uuid,
    pub lead_id: Uuid,
    /// The user who acted; absent once their account is deleted.
    pub actor_id: Option<Uuid>,
    /// `created`, `updated`, `status_changed` or `note`.
    pub kind: String,
    /// Each changed field: `{ field, from, to }` (values as the API shows them).
    pub changes: Vec<Change>,
    /// A note the user wrote with the change (`PUT`'s `note`).
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A field's value before and after a change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Change {
    pub field: String,
    /// The value before: whatever JSON the field holds (a string, a number, a list of tags),
    /// or `null` when it had none.
    pub from: serde_json::Value,
    /// The value after, likewise.
    pub to: serde_json::Value,
}

/// A lead and its timeline, newest entry first.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeadWithTimeline {
    pub lead: Lead,
    pub timeline: Vec<Interaction>,
}

/// The contact fields of a lead, checked (trimmed, empty is absent, lengths, phone E.164,
/// website a host or URL).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Contact {
    pub name: Option<String>,
    pub title: Option<String>,
    pub company: Option<String>,
    pub website: Option<String>,
    pub phone: Option<String>,
    pub location: Option<String>,
    pub industry: Option<String>,
}

/// A checked new lead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLead {
    pub email: String,
    pub contact: Contact,
    pub status: LeadStatus,
    pub source: LeadSource,
    pub tags: Vec<String>,
    pub notes: Option<String>,
}

/// A checked change: `None` keeps a field, `Some(None)` clears an optional one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeadPatch {
    pub email: Option<String>,
    pub name: Option<Option<String>>,
    pub title: Option<Option<String>>,
    pub company: Option<Option<String>>,
    pub website: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub location: Option<Option<String>>,
    pub industry: Option<Option<String>>,
    pub status: Option<LeadStatus>,
    pub source: Option<LeadSource>,
    pub tags: Option<Vec<String>>,
    pub notes: Option<Option<String>>,
    pub owner_id: Option<Uuid>,
    /// Written on the timeline entry, not on the lead.
    pub note: Option<String>,
}

/// How the list is ordered; every order ends in `id` so pages never repeat or skip a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeadSort {
    CreatedAt { desc: bool },
    UpdatedAt { desc: bool },
    Score { desc: bool },
}

impl LeadSort {
    pub const NAMES: [&'static str; 6] = [
        "-createdAt",
        "createdAt",
        "-updatedAt",
        "updatedAt",
        "-score",
        "score",
    ];

    pub fn parse(s: &str) -> Option<Self> {
        let (desc, key) = match s.strip_prefix('-') {
            Some(k) => (true, k),
            None => (false, s),
        };
        match key {
            "createdAt" => Some(Self::CreatedAt { desc }),
            "updatedAt" => Some(Self::UpdatedAt { desc }),
            "score" => Some(Self::Score { desc }),
            _ => None,
        }
    }

    pub fn desc(self) -> bool {
        match self {
            Self::CreatedAt { desc } | Self::UpdatedAt { desc } | Self::Score { desc } => desc,
        }
    }

    /// The prefix a cursor of this order carries, so a cursor is never read in another order
    /// (URL-safe: the client sends it back in a query string).
    fn tag(self) -> &'static str {
        match self {
            Self::CreatedAt { desc: true } => "cd.",
            Self::CreatedAt { desc: false } => "ca.",
            Self::UpdatedAt { desc: true } => "ud.",
            Self::UpdatedAt { desc: false } => "ua.",
            Self::Score { desc: true } => "sd.",
            Self::Score { desc: false } => "sa.",
        }
    }
}

impl Default for LeadSort {
    fn default() -> Self {
        Self::CreatedAt { desc: true }
    }
}

/// Where the next page starts: the sort key of the last lead sent, and its id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeadCursor {
    /// A time order's position, `platform::keyset`'s cursor.
    Time(Cursor),
    /// A score order's position.
    Score { score: i32, id: Uuid },
}

impl LeadCursor {
    /// `<order tag>.<position>`, URL-safe: a time position is `platform::keyset::Cursor`'s text; a score
    /// position is `<score>.<id>`.
    pub fn encode(&self, sort: LeadSort) -> String {
        match self {
            Self::Time(c) => format!("{}{}", sort.tag(), c.encode()),
            Self::Score { score, id } => format!("{}{score}.{}", sort.tag(), id.simple()),
        }
    }

    /// Reads a cursor handed out for `sort`; anything else (another order's cursor too) is
    /// `invalid_argument` naming `cursor`.
    pub fn decode(text: &str, sort: LeadSort) -> Result<Self, ApiError> {
        let bad = || {
            ApiError::validation(vec![platform::validate::field(
                "cursor",
                "is not a cursor this list handed out for this sort (use nextCursor as given)",
            )])
        };
        let rest = text.strip_prefix(sort.tag()).ok_or_else(bad)?;
        match sort {
            LeadSort::Score { .. } => {
                let (score, id) = rest.split_once('.').ok_or_else(bad)?;
                Ok(Self::Score {
                    score: score.parse().map_err(|_| bad())?,
                    id: Uuid::try_parse(id).map_err(|_| bad())?,
                })
            }
            _ => Cursor::decode(rest, "cursor")
                .map(Self::Time)
                .map_err(|_| bad()),
        }
    }
}

/// A checked list query.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeadQuery {
    pub status: Option<LeadStatus>,
    pub source: Option<LeadSource>,
    pub tag: Option<String>,
    /// Lower-cased; matched anywhere in the name, email, company or title.
    pub text: Option<String>,
    pub min_score: Option<i32>,
    pub max_score: Option<i32>,
    pub sort: LeadSort,
    pub cursor: Option<LeadCursor>,
    /// Items per page, 1 to 100.
    pub limit: u64,
    /// From 1; ignored with a cursor.
    pub page: u64,
}

/// The lower-cased text the `q` filter searches.
pub fn search_text(email: &str, contact: &Contact) -> String {
    [
        Some(email),
        contact.name.as_deref(),
        contact.company.as_deref(),
        contact.title.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ")
    .to_lowercase()
}

/// The 404 of a lead that does not exist or belongs to another organization (the same
/// answer, so ids of other organizations' leads reveal nothing).
pub fn not_found() -> ApiError {
    ApiError::not_found("Lead not found")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_only_in_the_order_it_was_made_for() {
        let id = Uuid::now_v7();
        let by_score = LeadSort::Score { desc: true };
        let c = LeadCursor::Score { score: 73, id };
        assert_eq!(
            LeadCursor::decode(&c.encode(by_score), by_score).unwrap(),
            c
        );
        let newest = LeadSort::default();
        let t = LeadCursor::Time(Cursor::after(Utc::now(), id));
        assert_eq!(LeadCursor::decode(&t.encode(newest), newest).unwrap(), t);
        assert!(LeadCursor::decode(&t.encode(newest), by_score).is_err());
        assert!(LeadCursor::decode(&c.encode(by_score), LeadSort::Score { desc: false }).is_err());
        assert!(LeadCursor::decode("sd.x.y", by_score).is_err());
    }

    #[test]
    fn sorts_parse_by_name_with_a_minus_for_descending() {
        assert_eq!(
            LeadSort::parse("-score"),
            Some(LeadSort::Score { desc: true })
        );
        assert_eq!(
            LeadSort::parse("updatedAt"),
            Some(LeadSort::UpdatedAt { desc: false })
        );
        assert_eq!(LeadSort::parse("name"), None);
        for n in LeadSort::NAMES {
            assert!(LeadSort::parse(n).is_some(), "{n}");
        }
    }
}
