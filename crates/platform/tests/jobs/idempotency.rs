//! Idempotency keys: one job per key, also under concurrent enqueues and inside transactions.

use platform::jobs::{Enqueued, JobFilter, NewJob};
use sea_orm::TransactionTrait;
use serde_json::json;

use crate::TestDb;
use platform::validate::{Page, Paging};

#[tokio::test]
async fn the_same_key_twice_gives_back_the_first_job() {
    let db = TestDb::fresh().await;
    let jobs = db.jobs().await;
    let first = jobs
        .enqueue(NewJob::from_value("alert.deliver", json!({"n": 1})).key("alert:42:sms"))
        .await
        .unwrap();
    assert!(first.created);
    let again = jobs
        .enqueue(NewJob::from_value("alert.deliver", json!({"n": 2})).key("alert:42:sms"))
        .await
        .unwrap();
    assert_eq!(
        again,
        Enqueued {
            id: first.id,
            created: false
        }
    );
    let job = jobs.get_by_key("alert:42:sms").await.unwrap().unwrap();
    assert_eq!(job.id, first.id);
    assert_eq!(
        job.payload,
        json!({"n": 1}),
        "the first job is kept as it was"
    );

    // Without keys, every enqueue is a new job.
    for _ in 0..2 {
        assert!(
            jobs.enqueue(NewJob::from_value("alert.deliver", json!({})))
                .await
                .unwrap()
                .created
        );
    }
    let Page { total, .. } = jobs
        .page(&JobFilter::default(), Paging::new(1, 10))
        .await
        .unwrap();
    assert_eq!(total, 3);
}

#[tokio::test]
async fn twenty_concurrent_enqueues_of_one_key_make_one_job() {
    let db = TestDb::fresh().await;
    // Two pools, as two instances racing on the same alert.
    let (a, b) = (db.jobs().await, db.jobs().await);
    let mut tasks = Vec::new();
    for i in 0..20 {
        let jobs = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            jobs.enqueue(NewJob::from_value("alert.deliver", json!({"i": i})).key("alert:7:call"))
                .await
                .unwrap()
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    assert_eq!(results.iter().filter(|r| r.created).count(), 1);
    assert!(results.iter().all(|r| r.id == results[0].id));
    let Page { total, .. } = a
        .page(&JobFilter::default(), Paging::new(1, 10))
        .await
        .unwrap();
    assert_eq!(total, 1);
}

#[tokio::test]
async fn a_taken_key_inside_a_transaction_does_not_abort_it() {
    let db = TestDb::fresh().await;
    let jobs = db.jobs().await;
    let first = jobs
        .enqueue(NewJob::from_value("k", json!({})).key("once"))
        .await
        .unwrap();

    let txn = jobs.db().begin().await.unwrap();
    let again = jobs
        .enqueue_in(&txn, NewJob::from_value("k", json!({})).key("once"))
        .await
        .unwrap();
    assert_eq!(again.id, first.id);
    assert!(!again.created);
    // The transaction is still usable (PostgreSQL aborts one after a unique violation).
    let other = jobs
        .enqueue_in(&txn, NewJob::from_value("k", json!({})).key("other"))
        .await
        .unwrap();
    assert!(other.created);
    txn.commit().await.unwrap();
    assert!(jobs.get(other.id).await.unwrap().is_some());
}

#[tokio::test]
async fn a_job_enqueued_in_a_rolled_back_transaction_does_not_exist() {
    let db = TestDb::fresh().await;
    let jobs = db.jobs().await;
    let txn = jobs.db().begin().await.unwrap();
    let e = jobs
        .enqueue_in(&txn, NewJob::from_value("k", json!({})).key("rolled-back"))
        .await
        .unwrap();
    txn.rollback().await.unwrap();
    assert!(jobs.get(e.id).await.unwrap().is_none());
    // And the key is free.
    assert!(
        jobs.enqueue(NewJob::from_value("k", json!({})).key("rolled-back"))
            .await
            .unwrap()
            .created
    );
}
