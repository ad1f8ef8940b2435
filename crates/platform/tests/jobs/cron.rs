//! Cron schedules: one job per tick, however many instances run the schedule.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, Utc};
use platform::jobs::{CronExpr, JobError, JobFilter, JobStatus, Schedule, handler_fn};
use serde_json::json;

use crate::{Log, TestDb, eventually, never, ok_handler, worker};
use platform::validate::{Page, Paging};

#[tokio::test]
async fn two_instances_running_one_schedule_make_one_job_per_tick() {
    let db = TestDb::fresh().await;
    let (a, b) = (db.jobs().await, db.jobs().await);
    let ticks: Arc<Mutex<HashMap<DateTime<Utc>, u32>>> = Arc::default();
    let handler = || {
        let ticks = ticks.clone();
        handler_fn(move |job| {
            let ticks = ticks.clone();
            async move {
                let tick = job.cron_tick().expect("a cron job knows its tick");
                *ticks.lock().unwrap().entry(tick).or_default() += 1;
                Ok::<(), JobError>(())
            }
        })
    };
    let every_second =
        || Schedule::new("heartbeat", "* * * * * *", "tick", json!({"scope": "all"})).unwrap();
    let wa = worker(&a)
        .schedule(every_second())
        .register("tick", handler())
        .start(never());
    let wb = worker(&b)
        .schedule(every_second())
        .register("tick", handler())
        .start(never());
    tokio::time::sleep(Duration::from_millis(3300)).await;
    wa.stop().await;
    wb.stop().await;

    let Page {
        items: jobs, total, ..
    } = a
        .page(
            &JobFilter {
                kind: Some("tick".into()),
                ..Default::default()
            },
            Paging::new(1, 100),
        )
        .await
        .unwrap();
    assert!(
        total >= 3,
        "3.3 s of an every-second schedule: {total} jobs"
    );
    let mut keys: Vec<_> = jobs
        .iter()
        .map(|j| j.idempotency_key.clone().unwrap())
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len() as u64, total, "one job per tick");
    for j in &jobs {
        assert_eq!(j.payload, json!({"scope": "all"}));
        assert!(
            j.idempotency_key
                .as_ref()
                .unwrap()
                .starts_with("cron:heartbeat:")
        );
    }
    let ticks = ticks.lock().unwrap();
    for j in jobs.iter().filter(|j| j.status == JobStatus::Succeeded) {
        let tick = j.run_at;
        assert_eq!(ticks.get(&tick), Some(&1), "tick {tick} ran once");
    }
}

#[tokio::test]
async fn a_missed_daily_tick_runs_once_at_start_up() {
    let db = TestDb::fresh().await;
    let (a, b) = (db.jobs().await, db.jobs().await);
    let before = Utc::now();
    let expected = CronExpr::parse("0 2 * * *")
        .unwrap()
        .prev_at_or_before(before)
        .unwrap();
    let daily = || {
        Schedule::new(
            "analytics-daily",
            "0 2 * * *",
            "analytics.aggregate",
            json!({}),
        )
        .unwrap()
    };
    let log = Log::default();
    let wa = worker(&a)
        .schedule(daily())
        .register("analytics.aggregate", ok_handler(&log))
        .start(never());
    let wb = worker(&b)
        .schedule(daily())
        .register("analytics.aggregate", ok_handler(&log))
        .start(never());
    let key = format!(
        "cron:analytics-daily:{}",
        expected.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let job = eventually("the missed tick's job to run", || async {
        a.get_by_key(&key)
            .await
            .unwrap()
            .filter(|j| j.status == JobStatus::Succeeded)
    })
    .await;
    assert_eq!(job.run_at, expected);
    wa.stop().await;

    // A restarted instance finds the tick done and adds nothing.
    let wa = worker(&a)
        .schedule(daily())
        .register("analytics.aggregate", ok_handler(&log))
        .start(never());
    tokio::time::sleep(Duration::from_millis(300)).await;
    wa.stop().await;
    wb.stop().await;
    let Page { total, .. } = a
        .page(&JobFilter::default(), Paging::new(1, 10))
        .await
        .unwrap();
    assert_eq!(total, 1);
    assert_eq!(log.count(job.id), 1);
}

#[tokio::test]
async fn a_schedule_without_catch_up_waits_for_its_next_tick() {
    let db = TestDb::fresh().await;
    let jobs = db.jobs().await;
    let log = Log::default();
    let handle = worker(&jobs)
        .schedule(
            Schedule::new("nightly", "0 2 * * *", "nightly", json!({}))
                .unwrap()
                .catch_up(false),
        )
        .register("nightly", ok_handler(&log))
        .start(never());
    tokio::time::sleep(Duration::from_millis(300)).await;
    handle.stop().await;
    let Page { total, .. } = jobs
        .page(&JobFilter::default(), Paging::new(1, 10))
        .await
        .unwrap();
    assert_eq!(total, 0);
}
