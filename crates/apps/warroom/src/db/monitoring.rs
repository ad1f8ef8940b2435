//! Seed 001 `MonitoringConfig` (`monitoring_configs`) and `mentions`: the entities, every query
//! monitoring runs on them (configs for the API and the scheduler, ingestion's idempotent batch
//! insert, the counts `/monitoring/status` and `/monitoring/metrics` report), and how their
//! rows read as `MonitoringConfigView` and `MentionView`. The read endpoints' aggregates over
//! mentions are `db::analytics`.
//!
//! Timestamps written here are truncated to microseconds (what PostgreSQL keeps), so a value
//! read back equals the one written and the scheduler's compare-and-set on `next_poll_at`
//! matches on both backends.

use chrono::{DateTime, Utc};
use platform::validate::Paging;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Alias, Expr, ExprTrait, Func, OnConflict},
};
use uuid::Uuid;

use crate::domain::{
    monitoring::{ConfigStatus, MentionView, MonitoringConfigView},
    sentiment,
};

pub mod config {
    //! The `monitoring_configs` table (seed 001 `MonitoringConfig`).

    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "monitoring_configs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub campaign_id: Uuid,
        /// JSON arrays of strings: the seed's `keywords`, `competitors`, `influencers`,
        /// `platforms`.
        pub keywords: Json,
        pub competitors: Json,
        pub influencers: Json,
        pub platforms: Json,
        /// Seed 001 `AlertThresholds`, as its camelCase JSON.
        pub alert_thresholds: Json,
        /// Seconds between polls (the seed's `refreshInterval`).
        pub refresh_interval: i32,
        /// `active` or `stopped`.
        pub status: String,
        pub created_by: Option<Uuid>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub stopped_at: Option<DateTimeUtc>,
        /// Mentions up to this instant have been fetched; the next poll asks for later ones.
        pub polled_until: Option<DateTimeUtc>,
        /// When the next poll is due.
        pub next_poll_at: DateTimeUtc,
        pub last_polled_at: Option<DateTimeUtc>,
        /// Why the last poll failed, if it did (shown in `/monitoring/status`).
        pub last_error: Option<String>,
        pub mentions_ingested: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod mention {
    //! The `mentions` table (seed 001).

    use sea_orm::entity::prelude::*;

    /// Seed 001 `mentions`, plus where it came from: `source_id` (unique per campaign: the
    /// deduplication key), `config_id`, `matched` (the keyword or competitor it matched) and
    /// `sentiment_source` (`source` when the vendor scored it, `vader` when we did).
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "mentions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub campaign_id: Uuid,
        pub config_id: Option<Uuid>,
        pub source_id: String,
        pub text: String,
        pub author: String,
        pub platform: String,
        pub url: String,
        /// -1.0 to 1.0.
        pub sentiment: f64,
        pub sentiment_source: String,
        pub reach: i64,
        pub engagement: i64,
        pub timestamp: DateTimeUtc,
        pub location: Option<String>,
        pub language: String,
        pub matched: Option<String>,
        pub ingested_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub type ConfigRow = config::Model;
pub type MentionRow = mention::Model;

const ACTIVE: &str = ConfigStatus::Active.as_str();
const STOPPED: &str = ConfigStatus::Stopped.as_str();

/// Rows per `INSERT`: 19 columns each keeps a statement far below SQLite's and PostgreSQL's
/// bind-parameter limits.
const INSERT_CHUNK: usize = 500;

impl From<ConfigRow> for MonitoringConfigView {
    /// The stored row as the wire shows it. JSON columns that cannot be read (only War Room
    /// writes them) fall back to empty lists and the seed's thresholds rather than failing: a
    /// config must keep being polled.
    fn from(row: ConfigRow) -> Self {
        let list = |v: &serde_json::Value| -> Vec<String> {
            serde_json::from_value(v.clone()).unwrap_or_default()
        };
        let status = ConfigStatus::parse(&row.status).unwrap_or(ConfigStatus::Stopped);
        Self {
            id: row.id,
            campaign_id: row.campaign_id,
            keywords: list(&row.keywords),
            competitors: list(&row.competitors),
            influencers: list(&row.influencers),
            platforms: list(&row.platforms),
            alert_thresholds: serde_json::from_value(row.alert_thresholds.clone())
                .unwrap_or_default(),
            refresh_interval: row.refresh_interval,
            status,
            created_by: row.created_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
            stopped_at: row.stopped_at,
            polled_until: row.polled_until,
            last_polled_at: row.last_polled_at,
            next_poll_at: (status == ConfigStatus::Active).then_some(row.next_poll_at),
            last_error: row.last_error,
            mentions_ingested: row.mentions_ingested,
        }
    }
}

impl From<MentionRow> for MentionView {
    fn from(m: MentionRow) -> Self {
        Self {
            id: m.id,
            campaign_id: m.campaign_id,
            source_id: m.source_id,
            sentiment_label: sentiment::label(m.sentiment),
            sentiment: m.sentiment,
            sentiment_source: m.sentiment_source,
            text: m.text,
            author: m.author,
            platform: m.platform,
            url: m.url,
            reach: m.reach,
            engagement: m.engagement,
            timestamp: m.timestamp,
            location: m.location,
            language: m.language,
            matched: m.matched,
        }
    }
}

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
    status: Option<ConfigStatus>,
    paging: Paging,
) -> Result<(Vec<ConfigRow>, u64), DbErr> {
    let mut cond = Condition::all();
    if let Some(c) = campaign_id {
        cond = cond.add(config::Column::CampaignId.eq(c));
    }
    if let Some(s) = status {
        cond = cond.add(config::Column::Status.eq(s.as_str()));
    }
    let q = config::Entity::find().filter(cond);
    let total = q.clone().count(conn).await?;
    let rows = q
        .order_by_desc(config::Column::CreatedAt)
        .order_by_desc(config::Column::Id)
        .offset(paging.offset())
        .limit(paging.limit)
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
        // One statement, so no reader sees the poll recorded with the old window end.
        .col_expr(
            config::Column::PolledUntil,
            Expr::case(
                Condition::any()
                    .add(config::Column::PolledUntil.is_null())
                    .add(config::Column::PolledUntil.lt(until)),
                Expr::value(until),
            )
            .finally(Expr::col(config::Column::PolledUntil))
            .into(),
        )
        .filter(config::Column::Id.eq(id))
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
    status: ConfigStatus,
    limit: u64,
) -> Result<(Vec<ConfigRow>, u64), DbErr> {
    let q = config::Entity::find().filter(config::Column::Status.eq(status.as_str()));
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
