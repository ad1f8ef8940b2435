//! The mention read endpoints' queries on `mentions` and `monitoring_configs`: filtered pages,
//! SQL aggregates (COUNT/SUM/AVG, GROUP BY plain text columns), and capped fetches of the few
//! columns the Rust-side computations (time buckets, terms) need. Every query is portable:
//! no date functions (timestamps are text on SQLite), only comparisons on stored values.

use chrono::{DateTime, Utc};
use platform::validate::Paging;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, Order,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
    sea_query::{Alias, Expr, ExprTrait, Func, LikeExpr},
};
use uuid::Uuid;

use super::monitoring::{ConfigRow, MentionRow, config, mention};
use crate::domain::sentiment::{NEGATIVE_MAX, POSITIVE_MIN, SentimentLabel};

/// Which mentions a query reads. `from` is inclusive and `until` exclusive, so adjacent windows
/// never count a mention twice. Text values are compared lowercased.
#[derive(Clone, Debug, Default)]
pub struct MentionFilter {
    pub campaign_id: Option<Uuid>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Lowercase; matched against `LOWER(platform)`.
    pub platform: Option<String>,
    pub sentiment: Option<SentimentLabel>,
    /// Lowercase; the text contains it.
    pub text: Option<String>,
    /// Lowercase; `matched` equals it or the text contains it.
    pub keyword: Option<String>,
}

impl MentionFilter {
    fn condition(&self) -> Condition {
        let mut c = Condition::all();
        if let Some(id) = self.campaign_id {
            c = c.add(mention::Column::CampaignId.eq(id));
        }
        if let Some(t) = self.from {
            c = c.add(mention::Column::Timestamp.gte(t));
        }
        if let Some(t) = self.until {
            c = c.add(mention::Column::Timestamp.lt(t));
        }
        if let Some(p) = &self.platform {
            c = c.add(lower(mention::Column::Platform).eq(p.as_str()));
        }
        if let Some(label) = self.sentiment {
            c = c.add(band(label));
        }
        if let Some(q) = &self.text {
            c = c.add(text_contains(q));
        }
        if let Some(k) = &self.keyword {
            c = c.add(
                Condition::any()
                    .add(lower(mention::Column::Matched).eq(k.as_str()))
                    .add(text_contains(k)),
            );
        }
        c
    }

    fn select(&self) -> Select<mention::Entity> {
        mention::Entity::find().filter(self.condition())
    }
}

fn lower(col: mention::Column) -> Expr {
    Func::lower(Expr::col(col)).into()
}

fn band(label: SentimentLabel) -> Condition {
    let s = || Expr::col(mention::Column::Sentiment);
    match label {
        SentimentLabel::Positive => Condition::all().add(s().gte(POSITIVE_MIN)),
        SentimentLabel::Negative => Condition::all().add(s().lte(NEGATIVE_MAX)),
        SentimentLabel::Neutral => Condition::all()
            .add(s().gt(NEGATIVE_MAX))
            .add(s().lt(POSITIVE_MIN)),
    }
}

/// `LOWER(text) LIKE '%needle%'` with the needle's `%`, `_` and `\` escaped. SQLite's `LOWER`
/// folds ASCII only, PostgreSQL's every letter.
fn text_contains(needle: &str) -> Expr {
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for ch in needle.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    lower(mention::Column::Text).like(LikeExpr::new(pattern).escape('\\'))
}

/// `CAST(SUM(expr) AS BIGINT)`: PostgreSQL sums a bigint column to `numeric`, which would not
/// decode as an integer.
fn sum_bigint(expr: impl Into<Expr>) -> Expr {
    Func::cast_as(Func::sum(expr.into()), Alias::new("BIGINT")).into()
}

fn count_where(cond: Expr) -> Expr {
    sum_bigint(Expr::case(cond, 1).finally(0))
}

/// What every aggregate selects: counts by sentiment label, reach, engagement, mean sentiment.
/// The sums are `None` over no rows.
#[derive(Clone, Debug, Default, PartialEq, FromQueryResult)]
pub struct Aggregate {
    pub mentions: i64,
    pub positive: Option<i64>,
    pub negative: Option<i64>,
    pub reach: Option<i64>,
    pub engagement: Option<i64>,
    pub avg_sentiment: Option<f64>,
}

