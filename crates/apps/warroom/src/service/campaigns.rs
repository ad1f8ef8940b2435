//! Campaigns (seed 001 CampaignsService): `Campaigns`, the service the API and the rest of War
//! Room (monitoring, alerts, realtime authorization) call. Callers' operations take an
//! `Actor` and check its permission first; every change writes its `campaign_audit` row in the
//! same transaction. The methods without an actor serve War Room's own processes.

use chrono::Utc;
use platform::db::Pools;
use platform::{
    ApiError,
    error::{ApiResult, ErrorDetails},
    keyset::Cursor,
    validate::{Page, PageQuery, field},
};
use sea_orm::DatabaseConnection;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::{
    Ctx,
    db::{
        self,
        campaigns::{AuditRow, CampaignRow, KeywordRow, campaign_of, status_of},
    },
    domain::campaigns::{
        ActionInput, AuditDetails, AuditEntry, Budget, Campaign, CampaignAction, CampaignId,
        CampaignInput, CampaignMetrics, CampaignQuery, CampaignStatus, Keyword, not_found,
    },
    service::{
        access::{CAMPAIGNS_CREATE, CAMPAIGNS_READ, CAMPAIGNS_UPDATE},
        actor::Actor,
    },
};

/// The campaigns of this War Room deployment (one campaign team: no per-organisation scoping).
#[derive(Clone)]
pub struct Campaigns {
    db: DatabaseConnection,
    /// Write transactions (`Pools::write`).
    writer: DatabaseConnection,
}

impl Ctx {
    pub fn campaigns(&self) -> Campaigns {
        Campaigns::new(Pools {
            read: self.db.clone(),
            write: self.writer.clone(),
        })
    }
}

impl Campaigns {
    pub fn new(pools: Pools) -> Self {
        Self {
            db: pools.read,
            writer: pools.write,
        }
    }

    /// One page of campaigns, newest first, optionally of one status.
    pub async fn list(
        &self,
        actor: &Actor,
        query: impl TryInto<CampaignQuery, Error = ApiError>,
    ) -> ApiResult<Page<Campaign>> {
        let q = actor.admit(CAMPAIGNS_READ, query)?;
        let (rows, total, more) = db::campaigns::list(&self.db, &q).await?;
        let next = rows
            .last()
            .filter(|_| more)
            .map(|(last, _)| Cursor::after(last.created_at, last.id).encode());
        let campaigns = rows
            .into_iter()
            .map(|(row, keywords)| campaign_of(row, keywords))
            .collect::<ApiResult<_>>()?;
        let mut page = q.paging.page(campaigns, total);
        if q.cursor.is_some() {
            page.page = 0;
        }
        page.next_cursor = next;
        Ok(page)
    }

    /// One campaign; 404 "Campaign not found".
    pub async fn get(&self, actor: &Actor, id: CampaignId) -> ApiResult<Campaign> {
        actor.require(CAMPAIGNS_READ)?;
        self.find(id).await?.ok_or_else(not_found)
    }

    /// A new campaign, `draft`, with empty metrics.
    pub async fn create(
        &self,
        actor: &Actor,
        input: impl TryInto<CampaignInput, Error = ApiError>,
    ) -> ApiResult<Campaign> {
        let input = actor.admit(CAMPAIGNS_CREATE, input)?;
        if input.status.is_some_and(|s| s != CampaignStatus::Draft) {
            return Err(status_via_actions());
        }
        let now = db::now();
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
        let keywords = keyword_rows(row.id, input.keywords.as_deref().unwrap_or_default());
        let entry = audit_row(
            &row,
            actor,
            "create",
            (None, Some(CampaignStatus::Draft)),
            AuditDetails::default(),
        )?;
        // Three statements and no read-back: the rows written are the rows answered.
        let txn = db::begin_write(&self.writer).await?;
        db::campaigns::insert(&txn, row.clone()).await?;
        db::campaigns::insert_keywords(&txn, keywords.clone()).await?;
        db::campaigns::insert_audit(&txn, entry).await?;
        txn.commit().await?;
        campaign_of(row, keywords)
    }

