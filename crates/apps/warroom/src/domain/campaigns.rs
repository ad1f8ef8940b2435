//! Campaigns: seed 001's `Campaign` and its parts (also the wire types), the limits of
//! `CreateCampaignRequest`, the budget in cents, the checked `CampaignInput`, the status
//! machine of actions, and the audit trail's entries.

use std::fmt;

use chrono::{DateTime, Utc};
use platform::{
    ApiError,
    error::{ApiResult, ErrorDetails},
    keyset::Cursor,
    validate::Paging,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Name length in characters (seed: `MinLen<3> & MaxLen<100>`).
pub const NAME_CHARS: std::ops::RangeInclusive<usize> = 3..=100;
/// Description length in characters (seed: `MaxLen<1000>`).
pub const DESCRIPTION_MAX_CHARS: usize = 1000;
/// Budget bounds in currency units (seed: `Min<100> & Max<1000000>`).
pub const BUDGET_MIN: f64 = 100.0;
pub const BUDGET_MAX: f64 = 1_000_000.0;
/// Audience ages.
pub const AGES: std::ops::RangeInclusive<i64> = 13..=120;
/// A keyword's length in characters as sent, not blank; stored trimmed (`VARCHAR(255)`).
pub const KEYWORD_CHARS: std::ops::RangeInclusive<usize> = 1..=255;
pub const KEYWORDS_MAX: usize = 100;
/// A keyword's weight (the column is `DECIMAL(3,2)`); 1.0 when not given.
pub const WEIGHT_MAX: f64 = 9.99;
pub const WEIGHT_DEFAULT: f64 = 1.0;
/// Interests and locations: how many, and how long each.
pub const AUDIENCE_ITEMS_MAX: usize = 50;
pub const AUDIENCE_ITEM_CHARS: std::ops::RangeInclusive<usize> = 1..=100;
/// `income` and `education`, free text.
pub const DEMOGRAPHIC_TEXT_MAX_CHARS: usize = 100;
/// An action's `reason`.
pub const REASON_MAX_CHARS: usize = 500;

/// A campaign's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CampaignId(pub Uuid);

impl CampaignId {
    /// `None` for anything that is not a UUID (no campaign has such an id).
    pub fn parse(s: &str) -> Option<Self> {
        Uuid::parse_str(s).ok().map(Self)
    }
}

impl From<Uuid> for CampaignId {
    fn from(id: Uuid) -> Self {
        Self(id)
    }
}

impl fmt::Display for CampaignId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CampaignStatus {
    Draft,
    Active,
    Paused,
    Completed,
}

names!(CampaignStatus {
    Draft => "draft",
    Active => "active",
    Paused => "paused",
    Completed => "completed",
});

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Facebook,
    Instagram,
    Twitter,
    Tiktok,
    Google,
}

names!(Platform {
    Facebook => "facebook",
    Instagram => "instagram",
    Twitter => "twitter",
    Tiktok => "tiktok",
    Google => "google",
});

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Gender {
    Male,
    Female,
    All,
}

names!(Gender {
    Male => "male",
    Female => "female",
    All => "all",
});

// Seed 001 `{ min, max }`.
/// An age range, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AgeRange {
    pub min: u32,
    pub max: u32,
}

// Seed 001 `Demographics`.
/// Who the campaign targets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Demographics {
    pub age_range: AgeRange,
    pub gender: Vec<Gender>,
    pub income: String,
    pub education: String,
}

// Seed 001 `TargetAudience`.
/// Who the campaign is for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetAudience {
    pub demographics: Demographics,
    pub interests: Vec<String>,
    pub locations: Vec<String>,
    pub platforms: Vec<Platform>,
}

// Seed 001 `CampaignMetrics` (zeros as the seed's `getEmptyMetrics()`), refreshed by
// `Campaigns::update_metrics`.
/// A campaign's figures: all zeros at creation, refreshed by monitoring.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CampaignMetrics {
    pub impressions: u64,
    pub clicks: u64,
    pub conversions: u64,
    pub ctr: f64,
    pub cpc: f64,
    pub roi: f64,
    pub sentiment_score: f64,
    pub engagement_rate: f64,
}

