//! Seed 001 `alerts`, and Basalt's `alert_deliveries`, `alert_episodes`, `crisis_contacts` and
//! `notification_preferences`: the entities and every query on them, plus the detector's read
//! of the `mentions` table. Rows come back as stored; `service::alerting` gives them meaning.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, OnConflict},
};
use uuid::Uuid;

use super::monitoring::mention;

pub mod alert {
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

pub mod delivery {
    use sea_orm::entity::prelude::*;

    /// One alert over one channel to one recipient: `queued`, `sent`, `delivered` (Twilio's
    /// status callback said so), `failed` (refused, or not configured) or `dead` (retries
    /// used up).
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "alert_deliveries")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub alert_id: Uuid,
        /// `sms`, `whatsapp`, `email` or `slack`.
        pub channel: String,
        /// E.164 number, email address, or `#crisis-room`.
        pub recipient: String,
        pub recipient_name: Option<String>,
        pub status: String,
        pub attempts: i32,
        /// Twilio's message sid.
        pub vendor_message_id: Option<String>,
        /// The last status Twilio reported (`delivered`, `undelivered`, ...).
        pub vendor_status: Option<String>,
        pub error: Option<String>,
        pub job_id: Option<Uuid>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub sent_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod episode {
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

pub mod contact {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "crisis_contacts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub campaign_id: Uuid,
        pub position: i32,
        pub name: String,
        pub phone: Option<String>,
        pub email: Option<String>,
        /// JSON array of `SMS`, `WHATSAPP`, `EMAIL`.
        pub channels: Json,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod preference {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "notification_preferences")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        pub sms: bool,
        pub whatsapp: bool,
        pub email: bool,
        pub slack: bool,
        pub push: bool,
        pub phone: Option<String>,
        pub min_severity: String,
        pub quiet_hours: Option<Json>,
        /// JSON array of campaign ids; NULL: every campaign.
        pub campaigns: Option<Json>,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub type AlertRow = alert::Model;
pub type DeliveryRow = delivery::Model;
pub type EpisodeRow = episode::Model;
pub type ContactRow = contact::Model;
pub type PreferenceRow = preference::Model;

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

/// What a list of alerts is narrowed to; every field narrows it.
#[derive(Clone, Debug, Default)]
pub struct AlertFilter<'a> {
    pub lifecycle: Option<&'a str>,
    pub status: Option<&'a str>,
    pub severity: Option<&'a str>,
    pub alert_type: Option<&'a str>,
    pub campaign_id: Option<Uuid>,
    pub unread: Option<bool>,
}

impl AlertFilter<'_> {
    fn condition(&self) -> Condition {
        let mut c = Condition::all();
        if let Some(v) = self.lifecycle {
            c = c.add(alert::Column::Lifecycle.eq(v));
        }
        if let Some(v) = self.status {
            c = c.add(alert::Column::Status.eq(v));
        }
        if let Some(v) = self.severity {
            c = c.add(alert::Column::Severity.eq(v));
        }
        if let Some(v) = self.alert_type {
            c = c.add(alert::Column::AlertType.eq(v));
        }
        if let Some(v) = self.campaign_id {
            c = c.add(alert::Column::CampaignId.eq(v));
        }
        match self.unread {
            Some(true) => c = c.add(alert::Column::ReadAt.is_null()),
            Some(false) => c = c.add(alert::Column::ReadAt.is_not_null()),
            None => {}
        }
        c
    }
}

/// One page of alerts, newest first; and how many match.
pub async fn list_alerts(
    conn: &impl ConnectionTrait,
    filter: &AlertFilter<'_>,
    page: u64,
    limit: u64,
) -> Result<(Vec<AlertRow>, u64), DbErr> {
    let q = alert::Entity::find().filter(filter.condition());
    let total = q.clone().count(conn).await?;
    let rows = q
        .order_by_desc(alert::Column::CreatedAt)
        .order_by_desc(alert::Column::Id)
        .offset((page - 1) * limit)
        .limit(limit)
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
        .filter(alert::Column::Lifecycle.eq("new"))
        .filter(
            Condition::any()
                .add(alert::Column::Status.is_in(["pending", "processing"]))
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

// ---- deliveries

/// Adds a delivery unless the alert already has one on that channel to that recipient;
/// true when it was added.
pub async fn insert_delivery(conn: &impl ConnectionTrait, row: DeliveryRow) -> Result<bool, DbErr> {
    let n = delivery::Entity::insert(row.into_active_model().reset_all())
        .on_conflict(
            OnConflict::columns([
                delivery::Column::AlertId,
                delivery::Column::Channel,
                delivery::Column::Recipient,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(n == 1)
}

pub async fn set_delivery_job(
    conn: &impl ConnectionTrait,
    id: Uuid,
    job_id: Uuid,
) -> Result<(), DbErr> {
    delivery::Entity::update_many()
        .col_expr(delivery::Column::JobId, Expr::value(job_id))
        .filter(delivery::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

pub async fn find_delivery(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<DeliveryRow>, DbErr> {
    delivery::Entity::find_by_id(id).one(conn).await
}

pub async fn save_delivery(
    conn: &impl ConnectionTrait,
    row: DeliveryRow,
) -> Result<DeliveryRow, DbErr> {
    row.into_active_model().reset_all().update(conn).await
}

/// An alert's deliveries in the order they were queued.
pub async fn deliveries_of(
    conn: &impl ConnectionTrait,
    alert_id: Uuid,
) -> Result<Vec<DeliveryRow>, DbErr> {
    delivery::Entity::find()
        .filter(delivery::Column::AlertId.eq(alert_id))
        .order_by_asc(delivery::Column::CreatedAt)
        .order_by_asc(delivery::Column::Id)
        .all(conn)
        .await
}

/// The delivery Twilio knows by `sid`.
pub async fn delivery_by_vendor_id(
    conn: &impl ConnectionTrait,
    sid: &str,
) -> Result<Option<DeliveryRow>, DbErr> {
    delivery::Entity::find()
        .filter(delivery::Column::VendorMessageId.eq(sid))
        .one(conn)
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

// ---- crisis contacts

pub async fn contacts_of(
    conn: &impl ConnectionTrait,
    campaign_id: Uuid,
) -> Result<Vec<ContactRow>, DbErr> {
    contact::Entity::find()
        .filter(contact::Column::CampaignId.eq(campaign_id))
        .order_by_asc(contact::Column::Position)
        .all(conn)
        .await
}

/// Sets a campaign's contacts to `rows`, in their order.
pub async fn replace_contacts(
    conn: &impl ConnectionTrait,
    campaign_id: Uuid,
    rows: Vec<ContactRow>,
) -> Result<(), DbErr> {
    contact::Entity::delete_many()
        .filter(contact::Column::CampaignId.eq(campaign_id))
        .exec(conn)
        .await?;
    if rows.is_empty() {
        return Ok(());
    }
    let rows = rows.into_iter().map(|r| r.into_active_model().reset_all());
    contact::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

// ---- notification preferences

pub async fn find_preferences(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<Option<PreferenceRow>, DbErr> {
    preference::Entity::find_by_id(user_id).one(conn).await
}

/// Inserts or replaces a user's preferences.
pub async fn save_preferences(
    conn: &impl ConnectionTrait,
    row: PreferenceRow,
) -> Result<(), DbErr> {
    use preference::Column as C;
    preference::Entity::insert(row.into_active_model().reset_all())
        .on_conflict(
            OnConflict::column(C::UserId)
                .update_columns([
                    C::Sms,
                    C::Whatsapp,
                    C::Email,
                    C::Slack,
                    C::Push,
                    C::Phone,
                    C::MinSeverity,
                    C::QuietHours,
                    C::Campaigns,
                    C::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Every user's preferences with at least one delivering channel on, with the account's
/// email address.
pub async fn opted_in(conn: &impl ConnectionTrait) -> Result<Vec<(PreferenceRow, String)>, DbErr> {
    use platform::identity::entities::user;
    let prefs = preference::Entity::find()
        .filter(
            Condition::any()
                .add(preference::Column::Sms.eq(true))
                .add(preference::Column::Whatsapp.eq(true))
                .add(preference::Column::Email.eq(true)),
        )
        .order_by_asc(preference::Column::UserId)
        .all(conn)
        .await?;
    if prefs.is_empty() {
        return Ok(Vec::new());
    }
    let emails: Vec<(Uuid, String)> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::Email)
        .filter(user::Column::Id.is_in(prefs.iter().map(|p| p.user_id)))
        .into_tuple()
        .all(conn)
        .await?;
    let emails: std::collections::HashMap<Uuid, String> = emails.into_iter().collect();
    Ok(prefs
        .into_iter()
        .filter_map(|p| emails.get(&p.user_id).cloned().map(|e| (p, e)))
        .collect())
}

// ---- the detector's read of mentions

/// One mention as the detector sees it: `(timestamp, sentiment, reach, engagement, platform)`.
pub type MentionSample = (DateTime<Utc>, f64, i64, i64, String);

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
) -> Result<Vec<MentionSample>, DbErr> {
    mention::Entity::find()
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
        .await
}
