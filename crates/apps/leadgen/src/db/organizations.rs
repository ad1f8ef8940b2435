//! Organizations and the profile that ties a user to one (seed 004 `public.organizations`,
//! `public.profiles`).

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use uuid::Uuid;

pub mod organization {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "organizations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub name: String,
        pub owner_id: Uuid,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod profile {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "profiles")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        pub organization_id: Uuid,
        /// `owner` for the person who created the organization; `member` otherwise.
        pub org_role: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub type Organization = organization::Model;

/// Creates an organization owned by `owner_id` and the owner's profile.
pub async fn create_owned(
    conn: &impl ConnectionTrait,
    owner_id: Uuid,
    name: &str,
) -> Result<Organization, sea_orm::DbErr> {
    let now = Utc::now();
    let org = organization::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name.to_owned()),
        owner_id: Set(owner_id),
        created_at: Set(now),
    }
    .insert(conn)
    .await?;
    profile::ActiveModel {
        user_id: Set(owner_id),
        organization_id: Set(org.id),
        org_role: Set("owner".into()),
        created_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok(org)
}

/// The organization a user belongs to.
pub async fn of_user(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<Option<Organization>, sea_orm::DbErr> {
    let Some(p) = profile::Entity::find_by_id(user_id).one(conn).await? else {
        return Ok(None);
    };
    organization::Entity::find_by_id(p.organization_id)
        .one(conn)
        .await
}

/// The id of the organization a user belongs to (one query: what every organization-scoped
/// request asks first).
pub async fn id_of_user(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<Option<Uuid>, sea_orm::DbErr> {
    use sea_orm::QuerySelect;
    profile::Entity::find_by_id(user_id)
        .select_only()
        .column(profile::Column::OrganizationId)
        .into_tuple()
        .one(conn)
        .await
}

/// The migration creating both tables.
pub mod migration {
    use sea_orm_migration::{
        prelude::*,
        schema::{string, timestamp_with_time_zone, uuid},
    };

    pub struct M0001Organizations;

    impl MigrationName for M0001Organizations {
        fn name(&self) -> &str {
            "m0001_leadgen_organizations"
        }
    }

    fn a(s: &'static str) -> Alias {
        Alias::new(s)
    }

    fn cascade(
        table: &'static str,
        col: &'static str,
        to: &'static str,
    ) -> ForeignKeyCreateStatement {
        ForeignKey::create()
            .from(a(table), a(col))
            .to(a(to), a("id"))
            .on_delete(ForeignKeyAction::Cascade)
            .take()
    }

    #[async_trait::async_trait]
    impl MigrationTrait for M0001Organizations {
        async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
            m.create_table(
                Table::create()
                    .table(a("organizations"))
                    .col(uuid(a("id")).primary_key())
                    .col(string(a("name")))
                    .col(uuid(a("owner_id")))
                    .col(timestamp_with_time_zone(a("created_at")))
                    .foreign_key(&mut cascade("organizations", "owner_id", "users"))
                    .take(),
            )
            .await?;
            m.create_table(
                Table::create()
                    .table(a("profiles"))
                    .col(uuid(a("user_id")).primary_key())
                    .col(uuid(a("organization_id")))
                    .col(string(a("org_role")))
                    .col(timestamp_with_time_zone(a("created_at")))
                    .foreign_key(&mut cascade("profiles", "user_id", "users"))
                    .foreign_key(&mut cascade("profiles", "organization_id", "organizations"))
                    .take(),
            )
            .await
        }
    }
}
