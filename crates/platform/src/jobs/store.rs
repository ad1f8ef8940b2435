//! The worker's queries: claim, heartbeat, finish, release. A claim is a conditional UPDATE
//! that only one instance can win; every later write is fenced on the claim (id, `running`,
//! `locked_by`, `attempts`), so a worker whose lease was taken over cannot overwrite the state
//! the new owner writes.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use super::{
    AttemptOutcome, JobStatus,
    entity::{attempt, job},
    now,
};

/// The jobs a worker may take: the kinds it has handlers for, in its queues.
pub(crate) struct Scope {
    pub kinds: Vec<String>,
    pub queues: Option<Vec<String>>,
}

impl Scope {
    fn condition(&self) -> Condition {
        let mut c = Condition::all().add(job::Column::Kind.is_in(self.kinds.iter().cloned()));
        if let Some(q) = &self.queues {
            c = c.add(job::Column::Queue.is_in(q.iter().cloned()));
        }
        c
    }
}

/// A job this worker owns until `locked_until`.
#[derive(Debug, Clone)]
pub(crate) struct Claim {
    pub job: job::Model,
    pub worker: String,
    pub attempt_id: Uuid,
}

pub(crate) struct ClaimRound {
    pub claimed: Vec<Claim>,
    /// A candidate was taken by another worker first: there may be more to claim at once.
    pub contended: bool,
}

/// Due pending jobs, and running ones whose lease expired (their worker died).
fn claimable(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(
            Condition::all()
                .add(job::Column::Status.eq(JobStatus::Pending.as_str()))
                .add(job::Column::RunAt.lte(now)),
        )
        .add(
            Condition::all()
                .add(job::Column::Status.eq(JobStatus::Running.as_str()))
                .add(job::Column::LockedUntil.lt(now)),
        )
}

fn owned(c: &Claim) -> Condition {
    Condition::all()
        .add(job::Column::Id.eq(c.job.id))
        .add(job::Column::Status.eq(JobStatus::Running.as_str()))
        .add(job::Column::LockedBy.eq(c.worker.as_str()))
        .add(job::Column::Attempts.eq(c.job.attempts))
}

