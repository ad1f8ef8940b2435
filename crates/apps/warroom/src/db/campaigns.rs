//! Seed 001 `campaigns` and `campaign_keywords`, and Basalt's `campaign_audit`: the entities,
//! every query on them, and how stored rows read as a `Campaign` and an `AuditEntry`.

use platform::{ApiError, error::ApiResult, keyset::in_order_of, validate::Paging};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select, Set,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use super::unreadable;
use crate::domain::campaigns::{
    AuditDetails, AuditEntry, Budget, Campaign, CampaignId, CampaignQuery, CampaignStatus, Keyword,
};

pub mod campaign {
    //! The `campaigns` table (seed 001).

    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "campaigns")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub name: String,
        pub description: String,
        /// `draft`, `active`, `paused` or `completed`.
        pub status: String,
        pub start_date: DateTimeUtc,
        pub end_date: DateTimeUtc,
        /// The seed's `DECIMAL(12,2)` budget, in cents.
        pub budget_cents: i64,
        /// Seed 001 `TargetAudience`, as its camelCase JSON.
        pub target_audience: Json,
        /// Seed 001 `CampaignMetrics`, as its camelCase JSON.
        pub metrics: Json,
        pub created_by: Uuid,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(has_many = "super::keyword::Entity")]
        Keywords,
    }

    impl Related<super::keyword::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Keywords.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod keyword {
    //! The `campaign_keywords` table (seed 001).

    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "campaign_keywords")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub campaign_id: Uuid,
        pub keyword: String,
        /// 0 to 9.99, two decimals (the seed's `DECIMAL(3,2)`).
        pub weight: f64,
        /// The keyword's place in the campaign's list, from 0.
        pub position: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(
            belongs_to = "super::campaign::Entity",
            from = "Column::CampaignId",
            to = "super::campaign::Column::Id"
        )]
        Campaign,
    }

    impl Related<super::campaign::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Campaign.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod audit {
    //! The `campaign_audit` table: every change to a campaign.

    use sea_orm::entity::prelude::*;

    /// One change to a campaign: who, which action, the status before and after, and the
    /// action's particulars (old and new budget, reason, changed fields).
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "campaign_audit")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub campaign_id: Uuid,
        pub actor_id: Option<Uuid>,
        pub action: String,
        pub from_status: Option<String>,
        pub to_status: Option<String>,
        pub details: Option<Json>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub type CampaignRow = campaign::Model;
pub type KeywordRow = keyword::Model;
pub type AuditRow = audit::Model;

impl From<KeywordRow> for Keyword {
    fn from(row: KeywordRow) -> Self {
        Self {
            keyword: row.keyword,
            weight: row.weight,
        }
    }
}

/// A stored status; one War Room did not write is an internal error.
pub fn status_of(row: &CampaignRow) -> ApiResult<CampaignStatus> {
    CampaignStatus::parse(&row.status).ok_or_else(|| unreadable("campaign", row.id, "status"))
}

