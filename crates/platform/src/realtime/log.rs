//! The event log: a realtime event is written to the product's database in the same
//! transaction as the data it announces, and gets its topic's sequence id there; it is then
//! published from the log to the [`Hub`], at least once and in order per topic, by whichever
//! instance gets to it first. An instance that dies between its commit and the hub loses
//! nothing: every instance runs a relay that publishes what is still unpublished.
//!
//! Tables (platform migration `m0006_platform_realtime_log`):
//!
//! * `realtime_topics (topic, seq)`: the topic's last sequence id. A transaction takes its
//!   ids with one `INSERT … ON CONFLICT DO UPDATE SET seq = seq + n RETURNING seq`, which on
//!   PostgreSQL locks the row until commit: writers of one topic queue there, so commit order
//!   is sequence order and ids have no holes (a rolled-back transaction takes its ids back).
//!   SQLite has one writer at a time anyway. A transaction takes its topics in name order, so
//!   two transactions never wait for each other in a cycle.
//! * `realtime_events (topic, seq, kind, data, at, published_at)`: the events; `published_at`
//!   is set once the hub accepted the event. Published events are deleted after
//!   [`KEEP_PUBLISHED`].
//!
//! The publishing rule, which keeps a topic in order however many instances publish it: an
//! event is sent to the hub only as part of a run that starts at the topic's lowest
//! unpublished event and goes up one by one, each sent after the hub answered the previous
//! one; events are marked published only after the hub accepted (or already had) them. So
//! the hub never receives event `n + 1` before it holds `n`, and a second publisher of the
//! same run is told "duplicate" ([`Hub::publish_with_seq`]) and changes nothing.
//!
//! Failpoints, for the crash tests: `BASALT_FAILPOINT=<name>` makes the process abort at the
//! named point (inert when unset): `events.after_commit` (the events are committed, nothing is
//! published), `events.mid_publish` (the hub accepted some of a run, not all),
//! `events.before_mark` (the hub accepted a run that is not marked yet).

use std::{
    collections::BTreeMap,
    sync::{Arc, OnceLock},
    time::{Duration, Instant},
};

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
    sea_query::{Expr, ExprTrait, OnConflict, Query},
};
use serde::Serialize;
use tokio::sync::Notify;

use super::{RealtimeError, hub::Hub, valid_topic};
use crate::lifecycle::Background;

/// How often every instance's relay looks for events nobody published.
pub const RELAY_EVERY: Duration = Duration::from_secs(1);
/// The periodic relay leaves events younger than this to the instance that wrote them, which
/// publishes right after its commit; woken in process it takes everything.
const RELAY_GRACE: Duration = Duration::from_millis(500);
/// Published events are kept this long (for an operator looking at the table), then deleted.
pub const KEEP_PUBLISHED: Duration = Duration::from_secs(10 * 60);
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// Events read and sent per run.
const RUN: u64 = 500;
/// Topics one relay pass looks at.
const TOPICS_PER_PASS: u64 = 1000;

pub(crate) mod event {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "realtime_events")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub topic: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub seq: i64,
        pub kind: String,
        pub data: Json,
        pub at: DateTimeUtc,
        pub published_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub(crate) mod topic {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "realtime_topics")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub topic: String,
        pub seq: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Why the log could not write or publish.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("database: {0}")]
    Database(#[from] DbErr),
    #[error(transparent)]
    Realtime(#[from] RealtimeError),
}

/// A product's event log in front of its hub. Cheap to clone; every clone is the same log.
#[derive(Clone)]
pub struct EventLog {
    inner: Arc<Inner>,
}

struct Inner {
    /// Reads (the unpublished events).
    db: DatabaseConnection,
    /// Marks and deletes (`Core::writer`: the one SQLite writer).
    writer: DatabaseConnection,
    hub: Hub,
    /// Wakes this instance's relay (a publish after commit failed).
    wake: Notify,
}

impl std::fmt::Debug for EventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLog")
            .field("hub", &self.inner.hub)
            .finish_non_exhaustive()
    }
}

