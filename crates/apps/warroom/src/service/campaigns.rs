//! Campaigns (seed 001 CampaignsService): the `Campaign` type, its limits, its status machine,
//! and `Campaigns`, the service the API and the rest of War Room (monitoring, alerts, realtime
//! authorization) call. Every change writes its `campaign_audit` row in the same transaction.

use std::{collections::HashMap, fmt};

use chrono::{DateTime, Utc};
use platform::{ApiError, error::ApiResult, error::FieldError, identity::auth::AuthUser};
use sea_orm::{
    DatabaseConnection, DatabaseTransaction, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    Ctx,
    db::campaigns::{self as db, AuditRow, CampaignRow, KeywordRow},
};

/// Name length in characters (seed: `MinLen<3> & MaxLen<100>`).
pub const NAME_CHARS: std::ops::RangeInclusive<usize> = 3..=100;
/// Description length in characters (seed: `MaxLen<1000>`).
pub const DESCRIPTION_MAX_CHARS: usize = 1000;
/// Budget bounds in currency units (seed: `Min<100> & Max<1000000>`).
pub const BUDGET_MIN: f64 = 100.0;
pub const BUDGET_MAX: f64 = 1_000_000.0;
/// Audience ages.
pub const AGES: std::ops::RangeInclusive<i64> = 13..=120;
/// A keyword's length in characters once trimmed (the column is `VARCHAR(255)`).
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

impl CampaignStatus {
    pub const ALL: [Self; 4] = [Self::Draft, Self::Active, Self::Paused, Self::Completed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Active => "active",
            Self::Paused => "paused",
            Self::Completed => "completed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Facebook,
    Instagram,
    Twitter,
    Tiktok,
    Google,
}

impl Platform {
    pub const ALL: [Self; 5] = [
        Self::Facebook,
        Self::Instagram,
        Self::Twitter,
        Self::Tiktok,
        Self::Google,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Facebook => "facebook",
            Self::Instagram => "instagram",
            Self::Twitter => "twitter",
            Self::Tiktok => "tiktok",
            Self::Google => "google",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Gender {
    Male,
    Female,
    All,
}

impl Gender {
    pub const ALL: [Self; 3] = [Self::Male, Self::Female, Self::All];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Male => "male",
            Self::Female => "female",
            Self::All => "all",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

/// Seed 001 `{ min, max }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AgeRange {
    pub min: u32,
    pub max: u32,
}

/// Seed 001 `Demographics`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Demographics {
    pub age_range: AgeRange,
    pub gender: Vec<Gender>,
    pub income: String,
    pub education: String,
}

/// Seed 001 `TargetAudience`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetAudience {
    pub demographics: Demographics,
    pub interests: Vec<String>,
    pub locations: Vec<String>,
    pub platforms: Vec<Platform>,
}

/// Seed 001 `CampaignMetrics`; all zeros at creation (the seed's `getEmptyMetrics()`),
/// refreshed later by monitoring (`Campaigns::update_metrics`).
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

/// Seed 001 `campaign_keywords`: a term monitoring tracks for the campaign, and its weight.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Keyword {
    pub keyword: String,
    /// 0 to 9.99, two decimals; 1.0 by default.
    pub weight: f64,
}

/// Seed 001 `Campaign`, plus its `keywords` and `createdBy` (the creating user's id).
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
    /// The action's particulars: `oldBudget`/`newBudget`, `reason`, `changed` (the fields an
    /// update changed), `impersonatorId` (the admin behind an impersonation token).
    #[schema(value_type = Option<Object>)]
    pub details: Option<Value>,
    pub created_at: DateTime<Utc>,
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

/// `POST /campaigns/{id}/actions`.
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
            .with_details(json!({ "status": from.as_str() }))
        })
    }
}

/// Who makes a change, for the audit trail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Actor {
    pub id: Uuid,
    /// The admin behind an impersonation token.
    pub impersonator: Option<Uuid>,
}

impl From<&AuthUser> for Actor {
    fn from(u: &AuthUser) -> Self {
        Self {
            id: u.id(),
            impersonator: u.impersonator,
        }
    }
}

