//! Leads (seed 004 "Lead Management Endpoints"): list, create, read and update the caller's
//! organization's leads. Every lead is scored on write (`domain::scoring`); every change
//! writes its `lead_interactions` entry in the same transaction, and a status change enqueues
//! the mail that tells the lead's owner (`NOTIFY_STATUS`, run by LeadGen's job worker).

use chrono::{DateTime, SubsecRound, Utc};
use platform::{
    ApiError,
    error::{ApiResult, ErrorDetails},
    jobs::{JobContext, JobError, JobHandler, NewJob},
    keyset::Cursor,
    validate::{Page, Paging, field},
};
use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    Ctx,
    db::{
        leads::{self as db, InteractionRow, LeadRow},
        organizations,
    },
    domain::{
        leads::{
            Change, Contact, Interaction, Lead, LeadCursor, LeadPatch, LeadQuery, LeadSort,
            LeadStatus, LeadWithTimeline, NewLead, not_found, search_text,
        },
        scoring,
    },
    service::{
        access::{LEADS_CREATE, LEADS_READ, LEADS_UPDATE},
        member::Member,
    },
};

/// The job kind that mails a lead's owner about a status change.
pub const NOTIFY_STATUS: &str = "leadgen.lead_status_changed";

/// The most timeline entries `GET /api/leads/{id}` answers (newest first).
pub const TIMELINE_MAX: u64 = 100;

/// The leads of the caller's organization.
#[derive(Clone)]
pub struct Leads {
    db: DatabaseConnection,
    writer: DatabaseConnection,
    jobs: platform::jobs::Jobs,
}

impl Ctx {
    pub fn leads(&self) -> Leads {
        Leads {
            db: self.db.clone(),
            writer: self.writer.clone(),
            jobs: self.jobs.clone(),
        }
    }
}

/// The time now, to the microsecond (what PostgreSQL keeps, so a time answered is the time a
/// cursor made from it finds again).
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// A write transaction: `IMMEDIATE` on SQLite, so read-check-write cannot interleave.
async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let opts = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    };
    db.begin_with_options(opts).await
}

/// 409 `already_exists` naming the organization's lead that holds the address.
fn duplicate(lead_id: Uuid) -> ApiError {
    let mut ids = std::collections::BTreeMap::new();
    ids.insert("leadId".to_owned(), lead_id);
    ApiError::conflict("a lead with this email already exists in your organization")
        .with_details(ErrorDetails::Conflicts(ids))
}

fn to_json(v: &impl Serialize) -> ApiResult<Value> {
    serde_json::to_value(v).map_err(ApiError::internal)
}

fn contact_of(row: &LeadRow) -> Contact {
    Contact {
        name: row.name.clone(),
        title: row.title.clone(),
        company: row.company.clone(),
        website: row.website.clone(),
        phone: row.phone.clone(),
        location: row.location.clone(),
        industry: row.industry.clone(),
    }
}

/// Scores the row from its own fields and stores the score on it.
fn rescore(row: &mut LeadRow) -> ApiResult<()> {
    let status = LeadStatus::parse(&row.status)
        .ok_or_else(|| ApiError::internal(format!("lead {}: stored status unreadable", row.id)))?;
    let contact = contact_of(row);
    let score = scoring::score(&row.email, &contact, status);
    row.score = score.value;
    row.score_factors = to_json(&score.factors)?;
    row.search_text = search_text(&row.email, &contact);
    Ok(())
}

fn interaction(
    lead: &LeadRow,
    actor: &Member,
    kind: &str,
    changes: &[Change],
    note: Option<String>,
    at: DateTime<Utc>,
) -> ApiResult<InteractionRow> {
    Ok(InteractionRow {
        id: Uuid::now_v7(),
        lead_id: lead.id,
        organization_id: lead.organization_id,
        actor_id: Some(actor.id),
        kind: kind.to_owned(),
        changes: to_json(&changes)?,
        note,
        created_at: at,
    })
}

/// The stored row of a new lead of `member`'s organization, owned by them and scored.
pub fn new_row(member: &Member, input: NewLead, at: DateTime<Utc>) -> ApiResult<LeadRow> {
    let c = input.contact;
    let mut row = LeadRow {
        id: Uuid::now_v7(),
        organization_id: member.organization_id,
        owner_id: Some(member.id),
        created_by: Some(member.id),
        email: input.email,
        name: c.name,
        title: c.title,
        company: c.company,
        website: c.website,
        phone: c.phone,
        location: c.location,
        industry: c.industry,
        status: input.status.as_str().to_owned(),
        source: input.source.as_str().to_owned(),
        tags: to_json(&input.tags)?,
        notes: input.notes,
        score: 0,
        score_factors: Value::Array(Vec::new()),
        search_text: String::new(),
        created_at: at,
        updated_at: at,
    };
    rescore(&mut row)?;
    Ok(row)
}

