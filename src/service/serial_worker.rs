//! A background worker on a thread and runtime of its own that runs queued jobs one after
//! another, in the order given (webhook deliveries: `service::webhooks`). The queue is bounded:
//! submitting never waits; a full queue refuses the job. The worker ends when the last handle
//! is dropped.

use std::future::Future;
use std::pin::Pin;

use tokio::sync::mpsc;

type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The handle (none when the feature that uses it is off).
pub struct SerialWorker {
    tx: Option<mpsc::Sender<Job>>,
}

impl SerialWorker {
    /// A worker named `name` with room for `capacity` waiting jobs; none if `!enabled`.
    pub fn start(enabled: bool, name: &str, capacity: usize) -> Result<SerialWorker, String> {
        if !enabled {
            return Ok(SerialWorker { tx: None });
        }
        let (tx, mut rx) = mpsc::channel::<Job>(capacity);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the {name} worker: {e}"))?;
        std::thread::Builder::new()
            .name(format!("glint-{name}"))
            .spawn(move || {
                runtime.block_on(async move {
                    while let Some(job) = rx.recv().await {
                        job.await;
                    }
                })
            })
            .map_err(|e| format!("cannot start the {name} worker: {e}"))?;
        Ok(SerialWorker { tx: Some(tx) })
    }

    pub fn is_running(&self) -> bool {
        self.tx.is_some()
    }

    /// Queue `job`; false if the worker is off or its queue is full.
    pub fn submit(&self, job: impl Future<Output = ()> + Send + 'static) -> bool {
        match &self.tx {
            Some(tx) => tx.try_send(Box::pin(job)).is_ok(),
            None => false,
        }
    }
}
