//! The durable job queue: jobs live in the product's own database (SQLite or PostgreSQL, the
//! `jobs` table), run at least once on any instance's `Worker`, retry with backoff, end `dead`
//! (the dead-letter state) when attempts run out, and keep a per-attempt log. Cron schedules
//! enqueue one job per tick across all instances through idempotency keys.
//!
//! ```ignore
//! let jobs = Jobs::new(db.clone());
//! jobs.enqueue(NewJob::new("alert.deliver", &payload)?.key(format!("alert:{id}:sms"))).await?;
//! let worker = Worker::new(jobs.clone())
//!     .register("alert.deliver", DeliverAlert::new(..))
//!     .schedule(Schedule::new("analytics-daily", "0 2 * * *", "analytics.aggregate", json!({}))?)
//!     .start(shutdown_signal);
//! ```

pub mod cron;
pub mod entity;
mod handler;
mod retry;
mod store;
mod worker;

use std::{collections::BTreeMap, sync::Arc};

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
    sea_query::OnConflict,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Notify;
use uuid::Uuid;

pub use cron::{CronError, CronExpr, Schedule};
pub use handler::{FnHandler, JobContext, JobError, JobHandler, handler_fn};
pub use retry::{Jitter, RetryPolicy};
pub use worker::{Worker, WorkerHandle};

use entity::{attempt, job};

use crate::validate::{Page, Paging};

/// The queue a job goes to unless it names one.
pub const DEFAULT_QUEUE: &str = "default";
/// Runs a job gets (the first included) unless it says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    /// Waiting for `run_at` and a worker that knows its kind.
    Pending,
    /// Claimed by a worker (`locked_by`) until `locked_until`, which the worker extends.
    Running,
    Succeeded,
    /// The dead-letter state: attempts used up, or a permanent error. `retry` revives it.
    Dead,
    /// Withdrawn by an operator before it ran.
    Cancelled,
}

impl JobStatus {
    pub const ALL: [JobStatus; 5] = [
        Self::Pending,
        Self::Running,
        Self::Succeeded,
        Self::Dead,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Dead => "dead",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// A job to enqueue. `NewJob::new("alert.deliver", &payload)?.key("alert:42:sms")`.
#[derive(Clone, Debug)]
pub struct NewJob {
    pub kind: String,
    pub payload: Value,
    /// `"default"` unless set; workers may be limited to some queues.
    pub queue: String,
    /// Not before this instant (`None`: now).
    pub run_at: Option<DateTime<Utc>>,
    /// Runs allowed, the first included (at least 1).
    pub max_attempts: u32,
    /// At most one job ever exists per key: enqueueing a taken key returns the job holding it.
    pub idempotency_key: Option<String>,
}

impl NewJob {
    pub fn new(
        kind: impl Into<String>,
        payload: &impl Serialize,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self::from_value(kind, serde_json::to_value(payload)?))
    }

    pub fn from_value(kind: impl Into<String>, payload: Value) -> Self {
        Self {
            kind: kind.into(),
            payload,
            queue: DEFAULT_QUEUE.to_owned(),
            run_at: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            idempotency_key: None,
        }
    }

    pub fn queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = queue.into();
        self
    }

    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    pub fn at(mut self, run_at: DateTime<Utc>) -> Self {
        self.run_at = Some(run_at);
        self
    }

    /// Not before `delay` from now.
    pub fn after(self, delay: std::time::Duration) -> Self {
        self.at(later(delay))
    }

    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n;
        self
    }
}

/// What `enqueue` did: `created` is false when the idempotency key already had a job, whose
/// id this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Enqueued {
    pub id: Uuid,
    pub created: bool,
}

/// One job as the console API (`/admin/api/jobs`) shows it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    pub id: Uuid,
    pub queue: String,
    pub kind: String,
    pub status: JobStatus,
    /// Runs started so far.
    pub attempts: u32,
    pub max_attempts: u32,
    /// When it runs next (pending), or last became due.
    pub run_at: DateTime<Utc>,
    /// The last failure's message; cleared when the job succeeds.
    pub last_error: Option<String>,
    pub idempotency_key: Option<String>,
    /// The instance running it, while `running`.
    pub locked_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    #[schema(value_type = Object)]
    pub payload: Value,
}