// Seed 001 `campaign_keywords`.
/// A term monitoring tracks for the campaign, and its weight.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Keyword {
    pub keyword: String,
    /// 0 to 9.99, two decimals; 1.0 by default.
    pub weight: f64,
}

// Seed 001 `Campaign`, plus `keywords` and `createdBy`.
/// A campaign, with its `keywords` and `createdBy` (the creating user's id).
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Campaign {
    #[schema(value_type = Uuid)]
    pub id: CampaignId,
    pub name: String,
    pub description: String,
    pub status: CampaignStatus,
    pub start_date: DateTime<Utc>,
    pub end_date: DateTime<Utc>,
    /// Currency units, two decimals.
    pub budget: f64,
    pub target_audience: TargetAudience,
    pub metrics: CampaignMetrics,
    pub keywords: Vec<Keyword>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One row of a campaign's audit trail.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: Uuid,
    #[schema(value_type = Uuid)]
    pub campaign_id: CampaignId,
    /// The user who made the change.
    pub actor_id: Option<Uuid>,
    /// `create`, `update`, `activate`, `resume`, `pause`, `complete` or `budget`.
    pub action: String,
    pub from_status: Option<CampaignStatus>,
    pub to_status: Option<CampaignStatus>,
    /// The action's particulars; `null` when it has none.
    pub details: Option<AuditDetails>,
    pub created_at: DateTime<Utc>,
}

/// What an audit entry records beyond the status change; absent fields do not apply.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditDetails {
    /// The budget before a budget change or an edit that changed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_budget: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_budget: Option<f64>,
    /// The reason given with an action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The fields an update changed (`name`, `startDate`, `keywords`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<Vec<String>>,
    /// The admin behind an impersonation token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impersonator_id: Option<Uuid>,
}

impl AuditDetails {
    /// `None` when there is nothing to record.
    pub fn non_empty(self) -> Option<Self> {
        (self != Self::default()).then_some(self)
    }
}

/// A budget within the seed's bounds, kept in cents (the seed's `DECIMAL(12,2)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget(i64);

impl Budget {
    /// Rounds to the cent; `Err` outside 100 ..= 1,000,000.
    pub fn from_amount(amount: f64) -> Result<Self, String> {
        if amount.is_finite() && (BUDGET_MIN..=BUDGET_MAX).contains(&amount) {
            Ok(Self((amount * 100.0).round() as i64))
        } else {
            Err("must be between 100 and 1000000".into())
        }
    }

    /// A budget as stored (already checked when it was written).
    pub(crate) fn from_cents(cents: i64) -> Self {
        Self(cents)
    }

    pub fn cents(self) -> i64 {
        self.0
    }

    pub fn amount(self) -> f64 {
        self.0 as f64 / 100.0
    }
}

/// A checked `CreateCampaignRequest` (the API's `TryFrom` does the checking): what create and
/// update write.
#[derive(Clone, Debug, PartialEq)]
pub struct CampaignInput {
    pub name: String,
    pub description: String,
    pub start_date: DateTime<Utc>,
    pub end_date: DateTime<Utc>,
    pub budget: Budget,
    pub target_audience: TargetAudience,
    /// `None`: create starts with none, update keeps the current ones.
    pub keywords: Option<Vec<Keyword>>,
    /// The status the client believes the campaign has (a `Campaign` sent back whole):
    /// refused when it differs, since status changes go through actions.
    pub status: Option<CampaignStatus>,
}

/// A checked `GET /campaigns` query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CampaignQuery {
    /// Only campaigns with this status.
    pub status: Option<CampaignStatus>,
    pub paging: Paging,
    /// Continue after this campaign (keyset paging) instead of skipping `paging`'s offset.
    pub cursor: Option<Cursor>,
}

/// A checked `POST /campaigns/{id}/actions`: the action, and its trimmed reason (`None` when
/// blank), kept in the audit trail.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionInput {
    pub action: CampaignAction,
    pub reason: Option<String>,
}

/// What `POST /campaigns/{id}/actions` does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CampaignAction {
    Activate,
    Resume,
    Pause,
    Complete,
    Budget(Budget),
}

