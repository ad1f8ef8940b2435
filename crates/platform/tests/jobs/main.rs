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
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use sea_orm_migration::{MigrationTrait, MigratorTrait};
use tempfile::TempDir;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(10);

struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        platform::migrations::migrations()
    }
}

/// A migrated database no other test touches.
struct TestDb {
    url: String,
    _dir: Option<TempDir>,
}

impl TestDb {
    async fn fresh() -> Self {
        let db = match std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|s| !s.is_empty())
        {
            Some(admin_url) => {
                let name = format!("basalt_test_{}", Uuid::new_v4().simple());
                let admin = Database::connect(&admin_url)
                    .await
                    .expect("connect to TEST_DATABASE_URL");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                let mut url = url::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
                url.set_path(&format!("/{name}"));
                Self {
                    url: url.to_string(),
                    _dir: None,
                }
            }
            None => {
                let dir = tempfile::tempdir().expect("tempdir");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("jobs.db").display());
                Self {
                    url,
                    _dir: Some(dir),
                }
            }
        };
        let conn = db.connect().await;
        Migrator::up(&conn, None).await.expect("migrate");
        db
    }

    /// A new pool on the database, as another instance would open.
    async fn connect(&self) -> DatabaseConnection {
        platform::db::connect(&self.url).await.expect("connect")
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