/// The campaigns of this War Room deployment (one campaign team: no per-organisation scoping).
#[derive(Clone)]
pub struct Campaigns {
    db: DatabaseConnection,
}

impl Ctx {
    pub fn campaigns(&self) -> Campaigns {
        Campaigns::new(self.db.clone())
    }
}

impl Campaigns {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// A write transaction: on SQLite it takes the write lock at `BEGIN` (`IMMEDIATE`), so a
    /// read-check-write cannot interleave with another; PostgreSQL locks the row it reads.
    async fn begin_write(&self) -> ApiResult<DatabaseTransaction> {
        let opts = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        };
        Ok(self.db.begin_with_options(opts).await?)
    }

    /// One page of campaigns, newest first, optionally of one status; and the total.
    pub async fn list(
        &self,
        status: Option<CampaignStatus>,
        page: u64,
        limit: u64,
    ) -> ApiResult<(Vec<Campaign>, u64)> {
        let (rows, total) =
            db::list(&self.db, status.map(CampaignStatus::as_str), page, limit).await?;
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let mut keywords: HashMap<Uuid, Vec<KeywordRow>> = HashMap::new();
        for k in db::keywords_of(&self.db, &ids).await? {
            keywords.entry(k.campaign_id).or_default().push(k);
        }
        let campaigns = rows
            .into_iter()
            .map(|row| {
                let mine = keywords.remove(&row.id).unwrap_or_default();
                assemble(row, mine)
            })
            .collect::<ApiResult<_>>()?;
        Ok((campaigns, total))
    }

    pub async fn get(&self, id: CampaignId) -> ApiResult<Option<Campaign>> {
        let Some(row) = db::find(&self.db, id.0).await? else {
            return Ok(None);
        };
        let keywords = db::keywords_of(&self.db, &[id.0]).await?;
        assemble(row, keywords).map(Some)
    }

    pub async fn exists(&self, id: CampaignId) -> ApiResult<bool> {
        Ok(db::exists(&self.db, id.0).await?)
    }

    /// The campaign's keywords in their order (empty for an unknown campaign).
    pub async fn keywords(&self, id: CampaignId) -> ApiResult<Vec<Keyword>> {
        let rows = db::keywords_of(&self.db, &[id.0]).await?;
        Ok(rows.into_iter().map(keyword).collect())
    }

    /// The ids of the active campaigns (what monitoring polls), oldest first.
    pub async fn active_ids(&self) -> ApiResult<Vec<CampaignId>> {
        let ids = db::ids_with_status(&self.db, CampaignStatus::Active.as_str()).await?;
        Ok(ids.into_iter().map(CampaignId).collect())
    }

    /// Replaces the campaign's metrics (monitoring's sentiment and engagement, later the ad
    /// platforms' figures). Not audited, and `updatedAt` stays: it dates edits and actions.
    /// False when there is no such campaign.
    pub async fn update_metrics(
        &self,
        id: CampaignId,
        metrics: &CampaignMetrics,
    ) -> ApiResult<bool> {
        let value = serde_json::to_value(metrics).map_err(ApiError::internal)?;
        Ok(db::set_metrics(&self.db, id.0, value).await?)
    }

    /// A new campaign, `draft`, with empty metrics.
    pub async fn create(&self, actor: Actor, input: CampaignInput) -> ApiResult<Campaign> {
        if input.status.is_some_and(|s| s != CampaignStatus::Draft) {
            return Err(status_via_actions());
        }
        let now = Utc::now();
        let row = CampaignRow {
            id: Uuid::now_v7(),
            name: input.name,
            description: input.description,
            status: CampaignStatus::Draft.as_str().to_owned(),
            start_date: input.start_date,
            end_date: input.end_date,
            budget_cents: input.budget.cents(),
            target_audience: to_json(&input.target_audience)?,
            metrics: to_json(&CampaignMetrics::default())?,
            created_by: actor.id,
            created_at: now,
            updated_at: now,
        };
        let keywords = keyword_pairs(input.keywords.as_deref().unwrap_or_default());
        let txn = self.begin_write().await?;
        let row = db::insert(&txn, row).await?;
        db::replace_keywords(&txn, row.id, &keywords).await?;
        let entry = audit_row(
            &row,
            actor,
            "create",
            None,
            Some(CampaignStatus::Draft),
            Map::new(),
        );
        db::insert_audit(&txn, entry).await?;
        let stored = db::keywords_of(&txn, &[row.id]).await?;
        txn.commit().await?;
        assemble(row, stored)
    }

    /// Replaces the editable fields (and the keywords, when given). The status stays; a
    /// completed campaign is closed to edits. `Ok(None)`: no such campaign.
    pub async fn update(
        &self,
        actor: Actor,
        id: CampaignId,
        input: CampaignInput,
    ) -> ApiResult<Option<Campaign>> {
        let txn = self.begin_write().await?;
        let Some(mut row) = db::find_for_update(&txn, id.0).await? else {
            return Ok(None);
        };
        let status = stored_status(&row)?;
        if status == CampaignStatus::Completed {
            return Err(
                ApiError::precondition("a completed campaign cannot be edited")
                    .with_details(json!({ "status": status.as_str() })),
            );
        }
        if input.status.is_some_and(|s| s != status) {
            return Err(status_via_actions());
        }
        let old_keywords = db::keywords_of(&txn, &[id.0]).await?;
        let audience = to_json(&input.target_audience)?;
        let mut changed = Vec::new();
        let mut details = Map::new();
        if row.name != input.name {
            changed.push("name");
        }
        if row.description != input.description {
            changed.push("description");
        }
        if row.start_date != input.start_date {
            changed.push("startDate");
        }
        if row.end_date != input.end_date {
            changed.push("endDate");
        }
        if row.budget_cents != input.budget.cents() {
            changed.push("budget");
            details.insert("oldBudget".into(), json!(Budget(row.budget_cents).amount()));
            details.insert("newBudget".into(), json!(input.budget.amount()));
        }
        if row.target_audience != audience {
            changed.push("targetAudience");
        }
        if let Some(new) = &input.keywords {
            let old: Vec<Keyword> = old_keywords.iter().cloned().map(keyword).collect();
            if old != *new {
                changed.push("keywords");
            }
            db::replace_keywords(&txn, id.0, &keyword_pairs(new)).await?;
        }
        details.insert("changed".into(), json!(changed));
        row.name = input.name;
        row.description = input.description;
        row.start_date = input.start_date;
        row.end_date = input.end_date;
        row.budget_cents = input.budget.cents();
        row.target_audience = audience;
        row.updated_at = Utc::now();
        let row = db::save(&txn, row).await?;
        let entry = audit_row(&row, actor, "update", Some(status), Some(status), details);
        db::insert_audit(&txn, entry).await?;
        let stored = db::keywords_of(&txn, &[id.0]).await?;
        txn.commit().await?;
        assemble(row, stored).map(Some)
    }

    /// Pause, resume, activate, complete or a budget change, as `CampaignAction::target`
    /// allows. `Ok(None)`: no such campaign.
    pub async fn act(
        &self,
        actor: Actor,
        id: CampaignId,
        action: CampaignAction,
        reason: Option<String>,
    ) -> ApiResult<Option<Campaign>> {
        let txn = self.begin_write().await?;
        let Some(mut row) = db::find_for_update(&txn, id.0).await? else {
            return Ok(None);
        };
        let from = stored_status(&row)?;
        let to = action.target(from)?;
        let mut details = Map::new();
        if let CampaignAction::Budget(budget) = action {
            details.insert("oldBudget".into(), json!(Budget(row.budget_cents).amount()));
            details.insert("newBudget".into(), json!(budget.amount()));
            row.budget_cents = budget.cents();
        }
        if let Some(r) = reason {
            details.insert("reason".into(), json!(r));
        }
        row.status = to.as_str().to_owned();
        row.updated_at = Utc::now();
        let row = db::save(&txn, row).await?;
        let entry = audit_row(&row, actor, action.name(), Some(from), Some(to), details);
        db::insert_audit(&txn, entry).await?;
        let stored = db::keywords_of(&txn, &[id.0]).await?;
        txn.commit().await?;
        assemble(row, stored).map(Some)
    }

    /// One page of the campaign's audit trail, newest first, and its length. `Ok(None)`: no
    /// such campaign.
    pub async fn audit(
        &self,
        id: CampaignId,
        page: u64,
        limit: u64,
    ) -> ApiResult<Option<(Vec<AuditEntry>, u64)>> {
        if !db::exists(&self.db, id.0).await? {
            return Ok(None);
        }
        let (rows, total) = db::audit_of(&self.db, id.0, page, limit).await?;
        let entries = rows
            .into_iter()
            .map(audit_entry)
            .collect::<ApiResult<_>>()?;
        Ok(Some((entries, total)))
    }
}

