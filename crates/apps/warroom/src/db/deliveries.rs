//! Basalt's `alert_deliveries`: one row per alert, channel and recipient, the entity, every
//! query on it, and how a stored delivery reads as a `DeliveryView`.

use platform::ApiError;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder,
    sea_query::{Expr, OnConflict},
};
use uuid::Uuid;

use super::unreadable;
use crate::domain::{
    alerts::ChannelType,
    deliveries::{DeliveryState, DeliveryView},
};

pub mod delivery {
    //! The `alert_deliveries` table.

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

pub type DeliveryRow = delivery::Model;

impl TryFrom<DeliveryRow> for DeliveryView {
    type Error = ApiError;

    fn try_from(r: DeliveryRow) -> Result<Self, ApiError> {
        let bad = |column: &str| unreadable("delivery", r.id, column);
        Ok(Self {
            id: r.id,
            channel: ChannelType::from_column(&r.channel).ok_or_else(|| bad("channel"))?,
            status: DeliveryState::parse(&r.status).ok_or_else(|| bad("status"))?,
            recipient: r.recipient,
            recipient_name: r.recipient_name,
            attempts: u32::try_from(r.attempts).unwrap_or(0),
            vendor_message_id: r.vendor_message_id,
            vendor_status: r.vendor_status,
            error: r.error,
            job_id: r.job_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
            sent_at: r.sent_at,
        })
    }
}

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
