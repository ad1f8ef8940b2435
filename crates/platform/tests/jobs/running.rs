//! One worker running jobs: success, retries with backoff, the dead-letter state, operator
//! retry, permanent errors, `RetryAfter`, panics, unknown kinds, and shutdown.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

use platform::jobs::{AttemptOutcome, JobControl, JobError, JobStatus, NewJob, Worker, handler_fn};
use serde_json::json;

use crate::{Log, TestDb, eventually, never, ok_handler, until_status, worker};

#[tokio::test]
async fn an_enqueued_job_runs_and_is_marked_succeeded() {
    let db = TestDb::fresh().await;
    let jobs = db.jobs().await;
    let seen = Arc::new(std::sync::Mutex::new(None));
    let handler = {
        let seen = seen.clone();
        handler_fn(move |job| {
            let seen = seen.clone();
            async move {
                #[derive(serde::Deserialize)]
                struct Alert {
                    alert: u32,
                    channel: String,
                }
                let p: Alert = job.payload()?;
                *seen.lock().unwrap() =
                    Some((p.alert, p.channel, job.attempt(), job.max_attempts()));
                Ok(())
            }
        })
    };
    let handle = worker(&jobs)
        .register("alert.deliver", handler)
        .start(never());
    let id = jobs
        .enqueue(NewJob::new("alert.deliver", &json!({"alert": 42, "channel": "sms"})).unwrap())
        .await
        .unwrap()
        .id;

    let job = until_status(&jobs, id, JobStatus::Succeeded).await;
    assert_eq!(job.attempts, 1);
    assert_eq!(job.max_attempts, 5);
    assert_eq!(job.queue, "default");
    assert!(job.finished_at.is_some());
    assert!(job.locked_by.is_none());
    assert!(job.last_error.is_none());
    assert_eq!(*seen.lock().unwrap(), Some((42, "sms".into(), 1, 5)));
    let attempts = jobs.attempts(id).await.unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].outcome, Some(AttemptOutcome::Succeeded));
    assert_eq!(attempts[0].worker, handle.name());
    handle.stop().await;
}

