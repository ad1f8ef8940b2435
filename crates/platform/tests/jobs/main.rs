//! The job queue on a real database: SQLite by default, PostgreSQL when `TEST_DATABASE_URL`
//! is set. Each test gets its own migrated database; "instances" are workers with their own
//! connection pool and `Jobs` handle, as two processes would have.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed step is a failed test"
)]

mod console;
mod cron;
mod idempotency;
mod instances;
mod running;
mod wakeup;

use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use platform::jobs::{
    Jitter, JobContext, JobError, JobStatus, JobView, Jobs, RetryPolicy, Worker, handler_fn,
};
use sea_orm::DatabaseConnection;
use sea_orm_migration::{MigrationTrait, MigratorTrait};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(10);

struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        platform::migrations::migrations()
    }
}

/// A migrated database no other test touches (testkit's, on SQLite or `TEST_DATABASE_URL`).
struct TestDb(testkit::TestDb);

impl TestDb {
    async fn fresh() -> Self {
        let db = Self(testkit::TestDb::fresh("jobs").await);
        let conn = db.connect().await;
        Migrator::up(&conn, None).await.expect("migrate");
        db
    }

    /// A new pool on the database, as another instance would open.
    async fn connect(&self) -> DatabaseConnection {
        platform::db::connect(&self.0.url).await.expect("connect")
    }

    /// A `Jobs` handle on its own pool.
    async fn jobs(&self) -> Jobs {
        Jobs::new(self.connect().await)
    }
}

/// Tiny backoff so retry tests take milliseconds.
fn fast_policy() -> RetryPolicy {
    RetryPolicy::new(
        Duration::from_millis(50),
        Duration::from_millis(200),
        Jitter::None,
    )
}

/// A worker tuned for tests: quick polls and backoff.
fn worker(jobs: &Jobs) -> Worker {
    Worker::new(jobs.clone())
        .poll_interval(Duration::from_millis(100))
        .retry_policy(fast_policy())
}

/// Polls `check` until it yields `Some`, or panics after `WAIT` naming `what`.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until job `id` is in `status`, and returns it.
async fn until_status(jobs: &Jobs, id: Uuid, status: JobStatus) -> JobView {
    eventually(&format!("job {id} to be {status:?}"), || async {
        jobs.get(id).await.unwrap().filter(|j| j.status == status)
    })
    .await
}

/// Records what a handler saw, for assertions.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<(Uuid, u32, Instant)>>>);

impl Log {
    fn push(&self, job: &JobContext) {
        self.0
            .lock()
            .unwrap()
            .push((job.id(), job.attempt(), Instant::now()));
    }

    fn runs(&self) -> Vec<(Uuid, u32, Instant)> {
        self.0.lock().unwrap().clone()
    }

    fn count(&self, id: Uuid) -> usize {
        self.0.lock().unwrap().iter().filter(|r| r.0 == id).count()
    }
}

/// A handler that logs the run and succeeds.
fn ok_handler(log: &Log) -> impl platform::jobs::JobHandler {
    let log = log.clone();
    handler_fn(move |job| {
        let log = log.clone();
        async move {
            log.push(&job);
            Ok::<(), JobError>(())
        }
    })
}

fn never() -> impl Future<Output = ()> + Send + 'static {
    std::future::pending()
}