fn status_via_actions() -> ApiError {
    ApiError::validation(vec![FieldError {
        field: "status".into(),
        message: "is changed with POST /api/v1/campaigns/{id}/actions, not by editing".into(),
    }])
}

fn to_json<T: Serialize>(v: &T) -> ApiResult<Value> {
    serde_json::to_value(v).map_err(ApiError::internal)
}

fn stored_status(row: &CampaignRow) -> ApiResult<CampaignStatus> {
    CampaignStatus::parse(&row.status).ok_or_else(|| {
        ApiError::internal(format!("campaign {} has status {:?}", row.id, row.status))
    })
}

fn keyword(row: KeywordRow) -> Keyword {
    Keyword {
        keyword: row.keyword,
        weight: row.weight,
    }
}

fn keyword_pairs(keywords: &[Keyword]) -> Vec<(String, f64)> {
    keywords
        .iter()
        .map(|k| (k.keyword.clone(), k.weight))
        .collect()
}

/// A stored campaign and its keywords as the wire's `Campaign`; a row that does not decode is
/// an internal error, never a silently emptied field.
fn assemble(row: CampaignRow, keywords: Vec<KeywordRow>) -> ApiResult<Campaign> {
    let status = stored_status(&row)?;
    let decode = |what: &str, e: serde_json::Error| {
        ApiError::internal(format!("campaign {}: stored {what}: {e}", row.id))
    };
    let target_audience = serde_json::from_value(row.target_audience.clone())
        .map_err(|e| decode("target_audience", e))?;
    let metrics = serde_json::from_value(row.metrics.clone()).map_err(|e| decode("metrics", e))?;
    Ok(Campaign {
        id: CampaignId(row.id),
        name: row.name,
        description: row.description,
        status,
        start_date: row.start_date,
        end_date: row.end_date,
        budget: Budget(row.budget_cents).amount(),
        target_audience,
        metrics,
        keywords: keywords.into_iter().map(keyword).collect(),
        created_by: row.created_by,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

fn audit_row(
    campaign: &CampaignRow,
    actor: Actor,
    action: &str,
    from: Option<CampaignStatus>,
    to: Option<CampaignStatus>,
    mut details: Map<String, Value>,
) -> AuditRow {
    if let Some(admin) = actor.impersonator {
        details.insert("impersonatorId".into(), json!(admin));
    }
    AuditRow {
        id: Uuid::now_v7(),
        campaign_id: campaign.id,
        actor_id: Some(actor.id),
        action: action.to_owned(),
        from_status: from.map(|s| s.as_str().to_owned()),
        to_status: to.map(|s| s.as_str().to_owned()),
        details: (!details.is_empty()).then_some(Value::Object(details)),
        created_at: campaign.updated_at,
    }
}

fn audit_entry(row: AuditRow) -> ApiResult<AuditEntry> {
    let status = |s: Option<String>| -> ApiResult<Option<CampaignStatus>> {
        s.map(|s| {
            CampaignStatus::parse(&s)
                .ok_or_else(|| ApiError::internal(format!("audit {}: status {s:?}", row.id)))
        })
        .transpose()
    };
    Ok(AuditEntry {
        id: row.id,
        campaign_id: CampaignId(row.campaign_id),
        actor_id: row.actor_id,
        action: row.action.clone(),
        from_status: status(row.from_status.clone())?,
        to_status: status(row.to_status.clone())?,
        details: row.details,
        created_at: row.created_at,
    })
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
            for from in CampaignStatus::ALL {
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
