//! The outbox: every message Basalt "sends" in MOCK mode (mail now; SMS, WhatsApp, Slack
//! later) is recorded here and shown to admins, so products work with no vendor accounts.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryOrder, QuerySelect, Set,
};
use serde_json::Value;
use uuid::Uuid;

pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "outbox")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub channel: String,
        pub recipient: String,
        pub subject: Option<String>,
        pub body: String,
        pub metadata: Option<Json>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub use entity::Model as OutboxMessage;

/// One outbox message as the console API (`GET /admin/api/outbox`) shows it.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OutboxMessageView {
    pub id: Uuid,
    /// `email` now; `sms`, `whatsapp`, `slack` later.
    pub channel: String,
    pub recipient: String,
    pub subject: Option<String>,
    pub body: String,
    pub metadata: Option<Value>,
    pub created_at: chrono::DateTime<Utc>,
}

impl From<OutboxMessage> for OutboxMessageView {
    fn from(m: OutboxMessage) -> Self {
        Self {
            id: m.id,
            channel: m.channel,
            recipient: m.recipient,
            subject: m.subject,
            body: m.body,
            metadata: m.metadata,
            created_at: m.created_at,
        }
    }
}

/// A page of the outbox, newest first.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct OutboxList {
    pub messages: Vec<OutboxMessageView>,
    pub total: u64,
    pub page: u64,
    pub limit: u64,
}

#[derive(Clone)]
pub struct Outbox {
    db: DatabaseConnection,
}

impl Outbox {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    pub async fn record(
        &self,
        channel: &str,
        recipient: &str,
        subject: Option<&str>,
        body: &str,
        metadata: Option<Value>,
    ) -> Result<OutboxMessage, sea_orm::DbErr> {
        entity::ActiveModel {
            id: Set(Uuid::now_v7()),
            channel: Set(channel.to_owned()),
            recipient: Set(recipient.to_owned()),
            subject: Set(subject.map(str::to_owned)),
            body: Set(body.to_owned()),
            metadata: Set(metadata),
            created_at: Set(Utc::now()),
        }
        .insert(&self.db)
        .await
    }

    /// A page for the console API.
    pub async fn page(&self, page: u64, limit: u64) -> Result<OutboxList, sea_orm::DbErr> {
        let (rows, total) = self.list(page, limit).await?;
        Ok(OutboxList {
            messages: rows.into_iter().map(Into::into).collect(),
            total,
            page,
            limit,
        })
    }

    /// Newest first; `page` counts from 1.
    pub async fn list(
        &self,
        page: u64,
        limit: u64,
    ) -> Result<(Vec<OutboxMessage>, u64), sea_orm::DbErr> {
        let total = entity::Entity::find().count(&self.db).await?;
        let rows = entity::Entity::find()
            .order_by_desc(entity::Column::CreatedAt)
            .order_by_desc(entity::Column::Id)
            .offset((page - 1) * limit)
            .limit(limit)
            .all(&self.db)
            .await?;
        Ok((rows, total))
    }
}
