//! What the console reads: filtered pages, one job, stats; and cancelling.

use platform::jobs::{JobControl, JobFilter, JobStats, JobStatus, NewJob};
use serde_json::json;

use crate::TestDb;
use platform::validate::{Page, Paging};

#[tokio::test]
async fn lists_filter_by_status_kind_and_queue_newest_first() {
    let db = TestDb::fresh().await;
    let jobs = db.jobs().await;
    let mut ids = Vec::new();
    for (kind, queue) in [
        ("a", "default"),
        ("b", "alerts"),
        ("a", "alerts"),
        ("a", "default"),
    ] {
        ids.push(
            jobs.enqueue(NewJob::from_value(kind, json!({})).queue(queue))
                .await
                .unwrap()
                .id,
        );
    }
    assert_eq!(jobs.cancel(ids[0]).await.unwrap(), JobControl::Done);

    let Page {
        items: all, total, ..
    } = jobs
        .page(&JobFilter::default(), Paging::new(1, 2))
        .await
        .unwrap();
    assert_eq!(total, 4);
    assert_eq!(
        all.iter().map(|j| j.id).collect::<Vec<_>>(),
        [ids[3], ids[2]]
    );
    let Page { items: rest, .. } = jobs
        .page(&JobFilter::default(), Paging::new(2, 2))
        .await
        .unwrap();
    assert_eq!(
        rest.iter().map(|j| j.id).collect::<Vec<_>>(),
        [ids[1], ids[0]]
    );

    let of = |status, kind: Option<&str>, queue: Option<&str>| JobFilter {
        status,
        kind: kind.map(Into::into),
        queue: queue.map(Into::into),
    };
    let Page {
        items: a, total, ..
    } = jobs
        .page(&of(None, Some("a"), None), Paging::new(1, 10))
        .await
        .unwrap();
    assert_eq!(total, 3);
    assert!(a.iter().all(|j| j.kind == "a"));
    let Page { items: x, .. } = jobs
        .page(
            &of(Some(JobStatus::Pending), Some("a"), Some("alerts")),
            Paging::new(1, 10),
        )
        .await
        .unwrap();
    assert_eq!(x.iter().map(|j| j.id).collect::<Vec<_>>(), [ids[2]]);
    let Page { items: c, .. } = jobs
        .page(
            &of(Some(JobStatus::Cancelled), None, None),
            Paging::new(1, 10),
        )
        .await
        .unwrap();
    assert_eq!(c.iter().map(|j| j.id).collect::<Vec<_>>(), [ids[0]]);

    let page = jobs
        .page(&JobFilter::default(), Paging::new(1, 3))
        .await
        .unwrap();
    assert_eq!(
        (page.total, page.page, page.limit, page.items.len()),
        (4, 1, 3, 3)
    );

    assert_eq!(
        jobs.stats().await.unwrap(),
        JobStats {
            pending: 3,
            cancelled: 1,
            ..Default::default()
        }
    );
}

#[tokio::test]
async fn the_wire_shape_is_camel_case() {
    let db = TestDb::fresh().await;
    let jobs = db.jobs().await;
    let id = jobs
        .enqueue(NewJob::from_value("alert.deliver", json!({"alert": 1})).key("k1"))
        .await
        .unwrap()
        .id;
    let job = jobs.get(id).await.unwrap().unwrap();
    let wire = serde_json::to_value(&job).unwrap();
    for field in [
        "id",
        "queue",
        "kind",
        "status",
        "attempts",
        "maxAttempts",
        "runAt",
        "lastError",
        "idempotencyKey",
        "createdAt",
        "updatedAt",
        "finishedAt",
        "payload",
    ] {
        assert!(wire.get(field).is_some(), "{field} missing from {wire}");
    }
    assert_eq!(wire["status"], "pending");
    assert_eq!(wire["idempotencyKey"], "k1");
    assert_eq!(wire["payload"], json!({"alert": 1}));
}

#[tokio::test]
async fn only_pending_jobs_can_be_cancelled_and_cancelled_ones_retried() {
    let db = TestDb::fresh().await;
    let jobs = db.jobs().await;
    let id = jobs
        .enqueue(NewJob::from_value("a", json!({})))
        .await
        .unwrap()
        .id;
    assert_eq!(jobs.cancel(id).await.unwrap(), JobControl::Done);
    assert_eq!(
        jobs.cancel(id).await.unwrap(),
        JobControl::WrongStatus(JobStatus::Cancelled)
    );
    assert_eq!(
        jobs.cancel(uuid::Uuid::now_v7()).await.unwrap(),
        JobControl::NotFound
    );
    assert_eq!(jobs.retry(id).await.unwrap(), JobControl::Done);
    let job = jobs.get(id).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Pending);
    assert!(job.finished_at.is_none());
}

#[tokio::test]
async fn purging_removes_old_finished_jobs_but_keeps_dead_and_pending_ones() {
    let db = TestDb::fresh().await;
    let jobs = db.jobs().await;
    let pending = jobs
        .enqueue(NewJob::from_value("a", json!({})))
        .await
        .unwrap()
        .id;
    let cancelled = jobs
        .enqueue(NewJob::from_value("a", json!({})).key("freed"))
        .await
        .unwrap()
        .id;
    jobs.cancel(cancelled).await.unwrap();
    let later = chrono::Utc::now() + chrono::Duration::seconds(1);
    assert_eq!(jobs.purge_finished(later).await.unwrap(), 1);
    assert!(jobs.get(cancelled).await.unwrap().is_none());
    assert!(jobs.get(pending).await.unwrap().is_some());
    assert!(
        jobs.enqueue(NewJob::from_value("a", json!({})).key("freed"))
            .await
            .unwrap()
            .created,
        "a purged job's key is free again"
    );
}