    /// Replaces the editable fields (and the keywords, when given). The status stays; a
    /// completed campaign is closed to edits.
    pub async fn update(
        &self,
        actor: &Actor,
        id: CampaignId,
        input: impl TryInto<CampaignInput, Error = ApiError>,
    ) -> ApiResult<Campaign> {
        let input = actor.admit(CAMPAIGNS_UPDATE, input)?;
        let txn = db::begin_write(&self.writer).await?;
        let mut row = db::campaigns::find_for_update(&txn, id.0)
            .await?
            .ok_or_else(not_found)?;
        let status = status_of(&row)?;
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
        let old_keywords = db::campaigns::keywords_of(&txn, &[id.0]).await?;
        let audience = to_json(&input.target_audience)?;
        let mut changed = Vec::new();
        let mut details = AuditDetails::default();
        for (name, differs) in [
            ("name", row.name != input.name),
            ("description", row.description != input.description),
            ("startDate", row.start_date != input.start_date),
            ("endDate", row.end_date != input.end_date),
            ("budget", row.budget_cents != input.budget.cents()),
            ("targetAudience", row.target_audience != audience),
        ] {
            if differs {
                changed.push(name.to_owned());
            }
        }
        if row.budget_cents != input.budget.cents() {
            details.old_budget = Some(Budget::from_cents(row.budget_cents).amount());
            details.new_budget = Some(input.budget.amount());
        }
        if let Some(new) = &input.keywords {
            let old: Vec<Keyword> = old_keywords.into_iter().map(Keyword::from).collect();
            if old != *new {
                changed.push("keywords".into());
            }
            db::campaigns::replace_keywords(&txn, id.0, &keyword_pairs(new)).await?;
        }
        details.changed = Some(changed);
        row.name = input.name;
        row.description = input.description;
        row.start_date = input.start_date;
        row.end_date = input.end_date;
        row.budget_cents = input.budget.cents();
        row.target_audience = audience;
        row.updated_at = Utc::now();
        let row = db::campaigns::save(&txn, row).await?;
        let entry = audit_row(&row, actor, "update", (Some(status), Some(status)), details)?;
        db::campaigns::insert_audit(&txn, entry).await?;
        let stored = db::campaigns::keywords_of(&txn, &[id.0]).await?;
        txn.commit().await?;
        campaign_of(row, stored)
    }

    /// Pause, resume, activate, complete or a budget change, as `CampaignAction::target`
    /// allows.
    pub async fn act(
        &self,
        actor: &Actor,
        id: CampaignId,
        input: impl TryInto<ActionInput, Error = ApiError>,
    ) -> ApiResult<Campaign> {
        let ActionInput { action, reason } = actor.admit(CAMPAIGNS_UPDATE, input)?;
        let txn = db::begin_write(&self.writer).await?;
        let mut row = db::campaigns::find_for_update(&txn, id.0)
            .await?
            .ok_or_else(not_found)?;
        let from = status_of(&row)?;
        let to = action.target(from)?;
        let mut details = AuditDetails {
            reason,
            ..AuditDetails::default()
        };
        if let CampaignAction::Budget(budget) = action {
            details.old_budget = Some(Budget::from_cents(row.budget_cents).amount());
            details.new_budget = Some(budget.amount());
            row.budget_cents = budget.cents();
        }
        row.status = to.as_str().to_owned();
        row.updated_at = Utc::now();
        let row = db::campaigns::save(&txn, row).await?;
        let entry = audit_row(&row, actor, action.name(), (Some(from), Some(to)), details)?;
        db::campaigns::insert_audit(&txn, entry).await?;
        let stored = db::campaigns::keywords_of(&txn, &[id.0]).await?;
        txn.commit().await?;
        campaign_of(row, stored)
    }