/// What the status mail's job carries.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusChanged {
    pub lead_id: Uuid,
    pub owner_id: Uuid,
    pub actor_id: Uuid,
    pub lead_email: String,
    pub lead_name: Option<String>,
    pub from: LeadStatus,
    pub to: LeadStatus,
}

impl Leads {
    /// One page of the organization's leads, filtered and sorted as `query` says.
    pub async fn list(
        &self,
        member: &Member,
        query: impl TryInto<LeadQuery, Error = ApiError>,
    ) -> ApiResult<Page<Lead>> {
        let q = member.admit(LEADS_READ, query)?;
        let (rows, total, more) = db::list(&self.db, member.organization_id, &q).await?;
        let next = rows.last().filter(|_| more).map(|last| {
            let at = |t: DateTime<Utc>| LeadCursor::Time(Cursor::after(t, last.id));
            let cursor = match q.sort {
                LeadSort::CreatedAt { .. } => at(last.created_at),
                LeadSort::UpdatedAt { .. } => at(last.updated_at),
                LeadSort::Score { .. } => LeadCursor::Score {
                    score: last.score,
                    id: last.id,
                },
            };
            cursor.encode(q.sort)
        });
        let leads = rows
            .into_iter()
            .map(Lead::try_from)
            .collect::<ApiResult<Vec<_>>>()?;
        let mut page = Paging::new(q.page, q.limit).page(leads, total);
        if q.cursor.is_some() {
            page.page = 0;
        }
        page.next_cursor = next;
        Ok(page)
    }

    /// A new lead of the organization, owned by its creator and scored; an address the
    /// organization already has is 409 naming that lead.
    pub async fn create(
        &self,
        member: &Member,
        input: impl TryInto<NewLead, Error = ApiError>,
    ) -> ApiResult<Lead> {
        let input = member.admit(LEADS_CREATE, input)?;
        let at = now();
        let tags = input.tags.clone();
        let row = new_row(member, input, at)?;
        let entry = interaction(&row, member, "created", &[], None, at)?;
        let txn = begin_write(&self.writer).await?;
        if let Some(existing) = db::id_by_email(&txn, member.organization_id, &row.email).await? {
            return Err(duplicate(existing));
        }
        match db::insert(&txn, row.clone(), &tags).await {
            // A concurrent create of the same address won the unique index.
            Err(e) if platform::db::is_unique_violation(&e) => {
                drop(txn);
                let existing = db::id_by_email(&self.db, member.organization_id, &row.email)
                    .await?
                    .ok_or_else(|| ApiError::internal(e))?;
                return Err(duplicate(existing));
            }
            done => done?,
        }
        db::insert_interaction(&txn, entry).await?;
        txn.commit().await?;
        Lead::try_from(row)
    }

    /// The organization's lead and its latest timeline entries; 404 for any other id.
    pub async fn get(&self, member: &Member, id: Uuid) -> ApiResult<LeadWithTimeline> {
        member.require(LEADS_READ)?;
        let row = db::find(&self.db, member.organization_id, id)
            .await?
            .ok_or_else(not_found)?;
        let timeline = db::timeline(&self.db, id, TIMELINE_MAX)
            .await?
            .into_iter()
            .map(Interaction::try_from)
            .collect::<ApiResult<_>>()?;
        Ok(LeadWithTimeline {
            lead: Lead::try_from(row)?,
            timeline,
        })
    }

