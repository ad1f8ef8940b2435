//! Basalt's `crisis_contacts` and `notification_preferences`: the entities, every query on
//! them, and how their rows read as `CrisisContact` and `NotificationPreferences`.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, sea_query::OnConflict,
};
use uuid::Uuid;

use crate::domain::{
    alerts::Severity,
    notifications::{CrisisContact, NotificationChannels, NotificationPreferences},
};

pub mod contact {
    //! The `crisis_contacts` table.

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
    //! The `notification_preferences` table.

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

pub type ContactRow = contact::Model;
pub type PreferenceRow = preference::Model;

impl From<ContactRow> for CrisisContact {
    fn from(r: ContactRow) -> Self {
        Self {
            name: r.name,
            phone: r.phone,
            email: r.email,
            channels: serde_json::from_value(r.channels).unwrap_or_default(),
        }
    }
}

impl From<PreferenceRow> for NotificationPreferences {
    /// Stored preferences; unreadable JSON columns read as unset (only War Room writes them).
    fn from(r: PreferenceRow) -> Self {
        Self {
            channels: NotificationChannels {
                sms: r.sms,
                whatsapp: r.whatsapp,
                email: r.email,
                slack: r.slack,
                push: r.push,
            },
            phone: r.phone,
            min_severity: Severity::parse(&r.min_severity).unwrap_or(Severity::High),
            quiet_hours: r.quiet_hours.and_then(|v| serde_json::from_value(v).ok()),
            campaigns: r.campaigns.and_then(|v| serde_json::from_value(v).ok()),
            updated_at: Some(r.updated_at),
        }
    }
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