    /// One page of the campaign's audit trail, newest first (for those who may edit it).
    pub async fn audit(
        &self,
        actor: &Actor,
        id: CampaignId,
        page: PageQuery,
    ) -> ApiResult<Page<AuditEntry>> {
        actor.require(CAMPAIGNS_UPDATE)?;
        let paging = page.paging()?;
        if !db::campaigns::exists(&self.db, id.0).await? {
            return Err(not_found());
        }
        let (rows, total) = db::campaigns::audit_of(&self.db, id.0, paging).await?;
        let entries = rows
            .into_iter()
            .map(AuditEntry::try_from)
            .collect::<ApiResult<_>>()?;
        Ok(paging.page(entries, total))
    }

    /// The campaign, for War Room's own processes (`None`: no such campaign).
    pub async fn find(&self, id: CampaignId) -> ApiResult<Option<Campaign>> {
        let Some((row, keywords)) = db::campaigns::find_with_keywords(&self.db, id.0).await? else {
            return Ok(None);
        };
        campaign_of(row, keywords).map(Some)
    }

    pub async fn exists(&self, id: CampaignId) -> ApiResult<bool> {
        Ok(db::campaigns::exists(&self.db, id.0).await?)
    }

    /// 404 "Campaign not found" unless the campaign exists.
    pub async fn check_exists(&self, id: CampaignId) -> ApiResult<()> {
        if self.exists(id).await? {
            Ok(())
        } else {
            Err(not_found())
        }
    }

    /// The campaign's keywords in their order (empty for an unknown campaign).
    pub async fn keywords(&self, id: CampaignId) -> ApiResult<Vec<Keyword>> {
        let rows = db::campaigns::keywords_of(&self.db, &[id.0]).await?;
        Ok(rows.into_iter().map(Keyword::from).collect())
    }

    /// The ids of the active campaigns (what monitoring polls), oldest first.
    pub async fn active_ids(&self) -> ApiResult<Vec<CampaignId>> {
        let ids = db::campaigns::ids_with_status(&self.db, CampaignStatus::Active).await?;
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
        Ok(db::campaigns::set_metrics(&self.db, id.0, to_json(metrics)?).await?)
    }
}

fn status_via_actions() -> ApiError {
    ApiError::validation(vec![field(
        "status",
        "is changed with POST /api/v1/campaigns/{id}/actions, not by editing",
    )])
}

fn to_json<T: Serialize>(v: &T) -> ApiResult<Value> {
    serde_json::to_value(v).map_err(ApiError::internal)
}

/// A new campaign's keyword rows, in order.
fn keyword_rows(campaign_id: Uuid, keywords: &[Keyword]) -> Vec<KeywordRow> {
    keywords
        .iter()
        .zip(0..)
        .map(|(k, position)| KeywordRow {
            id: Uuid::now_v7(),
            campaign_id,
            keyword: k.keyword.clone(),
            weight: k.weight,
            position,
        })
        .collect()
}

fn keyword_pairs(keywords: &[Keyword]) -> Vec<(String, f64)> {
    keywords
        .iter()
        .map(|k| (k.keyword.clone(), k.weight))
        .collect()
}

/// The audit row of a change to `campaign` by `actor`, from one status to another.
fn audit_row(
    campaign: &CampaignRow,
    actor: &Actor,
    action: &str,
    (from, to): (Option<CampaignStatus>, Option<CampaignStatus>),
    mut details: AuditDetails,
) -> ApiResult<AuditRow> {
    details.impersonator_id = actor.impersonator;
    Ok(AuditRow {
        id: Uuid::now_v7(),
        campaign_id: campaign.id,
        actor_id: Some(actor.id),
        action: action.to_owned(),
        from_status: from.map(|s| s.as_str().to_owned()),
        to_status: to.map(|s| s.as_str().to_owned()),
        details: details.non_empty().as_ref().map(to_json).transpose()?,
        created_at: campaign.updated_at,
    })
}