impl Aggregate {
    pub fn neutral(&self) -> i64 {
        self.mentions - self.positive.unwrap_or(0) - self.negative.unwrap_or(0)
    }
}

fn aggregates(q: Select<mention::Entity>) -> Select<mention::Entity> {
    let s = || Expr::col(mention::Column::Sentiment);
    q.column_as(Expr::col(mention::Column::Id).count(), "mentions")
        .column_as(count_where(s().gte(POSITIVE_MIN)), "positive")
        .column_as(count_where(s().lte(NEGATIVE_MAX)), "negative")
        .column_as(sum_bigint(Expr::col(mention::Column::Reach)), "reach")
        .column_as(
            sum_bigint(Expr::col(mention::Column::Engagement)),
            "engagement",
        )
        .column_as(Expr::from(Func::avg(s())), "avg_sentiment")
}

/// How many mentions pass the filter.
pub async fn count(conn: &impl ConnectionTrait, f: &MentionFilter) -> Result<u64, DbErr> {
    f.select().count(conn).await
}

/// One page of the filter's mentions, newest first.
pub async fn page(
    conn: &impl ConnectionTrait,
    f: &MentionFilter,
    paging: Paging,
) -> Result<Vec<MentionRow>, DbErr> {
    f.select()
        .order_by_desc(mention::Column::Timestamp)
        .order_by_desc(mention::Column::Id)
        .offset(paging.offset())
        .limit(paging.limit)
        .all(conn)
        .await
}

/// The aggregate over every mention that passes the filter.
pub async fn totals(conn: &impl ConnectionTrait, f: &MentionFilter) -> Result<Aggregate, DbErr> {
    let row = aggregates(f.select().select_only())
        .into_model::<Aggregate>()
        .one(conn)
        .await?;
    Ok(row.unwrap_or_default())
}

/// `(timestamp, sentiment)` of the filter's newest mentions, at most `cap`.
pub async fn sentiment_points(
    conn: &impl ConnectionTrait,
    f: &MentionFilter,
    cap: u64,
) -> Result<Vec<(DateTime<Utc>, f64)>, DbErr> {
    f.select()
        .select_only()
        .column(mention::Column::Timestamp)
        .column(mention::Column::Sentiment)
        .order_by_desc(mention::Column::Timestamp)
        .limit(cap)
        .into_tuple()
        .all(conn)
        .await
}

/// The texts of the filter's newest mentions, at most `cap`.
pub async fn texts(
    conn: &impl ConnectionTrait,
    f: &MentionFilter,
    cap: u64,
) -> Result<Vec<String>, DbErr> {
    f.select()
        .select_only()
        .column(mention::Column::Text)
        .order_by_desc(mention::Column::Timestamp)
        .limit(cap)
        .into_tuple()
        .all(conn)
        .await
}

/// One group of an aggregate: its key and the figures.
#[derive(Clone, Debug, PartialEq, FromQueryResult)]
pub struct Group {
    pub key: String,
    #[sea_orm(nested)]
    pub stats: Aggregate,
}

/// The aggregate per lowercased platform, most mentions first.
pub async fn by_platform(
    conn: &impl ConnectionTrait,
    f: &MentionFilter,
) -> Result<Vec<Group>, DbErr> {
    let key = || lower(mention::Column::Platform);
    aggregates(f.select().select_only().column_as(key(), "key"))
        .group_by(key())
        .order_by(Expr::col(mention::Column::Id).count(), Order::Desc)
        .order_by(key(), Order::Asc)
        .into_model::<Group>()
        .all(conn)
        .await
}

/// The aggregate per `matched` term (mentions that matched none are left out).
pub async fn by_matched(
    conn: &impl ConnectionTrait,
    f: &MentionFilter,
) -> Result<Vec<Group>, DbErr> {
    aggregates(
        f.select()
            .select_only()
            .column_as(mention::Column::Matched, "key")
            .filter(mention::Column::Matched.is_not_null()),
    )
    .group_by(mention::Column::Matched)
    .into_model::<Group>()
    .all(conn)
    .await
}

