//! `Background`: a product's long-running work (job workers, schedulers, relays from Redis).
//! Tasks run until [`Background::shutdown`], which the server calls after the last request of
//! a graceful stop; each task selects on [`Background::stopping`] or is aborted.

use std::{future::Future, sync::Arc, time::Duration};

use tokio::{sync::watch, task::JoinHandle};

use crate::jobs::WorkerHandle;

/// How long shutdown waits for a task that does not stop by itself.
const GRACE: Duration = Duration::from_secs(10);

/// Cheap to clone; clones share the tasks.
#[derive(Clone)]
pub struct Background(Arc<Inner>);

struct Inner {
    stop: watch::Sender<bool>,
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
    worker: tokio::sync::Mutex<Option<WorkerHandle>>,
}

impl Default for Background {
    fn default() -> Self {
        Self::new()
    }
}

impl Background {
    pub fn new() -> Self {
        let (stop, _) = watch::channel(false);
        Self(Arc::new(Inner {
            stop,
            tasks: std::sync::Mutex::new(Vec::new()),
            worker: tokio::sync::Mutex::new(None),
        }))
    }

    /// Runs `task` until it ends or shutdown aborts it, in the caller's span (the product's:
    /// what the task logs names its product).
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let handle = tokio::spawn(tracing::Instrument::in_current_span(task));
        self.0
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(handle);
    }

    /// Keeps the job worker, which shutdown lets finish its running jobs.
    pub async fn set_worker(&self, worker: WorkerHandle) {
        *self.0.worker.lock().await = Some(worker);
    }

    /// Resolves once shutdown began: loops select on it to stop between two units of work.
    pub fn stopping(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut stop = self.0.stop.subscribe();
        async move {
            let _ = stop.wait_for(|s| *s).await;
        }
    }

    /// Stops everything: the worker finishes its running jobs (or hands them back after its
    /// grace period), tasks get [`GRACE`] to notice [`Background::stopping`], then are aborted.
    pub async fn shutdown(&self) {
        let _ = self.0.stop.send(true);
        if let Some(worker) = self.0.worker.lock().await.take() {
            worker.wait().await;
        }
        let tasks = std::mem::take(&mut *self.0.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        for mut task in tasks {
            if tokio::time::timeout(GRACE, &mut task).await.is_err() {
                task.abort();
            }
        }
    }
}