    /// Applies `patch` to the organization's lead, rescores it, and records what changed
    /// (field, before, after) with who changed it; a status change also mails the owner.
    /// Nothing changed and no note: the lead as it is, nothing recorded.
    pub async fn update(
        &self,
        member: &Member,
        id: Uuid,
        patch: impl TryInto<LeadPatch, Error = ApiError>,
    ) -> ApiResult<Lead> {
        let patch = member.admit(LEADS_UPDATE, patch)?;
        let txn = begin_write(&self.writer).await?;
        let before = db::find_for_update(&txn, member.organization_id, id)
            .await?
            .ok_or_else(not_found)?;
        if let Some(owner) = patch.owner_id
            && organizations::id_of_user(&txn, owner).await? != Some(member.organization_id)
        {
            return Err(ApiError::validation(vec![field(
                "ownerId",
                "must be a member of your organization",
            )]));
        }
        let mut row = before.clone();
        let mut changes = Vec::new();
        apply(&mut row, &patch, &mut changes)?;
        if changes.is_empty() && patch.note.is_none() {
            return Lead::try_from(before);
        }
        if let Some(email) = &patch.email
            && *email != before.email
            && let Some(holder) = db::id_by_email(&txn, member.organization_id, email).await?
        {
            return Err(duplicate(holder));
        }
        let at = now();
        let status_change = patch
            .status
            .filter(|s| s.as_str() != before.status)
            .map(|to| (LeadStatus::parse(&before.status), to));
        let kind = match (&status_change, changes.is_empty()) {
            (Some(_), _) => "status_changed",
            (None, false) => "updated",
            (None, true) => "note",
        };
        if !changes.is_empty() {
            rescore(&mut row)?;
            row.updated_at = at;
            if let Some(tags) = &patch.tags {
                db::replace_tags(&txn, id, member.organization_id, tags).await?;
            }
            row = match db::save(&txn, row).await {
                Err(e) if platform::db::is_unique_violation(&e) => {
                    return Err(ApiError::conflict(
                        "a lead with this email already exists in your organization",
                    ));
                }
                saved => saved?,
            };
        }
        let entry = interaction(&row, member, kind, &changes, patch.note.clone(), at)?;
        db::insert_interaction(&txn, entry).await?;
        let mut notify = false;
        if let (Some((Some(from), to)), Some(owner)) = (status_change, row.owner_id) {
            let payload = StatusChanged {
                lead_id: row.id,
                owner_id: owner,
                actor_id: member.id,
                lead_email: row.email.clone(),
                lead_name: row.name.clone(),
                from,
                to,
            };
            let job = NewJob::new(NOTIFY_STATUS, &payload).map_err(ApiError::internal)?;
            self.jobs.enqueue_in(&txn, job).await?;
            notify = true;
        }
        txn.commit().await?;
        if notify {
            self.jobs.wake();
        }
        Lead::try_from(row)
    }
}

/// Applies the patch's fields to `row`, recording each one that differs.
fn apply(row: &mut LeadRow, p: &LeadPatch, changes: &mut Vec<Change>) -> ApiResult<()> {
    fn set<T: PartialEq + Clone + Serialize>(
        name: &str,
        slot: &mut T,
        new: Option<&T>,
        changes: &mut Vec<Change>,
    ) -> ApiResult<()> {
        if let Some(new) = new
            && slot != new
        {
            changes.push(Change {
                field: name.to_owned(),
                from: to_json(slot)?,
                to: to_json(new)?,
            });
            *slot = new.clone();
        }
        Ok(())
    }
    set("email", &mut row.email, p.email.as_ref(), changes)?;
    set("name", &mut row.name, p.name.as_ref(), changes)?;
    set("title", &mut row.title, p.title.as_ref(), changes)?;
    set("company", &mut row.company, p.company.as_ref(), changes)?;
    set("website", &mut row.website, p.website.as_ref(), changes)?;
    set("phone", &mut row.phone, p.phone.as_ref(), changes)?;
    set("location", &mut row.location, p.location.as_ref(), changes)?;
    set("industry", &mut row.industry, p.industry.as_ref(), changes)?;
    let status = p.status.map(|s| s.as_str().to_owned());
    set("status", &mut row.status, status.as_ref(), changes)?;
    let source = p.source.map(|s| s.as_str().to_owned());
    set("source", &mut row.source, source.as_ref(), changes)?;
    let tags = p.tags.as_ref().map(|t| json!(t));
    set("tags", &mut row.tags, tags.as_ref(), changes)?;
    set("notes", &mut row.notes, p.notes.as_ref(), changes)?;
    let owner = p.owner_id.map(Some);
    set("ownerId", &mut row.owner_id, owner.as_ref(), changes)?;
    Ok(())
}

/// Runs `NOTIFY_STATUS`: mails the lead's owner which lead changed status, from what to what,
/// and who changed it. An owner whose account is gone has nobody to tell: done.
pub struct NotifyStatus {
    ctx: Ctx,
}

impl NotifyStatus {
    pub fn new(ctx: Ctx) -> Self {
        Self { ctx }
    }
}

#[async_trait::async_trait]
impl JobHandler for NotifyStatus {
    async fn run(&self, job: &JobContext) -> Result<(), JobError> {
        let p: StatusChanged = job.payload()?;
        let Some(owner) = self.ctx.identity.user(p.owner_id).await? else {
            return Ok(());
        };
        let actor = match self.ctx.identity.user(p.actor_id).await? {
            Some(u) if u.id == owner.id => "You".to_owned(),
            Some(u) => format!("{} ({})", u.name, u.email),
            None => "A former member".to_owned(),
        };
        let who = p.lead_name.as_deref().unwrap_or(&p.lead_email);
        let subject = format!("Lead {who} is now {}", p.to.as_str());
        let body = format!(
            "{actor} changed the status of your lead {who} <{}> from {} to {}.\n\nLead id: {}\n",
            p.lead_email,
            p.from.as_str(),
            p.to.as_str(),
            p.lead_id
        );
        self.ctx
            .identity
            .mailer
            .send(&owner.email, &subject, &body)
            .await
            .map_err(|e| JobError::retry(e.message))
    }
}
