//! Latency: a job enqueued in-process starts at once, not on the next poll; a delayed job
//! starts when due, not on the poll after.

use std::time::{Duration, Instant};

use platform::jobs::{JobStatus, NewJob, Worker};
use sea_orm::TransactionTrait;
use serde_json::json;

use crate::{Log, TestDb, never, ok_handler, until_status};

/// A worker that would only look at the table every 10 s on its own.
fn sleepy(jobs: &platform::jobs::Jobs, log: &Log) -> Worker {
    Worker::new(jobs.clone())
        .poll_interval(Duration::from_secs(10))
        .register("alert.deliver", ok_handler(log))
}

#[tokio::test]
async fn an_in_process_enqueue_wakes_an_idle_worker_at_once() {
    let db = TestDb::fresh().await;
    let jobs = db.jobs().await;
    let log = Log::default();
    let handle = sleepy(&jobs, &log).start(never());
    // Let the worker finish its first look and go idle.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let t = Instant::now();
    let id = jobs
        .enqueue(NewJob::from_value("alert.deliver", json!({})))
        .await
        .unwrap()
        .id;
    until_status(&jobs, id, JobStatus::Succeeded).await;
    let took = t.elapsed();
    assert!(took < Duration::from_secs(2), "took {took:?}");

    // Again, now that the worker has been through a wake-up.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t = Instant::now();
    let id = jobs
        .enqueue(NewJob::from_value("alert.deliver", json!({})))
        .await
        .unwrap()
        .id;
    until_status(&jobs, id, JobStatus::Succeeded).await;
    assert!(t.elapsed() < Duration::from_secs(2));
    handle.stop().await;
}

#[tokio::test]
async fn a_job_enqueued_in_a_transaction_starts_once_woken_after_commit() {
    let db = TestDb::fresh().await;
    let jobs = db.jobs().await;
    let log = Log::default();
    let handle = sleepy(&jobs, &log).start(never());
    tokio::time::sleep(Duration::from_millis(300)).await;

    let t = Instant::now();
    let txn = jobs.db().begin().await.unwrap();
    let id = jobs
        .enqueue_in(&txn, NewJob::from_value("alert.deliver", json!({})))
        .await
        .unwrap()
        .id;
    txn.commit().await.unwrap();
    jobs.wake();
    until_status(&jobs, id, JobStatus::Succeeded).await;
    assert!(t.elapsed() < Duration::from_secs(2));
    handle.stop().await;
}

#[tokio::test]
async fn a_delayed_job_starts_when_due_not_on_the_next_poll() {
    let db = TestDb::fresh().await;
    let jobs = db.jobs().await;
    let log = Log::default();
    let handle = sleepy(&jobs, &log).start(never());
    tokio::time::sleep(Duration::from_millis(300)).await;

    let t = Instant::now();
    let id = jobs
        .enqueue(NewJob::from_value("alert.deliver", json!({})).after(Duration::from_millis(500)))
        .await
        .unwrap()
        .id;
    until_status(&jobs, id, JobStatus::Succeeded).await;
    let ran_at = log.runs()[0].2;
    assert!(
        ran_at - t >= Duration::from_millis(500),
        "not before it is due"
    );
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "took {:?}",
        t.elapsed()
    );
    handle.stop().await;
}
