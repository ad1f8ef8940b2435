//! The outbox: every message Basalt "sends" in MOCK mode (mail now; SMS, WhatsApp, Slack
//! later) is recorded here and shown to admins, so products work with no vendor accounts.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryOrder, QuerySelect, Set,
};
use serde_json::Value;
use uuid::Uuid;

use crate::validate::{Page, Paging};

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

impl crate::validate::Listed for OutboxMessageView {
    const KEY: &'static str = "messages";
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

    /// A page of messages, newest first.
    pub async fn page(&self, paging: Paging) -> Result<Page<OutboxMessage>, sea_orm::DbErr> {
        let total = entity::Entity::find().count(&self.db).await?;
        let rows = entity::Entity::find()
            .order_by_desc(entity::Column::CreatedAt)
            .order_by_desc(entity::Column::Id)
            .offset(paging.offset())
            .limit(paging.limit)
            .all(&self.db)
            .await?;
        Ok(paging.page(rows, total))
    }
}