impl From<job::Model> for JobView {
    fn from(m: job::Model) -> Self {
        Self {
            id: m.id,
            queue: m.queue,
            kind: m.kind,
            // Only this module writes the column; an unknown value would be a bug, shown as
            // dead so an operator looks at it.
            status: JobStatus::parse(&m.status).unwrap_or(JobStatus::Dead),
            attempts: u32::try_from(m.attempts).unwrap_or(0),
            max_attempts: u32::try_from(m.max_attempts).unwrap_or(0),
            run_at: m.run_at,
            last_error: m.last_error,
            idempotency_key: m.idempotency_key,
            locked_by: m.locked_by,
            created_at: m.created_at,
            updated_at: m.updated_at,
            finished_at: m.finished_at,
            payload: m.payload,
        }
    }
}

impl crate::validate::Listed for JobView {
    const KEY: &'static str = "jobs";
}

/// How one run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AttemptOutcome {
    Succeeded,
    /// Failed; the job was scheduled again.
    Retrying,
    /// Failed; the job went dead.
    Dead,
    /// Never finished: the worker shut down, or died and its lease expired.
    Abandoned,
}

impl AttemptOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Retrying => "retrying",
            Self::Dead => "dead",
            Self::Abandoned => "abandoned",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Succeeded, Self::Retrying, Self::Dead, Self::Abandoned]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// One run of a job: each delivery's outcome, recorded.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobAttemptView {
    pub attempt: u32,
    pub worker: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// `None` while it runs.
    pub outcome: Option<AttemptOutcome>,
    pub error: Option<String>,
}

impl From<attempt::Model> for JobAttemptView {
    fn from(m: attempt::Model) -> Self {
        Self {
            attempt: u32::try_from(m.attempt).unwrap_or(0),
            worker: m.worker,
            started_at: m.started_at,
            finished_at: m.finished_at,
            outcome: m.outcome.as_deref().and_then(AttemptOutcome::parse),
            error: m.error,
        }
    }
}

/// Which jobs a console list shows; every field narrows it.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct JobFilter {
    pub status: Option<JobStatus>,
    pub kind: Option<String>,
    pub queue: Option<String>,
}

/// Jobs per status, for a status endpoint or a gauge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobStats {
    pub pending: u64,
    pub running: u64,
    pub succeeded: u64,
    pub dead: u64,
    pub cancelled: u64,
}

/// What an operator action (`retry`, `cancel`) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobControl {
    Done,
    NotFound,
    /// The job is not in a state the action applies to.
    WrongStatus(JobStatus),
}

/// The queue's handle: enqueue, console reads, operator actions. Cheap to clone; products
/// keep one in their context and give a clone to their `Worker`.
#[derive(Clone)]
pub struct Jobs {
    db: DatabaseConnection,
    /// Wakes this process's idle workers when a job is enqueued here, so it starts at once
    /// rather than on the next poll (which is for other instances' jobs and delayed ones).
    wake: Arc<Notify>,
    /// The product whose queue this is, as the label of the job metrics its workers record
    /// (each product's `/metrics` serves its own); empty outside a product.
    product: &'static str,
}

