//! Several instances on one database: each job runs once, and a dead instance's jobs come
//! back when their lease expires.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::Utc;
use platform::jobs::{
    AttemptOutcome, JobError, JobStatus, NewJob,
    entity::{attempt, job},
    handler_fn,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use crate::{Log, TestDb, eventually, never, ok_handler, until_status, worker};

#[tokio::test]
async fn two_instances_run_fifty_jobs_exactly_once() {
    let db = TestDb::fresh().await;
    let (a, b) = (db.jobs().await, db.jobs().await);
    let runs: Arc<Mutex<HashMap<Uuid, Vec<String>>>> = Arc::default();
    let handler = |instance: &'static str| {
        let runs = runs.clone();
        handler_fn(move |job| {
            let runs = runs.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                runs.lock()
                    .unwrap()
                    .entry(job.id())
                    .or_default()
                    .push(instance.to_owned());
                Ok::<(), JobError>(())
            }
        })
    };
    let wa = worker(&a)
        .name("instance-a")
        .poll_interval(Duration::from_millis(30))
        .register("work", handler("a"))
        .start(never());
    let wb = worker(&b)
        .name("instance-b")
        .poll_interval(Duration::from_millis(30))
        .register("work", handler("b"))
        .start(never());

    let mut ids = Vec::new();
    for i in 0..50 {
        let jobs = if i % 2 == 0 { &a } else { &b };
        ids.push(
            jobs.enqueue(NewJob::from_value("work", json!({"i": i})))
                .await
                .unwrap()
                .id,
        );
    }
    eventually("all 50 jobs to succeed", || async {
        (a.stats().await.unwrap().succeeded == 50).then_some(())
    })
    .await;
    wa.stop().await;
    wb.stop().await;

    let runs = runs.lock().unwrap().clone();
    for id in &ids {
        assert_eq!(runs[id].len(), 1, "job {id} ran {:?}", runs[id]);
        assert_eq!(a.get(*id).await.unwrap().unwrap().attempts, 1);
    }
    let by_a = runs.values().filter(|r| r[0] == "a").count();
    eprintln!("instance a ran {by_a} of 50, instance b {}", 50 - by_a);
}

/// Makes job `id` look claimed by an instance that died `ago` past its lease.
async fn claimed_by_a_dead_instance(jobs: &platform::jobs::Jobs, id: Uuid, attempts: i32) {
    let long_ago = Utc::now() - chrono::Duration::seconds(60);
    job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value("running"))
        .col_expr(job::Column::LockedBy, Expr::value("dead-instance"))
        .col_expr(job::Column::LockedUntil, Expr::value(long_ago))
        .col_expr(job::Column::Attempts, Expr::value(attempts))
        .filter(job::Column::Id.eq(id))
        .exec(jobs.db())
        .await
        .unwrap();
    attempt::ActiveModel {
        id: Set(Uuid::now_v7()),
        job_id: Set(id),
        attempt: Set(attempts),
        worker: Set("dead-instance".into()),
        started_at: Set(long_ago - chrono::Duration::seconds(30)),
        finished_at: Set(None),
        outcome: Set(None),
        error: Set(None),
    }
    .insert(jobs.db())
    .await
    .unwrap();
}

#[tokio::test]
async fn an_expired_lease_is_reclaimed_and_a_live_one_is_not() {
    let db = TestDb::fresh().await;
    let jobs = db.jobs().await;
    let orphan = jobs
        .enqueue(NewJob::from_value("work", json!({})))
        .await
        .unwrap()
        .id;
    claimed_by_a_dead_instance(&jobs, orphan, 1).await;
    // A job another live instance holds, its lease an hour ahead.
    let held = jobs
        .enqueue(NewJob::from_value("work", json!({})))
        .await
        .unwrap()
        .id;
    job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value("running"))
        .col_expr(job::Column::LockedBy, Expr::value("live-instance"))
        .col_expr(
            job::Column::LockedUntil,
            Expr::value(Utc::now() + chrono::Duration::hours(1)),
        )
        .col_expr(job::Column::Attempts, Expr::value(1))
        .filter(job::Column::Id.eq(held))
        .exec(jobs.db())
        .await
        .unwrap();

    let log = Log::default();
    let handle = worker(&jobs)
        .name("survivor")
        .register("work", ok_handler(&log))
        .start(never());
    let job = until_status(&jobs, orphan, JobStatus::Succeeded).await;
    assert_eq!(job.attempts, 2, "the lost run counts as an attempt");
    let attempts = jobs.attempts(orphan).await.unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].worker, "dead-instance");
    assert_eq!(attempts[0].outcome, Some(AttemptOutcome::Abandoned));
    assert_eq!(attempts[1].worker, "survivor");
    assert_eq!(attempts[1].outcome, Some(AttemptOutcome::Succeeded));

    tokio::time::sleep(Duration::from_millis(300)).await;
    let still = jobs.get(held).await.unwrap().unwrap();
    assert_eq!(still.status, JobStatus::Running);
    assert_eq!(still.locked_by.as_deref(), Some("live-instance"));
    assert_eq!(log.count(held), 0);
    handle.stop().await;
}

#[tokio::test]
async fn a_job_whose_last_attempt_was_lost_goes_dead_without_running() {
    let db = TestDb::fresh().await;
    let jobs = db.jobs().await;
    let id = jobs
        .enqueue(NewJob::from_value("work", json!({})).max_attempts(2))
        .await
        .unwrap()
        .id;
    claimed_by_a_dead_instance(&jobs, id, 2).await;
    let log = Log::default();
    let handle = worker(&jobs)
        .register("work", ok_handler(&log))
        .start(never());
    let job = until_status(&jobs, id, JobStatus::Dead).await;
    assert!(
        job.last_error
            .unwrap()
            .contains("attempt 2 of 2 never finished"),
        "the error says why"
    );
    assert_eq!(log.count(id), 0);
    handle.stop().await;
}

#[tokio::test]
async fn a_long_job_keeps_its_lease_while_it_runs() {
    let db = TestDb::fresh().await;
    let (a, b) = (db.jobs().await, db.jobs().await);
    let log = Log::default();
    let slow = {
        let log = log.clone();
        handler_fn(move |job| {
            let log = log.clone();
            async move {
                log.push(&job);
                tokio::time::sleep(Duration::from_millis(1200)).await;
                Ok(())
            }
        })
    };
    // Leases of 300 ms, renewed every 100 ms: the second instance must never see one expire.
    let wa = worker(&a)
        .lease(Duration::from_millis(300))
        .register("slow", slow)
        .start(never());
    let id = a
        .enqueue(NewJob::from_value("slow", json!({})))
        .await
        .unwrap()
        .id;
    eventually("the job to start", || async {
        (log.count(id) == 1).then_some(())
    })
    .await;
    let wb = worker(&b)
        .lease(Duration::from_millis(300))
        .poll_interval(Duration::from_millis(20))
        .register("slow", ok_handler(&log))
        .start(never());
    until_status(&a, id, JobStatus::Succeeded).await;
    assert_eq!(log.count(id), 1);
    assert_eq!(a.get(id).await.unwrap().unwrap().attempts, 1);
    wa.stop().await;
    wb.stop().await;
}