impl CampaignAction {
    pub fn name(self) -> &'static str {
        match self {
            Self::Activate => "activate",
            Self::Resume => "resume",
            Self::Pause => "pause",
            Self::Complete => "complete",
            Self::Budget(_) => "budget",
        }
    }

    /// The status after the action, or `failed_precondition` naming the current one.
    ///
    /// `activate` and `resume` both start a draft or paused campaign: the seed's frontend
    /// knows only pause/resume/budget, so `resume` must also launch a draft.
    pub fn target(self, from: CampaignStatus) -> ApiResult<CampaignStatus> {
        use CampaignStatus::{Active, Completed, Draft, Paused};
        let to = match (self, from) {
            (Self::Activate | Self::Resume, Draft | Paused) => Some(Active),
            (Self::Pause, Active) => Some(Paused),
            (Self::Complete, Active | Paused) => Some(Completed),
            (Self::Budget(_), Draft | Active | Paused) => Some(from),
            _ => None,
        };
        to.ok_or_else(|| {
            ApiError::precondition(format!(
                "cannot {} a campaign that is {}",
                self.name(),
                from.as_str()
            ))
            .with_details(ErrorDetails::Status {
                status: from.as_str().into(),
            })
        })
    }
}

/// 404 "Campaign not found": an unknown campaign id, wherever one is named.
pub fn not_found() -> ApiError {
    ApiError::not_found("Campaign not found")
}

#[cfg(test)]
mod tests {
    use super::*;
    use CampaignStatus::{Active, Completed, Draft, Paused};

    fn budget(amount: f64) -> CampaignAction {
        CampaignAction::Budget(Budget::from_amount(amount).unwrap())
    }

    #[test]
    fn transitions_follow_the_status_machine_and_nothing_else() {
        let allowed = [
            (CampaignAction::Activate, Draft, Active),
            (CampaignAction::Activate, Paused, Active),
            (CampaignAction::Resume, Draft, Active),
            (CampaignAction::Resume, Paused, Active),
            (CampaignAction::Pause, Active, Paused),
            (CampaignAction::Complete, Active, Completed),
            (CampaignAction::Complete, Paused, Completed),
            (budget(500.0), Draft, Draft),
            (budget(500.0), Active, Active),
            (budget(500.0), Paused, Paused),
        ];
        let actions = [
            CampaignAction::Activate,
            CampaignAction::Resume,
            CampaignAction::Pause,
            CampaignAction::Complete,
            budget(500.0),
        ];
        for action in actions {
            for &from in CampaignStatus::ALL {
                let expected = allowed
                    .iter()
                    .find(|(a, f, _)| *a == action && *f == from)
                    .map(|(_, _, to)| *to);
                match (action.target(from), expected) {
                    (Ok(to), Some(want)) => assert_eq!(to, want, "{action:?} from {from:?}"),
                    (Err(e), None) => {
                        assert_eq!(e.code, platform::error::ErrorCode::FailedPrecondition);
                        assert!(e.message.contains(from.as_str()), "{}", e.message);
                    }
                    (got, want) => panic!("{action:?} from {from:?}: got {got:?}, want {want:?}"),
                }
            }
        }
    }

    #[test]
    fn budgets_are_kept_in_cents_within_the_seed_bounds() {
        assert_eq!(Budget::from_amount(100.0).unwrap().cents(), 10_000);
        assert_eq!(
            Budget::from_amount(1_000_000.0).unwrap().cents(),
            100_000_000
        );
        assert_eq!(Budget::from_amount(100.004).unwrap().cents(), 10_000);
        assert_eq!(Budget::from_amount(100.006).unwrap().amount(), 100.01);
        assert!(Budget::from_amount(99.99).is_err());
        assert!(Budget::from_amount(1_000_000.01).is_err());
        assert!(Budget::from_amount(f64::NAN).is_err());
    }

    #[test]
    fn campaign_ids_that_are_not_uuids_name_no_campaign() {
        assert!(CampaignId::parse("recommendations").is_none());
        let id = Uuid::now_v7();
        assert_eq!(CampaignId::parse(&id.to_string()), Some(CampaignId(id)));
    }
}