#[tokio::test]
async fn a_job_failing_twice_then_succeeding_takes_three_attempts_with_backoff() {
    let db = TestDb::fresh().await;
    let jobs = db.jobs().await;
    let log = Log::default();
    let handler = {
        let log = log.clone();
        handler_fn(move |job| {
            let log = log.clone();
            async move {
                log.push(&job);
                if job.attempt() < 3 {
                    Err(JobError::retry(format!(
                        "vendor down (attempt {})",
                        job.attempt()
                    )))
                } else {
                    Ok(())
                }
            }
        })
    };
    // Backoff 50 ms then 100 ms (base 50 ms, no jitter).
    let handle = worker(&jobs).register("flaky", handler).start(never());
    let id = jobs
        .enqueue(NewJob::from_value("flaky", json!({})))
        .await
        .unwrap()
        .id;

    let job = until_status(&jobs, id, JobStatus::Succeeded).await;
    assert_eq!(job.attempts, 3);
    assert!(job.last_error.is_none(), "success clears the last error");
    let runs = log.runs();
    assert_eq!(runs.iter().map(|r| r.1).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(runs[1].2 - runs[0].2 >= Duration::from_millis(50));
    assert!(runs[2].2 - runs[1].2 >= Duration::from_millis(100));
    let attempts = jobs.attempts(id).await.unwrap();
    let outcomes: Vec<_> = attempts.iter().map(|a| a.outcome).collect();
    assert_eq!(
        outcomes,
        [
            Some(AttemptOutcome::Retrying),
            Some(AttemptOutcome::Retrying),
            Some(AttemptOutcome::Succeeded)
        ]
    );
    assert_eq!(
        attempts[0].error.as_deref(),
        Some("vendor down (attempt 1)")
    );
    assert_eq!(
        attempts[1].error.as_deref(),
        Some("vendor down (attempt 2)")
    );
    handle.stop().await;
}

#[tokio::test]
async fn an_always_failing_job_goes_dead_and_an_operator_retry_runs_it_again() {
    let db = TestDb::fresh().await;
    let jobs = db.jobs().await;
    let fixed = Arc::new(AtomicBool::new(false));
    let runs = Arc::new(AtomicU32::new(0));
    let handler = {
        let (fixed, runs) = (fixed.clone(), runs.clone());
        handler_fn(move |_job| {
            let (fixed, runs) = (fixed.clone(), runs.clone());
            async move {
                runs.fetch_add(1, Ordering::SeqCst);
                if fixed.load(Ordering::SeqCst) {
                    Ok(())
                } else {
                    Err(JobError::retry("smtp refused"))
                }
            }
        })
    };
    let handle = worker(&jobs).register("mail", handler).start(never());
    let id = jobs
        .enqueue(NewJob::from_value("mail", json!({})).max_attempts(3))
        .await
        .unwrap()
        .id;

    let dead = until_status(&jobs, id, JobStatus::Dead).await;
    assert_eq!(dead.attempts, 3);
    assert_eq!(dead.last_error.as_deref(), Some("smtp refused"));
    assert!(dead.finished_at.is_some());
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    let outcomes: Vec<_> = jobs
        .attempts(id)
        .await
        .unwrap()
        .iter()
        .map(|a| a.outcome)
        .collect();
    assert_eq!(
        outcomes,
        [
            Some(AttemptOutcome::Retrying),
            Some(AttemptOutcome::Retrying),
            Some(AttemptOutcome::Dead)
        ]
    );
    assert_eq!(jobs.stats().await.unwrap().dead, 1);

    fixed.store(true, Ordering::SeqCst);
    assert_eq!(jobs.retry(id).await.unwrap(), JobControl::Done);
    let job = until_status(&jobs, id, JobStatus::Succeeded).await;
    assert_eq!(job.attempts, 1, "a retried job starts its attempts again");
    assert_eq!(runs.load(Ordering::SeqCst), 4);

    assert_eq!(
        jobs.retry(id).await.unwrap(),
        JobControl::WrongStatus(JobStatus::Succeeded)
    );
    assert_eq!(
        jobs.retry(uuid::Uuid::now_v7()).await.unwrap(),
        JobControl::NotFound
    );
    handle.stop().await;
}

#[tokio::test]
async fn a_permanent_error_makes_the_job_dead_at_once() {
    let db = TestDb::fresh().await;
    let jobs = db.jobs().await;
    let runs = Arc::new(AtomicU32::new(0));
    let handler = {
        let runs = runs.clone();
        handler_fn(move |_job| {
            let runs = runs.clone();
            async move {
                runs.fetch_add(1, Ordering::SeqCst);
                Err(JobError::permanent("recipient unsubscribed"))
            }
        })
    };
    let handle = worker(&jobs).register("sms", handler).start(never());
    let id = jobs
        .enqueue(NewJob::from_value("sms", json!({})))
        .await
        .unwrap()
        .id;

    let job = until_status(&jobs, id, JobStatus::Dead).await;
    assert_eq!(job.attempts, 1);
    assert_eq!(job.last_error.as_deref(), Some("recipient unsubscribed"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    handle.stop().await;
}

#[tokio::test]
async fn a_payload_that_does_not_fit_is_dead_at_once() {
    let db = TestDb::fresh().await;
    let jobs = db.jobs().await;
    let handler = handler_fn(|job| async move {
        #[derive(serde::Deserialize)]
        struct P {
            #[allow(dead_code)]
            alert: u32,
        }
        job.payload::<P>()?;
        Ok(())
    });
    let handle = worker(&jobs).register("typed", handler).start(never());
    let id = jobs
        .enqueue(NewJob::from_value(
            "typed",
            json!({"alert": "not a number"}),
        ))
        .await
        .unwrap()
        .id;
    let job = until_status(&jobs, id, JobStatus::Dead).await;
    assert_eq!(job.attempts, 1);
    assert!(
        job.last_error
            .unwrap()
            .contains("payload of typed does not fit")
    );
    handle.stop().await;
}

#[tokio::test]
async fn retry_after_holds_the_job_back_as_long_as_the_vendor_said() {
    let db = TestDb::fresh().await;
    let jobs = db.jobs().await;
    let log = Log::default();
    let handler = {
        let log = log.clone();
        handler_fn(move |job| {
            let log = log.clone();
            async move {
                log.push(&job);
                if job.attempt() == 1 {
                    Err(JobError::RetryAfter(
                        Duration::from_millis(1500),
                        "429 Too Many Requests".into(),
                    ))
                } else {
                    Ok(())
                }
            }
        })
    };
    // The worker's own backoff is 50 ms: only RetryAfter explains a longer wait.
    let handle = worker(&jobs).register("whatsapp", handler).start(never());
    let before = chrono::Utc::now();
    let id = jobs
        .enqueue(NewJob::from_value("whatsapp", json!({})))
        .await
        .unwrap()
        .id;

    let pending = eventually("the first attempt to fail", || async {
        jobs.get(id)
            .await
            .unwrap()
            .filter(|j| j.status == JobStatus::Pending && j.attempts == 1)
    })
    .await;
    assert!(pending.run_at - before >= chrono::Duration::milliseconds(1500));
    assert_eq!(pending.last_error.as_deref(), Some("429 Too Many Requests"));

    until_status(&jobs, id, JobStatus::Succeeded).await;
    let runs = log.runs();
    assert_eq!(runs.len(), 2);
    assert!(runs[1].2 - runs[0].2 >= Duration::from_millis(1500));
    handle.stop().await;
}

#[tokio::test]
async fn a_panicking_handler_fails_the_attempt_but_not_the_worker() {
    let db = TestDb::fresh().await;
    let jobs = db.jobs().await;
    let log = Log::default();
    let boom = handler_fn(|job| async move {
        if job.attempt() == 1 {
            panic!("index out of bounds");
        }
        Ok(())
    });
    let handle = worker(&jobs)
        .concurrency(1)
        .register("boom", boom)
        .register("ok", ok_handler(&log))
        .start(never());
    let boom_id = jobs
        .enqueue(NewJob::from_value("boom", json!({})))
        .await
        .unwrap()
        .id;

    let job = until_status(&jobs, boom_id, JobStatus::Succeeded).await;
    assert_eq!(job.attempts, 2);
    let attempts = jobs.attempts(boom_id).await.unwrap();
    assert_eq!(attempts[0].outcome, Some(AttemptOutcome::Retrying));
    assert_eq!(
        attempts[0].error.as_deref(),
        Some("the handler panicked: index out of bounds")
    );
    // The worker (with its single slot) is still running jobs.
    let ok_id = jobs
        .enqueue(NewJob::from_value("ok", json!({})))
        .await
        .unwrap()
        .id;
    until_status(&jobs, ok_id, JobStatus::Succeeded).await;
    assert!(!handle.is_finished());
    handle.stop().await;
}

#[tokio::test]
async fn a_run_past_the_timeout_is_a_retryable_failure() {
    let db = TestDb::fresh().await;
    let jobs = db.jobs().await;
    let slow = handler_fn(|job| async move {
        if job.attempt() == 1 {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        Ok(())
    });
    let handle = worker(&jobs)
        .job_timeout(Duration::from_millis(200))
        .register("slow", slow)
        .start(never());
    let id = jobs
        .enqueue(NewJob::from_value("slow", json!({})))
        .await
        .unwrap()
        .id;
    let job = until_status(&jobs, id, JobStatus::Succeeded).await;
    assert_eq!(job.attempts, 2);
    let attempts = jobs.attempts(id).await.unwrap();
    assert_eq!(attempts[0].error.as_deref(), Some("timed out after 200ms"));
    handle.stop().await;
}

#[tokio::test]
async fn jobs_of_a_kind_no_handler_knows_stay_pending() {
    let db = TestDb::fresh().await;
    let jobs = db.jobs().await;
    let log = Log::default();
    let handle = worker(&jobs)
        .register("known", ok_handler(&log))
        .start(never());
    let unknown = jobs
        .enqueue(NewJob::from_value("unknown", json!({})))
        .await
        .unwrap()
        .id;
    let known = jobs
        .enqueue(NewJob::from_value("known", json!({})))
        .await
        .unwrap()
        .id;
    until_status(&jobs, known, JobStatus::Succeeded).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let job = jobs.get(unknown).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Pending);
    assert_eq!(job.attempts, 0);
    handle.stop().await;

    // A worker that knows the kind picks it up.
    let handle = worker(&jobs)
        .register("unknown", ok_handler(&log))
        .start(never());
    until_status(&jobs, unknown, JobStatus::Succeeded).await;
    handle.stop().await;
}

#[tokio::test]
async fn a_worker_limited_to_some_queues_leaves_the_others() {
    let db = TestDb::fresh().await;
    let jobs = db.jobs().await;
    let log = Log::default();
    let handle = worker(&jobs)
        .queues(["alerts"])
        .register("deliver", ok_handler(&log))
        .start(never());
    let alert = jobs
        .enqueue(NewJob::from_value("deliver", json!({})).queue("alerts"))
        .await
        .unwrap()
        .id;
    let bulk = jobs
        .enqueue(NewJob::from_value("deliver", json!({})).queue("bulk"))
        .await
        .unwrap()
        .id;
    until_status(&jobs, alert, JobStatus::Succeeded).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        jobs.get(bulk).await.unwrap().unwrap().status,
        JobStatus::Pending
    );
    handle.stop().await;
}

#[tokio::test]
async fn stopping_lets_a_running_job_finish_within_the_grace_period() {
    let db = TestDb::fresh().await;
    let jobs = db.jobs().await;
    let started = Arc::new(AtomicBool::new(false));
    let handler = {
        let started = started.clone();
        handler_fn(move |_job| {
            let started = started.clone();
            async move {
                started.store(true, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(400)).await;
                Ok(())
            }
        })
    };
    let handle = worker(&jobs)
        .shutdown_grace(Duration::from_secs(5))
        .register("report", handler)
        .start(never());
    let id = jobs
        .enqueue(NewJob::from_value("report", json!({})))
        .await
        .unwrap()
        .id;
    eventually("the job to start", || async {
        started.load(Ordering::SeqCst).then_some(())
    })
    .await;
    handle.stop().await;
    assert_eq!(
        jobs.get(id).await.unwrap().unwrap().status,
        JobStatus::Succeeded
    );
}

#[tokio::test]
async fn a_job_still_running_after_the_grace_period_is_given_back_uncounted() {
    let db = TestDb::fresh().await;
    let jobs = db.jobs().await;
    let started = Arc::new(AtomicBool::new(false));
    let handler = {
        let started = started.clone();
        handler_fn(move |_job| {
            let started = started.clone();
            async move {
                started.store(true, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok(())
            }
        })
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = worker(&jobs)
        .shutdown_grace(Duration::from_millis(100))
        .register("export", handler)
        .start(async move {
            let _ = rx.await;
        });
    let id = jobs
        .enqueue(NewJob::from_value("export", json!({})))
        .await
        .unwrap()
        .id;
    eventually("the job to start", || async {
        started.load(Ordering::SeqCst).then_some(())
    })
    .await;
    let t = Instant::now();
    tx.send(()).unwrap();
    handle.wait().await;
    assert!(t.elapsed() < Duration::from_secs(5));

    let job = jobs.get(id).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Pending);
    assert_eq!(job.attempts, 0);
    assert!(job.locked_by.is_none());
    let attempts = jobs.attempts(id).await.unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].outcome, Some(AttemptOutcome::Abandoned));
}

#[tokio::test]
async fn a_handler_with_its_own_policy_uses_it() {
    use platform::jobs::{Jitter, JobContext, JobHandler, RetryPolicy};

    struct Patient(Log);

    #[async_trait::async_trait]
    impl JobHandler for Patient {
        async fn run(&self, job: &JobContext) -> Result<(), JobError> {
            self.0.push(job);
            if job.attempt() == 1 {
                Err(JobError::retry("not yet"))
            } else {
                Ok(())
            }
        }

        fn retry_policy(&self) -> Option<RetryPolicy> {
            Some(RetryPolicy::new(
                Duration::from_millis(700),
                Duration::from_secs(1),
                Jitter::None,
            ))
        }
    }

    let db = TestDb::fresh().await;
    let jobs = db.jobs().await;
    let log = Log::default();
    let handle = Worker::new(jobs.clone())
        .poll_interval(Duration::from_millis(100))
        .register("patient", Patient(log.clone()))
        .start(never());
    let id = jobs
        .enqueue(NewJob::from_value("patient", json!({})))
        .await
        .unwrap()
        .id;
    until_status(&jobs, id, JobStatus::Succeeded).await;
    let runs = log.runs();
    assert!(runs[1].2 - runs[0].2 >= Duration::from_millis(700));
    handle.stop().await;
}
