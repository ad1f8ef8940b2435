//! Running a parser of untrusted input (SAML's XML today; PDF, image and document parsers
//! next) so that a hostile input costs the server a bounded share of one core for a bounded
//! time, whatever the parser does with it.
//!
//! # Why
//!
//! A parser is CPU work with no await point. Run inside a handler, it pins a runtime worker:
//! the request timeout cannot fire (it is a future that is never polled again until the parse
//! returns), other requests on that worker stall (health checks too), and a graceful stop
//! waits for the request forever. Two such requests took every core of a 2-core machine, and
//! SIGTERM hung until SIGKILL (issue 12, finding 9).
//!
//! # How
//!
//! [`Pool::run`] runs the parse on a thread of its own, outside the async runtime, and awaits
//! its result:
//!
//! - **A small concurrency cap**: at most [`Limits::concurrency`] parses run at once (the
//!   shared pool: half the cores, at least one), so hostile requests can take that share of the
//!   machine and no more. A request waits for a slot only within its budget, then is refused
//!   as [`Refused::Busy`].
//! - **A time budget**: after [`Limits::budget`] (waiting included) the caller gets
//!   [`Refused::TimedOut`] and answers at once, in the product's error shape (503 through
//!   `From<Refused> for ApiError`). The request timeout and a graceful stop therefore never
//!   wait on a parse for longer than the budget (the shared pool's is
//!   [`DEFAULT_BUDGET`]).
//! - **Caps before the expensive work are still the caller's job.** A running parse cannot be
//!   cancelled: after its budget the thread runs on, holding its slot, until the parser
//!   returns. What bounds that is the caller checking size and structure (depth, namespace
//!   declarations, attributes, pages, pixels, decompression ratio) with a cheap linear pass
//!   before handing the input to the parser, so that every input the parser sees is cheap.
//!   The budget is the backstop that keeps a mistake in those caps from becoming an outage.
//! - **Nothing waits for the threads at exit.** They are plain detached threads, not
//!   `spawn_blocking` tasks: dropping a Tokio runtime waits for its blocking tasks, so a
//!   runaway parse there would hold up the process's exit; a detached thread ends with the
//!   process.
//!
//! A thread per parse (not a fixed set of workers) keeps this simple and costs tens of
//! microseconds, nothing beside a parse; the slots, not the threads, are the cap.
//!
//! ```ignore
//! let assertion = untrusted::shared()
//!     .run("saml", move || saml::validate_response(&sp, &posted, now))
//!     .await??; // Refused → ApiError (503); then the parser's own error
//! ```

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{Arc, OnceLock},
    time::Duration,
};

use tokio::{
    sync::{Semaphore, oneshot},
    time::{Instant, timeout_at},
};

use crate::error::ApiError;

/// The shared pool's time budget per parse, waiting for a slot included: far above what a
/// capped input costs (milliseconds), far below the 30 s request timeout and the shutdown
/// grace.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(5);

/// How many parses run at once and how long a caller waits for one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Parses running at once (at least 1).
    pub concurrency: usize,
    /// From the call to the answer: waiting for a slot plus the parse itself.
    pub budget: Duration,
}

impl Limits {
    /// Half the machine's cores (at least one) and [`DEFAULT_BUDGET`].
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            concurrency: (cores / 2).max(1),
            budget: DEFAULT_BUDGET,
        }
    }
}

/// Why a parse gave no result.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Every slot stayed taken for the whole budget.
    #[error("the server is busy processing other documents; try again shortly")]
    Busy,
    /// The parse did not finish within the budget (it may still be running).
    #[error("the document could not be processed within {} s", .0.as_secs_f64())]
    TimedOut(Duration),
    /// The parser panicked: a bug in it, logged.
    #[error("the document could not be processed")]
    Crashed,
}

impl From<Refused> for ApiError {
    /// 503 with `Retry-After: 1` for the first two (the input may be fine and the machine
    /// busy; with the caller's caps in place a hostile input cannot get this far), an opaque
    /// 500 for a parser's panic.
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Busy | Refused::TimedOut(_) => {
                let mut e = ApiError::unavailable(refused.to_string());
                e.retry_after = Some(1);
                e
            }
            Refused::Crashed => ApiError::internal("an untrusted-input parser panicked"),
        }
    }
}

/// A concurrency cap and a time budget for parses of untrusted input. Clones share the cap.
#[derive(Clone, Debug)]
pub struct Pool {
    slots: Arc<Semaphore>,
    limits: Limits,
}

/// The process's pool, sized by [`Limits::for_this_machine`]. One for the whole process on
/// purpose (not per product, not in `Settings`): what it protects is the machine's cores,
/// which every product served by this process shares.
pub fn shared() -> &'static Pool {
    static SHARED: OnceLock<Pool> = OnceLock::new();
    SHARED.get_or_init(|| Pool::new(Limits::for_this_machine()))
}