fn plus(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Claims up to `limit` jobs, oldest due first.
pub(crate) async fn claim(
    db: &DatabaseConnection,
    scope: &Scope,
    worker: &str,
    lease: Duration,
    limit: u64,
) -> Result<ClaimRound, DbErr> {
    let now = now();
    let candidates: Vec<Uuid> = job::Entity::find()
        .select_only()
        .column(job::Column::Id)
        .filter(claimable(now))
        .filter(scope.condition())
        .order_by_asc(job::Column::RunAt)
        .order_by_asc(job::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    let mut round = ClaimRound {
        claimed: Vec::new(),
        contended: false,
    };
    for id in candidates {
        match claim_one(db, id, worker, lease, now).await {
            Ok(Some(claim)) => round.claimed.push(claim),
            Ok(None) => round.contended = true,
            Err(e) if round.claimed.is_empty() => return Err(e),
            // Keep what we hold; a job won but not recorded comes back when its lease expires.
            Err(e) => {
                tracing::warn!(error = %e, "claiming a job failed");
                break;
            }
        }
    }
    Ok(round)
}

/// `None` when another worker took the job first (or it is dead: see below).
async fn claim_one(
    db: &DatabaseConnection,
    id: Uuid,
    worker: &str,
    lease: Duration,
    now: DateTime<Utc>,
) -> Result<Option<Claim>, DbErr> {
    let won = job::Entity::update_many()
        .col_expr(
            job::Column::Status,
            Expr::value(JobStatus::Running.as_str()),
        )
        .col_expr(job::Column::LockedUntil, Expr::value(plus(now, lease)))
        .col_expr(job::Column::LockedBy, Expr::value(worker))
        .col_expr(
            job::Column::Attempts,
            Expr::col(job::Column::Attempts).add(1),
        )
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .filter(job::Column::Id.eq(id))
        .filter(claimable(now))
        .exec(db)
        .await?
        .rows_affected
        == 1;
    if !won {
        return Ok(None);
    }
    // A run left unfinished belongs to a worker that died holding this job.
    attempt::Entity::update_many()
        .col_expr(
            attempt::Column::Outcome,
            Expr::value(AttemptOutcome::Abandoned.as_str()),
        )
        .col_expr(attempt::Column::FinishedAt, Expr::value(now))
        .col_expr(
            attempt::Column::Error,
            Expr::value("the worker stopped before finishing (lease expired)"),
        )
        .filter(attempt::Column::JobId.eq(id))
        .filter(attempt::Column::FinishedAt.is_null())
        .exec(db)
        .await?;
    let Some(row) = job::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    let claim = Claim {
        job: row,
        worker: worker.to_owned(),
        attempt_id: Uuid::now_v7(),
    };
    if claim.job.attempts > claim.job.max_attempts {
        // Its last allowed run was lost with a dead worker: the job may be what kills
        // workers, so it does not get another.
        let error = format!(
            "attempt {} of {} never finished: the worker running it stopped (lease expired)",
            claim.job.attempts - 1,
            claim.job.max_attempts
        );
        finish_job(db, &claim, &Finish::Dead { error }).await?;
        return Ok(None);
    }
    attempt::ActiveModel {
        id: Set(claim.attempt_id),
        job_id: Set(id),
        attempt: Set(claim.job.attempts),
        worker: Set(worker.to_owned()),
        started_at: Set(now),
        finished_at: Set(None),
        outcome: Set(None),
        error: Set(None),
    }
    .insert(db)
    .await?;
    Ok(Some(claim))
}

/// When the earliest pending job in scope is due.
pub(crate) async fn next_due(
    db: &DatabaseConnection,
    scope: &Scope,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    job::Entity::find()
        .select_only()
        .column(job::Column::RunAt)
        .filter(job::Column::Status.eq(JobStatus::Pending.as_str()))
        .filter(scope.condition())
        .order_by_asc(job::Column::RunAt)
        .limit(1)
        .into_tuple()
        .one(db)
        .await
}

/// Extends the lease; false when the claim is no longer ours.
pub(crate) async fn heartbeat(
    db: &DatabaseConnection,
    c: &Claim,
    lease: Duration,
) -> Result<bool, DbErr> {
    let now = now();
    Ok(job::Entity::update_many()
        .col_expr(job::Column::LockedUntil, Expr::value(plus(now, lease)))
        .filter(owned(c))
        .exec(db)
        .await?
        .rows_affected
        == 1)
}

/// How a run ends for the job.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Finish {
    Succeeded,
    Retry { at: DateTime<Utc>, error: String },
    Dead { error: String },
}

impl Finish {
    pub fn outcome(&self) -> AttemptOutcome {
        match self {
            Self::Succeeded => AttemptOutcome::Succeeded,
            Self::Retry { .. } => AttemptOutcome::Retrying,
            Self::Dead { .. } => AttemptOutcome::Dead,
        }
    }

    fn error(&self) -> Option<&str> {
        match self {
            Self::Succeeded => None,
            Self::Retry { error, .. } | Self::Dead { error } => Some(error),
        }
    }
}

async fn finish_job(db: &DatabaseConnection, c: &Claim, f: &Finish) -> Result<bool, DbErr> {
    let now = now();
    let none_time = Expr::value(None::<DateTime<Utc>>);
    let mut q = job::Entity::update_many()
        .col_expr(job::Column::LockedUntil, none_time.clone())
        .col_expr(job::Column::LockedBy, Expr::value(None::<String>))
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .col_expr(job::Column::LastError, Expr::value(f.error()));
    q = match f {
        Finish::Succeeded => q
            .col_expr(
                job::Column::Status,
                Expr::value(JobStatus::Succeeded.as_str()),
            )
            .col_expr(job::Column::FinishedAt, Expr::value(now)),
        Finish::Retry { at, .. } => q
            .col_expr(
                job::Column::Status,
                Expr::value(JobStatus::Pending.as_str()),
            )
            .col_expr(job::Column::RunAt, Expr::value(*at)),
        Finish::Dead { .. } => q
            .col_expr(job::Column::Status, Expr::value(JobStatus::Dead.as_str()))
            .col_expr(job::Column::FinishedAt, Expr::value(now)),
    };
    Ok(q.filter(owned(c)).exec(db).await?.rows_affected == 1)
}

/// Records how the run ended, on the job and in its attempt log; false when the claim was
/// lost (another worker reclaimed the job after our lease expired).
///
/// The attempt is closed first: once the job leaves `running` another worker may claim it,
/// and a claim marks any run still open as abandoned.
pub(crate) async fn finish(db: &DatabaseConnection, c: &Claim, f: &Finish) -> Result<bool, DbErr> {
    end_attempt(db, c, f.outcome(), f.error()).await?;
    finish_job(db, c, f).await
}

/// Gives a job back unfinished (the worker is shutting down): due now, and this run does not
/// count against its attempts.
pub(crate) async fn release(db: &DatabaseConnection, c: &Claim) -> Result<bool, DbErr> {
    end_attempt(
        db,
        c,
        AttemptOutcome::Abandoned,
        Some("the worker shut down before it finished"),
    )
    .await?;
    let now = now();
    Ok(job::Entity::update_many()
        .col_expr(
            job::Column::Status,
            Expr::value(JobStatus::Pending.as_str()),
        )
        .col_expr(job::Column::RunAt, Expr::value(now))
        .col_expr(job::Column::LockedUntil, Expr::value(None::<DateTime<Utc>>))
        .col_expr(job::Column::LockedBy, Expr::value(None::<String>))
        .col_expr(
            job::Column::Attempts,
            Expr::col(job::Column::Attempts).sub(1),
        )
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .filter(owned(c))
        .exec(db)
        .await?
        .rows_affected
        == 1)
}

async fn end_attempt(
    db: &DatabaseConnection,
    c: &Claim,
    outcome: AttemptOutcome,
    error: Option<&str>,
) -> Result<(), DbErr> {
    attempt::Entity::update_many()
        .col_expr(attempt::Column::FinishedAt, Expr::value(now()))
        .col_expr(attempt::Column::Outcome, Expr::value(outcome.as_str()))
        .col_expr(attempt::Column::Error, Expr::value(error))
        .filter(attempt::Column::Id.eq(c.attempt_id))
        .filter(attempt::Column::FinishedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}
