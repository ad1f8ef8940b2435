//! What a product implements to run a kind of job: a `JobHandler`, given a `JobContext`,
//! answering `Ok(())` or a `JobError` that says whether to retry.

use std::{future::Future, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use super::RetryPolicy;

/// Runs one kind of job. Jobs are delivered at least once (a worker that dies mid-run leaves
/// the job to be run again when its lease expires), so `run` should be idempotent: check
/// whether the work is already done, or pass the job id on to a vendor's idempotency key.
#[async_trait::async_trait]
pub trait JobHandler: Send + Sync + 'static {
    async fn run(&self, job: &JobContext) -> Result<(), JobError>;

    /// This kind's backoff, when it differs from the worker's.
    fn retry_policy(&self) -> Option<RetryPolicy> {
        None
    }
}

/// Why a run failed, and what to do next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// Try again after the retry policy's backoff (or go dead when attempts are used up).
    #[error("{0}")]
    Retry(String),
    /// Try again no sooner than this (a vendor's `Retry-After`); still counts as an attempt.
    #[error("{1} (retry after {0:?})")]
    RetryAfter(Duration, String),
    /// Retrying cannot help (bad payload, recipient gone): dead at once.
    #[error("{0}")]
    Permanent(String),
}

impl JobError {
    pub fn retry(cause: impl std::fmt::Display) -> Self {
        Self::Retry(cause.to_string())
    }

    pub fn permanent(cause: impl std::fmt::Display) -> Self {
        Self::Permanent(cause.to_string())
    }

    /// The message without the retry hint.
    pub fn message(&self) -> &str {
        match self {
            Self::Retry(m) | Self::RetryAfter(_, m) | Self::Permanent(m) => m,
        }
    }
}

/// A database error in a handler is usually passing (a lock, a restart): retry.
impl From<sea_orm::DbErr> for JobError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Retry(e.to_string())
    }
}

impl From<anyhow::Error> for JobError {
    fn from(e: anyhow::Error) -> Self {
        Self::Retry(format!("{e:#}"))
    }
}

/// The job a handler is running.
#[derive(Debug, Clone)]
pub struct JobContext {
    pub(crate) id: Uuid,
    pub(crate) kind: String,
    pub(crate) queue: String,
    pub(crate) payload: Value,
    pub(crate) attempt: u32,
    pub(crate) max_attempts: u32,
    pub(crate) idempotency_key: Option<String>,
    pub(crate) created_at: DateTime<Utc>,
}

impl JobContext {
    /// A context outside any worker, for unit-testing a handler: a fresh id, attempt 1 of 1.
    pub fn new(kind: impl Into<String>, payload: Value) -> Self {
        Self {
            id: Uuid::now_v7(),
            kind: kind.into(),
            queue: super::DEFAULT_QUEUE.to_owned(),
            payload,
            attempt: 1,
            max_attempts: 1,
            idempotency_key: None,
            created_at: Utc::now(),
        }
    }

    /// Sets the attempt number (from 1) and the attempts allowed, for tests.
    pub fn with_attempt(mut self, attempt: u32, max_attempts: u32) -> Self {
        self.attempt = attempt;
        self.max_attempts = max_attempts;
        self
    }

    /// Sets the idempotency key, for tests (`cron_tick` reads it).
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    pub fn id(&self) -> Uuid {
        self.id
    }

    pub fn kind(&self) -> &str {
        &self.kind
    }

    pub fn queue(&self) -> &str {
        &self.queue
    }

    /// The payload as `T`; a payload that does not fit is a `Permanent` error, since running
    /// it again will not make it fit.
    pub fn payload<T: DeserializeOwned>(&self) -> Result<T, JobError> {
        T::deserialize(&self.payload)
            .map_err(|e| JobError::Permanent(format!("payload of {} does not fit: {e}", self.kind)))
    }

    pub fn payload_value(&self) -> &Value {
        &self.payload
    }

    /// This run's number, from 1.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// True when a failure now makes the job dead (e.g. to record a final delivery outcome).
    pub fn is_last_attempt(&self) -> bool {
        self.attempt >= self.max_attempts
    }

    pub fn idempotency_key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }

    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    /// For a job a cron schedule enqueued, the tick it is for (from its `cron:…` key), e.g.
    /// the day a daily aggregation should cover.
    pub fn cron_tick(&self) -> Option<DateTime<Utc>> {
        self.idempotency_key
            .as_deref()
            .and_then(super::cron::tick_of_key)
    }
}

/// A handler from an async closure: `handler_fn(|job| async move { … Ok(()) })`.
pub fn handler_fn<F, Fut>(f: F) -> FnHandler<F>
where
    F: Fn(JobContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), JobError>> + Send + 'static,
{
    FnHandler(f)
}

/// See [`handler_fn`].
pub struct FnHandler<F>(F);

#[async_trait::async_trait]
impl<F, Fut> JobHandler for FnHandler<F>
where
    F: Fn(JobContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), JobError>> + Send + 'static,
{
    async fn run(&self, job: &JobContext) -> Result<(), JobError> {
        (self.0)(job.clone()).await
    }
}

#[async_trait::async_trait]
impl<H: JobHandler + ?Sized> JobHandler for Arc<H> {
    async fn run(&self, job: &JobContext) -> Result<(), JobError> {
        (**self).run(job).await
    }

    fn retry_policy(&self) -> Option<RetryPolicy> {
        (**self).retry_policy()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_that_does_not_fit_is_permanent() {
        #[derive(serde::Deserialize, Debug)]
        struct P {
            #[allow(dead_code)]
            n: u32,
        }
        let ctx = JobContext::new("x", serde_json::json!({"n": "nope"}));
        assert!(matches!(ctx.payload::<P>(), Err(JobError::Permanent(_))));
        let ok = JobContext::new("x", serde_json::json!({"n": 3}));
        assert_eq!(ok.payload::<P>().unwrap().n, 3);
    }

    #[test]
    fn the_last_attempt_is_known() {
        let ctx = JobContext::new("x", Value::Null).with_attempt(2, 3);
        assert!(!ctx.is_last_attempt());
        assert!(ctx.with_attempt(3, 3).is_last_attempt());
    }

    #[test]
    fn cron_jobs_know_their_tick() {
        let ctx = JobContext::new("x", Value::Null).with_key("cron:daily:2026-05-01T02:00:00Z");
        assert_eq!(
            ctx.cron_tick().unwrap().to_rfc3339(),
            "2026-05-01T02:00:00+00:00"
        );
        assert_eq!(JobContext::new("x", Value::Null).cron_tick(), None);
    }
}