/// A stored campaign and its keywords as the wire's `Campaign`; a row that does not decode is
/// an internal error, never a silently emptied field.
pub fn campaign_of(row: CampaignRow, keywords: Vec<KeywordRow>) -> ApiResult<Campaign> {
    let status = status_of(&row)?;
    let decode = |column: &str| unreadable("campaign", row.id, column);
    let target_audience = serde_json::from_value(row.target_audience.clone())
        .map_err(|_| decode("target_audience"))?;
    let metrics = serde_json::from_value(row.metrics.clone()).map_err(|_| decode("metrics"))?;
    Ok(Campaign {
        id: CampaignId(row.id),
        name: row.name,
        description: row.description,
        status,
        start_date: row.start_date,
        end_date: row.end_date,
        budget: Budget::from_cents(row.budget_cents).amount(),
        target_audience,
        metrics,
        keywords: keywords.into_iter().map(Keyword::from).collect(),
        created_by: row.created_by,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = ApiError;

    fn try_from(row: AuditRow) -> Result<Self, ApiError> {
        let bad = |column: &str| unreadable("audit entry", row.id, column);
        let status = |s: Option<&str>, column: &str| -> ApiResult<Option<CampaignStatus>> {
            s.map(|s| CampaignStatus::parse(s).ok_or_else(|| bad(column)))
                .transpose()
        };
        let details: Option<AuditDetails> = row
            .details
            .clone()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|_| bad("details"))?;
        Ok(AuditEntry {
            id: row.id,
            campaign_id: CampaignId(row.campaign_id),
            actor_id: row.actor_id,
            action: row.action.clone(),
            from_status: status(row.from_status.as_deref(), "from_status")?,
            to_status: status(row.to_status.as_deref(), "to_status")?,
            details,
            created_at: row.created_at,
        })
    }
}

/// Inserts `row` as it is (no read-back).
pub async fn insert(conn: &impl ConnectionTrait, row: CampaignRow) -> Result<(), DbErr> {
    campaign::Entity::insert(row.into_active_model().reset_all())
        .exec_without_returning(conn)
        .await
        .map(drop)
}

/// Writes every column of `row` over the stored campaign with its id.
pub async fn save(conn: &impl ConnectionTrait, row: CampaignRow) -> Result<CampaignRow, DbErr> {
    row.into_active_model().reset_all().update(conn).await
}

/// The campaign and its keywords in their order, in one query (a left join).
pub async fn find_with_keywords(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<WithKeywords>, DbErr> {
    let rows = campaign::Entity::find_by_id(id)
        .find_also_related(keyword::Entity)
        .order_by_asc(keyword::Column::Position)
        .all(conn)
        .await?;
    Ok(grouped(rows).pop())
}

/// `find`, locking the row until the transaction ends (`FOR UPDATE` on PostgreSQL; SQLite
/// transactions that write are begun `IMMEDIATE` instead, see `service::campaigns`).
pub async fn find_for_update(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<CampaignRow>, DbErr> {
    campaign::Entity::find_by_id(id)
        .lock_exclusive()
        .one(conn)
        .await
}

pub async fn exists(conn: &impl ConnectionTrait, id: Uuid) -> Result<bool, DbErr> {
    let n = campaign::Entity::find()
        .filter(campaign::Column::Id.eq(id))
        .count(conn)
        .await?;
    Ok(n > 0)
}

/// A campaign and its keywords in their order.
pub type WithKeywords = (CampaignRow, Vec<KeywordRow>);

/// One page of campaigns with their keywords, newest first, optionally of one status (after
/// `q.cursor` when given, else at `q.paging`'s offset); how many there are in all; and
/// whether more follow. The page's ids come first, from the index on
/// `([status,] created_at, id)` alone, so a deep page skips index entries rather than rows;
/// then the campaigns and their keywords, by id, in one query.
pub async fn list(
    conn: &impl ConnectionTrait,
    q: &CampaignQuery,
) -> Result<(Vec<WithKeywords>, u64, bool), DbErr> {
    let of_status = |select: Select<campaign::Entity>| match q.status {
        Some(s) => select.filter(campaign::Column::Status.eq(s.as_str())),
        None => select,
    };
    let total: i64 = of_status(campaign::Entity::find().select_only())
        .column_as(Expr::cust("COUNT(*)"), "n")
        .into_tuple()
        .one(conn)
        .await?
        .unwrap_or(0);
    let mut ids = of_status(campaign::Entity::find().select_only()).column(campaign::Column::Id);
    ids = match q.cursor {
        Some(c) => ids.filter(
            Expr::tuple([
                Expr::col(campaign::Column::CreatedAt),
                Expr::col(campaign::Column::Id),
            ])
            .lt(Expr::tuple([Expr::value(c.at), Expr::value(c.id)])),
        ),
        None => ids.offset(q.paging.offset()),
    };
    let mut ids: Vec<Uuid> = ids
        .order_by_desc(campaign::Column::CreatedAt)
        .order_by_desc(campaign::Column::Id)
        .limit(q.paging.limit + 1)
        .into_tuple()
        .all(conn)
        .await?;
    let more = ids.len() as u64 > q.paging.limit;
    ids.truncate(q.paging.limit as usize);
    let rows = with_keywords(conn, &ids).await?;
    Ok((rows, u64::try_from(total).unwrap_or(0), more))
}

/// The campaigns with `ids` and their keywords, in the order of `ids`, in one query.
pub async fn with_keywords(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<WithKeywords>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = campaign::Entity::find()
        .filter(campaign::Column::Id.is_in(ids.iter().copied()))
        .find_also_related(keyword::Entity)
        .order_by_asc(keyword::Column::Position)
        .all(conn)
        .await?;
    Ok(grouped(in_order_of(ids, rows, |(c, _)| c.id)))
}

/// Join rows (a campaign and one of its keywords, or none) as campaigns with their keywords;
/// each campaign's rows are adjacent.
fn grouped(rows: Vec<(CampaignRow, Option<KeywordRow>)>) -> Vec<WithKeywords> {
    let mut out: Vec<WithKeywords> = Vec::new();
    for (campaign, keyword) in rows {
        match out.last_mut() {
            Some((last, keywords)) if last.id == campaign.id => keywords.extend(keyword),
            _ => out.push((campaign, keyword.into_iter().collect())),
        }
    }
    out
}

/// The ids of every campaign with `status`, oldest first.
pub async fn ids_with_status(
    conn: &impl ConnectionTrait,
    status: CampaignStatus,
) -> Result<Vec<Uuid>, DbErr> {
    campaign::Entity::find()
        .select_only()
        .column(campaign::Column::Id)
        .filter(campaign::Column::Status.eq(status.as_str()))
        .order_by_asc(campaign::Column::CreatedAt)
        .order_by_asc(campaign::Column::Id)
        .into_tuple()
        .all(conn)
        .await
}

/// Replaces a campaign's metrics JSON; false when there is no such campaign.
pub async fn set_metrics(
    conn: &impl ConnectionTrait,
    id: Uuid,
    metrics: serde_json::Value,
) -> Result<bool, DbErr> {
    let res = campaign::Entity::update_many()
        .col_expr(campaign::Column::Metrics, Expr::value(metrics))
        .filter(campaign::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(res.rows_affected > 0)
}

/// The keywords of the given campaigns, each campaign's in its order.
pub async fn keywords_of(
    conn: &impl ConnectionTrait,
    campaign_ids: &[Uuid],
) -> Result<Vec<KeywordRow>, DbErr> {
    if campaign_ids.is_empty() {
        return Ok(Vec::new());
    }
    keyword::Entity::find()
        .filter(keyword::Column::CampaignId.is_in(campaign_ids.iter().copied()))
        .order_by_asc(keyword::Column::CampaignId)
        .order_by_asc(keyword::Column::Position)
        .all(conn)
        .await
}

/// Sets a campaign's keywords to `keywords` (text, weight), in that order.
pub async fn replace_keywords(
    conn: &impl ConnectionTrait,
    campaign_id: Uuid,
    keywords: &[(String, f64)],
) -> Result<(), DbErr> {
    keyword::Entity::delete_many()
        .filter(keyword::Column::CampaignId.eq(campaign_id))
        .exec(conn)
        .await?;
    if keywords.is_empty() {
        return Ok(());
    }
    let rows = keywords
        .iter()
        .zip(0..)
        .map(|((text, weight), position)| keyword::ActiveModel {
            id: Set(Uuid::now_v7()),
            campaign_id: Set(campaign_id),
            keyword: Set(text.clone()),
            weight: Set(*weight),
            position: Set(position),
        });
    keyword::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Inserts keyword rows as they are (a new campaign's: nothing to replace), in one statement.
pub async fn insert_keywords(
    conn: &impl ConnectionTrait,
    rows: Vec<KeywordRow>,
) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    keyword::Entity::insert_many(rows.into_iter().map(|r| r.into_active_model().reset_all()))
        .exec_without_returning(conn)
        .await
        .map(drop)
}

pub async fn insert_audit(conn: &impl ConnectionTrait, row: AuditRow) -> Result<(), DbErr> {
    audit::Entity::insert(row.into_active_model().reset_all())
        .exec_without_returning(conn)
        .await
        .map(drop)
}

/// One page of a campaign's audit trail, newest first; and how long the trail is.
pub async fn audit_of(
    conn: &impl ConnectionTrait,
    campaign_id: Uuid,
    paging: Paging,
) -> Result<(Vec<AuditRow>, u64), DbErr> {
    let q = audit::Entity::find().filter(audit::Column::CampaignId.eq(campaign_id));
    let total = q.clone().count(conn).await?;
    let rows = q
        .order_by_desc(audit::Column::CreatedAt)
        .order_by_desc(audit::Column::Id)
        .offset(paging.offset())
        .limit(paging.limit)
        .all(conn)
        .await?;
    Ok((rows, total))
}
