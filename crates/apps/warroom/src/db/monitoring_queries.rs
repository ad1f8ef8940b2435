//! Every query monitoring runs on `monitoring_configs` and `mentions` (the entities are in
//! `db::monitoring`): configs for the API and the scheduler, ingestion's idempotent batch
//! insert, and the counts `/monitoring/status` and `/monitoring/metrics` report.
//!
//! Timestamps written here are truncated to microseconds (what PostgreSQL keeps), so a value
//! read back equals the one written and the scheduler's compare-and-set on `next_poll_at`
//! matches on both backends.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Alias, Expr, ExprTrait, Func, OnConflict},
};
use uuid::Uuid;

use super::monitoring::{config, mention};

pub type ConfigRow = config::Model;
pub type MentionRow = mention::Model;

pub const ACTIVE: &str = "active";
pub const STOPPED: &str = "stopped";

/// Rows per `INSERT`: 19 columns each keeps a statement far below SQLite's and PostgreSQL's
/// bind-parameter limits.
const INSERT_CHUNK: usize = 500;

pub async fn insert_config(
    conn: &impl ConnectionTrait,
    row: ConfigRow,
) -> Result<ConfigRow, DbErr> {
    row.into_active_model().reset_all().insert(conn).await
}

pub async fn find_config(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<ConfigRow>, DbErr> {
    config::Entity::find_by_id(id).one(conn).await
}

/// The id of the campaign's active config, if it has one.
pub async fn active_config_of(
    conn: &impl ConnectionTrait,
    campaign_id: Uuid,
) -> Result<Option<Uuid>, DbErr> {
    config::Entity::find()
        .select_only()
        .column(config::Column::Id)
        .filter(config::Column::CampaignId.eq(campaign_id))
        .filter(config::Column::Status.eq(ACTIVE))
        .into_tuple()
        .one(conn)
        .await
}

/// One page of configs, newest first, narrowed by campaign and status; and the total.
pub async fn list_configs(
    conn: &impl ConnectionTrait,
    campaign_id: Option<Uuid>,
    status: Option<&str>,
    page: u64,
    limit: u64,
) -> Result<(Vec<ConfigRow>, u64), DbErr> {
    let mut cond = Condition::all();
    if let Some(c) = campaign_id {
        cond = cond.add(config::Column::CampaignId.eq(c));
    }
    if let Some(s) = status {
        cond = cond.add(config::Column::Status.eq(s));
    }
    let q = config::Entity::find().filter(cond);
    let total = q.clone().count(conn).await?;
    let rows = q
        .order_by_desc(config::Column::CreatedAt)
        .order_by_desc(config::Column::Id)
        .offset(page.saturating_sub(1) * limit)
        .limit(limit)
        .all(conn)
        .await?;
    Ok((rows, total))
}

/// The editable part of a config, written by `PUT`.
#[derive(Clone, Debug)]
pub struct ConfigTerms {
    pub keywords: serde_json::Value,
    pub competitors: serde_json::Value,
    pub influencers: serde_json::Value,
    pub platforms: serde_json::Value,
    pub alert_thresholds: serde_json::Value,
    pub refresh_interval: i32,
}

/// Writes `terms` (only those columns, so a poll's counters written meanwhile survive) and
/// the next poll time; false when there is no such config.
pub async fn update_terms(
    conn: &impl ConnectionTrait,
    id: Uuid,
    terms: ConfigTerms,
    next_poll_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let res = config::Entity::update_many()
        .col_expr(config::Column::Keywords, Expr::value(terms.keywords))
        .col_expr(config::Column::Competitors, Expr::value(terms.competitors))
        .col_expr(config::Column::Influencers, Expr::value(terms.influencers))
        .col_expr(config::Column::Platforms, Expr::value(terms.platforms))
        .col_expr(
            config::Column::AlertThresholds,
            Expr::value(terms.alert_thresholds),
        )
        .col_expr(
            config::Column::RefreshInterval,
            Expr::value(terms.refresh_interval),
        )
        .col_expr(config::Column::NextPollAt, Expr::value(next_poll_at))
        .col_expr(config::Column::UpdatedAt, Expr::value(now))
        .filter(config::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(res.rows_affected > 0)
}

/// `active` → `stopped`; false when it was not active (or does not exist).
pub async fn stop(
    conn: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let res = config::Entity::update_many()
        .col_expr(config::Column::Status, Expr::value(STOPPED))
        .col_expr(config::Column::StoppedAt, Expr::value(now))
        .col_expr(config::Column::UpdatedAt, Expr::value(now))
        .filter(config::Column::Id.eq(id))
        .filter(config::Column::Status.eq(ACTIVE))
        .exec(conn)
        .await?;
    Ok(res.rows_affected > 0)
}

/// `stopped` → `active`, due at once; false when it was not stopped. Fails with a unique
/// violation on [`super::migrations::ONE_ACTIVE_CONFIG_INDEX`] when the campaign already has
/// another active config.
pub async fn start(
    conn: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let res = config::Entity::update_many()
        .col_expr(config::Column::Status, Expr::value(ACTIVE))
        .col_expr(
            config::Column::StoppedAt,
            Expr::value(None::<DateTime<Utc>>),
        )
        .col_expr(config::Column::NextPollAt, Expr::value(now))
        .col_expr(config::Column::UpdatedAt, Expr::value(now))
        .filter(config::Column::Id.eq(id))
        .filter(config::Column::Status.eq(STOPPED))
        .exec(conn)
        .await?;
    Ok(res.rows_affected > 0)
}

/// A config whose poll is due: its id, the `next_poll_at` seen, and its interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DuePoll {
    pub config_id: Uuid,
    pub due_at: DateTime<Utc>,
    pub refresh_interval: i32,
}

/// Active configs with `next_poll_at <= now`, most overdue first, at most `limit`.
pub async fn due_polls(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<DuePoll>, DbErr> {
    let rows: Vec<(Uuid, DateTime<Utc>, i32)> = config::Entity::find()
        .select_only()
        .column(config::Column::Id)
        .column(config::Column::NextPollAt)
        .column(config::Column::RefreshInterval)
        .filter(config::Column::Status.eq(ACTIVE))
        .filter(config::Column::NextPollAt.lte(now))
        .order_by_asc(config::Column::NextPollAt)
        .order_by_asc(config::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(config_id, due_at, refresh_interval)| DuePoll {
            config_id,
            due_at,
            refresh_interval,
        })
        .collect())
}

/// Moves `next_poll_at` from `seen` to `next`; false when someone moved it first.
pub async fn advance_next_poll(
    conn: &impl ConnectionTrait,
    id: Uuid,
    seen: DateTime<Utc>,
    next: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let res = config::Entity::update_many()
        .col_expr(config::Column::NextPollAt, Expr::value(next))
        .filter(config::Column::Id.eq(id))
        .filter(config::Column::NextPollAt.eq(seen))
        .exec(conn)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Makes an active config due at `now`; false when it is not active.
pub async fn make_due(
    conn: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let res = config::Entity::update_many()
        .col_expr(config::Column::NextPollAt, Expr::value(now))
        .filter(config::Column::Id.eq(id))
        .filter(config::Column::Status.eq(ACTIVE))
        .exec(conn)
        .await?;
    Ok(res.rows_affected > 0)
}

/// A poll that reached its source: counts `added`, clears `last_error`, and moves
/// `polled_until` forward to `until` (never back: two overlapping polls leave the later end).
pub async fn record_poll(
    conn: &impl ConnectionTrait,
    id: Uuid,
    until: DateTime<Utc>,
    at: DateTime<Utc>,
    added: u64,
) -> Result<(), DbErr> {
    let added = i64::try_from(added).unwrap_or(i64::MAX);
    config::Entity::update_many()
        .col_expr(
            config::Column::MentionsIngested,
            Expr::col(config::Column::MentionsIngested).add(added),
        )
        .col_expr(config::Column::LastPolledAt, Expr::value(at))
        .col_expr(config::Column::LastError, Expr::value(None::<String>))
        .filter(config::Column::Id.eq(id))
        .exec(conn)
        .await?;
    config::Entity::update_many()
        .col_expr(config::Column::PolledUntil, Expr::value(until))
        .filter(config::Column::Id.eq(id))
        .filter(
            Condition::any()
                .add(config::Column::PolledUntil.is_null())
                .add(config::Column::PolledUntil.lt(until)),
        )
        .exec(conn)
        .await?;
    Ok(())
}

/// A poll that failed: why, and when.
pub async fn record_poll_error(
    conn: &impl ConnectionTrait,
    id: Uuid,
    at: DateTime<Utc>,
    message: &str,
) -> Result<(), DbErr> {
    config::Entity::update_many()
        .col_expr(config::Column::LastPolledAt, Expr::value(at))
        .col_expr(config::Column::LastError, Expr::value(message))
        .filter(config::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Configs with `status`, oldest first, at most `limit`; and how many there are.
pub async fn configs_with_status(
    conn: &impl ConnectionTrait,
    status: &str,
    limit: u64,
) -> Result<(Vec<ConfigRow>, u64), DbErr> {
    let q = config::Entity::find().filter(config::Column::Status.eq(status));
    let total = q.clone().count(conn).await?;
    let rows = q
        .order_by_asc(config::Column::CreatedAt)
        .order_by_asc(config::Column::Id)
        .limit(limit)
        .all(conn)
        .await?;
    Ok((rows, total))
}

/// Stores the mentions not stored yet (unique on `(campaign_id, source_id)`: `ON CONFLICT DO
/// NOTHING` on both backends) and returns exactly those, in `rows`' order. A concurrent poll
/// of the same window stores each mention once, and each is returned to one of them.
pub async fn insert_mentions(
    conn: &impl ConnectionTrait,
    rows: Vec<MentionRow>,
) -> Result<Vec<MentionRow>, DbErr> {
    let mut inserted = Vec::with_capacity(rows.len());
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<mention::ActiveModel> = rows
            .by_ref()
            .take(INSERT_CHUNK)
            .map(|r| r.into_active_model().reset_all())
            .collect();
        let stored = mention::Entity::insert_many(chunk)
            .on_conflict(
                OnConflict::columns([mention::Column::CampaignId, mention::Column::SourceId])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_with_returning(conn)
            .await?;
        inserted.extend(stored);
    }
    Ok(inserted)
}

/// Counts and sums over a set of mentions.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MentionTotals {
    pub mentions: u64,
    /// `None` when there are no mentions.
    pub average_sentiment: Option<f64>,
    pub reach: i64,
    pub engagement: i64,
}

/// `(count, average sentiment, reach, engagement)`; the aggregates are NULL without rows.
type TotalsRow = (i64, Option<f64>, Option<i64>, Option<i64>);

/// The mentions published in `(since, ..]`, of one campaign or of all.
pub async fn mention_totals(
    conn: &impl ConnectionTrait,
    campaign_id: Option<Uuid>,
    since: DateTime<Utc>,
) -> Result<MentionTotals, DbErr> {
    let mut q = mention::Entity::find()
        .select_only()
        .column_as(mention::Column::Id.count(), "n")
        .column_as(
            Expr::from(Func::cast_as(
                Func::avg(Expr::col(mention::Column::Sentiment)),
                Alias::new("DOUBLE PRECISION"),
            )),
            "avg_sentiment",
        )
        .column_as(
            Expr::from(Func::cast_as(
                Func::sum(Expr::col(mention::Column::Reach)),
                Alias::new("BIGINT"),
            )),
            "reach",
        )
        .column_as(
            Expr::from(Func::cast_as(
                Func::sum(Expr::col(mention::Column::Engagement)),
                Alias::new("BIGINT"),
            )),
            "engagement",
        )
        .filter(mention::Column::Timestamp.gt(since));
    if let Some(c) = campaign_id {
        q = q.filter(mention::Column::CampaignId.eq(c));
    }
    let row: Option<TotalsRow> = q.into_tuple().one(conn).await?;
    let (n, average_sentiment, reach, engagement) = row.unwrap_or((0, None, None, None));
    Ok(MentionTotals {
        mentions: u64::try_from(n).unwrap_or(0),
        average_sentiment: average_sentiment.filter(|_| n > 0),
        reach: reach.unwrap_or(0),
        engagement: engagement.unwrap_or(0),
    })
}

/// How many mentions were stored since `since` (by `ingested_at`), across campaigns.
pub async fn ingested_since(
    conn: &impl ConnectionTrait,
    since: DateTime<Utc>,
) -> Result<u64, DbErr> {
    mention::Entity::find()
        .filter(mention::Column::IngestedAt.gt(since))
        .count(conn)
        .await
}
