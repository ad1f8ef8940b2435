//! A closed-loop load driver for the in-process benchmarks (`cargo bench`): `concurrency`
//! callers each run an operation back to back for a while, and every call's latency is kept,
//! so a benchmark reports throughput and percentiles from one run.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// The number in the environment variable `name`, or `default` when it is unset or not one.
pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What one [`measure`] run did.
pub struct Figures {
    pub ops: u64,
    pub elapsed: Duration,
    /// Every call's latency, in the order the callers finished.
    pub latencies: Vec<Duration>,
}

impl Figures {
    /// Calls per second over the run.
    pub fn rate(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64()
    }

    /// The latency at quantile `q` (0.5, 0.99) by the nearest-rank method; sorts on first use.
    pub fn at(&mut self, q: f64) -> Duration {
        if !self.latencies.is_sorted() {
            self.latencies.sort_unstable();
        }
        match self.latencies.len() {
            0 => Duration::ZERO,
            n => self.latencies[((n - 1) as f64 * q) as usize],
        }
    }
}

/// Runs `op` from `concurrency` callers for `duration`, each call given its sequence number.
/// The callers share one thread (a `LocalSet`), as a client of a server would not: the work
/// measured is the operation's, on the runtime the benchmark built.
pub async fn measure<F, Fut>(concurrency: u64, duration: Duration, op: F) -> Figures
where
    F: Fn(u64) -> Fut + Clone + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let counter = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let local = tokio::task::LocalSet::new();
    let mut handles = Vec::new();
    for _ in 0..concurrency {
        let (op, counter) = (op.clone(), counter.clone());
        handles.push(local.spawn_local(async move {
            let mut latencies = Vec::new();
            while start.elapsed() < duration {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let t = Instant::now();
                op(n).await;
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let latencies = local
        .run_until(async move {
            let mut all = Vec::new();
            for h in handles {
                all.extend(h.await.expect("a benchmark caller panicked"));
            }
            all
        })
        .await;
    Figures {
        ops: latencies.len() as u64,
        elapsed: start.elapsed(),
        latencies,
    }
}
