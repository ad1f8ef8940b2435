//! Seed 004 `leads` and `lead_interactions`, and `lead_tags` (a lead's tags, one row each, for
//! the list's tag filter): the entities, every query on them, and how a stored row reads as a
//! `Lead` and an `Interaction`. Every query is scoped by organization.

use platform::{ApiError, error::ApiResult};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, Select,
    sea_query::{Expr, ExprTrait, LikeExpr, Query},
};
use uuid::Uuid;

use crate::domain::{
    leads::{Change, Interaction, Lead, LeadCursor, LeadQuery, LeadSort, LeadSource, LeadStatus},
    scoring::Score,
};

pub mod lead {
    //! The `leads` table (seed 004 `public.leads`).

    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "leads")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organization_id: Uuid,
        pub owner_id: Option<Uuid>,
        pub created_by: Option<Uuid>,
        /// Normalised (trimmed, ASCII lower-case); unique per organization.
        pub email: String,
        pub name: Option<String>,
        pub title: Option<String>,
        pub company: Option<String>,
        pub website: Option<String>,
        pub phone: Option<String>,
        pub location: Option<String>,
        pub industry: Option<String>,
        pub status: String,
        pub source: String,
        /// The tags as a JSON array of strings (also one `lead_tags` row each).
        pub tags: Json,
        pub notes: Option<String>,
        pub score: i32,
        /// The score's factors as their JSON (`Score::factors`).
        pub score_factors: Json,
        /// Lower-cased email, name, company and title: what `q` searches.
        pub search_text: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod tag {
    //! The `lead_tags` table: one row per (lead, tag).

    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "lead_tags")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub lead_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub tag: String,
        pub organization_id: Uuid,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod interaction {
    //! The `lead_interactions` table (seed 004 `public.lead_interactions`): the timeline.

    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "lead_interactions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub lead_id: Uuid,
        pub organization_id: Uuid,
        pub actor_id: Option<Uuid>,
        pub kind: String,
        /// `[{ field, from, to }]`.
        pub changes: Json,
        pub note: Option<String>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub type LeadRow = lead::Model;
pub type InteractionRow = interaction::Model;

fn unreadable(what: &str, id: Uuid, column: &str) -> ApiError {
    ApiError::internal(format!("{what} {id}: stored {column} unreadable"))
}

impl TryFrom<LeadRow> for Lead {
    type Error = ApiError;

    fn try_from(row: LeadRow) -> ApiResult<Self> {
        let bad = |column: &str| unreadable("lead", row.id, column);
        let status = LeadStatus::parse(&row.status).ok_or_else(|| bad("status"))?;
        let source = LeadSource::parse(&row.source).ok_or_else(|| bad("source"))?;
        let tags = serde_json::from_value(row.tags.clone()).map_err(|_| bad("tags"))?;
        let factors =
            serde_json::from_value(row.score_factors.clone()).map_err(|_| bad("score_factors"))?;
        Ok(Lead {
            id: row.id,
            organization_id: row.organization_id,
            owner_id: row.owner_id,
            email: row.email,
            name: row.name,
            title: row.title,
            company: row.company,
            website: row.website,
            phone: row.phone,
            location: row.location,
            industry: row.industry,
            status,
            source,
            tags,
            notes: row.notes,
            score: Score {
                value: row.score,
                factors,
            },
            created_by: row.created_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

impl TryFrom<InteractionRow> for Interaction {
    type Error = ApiError;

    fn try_from(row: InteractionRow) -> ApiResult<Self> {
        let changes: Vec<Change> = serde_json::from_value(row.changes.clone())
            .map_err(|_| unreadable("interaction", row.id, "changes"))?;
        Ok(Interaction {
            id: row.id,
            lead_id: row.lead_id,
            actor_id: row.actor_id,
            kind: row.kind,
            changes,
            note: row.note,
            created_at: row.created_at,
        })
    }
}

/// Inserts a lead and its tag rows; a taken (organization, email) is a unique violation.
pub async fn insert(
    conn: &impl ConnectionTrait,
    row: LeadRow,
    tags: &[String],
) -> Result<(), DbErr> {
    let (id, org) = (row.id, row.organization_id);
    lead::Entity::insert(row.into_active_model().reset_all())
        .exec_without_returning(conn)
        .await?;
    insert_tags(conn, id, org, tags).await
}

/// Inserts many leads and their tags in a few statements (imports, the benchmark's seed);
/// no duplicate check beyond the unique index.
pub async fn insert_many(
    conn: &impl ConnectionTrait,
    rows: Vec<(LeadRow, Vec<String>)>,
) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    let tags: Vec<tag::ActiveModel> = rows
        .iter()
        .flat_map(|(row, tags)| {
            tags.iter().map(|t| {
                tag::Model {
                    lead_id: row.id,
                    tag: t.clone(),
                    organization_id: row.organization_id,
                }
                .into_active_model()
                .reset_all()
            })
        })
        .collect();
    lead::Entity::insert_many(
        rows.into_iter()
            .map(|(r, _)| r.into_active_model().reset_all()),
    )
    .exec_without_returning(conn)
    .await?;
    if !tags.is_empty() {
        tag::Entity::insert_many(tags)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

async fn insert_tags(
    conn: &impl ConnectionTrait,
    lead_id: Uuid,
    organization_id: Uuid,
    tags: &[String],
) -> Result<(), DbErr> {
    if tags.is_empty() {
        return Ok(());
    }
    let rows = tags.iter().map(|t| {
        tag::Model {
            lead_id,
            tag: t.clone(),
            organization_id,
        }
        .into_active_model()
        .reset_all()
    });
    tag::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await
        .map(drop)
}

/// Sets a lead's tag rows to `tags`.
pub async fn replace_tags(
    conn: &impl ConnectionTrait,
    lead_id: Uuid,
    organization_id: Uuid,
    tags: &[String],
) -> Result<(), DbErr> {
    tag::Entity::delete_many()
        .filter(tag::Column::LeadId.eq(lead_id))
        .exec(conn)
        .await?;
    insert_tags(conn, lead_id, organization_id, tags).await
}

/// Writes every column of `row` over the stored lead.
pub async fn save(conn: &impl ConnectionTrait, row: LeadRow) -> Result<LeadRow, DbErr> {
    row.into_active_model().reset_all().update(conn).await
}

/// The organization's lead with `id`.
pub async fn find(
    conn: &impl ConnectionTrait,
    organization_id: Uuid,
    id: Uuid,
) -> Result<Option<LeadRow>, DbErr> {
    lead::Entity::find_by_id(id)
        .filter(lead::Column::OrganizationId.eq(organization_id))
        .one(conn)
        .await
}

/// `find`, locking the row until the transaction ends (`FOR UPDATE` on PostgreSQL; SQLite
/// write transactions are `IMMEDIATE` instead).
pub async fn find_for_update(
    conn: &impl ConnectionTrait,
    organization_id: Uuid,
    id: Uuid,
) -> Result<Option<LeadRow>, DbErr> {
    lead::Entity::find_by_id(id)
        .filter(lead::Column::OrganizationId.eq(organization_id))
        .lock_exclusive()
        .one(conn)
        .await
}

/// The id of the organization's lead at `email`, if any.
pub async fn id_by_email(
    conn: &impl ConnectionTrait,
    organization_id: Uuid,
    email: &str,
) -> Result<Option<Uuid>, DbErr> {
    lead::Entity::find()
        .select_only()
        .column(lead::Column::Id)
        .filter(lead::Column::OrganizationId.eq(organization_id))
        .filter(lead::Column::Email.eq(email))
        .into_tuple()
        .one(conn)
        .await
}

/// `text` for a `LIKE` pattern: `%`, `_` and `\` taken literally.
fn like_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The organization's leads matching every filter of `q` (not the cursor).
fn filtered(organization_id: Uuid, q: &LeadQuery) -> Select<lead::Entity> {
    let mut s = lead::Entity::find().filter(lead::Column::OrganizationId.eq(organization_id));
    if let Some(status) = q.status {
        s = s.filter(lead::Column::Status.eq(status.as_str()));
    }
    if let Some(source) = q.source {
        s = s.filter(lead::Column::Source.eq(source.as_str()));
    }
    if let Some(min) = q.min_score {
        s = s.filter(lead::Column::Score.gte(min));
    }
    if let Some(max) = q.max_score {
        s = s.filter(lead::Column::Score.lte(max));
    }
    if let Some(text) = &q.text {
        let pattern = LikeExpr::new(format!("%{}%", like_escaped(text))).escape('\\');
        s = s.filter(lead::Column::SearchText.like(pattern));
    }
    if let Some(t) = &q.tag {
        let tagged = Query::select()
            .column(tag::Column::LeadId)
            .from(tag::Entity)
            .and_where(tag::Column::OrganizationId.eq(organization_id))
            .and_where(tag::Column::Tag.eq(t.as_str()))
            .take();
        s = s.filter(lead::Column::Id.in_subquery(tagged));
    }
    s
}

/// One page of the organization's leads in `q`'s order (after `q.cursor` when given, else at
/// the page's offset); how many match in all; and whether more follow. Each order has an
/// index `(organization_id, <key>, id)`, so a page seeks to its start.
pub async fn list(
    conn: &impl ConnectionTrait,
    organization_id: Uuid,
    q: &LeadQuery,
) -> Result<(Vec<LeadRow>, u64, bool), DbErr> {
    // `COUNT(*)` over the filter itself, not over a subquery of every column (what
    // `PaginatorTrait::count` writes), so an index answers it without reading rows.
    let total: i64 = filtered(organization_id, q)
        .select_only()
        .column_as(Expr::cust("COUNT(*)"), "n")
        .into_tuple()
        .one(conn)
        .await?
        .unwrap_or(0);
    let total = u64::try_from(total).unwrap_or(0);
    let (key, desc) = match q.sort {
        LeadSort::CreatedAt { desc } => (lead::Column::CreatedAt, desc),
        LeadSort::UpdatedAt { desc } => (lead::Column::UpdatedAt, desc),
        LeadSort::Score { desc } => (lead::Column::Score, desc),
    };
    let mut s = filtered(organization_id, q);
    if let Some(cursor) = q.cursor {
        let at = match cursor {
            LeadCursor::Time(c) => Expr::tuple([Expr::value(c.at), Expr::value(c.id)]),
            LeadCursor::Score { score, id } => Expr::tuple([Expr::value(score), Expr::value(id)]),
        };
        let here = Expr::tuple([Expr::col(key), Expr::col(lead::Column::Id)]);
        s = s.filter(Condition::all().add(if desc { here.lt(at) } else { here.gt(at) }));
    } else {
        s = s.offset((Ord::max(q.page, 1) - 1) * q.limit);
    }
    let order = if desc {
        sea_orm::Order::Desc
    } else {
        sea_orm::Order::Asc
    };
    let mut rows = s
        .order_by(key, order.clone())
        .order_by(lead::Column::Id, order)
        .limit(q.limit + 1)
        .all(conn)
        .await?;
    let more = rows.len() as u64 > q.limit;
    rows.truncate(q.limit as usize);
    Ok((rows, total, more))
}

pub async fn insert_interaction(
    conn: &impl ConnectionTrait,
    row: InteractionRow,
) -> Result<(), DbErr> {
    interaction::Entity::insert(row.into_active_model().reset_all())
        .exec_without_returning(conn)
        .await
        .map(drop)
}

/// A lead's timeline, newest first (at most `limit` entries).
pub async fn timeline(
    conn: &impl ConnectionTrait,
    lead_id: Uuid,
    limit: u64,
) -> Result<Vec<InteractionRow>, DbErr> {
    interaction::Entity::find()
        .filter(interaction::Column::LeadId.eq(lead_id))
        .order_by_desc(interaction::Column::CreatedAt)
        .order_by_desc(interaction::Column::Id)
        .limit(limit)
        .all(conn)
        .await
}

/// The migration creating the three tables and the list's indexes.
pub mod migration {
    use sea_orm_migration::{
        prelude::*,
        schema::{
            integer, json_binary, string, string_null, text, text_null, timestamp_with_time_zone,
            uuid, uuid_null,
        },
    };

    pub struct M0002Leads;

    impl MigrationName for M0002Leads {
        fn name(&self) -> &str {
            "m0002_leadgen_leads"
        }
    }

    fn a(s: &'static str) -> Alias {
        Alias::new(s)
    }

    fn fk(
        table: &'static str,
        col: &'static str,
        to: &'static str,
        on_delete: ForeignKeyAction,
    ) -> ForeignKeyCreateStatement {
        ForeignKey::create()
            .from(a(table), a(col))
            .to(a(to), a("id"))
            .on_delete(on_delete)
            .take()
    }

    fn index(table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
        let mut idx = Index::create();
        idx.name(format!("idx_{table}_{}", cols.join("_")))
            .table(a(table));
        for c in cols {
            idx.col(a(c));
        }
        idx.take()
    }

    /// Every order of the list, alone or after a status or source filter, ends in `id`: an
    /// index answers the filter, the sort and the keyset seek together.
    const LEAD_INDEXES: &[&[&str]] = &[
        &["organization_id", "created_at", "id"],
        &["organization_id", "updated_at", "id"],
        &["organization_id", "score", "id"],
        &["organization_id", "status", "created_at", "id"],
        &["organization_id", "source", "created_at", "id"],
        &["owner_id"],
    ];

    #[async_trait::async_trait]
    impl MigrationTrait for M0002Leads {
        async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
            use ForeignKeyAction::{Cascade, SetNull};
            m.create_table(
                Table::create()
                    .table(a("leads"))
                    .col(uuid(a("id")).primary_key())
                    .col(uuid(a("organization_id")))
                    .col(uuid_null(a("owner_id")))
                    .col(uuid_null(a("created_by")))
                    .col(string(a("email")))
                    .col(string_null(a("name")))
                    .col(string_null(a("title")))
                    .col(string_null(a("company")))
                    .col(string_null(a("website")))
                    .col(string_null(a("phone")))
                    .col(string_null(a("location")))
                    .col(string_null(a("industry")))
                    .col(string(a("status")))
                    .col(string(a("source")))
                    .col(json_binary(a("tags")))
                    .col(text_null(a("notes")))
                    .col(integer(a("score")))
                    .col(json_binary(a("score_factors")))
                    .col(text(a("search_text")))
                    .col(timestamp_with_time_zone(a("created_at")))
                    .col(timestamp_with_time_zone(a("updated_at")))
                    .foreign_key(&mut fk(
                        "leads",
                        "organization_id",
                        "organizations",
                        Cascade,
                    ))
                    .foreign_key(&mut fk("leads", "owner_id", "users", SetNull))
                    .foreign_key(&mut fk("leads", "created_by", "users", SetNull))
                    .take(),
            )
            .await?;
            m.create_index(
                index("leads", &["organization_id", "email"])
                    .unique()
                    .take(),
            )
            .await?;
            for cols in LEAD_INDEXES {
                m.create_index(index("leads", cols)).await?;
            }
            m.create_table(
                Table::create()
                    .table(a("lead_tags"))
                    .col(uuid(a("lead_id")))
                    .col(string(a("tag")))
                    .col(uuid(a("organization_id")))
                    .primary_key(Index::create().col(a("lead_id")).col(a("tag")))
                    .foreign_key(&mut fk("lead_tags", "lead_id", "leads", Cascade))
                    .take(),
            )
            .await?;
            m.create_index(index("lead_tags", &["organization_id", "tag", "lead_id"]))
                .await?;
            m.create_table(
                Table::create()
                    .table(a("lead_interactions"))
                    .col(uuid(a("id")).primary_key())
                    .col(uuid(a("lead_id")))
                    .col(uuid(a("organization_id")))
                    .col(uuid_null(a("actor_id")))
                    .col(string(a("kind")))
                    .col(json_binary(a("changes")))
                    .col(text_null(a("note")))
                    .col(timestamp_with_time_zone(a("created_at")))
                    .foreign_key(&mut fk("lead_interactions", "lead_id", "leads", Cascade))
                    .foreign_key(&mut fk("lead_interactions", "actor_id", "users", SetNull))
                    .take(),
            )
            .await?;
            m.create_index(index("lead_interactions", &["lead_id", "created_at", "id"]))
                .await
        }
    }
}
