//! Keys the platform generates for itself and keeps in the product's database, so every
//! instance on that database uses the same one: today the signing key of the built-in mock
//! identity provider (mock SAML assertions, mock Google ID tokens). Only MOCK mode trusts it.

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::Utc;
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};

use crate::db::is_unique_violation;

pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "platform_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        /// Base64 of the key's bytes.
        pub value: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The bytes stored under `name`, generating and storing them first if there are none. Two
/// instances racing to create it both end up with the one that was stored first.
pub async fn load_or_create(
    db: &DatabaseConnection,
    name: &str,
    generate: impl FnOnce() -> anyhow::Result<Vec<u8>>,
) -> anyhow::Result<Vec<u8>> {
    if let Some(row) = entity::Entity::find_by_id(name.to_owned()).one(db).await? {
        return Ok(STANDARD.decode(row.value)?);
    }
    let bytes = generate()?;
    let row = entity::ActiveModel {
        name: Set(name.to_owned()),
        value: Set(STANDARD.encode(&bytes)),
        created_at: Set(Utc::now()),
    };
    match row.insert(db).await {
        Ok(_) => Ok(bytes),
        Err(e) if is_unique_violation(&e) => {
            let row = entity::Entity::find_by_id(name.to_owned())
                .one(db)
                .await?
                .ok_or_else(|| anyhow::anyhow!("key {name} vanished"))?;
            Ok(STANDARD.decode(row.value)?)
        }
        Err(e) => Err(e.into()),
    }
}