/// One page of locations by mentions (then name), mentions without one left out; and how
/// many locations there are.
pub async fn by_location(
    conn: &impl ConnectionTrait,
    f: &MentionFilter,
    paging: Paging,
) -> Result<(Vec<Group>, u64), DbErr> {
    let pages = aggregates(
        f.select()
            .select_only()
            .column_as(mention::Column::Location, "key")
            .filter(mention::Column::Location.is_not_null()),
    )
    .group_by(mention::Column::Location)
    .order_by(Expr::col(mention::Column::Id).count(), Order::Desc)
    .order_by_asc(mention::Column::Location)
    .into_model::<Group>()
    .paginate(conn, paging.limit);
    let total = pages.num_items().await?;
    Ok((pages.fetch_page(paging.page - 1).await?, total))
}

/// An author on a platform and their figures.
#[derive(Clone, Debug, PartialEq, FromQueryResult)]
pub struct AuthorGroup {
    pub author: String,
    pub platform: String,
    #[sea_orm(nested)]
    pub stats: Aggregate,
}

/// One page of authors (per platform) by total reach, then engagement, then mentions; and how
/// many there are.
pub async fn by_author(
    conn: &impl ConnectionTrait,
    f: &MentionFilter,
    paging: Paging,
) -> Result<(Vec<AuthorGroup>, u64), DbErr> {
    let platform = || lower(mention::Column::Platform);
    let pages = aggregates(
        f.select()
            .select_only()
            .column(mention::Column::Author)
            .column_as(platform(), "platform"),
    )
    .group_by(mention::Column::Author)
    .group_by(platform())
    .order_by(sum_bigint(Expr::col(mention::Column::Reach)), Order::Desc)
    .order_by(
        sum_bigint(Expr::col(mention::Column::Engagement)),
        Order::Desc,
    )
    .order_by(Expr::col(mention::Column::Id).count(), Order::Desc)
    .order_by_asc(mention::Column::Author)
    .order_by(platform(), Order::Asc)
    .into_model::<AuthorGroup>()
    .paginate(conn, paging.limit);
    let total = pages.num_items().await?;
    Ok((pages.fetch_page(paging.page - 1).await?, total))
}

pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<MentionRow>, DbErr> {
    mention::Entity::find_by_id(id).one(conn).await
}

/// Where a feed reader stopped: after this arrival instant, and after this mention among
/// those that arrived at the same instant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Arrival {
    pub ingested_at: DateTime<Utc>,
    pub id: Option<Uuid>,
}

/// The filter's mentions that arrived after `after` (all when `None`), latest arrival first,
/// at most `limit`.
pub async fn arrived_after(
    conn: &impl ConnectionTrait,
    f: &MentionFilter,
    after: Option<Arrival>,
    limit: u64,
) -> Result<Vec<MentionRow>, DbErr> {
    let mut q = f.select();
    if let Some(a) = after {
        let later = mention::Column::IngestedAt.gt(a.ingested_at);
        q = q.filter(match a.id {
            Some(id) => Condition::any().add(later).add(
                Condition::all()
                    .add(mention::Column::IngestedAt.eq(a.ingested_at))
                    .add(mention::Column::Id.gt(id)),
            ),
            None => Condition::all().add(later),
        });
    }
    q.order_by_desc(mention::Column::IngestedAt)
        .order_by_desc(mention::Column::Id)
        .limit(limit)
        .all(conn)
        .await
}

/// The monitoring configurations of one campaign, or of all; oldest first.
pub async fn configs(
    conn: &impl ConnectionTrait,
    campaign_id: Option<Uuid>,
) -> Result<Vec<ConfigRow>, DbErr> {
    let mut q = config::Entity::find();
    if let Some(id) = campaign_id {
        q = q.filter(config::Column::CampaignId.eq(id));
    }
    q.order_by_asc(config::Column::CreatedAt)
        .order_by_asc(config::Column::Id)
        .all(conn)
        .await
}

/// How many of the filter's mentions have no location.
pub async fn count_unlocated(conn: &impl ConnectionTrait, f: &MentionFilter) -> Result<u64, DbErr> {
    f.select()
        .filter(mention::Column::Location.is_null())
        .count(conn)
        .await
}
