//! The worker: claims due jobs of the kinds it has handlers for, runs them (at most
//! `concurrency` at once) under a lease it keeps extending, records each outcome, and enqueues
//! its cron schedules' ticks. Any number of workers may share one database.

use std::{
    any::Any,
    collections::HashMap,
    future::Future,
    panic::AssertUnwindSafe,
    pin::pin,
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use sea_orm::DatabaseConnection;
use tokio::{sync::watch, task::JoinSet};
use uuid::Uuid;

use super::{
    JobContext, JobError, JobHandler, Jobs, NewJob, RetryPolicy, Schedule, now,
    store::{self, Claim, Finish, Scope},
};

/// Runs jobs. Build with `Worker::new(jobs)`, `register` a handler per kind, then `start`.
///
/// Jobs whose kind no handler here knows are left pending for a worker that knows them (a
/// rolling deploy may add a kind before every instance has it); the console shows them
/// pending with no attempts.
pub struct Worker {
    jobs: Jobs,
    handlers: HashMap<String, Arc<dyn JobHandler>>,
    schedules: Vec<Schedule>,
    queues: Option<Vec<String>>,
    name: String,
    concurrency: usize,
    poll_interval: Duration,
    lease: Duration,
    job_timeout: Duration,
    shutdown_grace: Duration,
    retry_policy: RetryPolicy,
}

impl Worker {
    /// Defaults: 4 jobs at once, polls every second, 30 s leases, 10 min per run, 10 s to
    /// finish running jobs at shutdown, `RetryPolicy::default()`.
    pub fn new(jobs: Jobs) -> Self {
        let id = Uuid::new_v4().simple().to_string();
        Self {
            jobs,
            handlers: HashMap::new(),
            schedules: Vec::new(),
            queues: None,
            name: format!("worker-{}-{}", std::process::id(), &id[..8]),
            concurrency: 4,
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(30),
            job_timeout: Duration::from_secs(600),
            shutdown_grace: Duration::from_secs(10),
            retry_policy: RetryPolicy::default(),
        }
    }

    /// The handler for jobs of `kind` (a later registration of the same kind replaces it).
    pub fn register(mut self, kind: impl Into<String>, handler: impl JobHandler) -> Self {
        self.handlers.insert(kind.into(), Arc::new(handler));
        self
    }

    /// A cron schedule this worker enqueues. Several instances may run the same schedule:
    /// each tick still makes one job.
    pub fn schedule(mut self, schedule: Schedule) -> Self {
        self.schedules.push(schedule);
        self
    }

    /// Only take jobs from these queues (default: every queue).
    pub fn queues<I, S>(mut self, queues: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.queues = Some(queues.into_iter().map(Into::into).collect());
        self
    }

    /// This instance's name in `locked_by` and the attempt log.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// How often to look for jobs this process was not woken for (other instances' jobs,
    /// expired leases). Jobs enqueued in-process and retries due sooner start on time anyway.
    pub fn poll_interval(mut self, d: Duration) -> Self {
        self.poll_interval = d.max(Duration::from_millis(1));
        self
    }

    /// How long a claim holds without renewal; the worker renews it every third of that
    /// while the job runs, so only a dead instance's jobs expire.
    pub fn lease(mut self, d: Duration) -> Self {
        self.lease = d.max(Duration::from_millis(30));
        self
    }

    /// A run taking longer than this is abandoned and counts as a retryable failure.
    pub fn job_timeout(mut self, d: Duration) -> Self {
        self.job_timeout = d;
        self
    }

    /// At shutdown, how long running jobs may take to finish before they are given back.
    pub fn shutdown_grace(mut self, d: Duration) -> Self {
        self.shutdown_grace = d;
        self
    }

    /// The backoff for kinds whose handler has no `retry_policy` of its own.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = policy;
        self
    }

    /// Spawns the worker on the current tokio runtime. It runs until `shutdown` resolves or
    /// [`WorkerHandle::stop`] is called, then stops claiming, lets running jobs finish within
    /// the grace period, and gives the rest back as pending (due at once, the interrupted run
    /// not counted). Dropping the handle leaves the worker running.
    pub fn start(self, shutdown: impl Future<Output = ()> + Send + 'static) -> WorkerHandle {
        let (stop_tx, mut stop_rx) = watch::channel(false);
        let name = self.name.clone();
        let stop = async move {
            tokio::select! {
                _ = shutdown => {}
                _ = stop_rx.wait_for(|s| *s) => {}
            }
        };
        // In the caller's span: job logs carry the product's name.
        let task = tokio::spawn(tracing::Instrument::in_current_span(self.run(stop)));
        WorkerHandle {
            name,
            stop: stop_tx,
            task,
        }
    }

    async fn run(self, stop: impl Future<Output = ()>) {
        let Worker {
            jobs,
            handlers,
            schedules,
            queues,
            name,
            concurrency,
            poll_interval,
            lease,
            job_timeout,
            shutdown_grace,
            retry_policy,
        } = self;
        let scope = Scope {
            kinds: handlers.keys().cloned().collect(),
            queues,
        };
        let run = Arc::new(RunConfig {
            db: jobs.db.clone(),
            product: jobs.product,
            lease,
            job_timeout,
            retry_policy,
        });
        let (abandon_tx, abandon_rx) = watch::channel(false);
        let mut cron = CronState::new(schedules, now());
        let mut running: JoinSet<()> = JoinSet::new();
        let mut stop = pin!(stop);
        tracing::info!(worker = %name, kinds = ?scope.kinds, "job worker started");

        loop {
            // Registered before looking at the table, so an enqueue that lands while we look
            // still wakes us.
            let mut woken = pin!(jobs.wake.notified());
            woken.as_mut().enable();

            let started = now();
            let mut deadline = plus(started, poll_interval);
            let mut failed = false;

            match cron.enqueue_due(&jobs, started).await {
                Ok(()) => {}
                Err(e) => {
                    tracing::warn!(worker = %name, error = %e, "enqueueing a cron tick failed");
                    failed = true;
                }
            }
            if let Some(t) = cron.next_tick() {
                deadline = deadline.min(t);
            }

            let free = concurrency.saturating_sub(running.len());
            if free > 0 && !scope.kinds.is_empty() {
                match store::claim(&run.db, &scope, &name, lease, free as u64).await {
                    Ok(round) => {
                        let got = round.claimed.len();
                        for claim in round.claimed {
                            // The claim only takes kinds in `handlers`.
                            let Some(handler) = handlers.get(claim.job.kind.as_str()).cloned()
                            else {
                                let _ = store::release(&run.db, &claim).await;
                                continue;
                            };
                            running.spawn(tracing::Instrument::in_current_span(run_job(
                                run.clone(),
                                handler,
                                claim,
                                abandon_rx.clone(),
                            )));
                        }
                        if round.contended && got < free {
                            deadline = started;
                        } else if got < free {
                            match store::next_due(&run.db, &scope).await {
                                Ok(Some(t)) => deadline = deadline.min(t),
                                Ok(None) => {}
                                Err(e) => {
                                    tracing::warn!(worker = %name, error = %e, "reading the queue failed");
                                    failed = true;
                                }
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(worker = %name, error = %e, "claiming jobs failed");
                        failed = true;
                    }
                }
            }
            if failed {
                deadline = plus(started, poll_interval);
            }

            let sleep = tokio::time::sleep(until(deadline));
            tokio::select! {
                biased;
                _ = &mut stop => break,
                Some(_) = running.join_next(), if !running.is_empty() => {}
                _ = &mut woken => {}
                _ = sleep => {}
            }
        }

        tracing::info!(worker = %name, running = running.len(), "job worker stopping");
        let grace = tokio::time::sleep(shutdown_grace);
        let mut grace = pin!(grace);
        while !running.is_empty() {
            tokio::select! {
                _ = running.join_next() => {}
                _ = &mut grace => break,
            }
        }
        if !running.is_empty() {
            tracing::warn!(worker = %name, jobs = running.len(), "giving back unfinished jobs");
            let _ = abandon_tx.send(true);
            while running.join_next().await.is_some() {}
        }
        tracing::info!(worker = %name, "job worker stopped");
    }
}

/// Controls a started worker.
pub struct WorkerHandle {
    name: String,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl WorkerHandle {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Stops the worker as its shutdown future would, and waits until it has.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        self.wait().await;
    }

    /// Waits until the worker has stopped (after its shutdown future resolved).
    pub async fn wait(self) {
        if let Err(e) = self.task.await
            && e.is_panic()
        {
            tracing::error!(worker = %self.name, "the job worker panicked");
        }
    }

    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

struct RunConfig {
    db: DatabaseConnection,
    /// The product label of the job metrics.
    product: &'static str,
    lease: Duration,
    job_timeout: Duration,
    retry_policy: RetryPolicy,
}

/// One claimed job, start to recorded outcome.
async fn run_job(
    cfg: Arc<RunConfig>,
    handler: Arc<dyn JobHandler>,
    claim: Claim,
    mut abandon: watch::Receiver<bool>,
) {
    let ctx = context(&claim);
    let started = Instant::now();
    let work = async {
        let run = AssertUnwindSafe(handler.run(&ctx)).catch_unwind();
        match tokio::time::timeout(cfg.job_timeout, run).await {
            Ok(Ok(result)) => result,
            Ok(Err(panic)) => Err(JobError::Retry(format!(
                "the handler panicked: {}",
                panic_message(&*panic)
            ))),
            Err(_) => Err(JobError::Retry(format!(
                "timed out after {:?}",
                cfg.job_timeout
            ))),
        }
    };
    let heartbeat = async {
        let every = (cfg.lease / 3).max(Duration::from_millis(10));
        loop {
            tokio::time::sleep(every).await;
            match store::heartbeat(&cfg.db, &claim, cfg.lease).await {
                Ok(true) => {}
                Ok(false) => {
                    // Another worker reclaimed it; this run's outcome will be dropped.
                    tracing::warn!(job = %claim.job.id, "lost the lease on a running job");
                    std::future::pending::<()>().await;
                }
                Err(e) => {
                    tracing::warn!(job = %claim.job.id, error = %e, "renewing a lease failed")
                }
            }
        }
    };
    let result = tokio::select! {
        r = work => Some(r),
        _ = heartbeat => None,
        Ok(_) = abandon.wait_for(|a| *a) => None,
    };
    let kind = claim.job.kind.clone();
    let Some(result) = result else {
        if let Err(e) = store::release(&cfg.db, &claim).await {
            tracing::warn!(job = %claim.job.id, error = %e, "giving a job back failed; its lease will expire");
        }
        metrics::counter!("jobs_completed_total", "product" => cfg.product, "kind" => kind, "outcome" => "abandoned")
            .increment(1);
        return;
    };
    let policy = handler.retry_policy().unwrap_or(cfg.retry_policy);
    let finish = decide(result, &ctx, &policy, now());
    match &finish {
        Finish::Succeeded => {
            tracing::debug!(job = %ctx.id, kind = %ctx.kind, attempt = ctx.attempt, "job succeeded")
        }
        Finish::Retry { at, error } => tracing::info!(
            job = %ctx.id, kind = %ctx.kind, attempt = ctx.attempt, %at, %error, "job failed; will retry"
        ),
        Finish::Dead { error } => tracing::warn!(
            job = %ctx.id, kind = %ctx.kind, attempt = ctx.attempt, %error, "job is dead"
        ),
    }
    metrics::counter!("jobs_completed_total", "product" => cfg.product, "kind" => kind.clone(), "outcome" => finish.outcome().as_str())
        .increment(1);
    metrics::histogram!("job_duration_seconds", "product" => cfg.product, "kind" => kind)
        .record(started.elapsed());
    // A transient database error must not leave the job `running` until its lease expires
    // (it would run again): try the write a few times.
    for delay_ms in [0, 100, 500, 2000] {
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        match store::finish(&cfg.db, &claim, &finish).await {
            Ok(true) => return,
            Ok(false) => {
                tracing::warn!(job = %ctx.id, "the job was reclaimed while it ran; its outcome here is dropped");
                return;
            }
            Err(e) => {
                tracing::warn!(job = %ctx.id, error = %e, "recording a job's outcome failed")
            }
        }
    }
}

/// The next state after a run.
fn decide(
    result: Result<(), JobError>,
    ctx: &JobContext,
    policy: &RetryPolicy,
    now: DateTime<Utc>,
) -> Finish {
    let exhausted = ctx.attempt >= ctx.max_attempts;
    match result {
        Ok(()) => Finish::Succeeded,
        Err(JobError::Permanent(error)) => Finish::Dead { error },
        Err(e) if exhausted => Finish::Dead {
            error: e.message().to_owned(),
        },
        Err(JobError::Retry(error)) => Finish::Retry {
            at: plus(now, policy.delay(ctx.attempt)),
            error,
        },
        Err(JobError::RetryAfter(wait, error)) => Finish::Retry {
            at: plus(now, wait),
            error,
        },
    }
}

fn context(c: &Claim) -> JobContext {
    JobContext {
        id: c.job.id,
        kind: c.job.kind.clone(),
        queue: c.job.queue.clone(),
        payload: c.job.payload.clone(),
        attempt: u32::try_from(c.job.attempts).unwrap_or(0),
        max_attempts: u32::try_from(c.job.max_attempts).unwrap_or(0),
        idempotency_key: c.job.idempotency_key.clone(),
        created_at: c.job.created_at,
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_owned()
    }
}

/// Each schedule's next tick. At start-up a schedule that catches up enqueues its most recent
/// tick at or before now (a no-op when an instance already did); afterwards, whenever a tick
/// has come, the latest tick not after now is enqueued once. Ticks that passed while this
/// worker was stalled for longer than a whole period are not back-filled one by one.
struct CronState {
    schedules: Vec<(Schedule, Option<DateTime<Utc>>)>,
}

impl CronState {
    fn new(schedules: Vec<Schedule>, now: DateTime<Utc>) -> Self {
        let schedules = schedules
            .into_iter()
            .map(|s| {
                // Catching up: the latest past tick is due at once.
                let next = if s.catch_up {
                    s.expr.prev_at_or_before(now)
                } else {
                    s.expr.next_after(now)
                };
                (s, next)
            })
            .collect();
        Self { schedules }
    }

    fn next_tick(&self) -> Option<DateTime<Utc>> {
        self.schedules.iter().filter_map(|(_, n)| *n).min()
    }

    async fn enqueue_due(&mut self, jobs: &Jobs, now: DateTime<Utc>) -> Result<(), sea_orm::DbErr> {
        for (s, next) in &mut self.schedules {
            let Some(due) = *next else { continue };
            if due > now {
                continue;
            }
            let tick = s.expr.prev_at_or_before(now).unwrap_or(due);
            let job = NewJob {
                kind: s.kind.clone(),
                payload: s.payload.clone(),
                queue: s.queue.clone(),
                run_at: Some(tick),
                max_attempts: s.max_attempts,
                idempotency_key: Some(s.tick_key(tick)),
            };
            let done = jobs.enqueue(job).await?;
            if done.created {
                tracing::info!(schedule = %s.name, %tick, job = %done.id, "cron tick enqueued");
            }
            *next = s.expr.next_after(now);
        }
        Ok(())
    }
}

fn plus(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The wait until a wall-clock instant (zero when it has passed).
fn until(t: DateTime<Utc>) -> Duration {
    (t - Utc::now()).to_std().unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::Jitter;

    fn policy() -> RetryPolicy {
        RetryPolicy::new(
            Duration::from_secs(10),
            Duration::from_secs(60),
            Jitter::None,
        )
    }

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-05-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn ctx(attempt: u32, max: u32) -> JobContext {
        JobContext::new("k", serde_json::Value::Null).with_attempt(attempt, max)
    }

    #[test]
    fn a_failure_with_attempts_left_retries_after_the_backoff() {
        let f = decide(Err(JobError::retry("down")), &ctx(2, 5), &policy(), t0());
        assert_eq!(
            f,
            Finish::Retry {
                at: t0() + chrono::Duration::seconds(20),
                error: "down".into()
            }
        );
    }

    #[test]
    fn retry_after_waits_as_long_as_the_vendor_said() {
        let f = decide(
            Err(JobError::RetryAfter(Duration::from_secs(90), "429".into())),
            &ctx(1, 5),
            &policy(),
            t0(),
        );
        assert_eq!(
            f,
            Finish::Retry {
                at: t0() + chrono::Duration::seconds(90),
                error: "429".into()
            }
        );
    }

    #[test]
    fn the_last_attempt_failing_makes_the_job_dead() {
        for e in [
            JobError::retry("down"),
            JobError::RetryAfter(Duration::from_secs(1), "down".into()),
        ] {
            assert_eq!(
                decide(Err(e), &ctx(5, 5), &policy(), t0()),
                Finish::Dead {
                    error: "down".into()
                }
            );
        }
    }

    #[test]
    fn a_permanent_error_is_dead_at_once() {
        assert_eq!(
            decide(
                Err(JobError::permanent("gone")),
                &ctx(1, 5),
                &policy(),
                t0()
            ),
            Finish::Dead {
                error: "gone".into()
            }
        );
    }

    #[test]
    fn catching_up_makes_the_latest_past_tick_due_at_start() {
        let s = Schedule::new("d", "0 2 * * *", "k", serde_json::Value::Null).unwrap();
        let state = CronState::new(vec![s.clone()], t0());
        assert_eq!(
            state.next_tick().unwrap().to_rfc3339(),
            "2026-05-01T02:00:00+00:00"
        );
        let state = CronState::new(vec![s.catch_up(false)], t0());
        assert_eq!(
            state.next_tick().unwrap().to_rfc3339(),
            "2026-05-02T02:00:00+00:00"
        );
    }
}