impl Jobs {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            wake: Arc::new(Notify::new()),
            product: "",
        }
    }

    /// The queue of `product`: its workers' metrics carry `product="<product>"`.
    pub fn of_product(mut self, product: &'static str) -> Self {
        self.product = product;
        self
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Adds a job, or with an idempotency key already taken, returns the job holding it.
    pub async fn enqueue(&self, job: NewJob) -> Result<Enqueued, DbErr> {
        let done = self.enqueue_in(&self.db, job).await?;
        if done.created {
            self.wake();
        }
        Ok(done)
    }

    /// `enqueue` inside the caller's transaction, so the job exists if and only if the
    /// transaction commits. Local workers are not woken: call [`Jobs::wake`] after commit.
    ///
    /// Idempotency uses `INSERT … ON CONFLICT (idempotency_key) DO NOTHING` rather than
    /// catching the unique violation, so a taken key does not abort a PostgreSQL transaction.
    pub async fn enqueue_in<C: ConnectionTrait>(
        &self,
        conn: &C,
        job: NewJob,
    ) -> Result<Enqueued, DbErr> {
        let now = now();
        let id = Uuid::now_v7();
        let key = job.idempotency_key.clone();
        let row = job::ActiveModel {
            id: Set(id),
            queue: Set(job.queue),
            kind: Set(job.kind),
            payload: Set(job.payload),
            status: Set(JobStatus::Pending.as_str().to_owned()),
            attempts: Set(0),
            max_attempts: Set(i32::try_from(job.max_attempts.max(1)).unwrap_or(i32::MAX)),
            run_at: Set(job.run_at.map(|t| t.trunc_subsecs(6)).unwrap_or(now)),
            locked_until: Set(None),
            locked_by: Set(None),
            last_error: Set(None),
            idempotency_key: Set(key.clone()),
            created_at: Set(now),
            updated_at: Set(now),
            finished_at: Set(None),
        };
        let inserted = job::Entity::insert(row)
            .on_conflict(
                OnConflict::column(job::Column::IdempotencyKey)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(conn)
            .await?;
        if inserted == 1 {
            return Ok(Enqueued { id, created: true });
        }
        let Some(key) = key else {
            return Err(DbErr::RecordNotInserted);
        };
        let existing: Option<Uuid> = job::Entity::find()
            .select_only()
            .column(job::Column::Id)
            .filter(job::Column::IdempotencyKey.eq(key))
            .into_tuple()
            .one(conn)
            .await?;
        match existing {
            Some(id) => Ok(Enqueued { id, created: false }),
            // The holder was purged between the two statements; rare enough to report.
            None => Err(DbErr::RecordNotInserted),
        }
    }

    /// Wakes this process's idle workers (after committing a transaction that enqueued).
    pub fn wake(&self) {
        self.wake.notify_waiters();
    }

    pub async fn get(&self, id: Uuid) -> Result<Option<JobView>, DbErr> {
        Ok(job::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .map(Into::into))
    }

    /// The job holding an idempotency key.
    pub async fn get_by_key(&self, key: &str) -> Result<Option<JobView>, DbErr> {
        Ok(job::Entity::find()
            .filter(job::Column::IdempotencyKey.eq(key))
            .one(&self.db)
            .await?
            .map(Into::into))
    }

    /// Every run of a job, oldest first.
    pub async fn attempts(&self, id: Uuid) -> Result<Vec<JobAttemptView>, DbErr> {
        Ok(attempt::Entity::find()
            .filter(attempt::Column::JobId.eq(id))
            .order_by_asc(attempt::Column::StartedAt)
            .order_by_asc(attempt::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// A page of jobs, newest first.
    pub async fn page(&self, filter: &JobFilter, paging: Paging) -> Result<Page<JobView>, DbErr> {
        let mut cond = Condition::all();
        if let Some(s) = filter.status {
            cond = cond.add(job::Column::Status.eq(s.as_str()));
        }
        if let Some(k) = &filter.kind {
            cond = cond.add(job::Column::Kind.eq(k.as_str()));
        }
        if let Some(q) = &filter.queue {
            cond = cond.add(job::Column::Queue.eq(q.as_str()));
        }
        let total = job::Entity::find()
            .filter(cond.clone())
            .count(&self.db)
            .await?;
        let rows = job::Entity::find()
            .filter(cond)
            .order_by_desc(job::Column::CreatedAt)
            .order_by_desc(job::Column::Id)
            .offset(paging.offset())
            .limit(paging.limit)
            .all(&self.db)
            .await?;
        Ok(paging.page(rows.into_iter().map(Into::into).collect(), total))
    }

    /// Puts a dead (or cancelled) job back to pending, due now, with its attempts reset; its
    /// last error stays until it succeeds.
    pub async fn retry(&self, id: Uuid) -> Result<JobControl, DbErr> {
        let now = now();
        let res = job::Entity::update_many()
            .col_expr(
                job::Column::Status,
                Expr::value(JobStatus::Pending.as_str()),
            )
            .col_expr(job::Column::Attempts, Expr::value(0))
            .col_expr(job::Column::RunAt, Expr::value(now))
            .col_expr(job::Column::LockedUntil, Expr::value(None::<DateTime<Utc>>))
            .col_expr(job::Column::LockedBy, Expr::value(None::<String>))
            .col_expr(job::Column::FinishedAt, Expr::value(None::<DateTime<Utc>>))
            .col_expr(job::Column::UpdatedAt, Expr::value(now))
            .filter(job::Column::Id.eq(id))
            .filter(
                job::Column::Status
                    .is_in([JobStatus::Dead.as_str(), JobStatus::Cancelled.as_str()]),
            )
            .exec(&self.db)
            .await?;
        if res.rows_affected == 1 {
            self.wake();
            return Ok(JobControl::Done);
        }
        self.control_miss(id).await
    }

    /// Withdraws a pending job (a running one cannot be stopped from outside).
    pub async fn cancel(&self, id: Uuid) -> Result<JobControl, DbErr> {
        let now = now();
        let res = job::Entity::update_many()
            .col_expr(
                job::Column::Status,
                Expr::value(JobStatus::Cancelled.as_str()),
            )
            .col_expr(job::Column::FinishedAt, Expr::value(now))
            .col_expr(job::Column::UpdatedAt, Expr::value(now))
            .filter(job::Column::Id.eq(id))
            .filter(job::Column::Status.eq(JobStatus::Pending.as_str()))
            .exec(&self.db)
            .await?;
        if res.rows_affected == 1 {
            return Ok(JobControl::Done);
        }
        self.control_miss(id).await
    }

    async fn control_miss(&self, id: Uuid) -> Result<JobControl, DbErr> {
        Ok(match self.get(id).await? {
            None => JobControl::NotFound,
            Some(j) => JobControl::WrongStatus(j.status),
        })
    }

    /// Jobs per status.
    pub async fn stats(&self) -> Result<JobStats, DbErr> {
        let rows: Vec<(String, i64)> = job::Entity::find()
            .select_only()
            .column(job::Column::Status)
            .column_as(job::Column::Id.count(), "n")
            .group_by(job::Column::Status)
            .into_tuple()
            .all(&self.db)
            .await?;
        let counts: BTreeMap<String, u64> = rows
            .into_iter()
            .map(|(s, n)| (s, u64::try_from(n).unwrap_or(0)))
            .collect();
        let get = |s: JobStatus| counts.get(s.as_str()).copied().unwrap_or(0);
        Ok(JobStats {
            pending: get(JobStatus::Pending),
            running: get(JobStatus::Running),
            succeeded: get(JobStatus::Succeeded),
            dead: get(JobStatus::Dead),
            cancelled: get(JobStatus::Cancelled),
        })
    }

    /// Deletes succeeded and cancelled jobs finished before `before` (with their attempts),
    /// returning how many. Dead jobs stay for an operator. A purged job's idempotency key is
    /// free again, so keep jobs longer than any key may be re-sent.
    pub async fn purge_finished(&self, before: DateTime<Utc>) -> Result<u64, DbErr> {
        let res = job::Entity::delete_many()
            .filter(
                job::Column::Status
                    .is_in([JobStatus::Succeeded.as_str(), JobStatus::Cancelled.as_str()]),
            )
            .filter(job::Column::FinishedAt.lt(before))
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected)
    }
}

/// Microsecond precision: what PostgreSQL keeps, so a value read back equals the one written
/// on both backends. (SQLite stores RFC 3339 text in UTC; with 0, 3 or 6 fraction digits that
/// text sorts as the instants do, which the `run_at`/`locked_until` comparisons rely on.)
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// `now() + d`, saturating.
fn later(d: std::time::Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| now().checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}