impl Pool {
    pub fn new(limits: Limits) -> Self {
        let limits = Limits {
            concurrency: limits.concurrency.max(1),
            ..limits
        };
        Self {
            slots: Arc::new(Semaphore::new(limits.concurrency)),
            limits,
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Runs `parse` on a thread of its own once a slot is free, and returns its result, or
    /// [`Refused`] when the budget runs out first (or the parser panics). `what` names the
    /// parser in the thread name and the logs.
    pub async fn run<T, F>(&self, what: &'static str, parse: F) -> Result<T, Refused>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let deadline = Instant::now() + self.limits.budget;
        let Ok(Ok(slot)) = timeout_at(deadline, self.slots.clone().acquire_owned()).await else {
            tracing::warn!(
                parser = what,
                "untrusted-input parsers busy for the whole budget"
            );
            return Err(Refused::Busy);
        };
        let (tx, rx) = oneshot::channel();
        let spawned = std::thread::Builder::new()
            .name(format!("untrusted-{what}"))
            .spawn(move || {
                // The slot is the thread's until the parser returns, budget or not.
                let _slot = slot;
                let _ = tx.send(catch_unwind(AssertUnwindSafe(parse)));
            });
        if let Err(e) = spawned {
            tracing::error!(parser = what, error = %e, "cannot start a parser thread");
            return Err(Refused::Busy);
        }
        match timeout_at(deadline, rx).await {
            Ok(Ok(Ok(value))) => Ok(value),
            Ok(Ok(Err(_))) | Ok(Err(_)) => {
                tracing::error!(parser = what, "untrusted-input parser panicked");
                Err(Refused::Crashed)
            }
            Err(_) => {
                tracing::warn!(
                    parser = what,
                    budget_secs = self.limits.budget.as_secs_f64(),
                    "untrusted-input parse over its budget; answered, still running"
                );
                Err(Refused::TimedOut(self.limits.budget))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use axum::{http::StatusCode, response::IntoResponse};

    use super::*;

    fn pool(concurrency: usize, budget_ms: u64) -> Pool {
        Pool::new(Limits {
            concurrency,
            budget: Duration::from_millis(budget_ms),
        })
    }

    /// A parse that runs until the test releases it, and says when it has started.
    fn held() -> (
        impl FnOnce() -> u32 + Send + 'static,
        mpsc::Receiver<()>,
        mpsc::Sender<()>,
    ) {
        let (started_tx, started) = mpsc::channel();
        let (release, release_rx) = mpsc::channel::<()>();
        let parse = move || {
            let _ = started_tx.send(());
            let _ = release_rx.recv();
            7
        };
        (parse, started, release)
    }

    #[tokio::test]
    async fn a_parse_runs_off_the_runtime_and_returns_its_result() {
        let p = pool(1, 10_000);
        let name = p
            .run("test", || std::thread::current().name().map(str::to_owned))
            .await;
        assert_eq!(name, Ok(Some("untrusted-test".to_owned())));
    }

    #[tokio::test]
    async fn past_its_budget_a_parse_is_answered_and_keeps_its_slot_until_it_returns() {
        let p = pool(1, 50);
        let (parse, started, release) = held();
        assert_eq!(
            p.run("test", parse).await,
            Err(Refused::TimedOut(Duration::from_millis(50)))
        );
        started.recv().unwrap();
        // Still running: the only slot is taken, so the next caller is refused as busy.
        assert_eq!(p.run("test", || 1).await, Err(Refused::Busy));
        // Once the parser returns, the slot is free again.
        release.send(()).unwrap();
        let p = Pool {
            limits: Limits {
                budget: Duration::from_secs(30),
                ..p.limits
            },
            ..p
        };
        assert_eq!(p.run("test", || 2).await, Ok(2));
    }

    // Two workers: the test blocks one waiting for the parses to start.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_parses_run_at_once_than_the_cap() {
        let p = pool(2, 60_000);
        let (a, a_started, a_release) = held();
        let (b, b_started, b_release) = held();
        let ta = tokio::spawn({
            let p = p.clone();
            async move { p.run("test", a).await }
        });
        let tb = tokio::spawn({
            let p = p.clone();
            async move { p.run("test", b).await }
        });
        a_started.recv().unwrap();
        b_started.recv().unwrap();
        assert_eq!(p.slots.available_permits(), 0);
        let short = Pool {
            limits: Limits {
                budget: Duration::from_millis(50),
                ..p.limits
            },
            ..p.clone()
        };
        assert_eq!(short.run("test", || 3).await, Err(Refused::Busy));
        a_release.send(()).unwrap();
        b_release.send(()).unwrap();
        assert_eq!(ta.await.unwrap(), Ok(7));
        assert_eq!(tb.await.unwrap(), Ok(7));
        assert_eq!(p.slots.available_permits(), 2);
    }

    #[tokio::test]
    async fn a_panicking_parser_is_an_error_not_a_crash() {
        let p = pool(1, 10_000);
        let r: Result<(), _> = p.run("test", || panic!("parser bug")).await;
        assert_eq!(r, Err(Refused::Crashed));
        // Its slot came back.
        assert_eq!(p.run("test", || 4).await, Ok(4));
    }

    #[test]
    fn stopping_the_runtime_does_not_wait_for_a_runaway_parse() {
        let (parse, started, release) = held();
        let (dropped_tx, dropped) = mpsc::channel();
        // On a thread of its own, so a runtime drop that waited would fail the test (below)
        // rather than hang it.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            let r = rt.block_on(pool(1, 50).run("test", parse));
            assert_eq!(r, Err(Refused::TimedOut(Duration::from_millis(50))));
            drop(rt);
            dropped_tx.send(()).unwrap();
        });
        started.recv().unwrap();
        // Generous: this only fails if the drop waits for the parse, which never returns
        // until after this line.
        let outcome = dropped.recv_timeout(Duration::from_secs(60));
        release.send(()).unwrap();
        assert!(outcome.is_ok(), "the runtime waited for the parser thread");
    }

    #[test]
    fn refusals_answer_503_with_retry_after_and_a_panic_500() {
        for refused in [Refused::Busy, Refused::TimedOut(DEFAULT_BUDGET)] {
            let e = ApiError::from(refused);
            assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(e.retry_after, Some(1));
        }
        let r = ApiError::from(Refused::Crashed).into_response();
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn the_shared_pool_leaves_cores_free() {
        let limits = shared().limits();
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        assert!(limits.concurrency >= 1);
        assert!(limits.concurrency == 1 || limits.concurrency < cores);
        assert_eq!(limits.budget, DEFAULT_BUDGET);
    }
}
