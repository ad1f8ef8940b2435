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