impl EventLog {
    /// The log on the product's database (`db` for reads, `writer` for writes: `Core::db` and
    /// `Core::writer`) publishing to `hub`. Nothing runs until [`EventLog::start`].
    pub fn new(db: DatabaseConnection, writer: DatabaseConnection, hub: Hub) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                writer,
                hub,
                wake: Notify::new(),
            }),
        }
    }

    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    /// The connection the log writes with, for a caller's transaction of its own.
    pub fn writer(&self) -> &DatabaseConnection {
        &self.inner.writer
    }

    /// Starts this instance's relay on `background`: every [`RELAY_EVERY`] (and when woken)
    /// it publishes the events still unpublished, whoever wrote them, and deletes old
    /// published ones. A hub in memory first learns each topic's position from the log, so
    /// ids continue across restarts without a subscriber seeing a hole.
    pub async fn start(&self, background: &Background) -> Result<(), LogError> {
        self.prime_hub().await?;
        let log = self.clone();
        let stopping = background.stopping();
        background.spawn(async move {
            tokio::pin!(stopping);
            let mut tick = tokio::time::interval(RELAY_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut pruned = Instant::now();
            loop {
                let grace = tokio::select! {
                    _ = &mut stopping => break,
                    _ = tick.tick() => RELAY_GRACE,
                    _ = log.inner.wake.notified() => Duration::ZERO,
                };
                if let Err(e) = log.relay_older_than(grace).await {
                    tracing::warn!(error = %e, "realtime: relaying the event log failed");
                }
                if pruned.elapsed() >= PRUNE_EVERY {
                    pruned = Instant::now();
                    if let Err(e) = log.prune(KEEP_PUBLISHED).await {
                        tracing::warn!(error = %e, "realtime: pruning the event log failed");
                    }
                }
            }
        });
        Ok(())
    }

    /// A batch of events to write in one transaction.
    pub fn batch(&self) -> Batch {
        Batch {
            log: self.clone(),
            pending: BTreeMap::new(),
            order: Vec::new(),
            written: Vec::new(),
        }
    }

    /// Publishes every unpublished event, whoever wrote it; returns how many the hub took.
    /// What the relay does each pass (tests call it to play a surviving instance).
    pub async fn relay(&self) -> Result<usize, LogError> {
        self.relay_older_than(Duration::ZERO).await
    }

    async fn relay_older_than(&self, grace: Duration) -> Result<usize, LogError> {
        let before = Utc::now() - chrono::Duration::from_std(grace).unwrap_or_default();
        let topics: Vec<String> = event::Entity::find()
            .select_only()
            .column(event::Column::Topic)
            .distinct()
            .filter(event::Column::PublishedAt.is_null())
            .filter(event::Column::At.lte(before))
            .limit(TOPICS_PER_PASS)
            .into_tuple()
            .all(&self.inner.db)
            .await?;
        let mut sent = 0;
        let mut failed = None;
        for topic in topics {
            match self.flush(&topic).await {
                Ok(n) => sent += n,
                Err(e) => failed = Some(e),
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(sent),
        }
    }

    /// Publishes `topic`'s unpublished events, lowest first, and marks what the hub took.
    async fn flush(&self, topic: &str) -> Result<usize, LogError> {
        let mut sent = 0;
        loop {
            let run = event::Entity::find()
                .filter(event::Column::Topic.eq(topic))
                .filter(event::Column::PublishedAt.is_null())
                .order_by_asc(event::Column::Seq)
                .limit(RUN)
                .all(&self.inner.db)
                .await?;
            let Some(first) = run.first().map(|e| e.seq) else {
                return Ok(sent);
            };
            let mut last = None;
            let mut failed = None;
            for (i, e) in run.iter().enumerate() {
                let seq = u64::try_from(e.seq).unwrap_or_default();
                match self
                    .inner
                    .hub
                    .publish_with_seq(topic, seq, &e.kind, e.data.clone(), e.at)
                    .await
                {
                    Ok(_) => last = Some(e.seq),
                    Err(err) => {
                        failed = Some(err);
                        break;
                    }
                }
                if i + 1 < run.len() {
                    failpoint("events.mid_publish");
                }
            }
            if let Some(last) = last {
                failpoint("events.before_mark");
                self.mark(topic, first, last).await?;
                sent += usize::try_from(last - first + 1).unwrap_or_default();
            }
            if let Some(e) = failed {
                return Err(e.into());
            }
            if (run.len() as u64) < RUN {
                return Ok(sent);
            }
        }
    }

    async fn mark(&self, topic: &str, first: i64, last: i64) -> Result<(), DbErr> {
        event::Entity::update_many()
            .col_expr(event::Column::PublishedAt, Expr::value(now()))
            .filter(event::Column::Topic.eq(topic))
            .filter(event::Column::Seq.between(first, last))
            .filter(event::Column::PublishedAt.is_null())
            .exec(&self.inner.writer)
            .await?;
        Ok(())
    }

    /// Deletes events published more than `keep` ago; returns how many.
    pub async fn prune(&self, keep: Duration) -> Result<u64, DbErr> {
        let before = now() - chrono::Duration::from_std(keep).unwrap_or_default();
        let done = event::Entity::delete_many()
            .filter(event::Column::PublishedAt.lt(before))
            .exec(&self.inner.writer)
            .await?;
        Ok(done.rows_affected)
    }

    /// Events written and not yet published (every topic).
    pub async fn unpublished(&self) -> Result<u64, DbErr> {
        use sea_orm::PaginatorTrait;
        event::Entity::find()
            .filter(event::Column::PublishedAt.is_null())
            .count(&self.inner.db)
            .await
    }

    /// Tells a hub in memory where each topic stands: the event before its lowest unpublished
    /// one, or its last id when everything is published.
    async fn prime_hub(&self) -> Result<(), DbErr> {
        if self.inner.hub.uses_redis() {
            return Ok(());
        }
        let heads: Vec<(String, i64)> = topic::Entity::find()
            .select_only()
            .column(topic::Column::Topic)
            .column(topic::Column::Seq)
            .into_tuple()
            .all(&self.inner.db)
            .await?;
        let lowest: Vec<(String, Option<i64>)> = event::Entity::find()
            .select_only()
            .column(event::Column::Topic)
            .column_as(event::Column::Seq.min(), "lowest")
            .filter(event::Column::PublishedAt.is_null())
            .group_by(event::Column::Topic)
            .into_tuple()
            .all(&self.inner.db)
            .await?;
        let lowest: BTreeMap<String, i64> = lowest
            .into_iter()
            .filter_map(|(t, s)| Some((t, s?)))
            .collect();
        for (name, seq) in heads {
            let head = lowest.get(&name).map_or(seq, |l| l - 1);
            self.inner
                .hub
                .prime(&name, u64::try_from(head).unwrap_or_default());
        }
        Ok(())
    }
}

/// Events written together, in one transaction of the caller's: [`Batch::push`] them, then
/// [`Batch::write`] them inside the transaction (best right before its commit: on PostgreSQL
/// the topics' counter rows stay locked until then), commit, and [`Batch::publish`].
#[must_use = "a batch does nothing until written"]
pub struct Batch {
    log: EventLog,
    /// Per topic, in push order.
    pending: BTreeMap<String, Vec<Pending>>,
    /// `(topic, index in its list)` in push order, to answer ids in push order.
    order: Vec<(String, usize)>,
    /// Topics written, for `publish`.
    written: Vec<String>,
}

struct Pending {
    kind: String,
    data: serde_json::Value,
}

impl Batch {
    /// Adds an event of type `kind` on `topic`.
    pub fn push(
        &mut self,
        topic: &str,
        kind: &str,
        data: impl Serialize,
    ) -> Result<(), RealtimeError> {
        if !valid_topic(topic) {
            return Err(RealtimeError::InvalidTopic);
        }
        if !super::hub::valid_type(kind) {
            return Err(RealtimeError::InvalidType);
        }
        let data = serde_json::to_value(data)?;
        let list = self.pending.entry(topic.to_owned()).or_default();
        self.order.push((topic.to_owned(), list.len()));
        list.push(Pending {
            kind: kind.to_owned(),
            data,
        });
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Writes the pushed events through `conn` (the caller's transaction), each with its
    /// topic's next sequence id; answers the ids in push order.
    pub async fn write<C: ConnectionTrait>(&mut self, conn: &C) -> Result<Vec<u64>, DbErr> {
        let at = now();
        let mut first_of: BTreeMap<&str, i64> = BTreeMap::new();
        let mut rows = Vec::new();
        // BTreeMap order: every transaction takes its topics' counter rows in name order.
        for (name, events) in &self.pending {
            let n = i64::try_from(events.len()).unwrap_or(i64::MAX);
            let last = allocate(conn, name, n).await?;
            let first = last - n + 1;
            first_of.insert(name, first);
            for (i, e) in events.iter().enumerate() {
                rows.push(event::ActiveModel {
                    topic: Set(name.clone()),
                    seq: Set(first + i as i64),
                    kind: Set(e.kind.clone()),
                    data: Set(e.data.clone()),
                    at: Set(at),
                    published_at: Set(None),
                });
            }
        }
        // Bounded statements: SQLite allows 32766 parameters, 6 a row.
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<_> = rows.by_ref().take(1000).collect();
            event::Entity::insert_many(chunk)
                .exec_without_returning(conn)
                .await?;
        }
        let ids = self
            .order
            .iter()
            .map(|(name, i)| {
                let first = first_of.get(name.as_str()).copied().unwrap_or_default();
                u64::try_from(first + *i as i64).unwrap_or_default()
            })
            .collect();
        self.written
            .extend(std::mem::take(&mut self.pending).into_keys());
        self.order.clear();
        Ok(ids)
    }

    /// After the commit: publishes the written topics' events now (the relay would within
    /// [`RELAY_EVERY`]). A hub that fails is logged and left to the relay.
    pub async fn publish(self) {
        if self.written.is_empty() {
            return;
        }
        failpoint("events.after_commit");
        for topic in &self.written {
            if let Err(e) = self.log.flush(topic).await {
                tracing::warn!(error = %e, topic, "realtime: publish failed, the relay retries");
                self.log.inner.wake.notify_one();
                return;
            }
        }
    }
}

/// Takes `n` ids of `topic`; answers the last one.
async fn allocate<C: ConnectionTrait>(conn: &C, name: &str, n: i64) -> Result<i64, DbErr> {
    let stmt = Query::insert()
        .into_table(topic::Entity)
        .columns([topic::Column::Topic, topic::Column::Seq])
        .values_panic([name.into(), n.into()])
        .on_conflict(
            OnConflict::column(topic::Column::Topic)
                .value(
                    topic::Column::Seq,
                    Expr::col((topic::Entity, topic::Column::Seq)).add(n),
                )
                .to_owned(),
        )
        .returning_col(topic::Column::Seq)
        .to_owned();
    let row = conn
        .query_one(&stmt)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("realtime_topics: {name}")))?;
    row.try_get("", "seq")
}

/// Microseconds, what PostgreSQL keeps.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Aborts the process when `BASALT_FAILPOINT` names `name` (crash tests); otherwise nothing.
pub fn failpoint(name: &str) {
    static POINT: OnceLock<Option<String>> = OnceLock::new();
    let point = POINT.get_or_init(|| {
        std::env::var("BASALT_FAILPOINT")
            .ok()
            .filter(|v| !v.is_empty())
    });
    if point.as_deref() == Some(name) {
        eprintln!("BASALT_FAILPOINT: aborting at {name}");
        std::process::abort();
    }
}
