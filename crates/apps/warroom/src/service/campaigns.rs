//! Campaigns (seed 001 CampaignsService): `Campaigns`, the service the API and the rest of War
//! Room (monitoring, alerts, realtime authorization) call, over the domain of `model`
//! (re-exported here). Every change writes its `campaign_audit` row in the same transaction.

mod model;

use std::collections::HashMap;

use chrono::Utc;
use platform::{
    ApiError,
    error::{ApiResult, ErrorDetails, FieldError},
};
use sea_orm::{
    DatabaseConnection, DatabaseTransaction, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};
use serde::Serialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

pub use self::model::{
    AGES, AUDIENCE_ITEM_CHARS, AUDIENCE_ITEMS_MAX, Actor, AgeRange, AuditEntry, BUDGET_MAX,
    BUDGET_MIN, Budget, Campaign, CampaignAction, CampaignId, CampaignInput, CampaignMetrics,
    CampaignStatus, DEMOGRAPHIC_TEXT_MAX_CHARS, DESCRIPTION_MAX_CHARS, Demographics, Gender,
    KEYWORD_CHARS, KEYWORDS_MAX, Keyword, NAME_CHARS, Platform, REASON_MAX_CHARS, TargetAudience,
    WEIGHT_DEFAULT, WEIGHT_MAX,
};
use crate::{
    Ctx,
    db::campaigns::{self as db, AuditRow, CampaignRow, KeywordRow},
};

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
                ApiError::precondition("a completed campaign cannot be edited").with_details(
                    ErrorDetails::Status {
                        status: status.as_str().into(),
                    },
                ),
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
            details.insert(
                "oldBudget".into(),
                json!(Budget::from_cents(row.budget_cents).amount()),
            );
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
            details.insert(
                "oldBudget".into(),
                json!(Budget::from_cents(row.budget_cents).amount()),
            );
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
        budget: Budget::from_cents(row.budget_cents).amount(),
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
