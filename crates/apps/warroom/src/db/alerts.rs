//! Seed 001 `alerts` and Basalt's `alert_episodes` (the detector's breach episodes): the
//! entities, every query on them, how a stored alert reads as an `AlertView`, and the
//! detector's read of the `mentions` table. Deliveries are `db::deliveries`; crisis contacts
//! and preferences `db::notifications`.

use chrono::{DateTime, Utc};
use platform::ApiError;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, OnConflict},
};
use uuid::Uuid;

use super::{monitoring::mention, unreadable};
use crate::domain::{
    alerts::{
        AlertChannel, AlertQuery, AlertSource, AlertStatus, AlertType, AlertView, Lifecycle,
        Severity,
    },
    crisis::Sample,
};

pub mod alert {
    //! The `alerts` table (seed 001).

    use sea_orm::entity::prelude::*;

    /// Seed 001 `alerts`: `status` is the seed's delivery status (pending, processing, sent,
    /// partial, failed, skipped); `lifecycle` the alert center's (new, acknowledged, resolved,
    /// dismissed), with who moved it and when.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "alerts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub campaign_id: Option<Uuid>,
        #[sea_orm(column_name = "type")]
        pub alert_type: String,
        pub severity: String,
        pub title: String,
        pub message: String,
        pub data: Json,
        /// Seed 001 `AlertChannel[]`, as its JSON.
        pub channels: Json,
        pub status: String,
        pub lifecycle: String,
        /// `detector` or `manual`.
        pub source: String,
        pub raised_by: Option<Uuid>,
        pub episode_id: Option<Uuid>,
        pub read_at: Option<DateTimeUtc>,
        pub read_by: Option<Uuid>,
        pub acknowledged_at: Option<DateTimeUtc>,
        pub acknowledged_by: Option<Uuid>,
        pub resolved_at: Option<DateTimeUtc>,
        pub resolved_by: Option<Uuid>,
        pub dismissed_at: Option<DateTimeUtc>,
        pub dismissed_by: Option<Uuid>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        /// When the delivery status became final.
        pub processed_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod episode {
    //! The `alert_episodes` table: the detector's breach episodes.

    use sea_orm::entity::prelude::*;

    /// One breach episode of one alert type on one campaign.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "alert_episodes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub campaign_id: Uuid,
        #[sea_orm(column_name = "type")]
        pub alert_type: String,
        /// `<campaign>:<type>` while open, NULL once closed (unique).
        pub open_key: Option<String>,
        pub alert_id: Option<Uuid>,
        /// The metric's value when the episode opened.
        pub peak: f64,
        pub opened_at: DateTimeUtc,
        pub last_breach_at: DateTimeUtc,
        pub closed_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub type AlertRow = alert::Model;
pub type EpisodeRow = episode::Model;

impl TryFrom<AlertRow> for AlertView {
    type Error = ApiError;

    /// A stored row as the API shows it; a value War Room did not write is an error.
    fn try_from(r: AlertRow) -> Result<Self, ApiError> {
        let bad = |column: &str| unreadable("alert", r.id, column);
        let channels: Vec<AlertChannel> =
            serde_json::from_value(r.channels.clone()).map_err(|_| bad("channels"))?;
        Ok(Self {
            id: r.id,
            alert_type: AlertType::parse(&r.alert_type).ok_or_else(|| bad("type"))?,
            severity: Severity::parse(&r.severity).ok_or_else(|| bad("severity"))?,
            campaign_id: r.campaign_id,
            status: AlertStatus::parse(&r.status).ok_or_else(|| bad("status"))?,
            lifecycle: Lifecycle::parse(&r.lifecycle).ok_or_else(|| bad("lifecycle"))?,
            source: AlertSource::parse(&r.source).ok_or_else(|| bad("source"))?,
            title: r.title,
            message: r.message,
            data: r.data,
            channels,
            timestamp: r.created_at,
            raised_by: r.raised_by,
            read_at: r.read_at,
            read_by: r.read_by,
            acknowledged_at: r.acknowledged_at,
            acknowledged_by: r.acknowledged_by,
            resolved_at: r.resolved_at,
            resolved_by: r.resolved_by,
            dismissed_at: r.dismissed_at,
            dismissed_by: r.dismissed_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
            processed_at: r.processed_at,
        })
    }
}

// ---- alerts

pub async fn insert_alert(conn: &impl ConnectionTrait, row: AlertRow) -> Result<AlertRow, DbErr> {
    row.into_active_model().reset_all().insert(conn).await
}

/// Writes every column of `row` over the stored alert with its id.
pub async fn save_alert(conn: &impl ConnectionTrait, row: AlertRow) -> Result<AlertRow, DbErr> {
    row.into_active_model().reset_all().update(conn).await
}

pub async fn find_alert(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<AlertRow>, DbErr> {
    alert::Entity::find_by_id(id).one(conn).await
}

/// `find_alert`, locking the row until the transaction ends (`FOR UPDATE` on PostgreSQL;
/// SQLite write transactions are begun `IMMEDIATE` instead).
pub async fn find_alert_for_update(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<AlertRow>, DbErr> {
    alert::Entity::find_by_id(id)
        .lock_exclusive()
        .one(conn)
        .await
}

/// The condition of `q`: every filter given narrows it.
fn condition(q: &AlertQuery) -> Condition {
    let mut c = Condition::all();
    if let Some(v) = q.lifecycle {
        c = c.add(alert::Column::Lifecycle.eq(v.as_str()));
    }
    if let Some(v) = q.status {
        c = c.add(alert::Column::Status.eq(v.as_str()));
    }
    if let Some(v) = q.severity {
        c = c.add(alert::Column::Severity.eq(v.as_str()));
    }
    if let Some(v) = q.alert_type {
        c = c.add(alert::Column::AlertType.eq(v.as_str()));
    }
    if let Some(v) = q.campaign_id {
        c = c.add(alert::Column::CampaignId.eq(v));
    }
    match q.unread {
        Some(true) => c = c.add(alert::Column::ReadAt.is_null()),
        Some(false) => c = c.add(alert::Column::ReadAt.is_not_null()),
        None => {}
    }
    c
}

/// The query's page of alerts, newest first; and how many match.
pub async fn list_alerts(
    conn: &impl ConnectionTrait,
    q: &AlertQuery,
) -> Result<(Vec<AlertRow>, u64), DbErr> {
    let select = alert::Entity::find().filter(condition(q));
    let total = select.clone().count(conn).await?;
    let rows = select
        .order_by_desc(alert::Column::CreatedAt)
        .order_by_desc(alert::Column::Id)
        .offset(q.paging.offset())
        .limit(q.paging.limit)
        .all(conn)
        .await?;
    Ok((rows, total))
}

/// Alerts still `new` whose delivery is unfinished or that nobody has read, newest first.
pub async fn queue(
    conn: &impl ConnectionTrait,
    campaigns: Option<&[Uuid]>,
    limit: u64,
) -> Result<Vec<AlertRow>, DbErr> {
    let mut q = alert::Entity::find()
        .filter(alert::Column::Lifecycle.eq(Lifecycle::New.as_str()))
        .filter(
            Condition::any()
                .add(alert::Column::Status.is_in([
                    AlertStatus::Pending.as_str(),
                    AlertStatus::Processing.as_str(),
                ]))
                .add(alert::Column::ReadAt.is_null()),
        );
    if let Some(ids) = campaigns {
        q = q.filter(alert::Column::CampaignId.is_in(ids.iter().copied()));
    }
    q.order_by_desc(alert::Column::CreatedAt)
        .order_by_desc(alert::Column::Id)
        .limit(limit)
        .all(conn)
        .await
}

// ---- episodes

/// Closes `campaign_id`'s open episodes whose last breach was before `before`; returns how
/// many.
pub async fn close_quiet_episodes(
    conn: &impl ConnectionTrait,
    campaign_id: Uuid,
    before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let res = episode::Entity::update_many()
        .col_expr(episode::Column::OpenKey, Expr::value(None::<String>))
        .col_expr(episode::Column::ClosedAt, Expr::value(now))
        .filter(episode::Column::CampaignId.eq(campaign_id))
        .filter(episode::Column::OpenKey.is_not_null())
        .filter(episode::Column::LastBreachAt.lt(before))
        .exec(conn)
        .await?;
    Ok(res.rows_affected)
}

/// Opens an episode unless one with its `open_key` is open: `INSERT … ON CONFLICT (open_key)
/// DO NOTHING`, so of two concurrent evaluations exactly one opens it. True when this call
/// opened it.
pub async fn open_episode(conn: &impl ConnectionTrait, row: EpisodeRow) -> Result<bool, DbErr> {
    let n = episode::Entity::insert(row.into_active_model().reset_all())
        .on_conflict(
            OnConflict::column(episode::Column::OpenKey)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(n == 1)
}

pub async fn set_episode_alert(
    conn: &impl ConnectionTrait,
    id: Uuid,
    alert_id: Uuid,
) -> Result<(), DbErr> {
    episode::Entity::update_many()
        .col_expr(episode::Column::AlertId, Expr::value(alert_id))
        .filter(episode::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// True when an episode with `open_key` is open.
pub async fn episode_is_open(conn: &impl ConnectionTrait, open_key: &str) -> Result<bool, DbErr> {
    let n = episode::Entity::find()
        .filter(episode::Column::OpenKey.eq(open_key))
        .count(conn)
        .await?;
    Ok(n > 0)
}

/// Records a breach at `at` on the open episode `open_key` (never moving it back).
pub async fn touch_episode(
    conn: &impl ConnectionTrait,
    open_key: &str,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    episode::Entity::update_many()
        .col_expr(episode::Column::LastBreachAt, Expr::value(at))
        .filter(episode::Column::OpenKey.eq(open_key))
        .filter(episode::Column::LastBreachAt.lt(at))
        .exec(conn)
        .await?;
    Ok(())
}

/// Closes the open episode that raised `alert_id`, if it is still open.
pub async fn close_episode_of(
    conn: &impl ConnectionTrait,
    alert_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    episode::Entity::update_many()
        .col_expr(episode::Column::OpenKey, Expr::value(None::<String>))
        .col_expr(episode::Column::ClosedAt, Expr::value(now))
        .filter(episode::Column::AlertId.eq(alert_id))
        .filter(episode::Column::OpenKey.is_not_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// A campaign's episodes, newest first (tests and the console).
pub async fn episodes_of(
    conn: &impl ConnectionTrait,
    campaign_id: Uuid,
) -> Result<Vec<EpisodeRow>, DbErr> {
    episode::Entity::find()
        .filter(episode::Column::CampaignId.eq(campaign_id))
        .order_by_desc(episode::Column::OpenedAt)
        .all(conn)
        .await
}

// ---- the detector's read of mentions

/// The newest mention timestamp of a campaign.
pub async fn latest_mention_at(
    conn: &impl ConnectionTrait,
    campaign_id: Uuid,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    mention::Entity::find()
        .select_only()
        .column(mention::Column::Timestamp)
        .filter(mention::Column::CampaignId.eq(campaign_id))
        .order_by_desc(mention::Column::Timestamp)
        .limit(1)
        .into_tuple()
        .one(conn)
        .await
}

/// A campaign's mentions with `after < timestamp <= until`, oldest first.
pub async fn mention_samples(
    conn: &impl ConnectionTrait,
    campaign_id: Uuid,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<Sample>, DbErr> {
    let rows: Vec<(DateTime<Utc>, f64, i64, i64, String)> = mention::Entity::find()
        .select_only()
        .columns([
            mention::Column::Timestamp,
            mention::Column::Sentiment,
            mention::Column::Reach,
            mention::Column::Engagement,
            mention::Column::Platform,
        ])
        .filter(mention::Column::CampaignId.eq(campaign_id))
        .filter(mention::Column::Timestamp.gt(after))
        .filter(mention::Column::Timestamp.lte(until))
        .order_by_asc(mention::Column::Timestamp)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(at, sentiment, reach, engagement, platform)| Sample {
            at,
            sentiment,
            reach,
            engagement,
            platform,
        })
        .collect())
}
