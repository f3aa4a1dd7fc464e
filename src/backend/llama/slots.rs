//! Slots: one thread and one llama.cpp context per concurrent generation, fed by a bounded queue.
//!
//! A `LlamaContext` is `Send` but not `Sync` and borrows the model, so each slot thread creates
//! its own context and keeps it for life; the threads share the model through an `Arc`.
//! Admission is `try_send` on a bounded channel: when every slot is busy and the queue is full
//! the caller gets [`BackendError::Busy`] at once instead of waiting without bound.

use std::num::NonZeroU32;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;
use tokio::sync::mpsc;

use super::generate::{generate, GenEvent, GenParams, Interrupted};
use super::runtime::{llama_runtime, model_setup_lock};
use crate::backend::{BackendError, BackendInitError, BackendLoad};

/// A request waiting for (or running on) a slot.
pub struct Job {
    pub prompt: Vec<LlamaToken>,
    pub params: GenParams,
    pub events: mpsc::Sender<GenEvent>,
}

#[derive(Default)]
struct Counters {
    queued: AtomicUsize,
    active: AtomicUsize,
    live_slots: AtomicUsize,
    shutdown: AtomicBool,
}

/// The slot threads and their queue.
pub struct SlotPool {
    jobs: SyncSender<Job>,
    counters: Arc<Counters>,
    retry_after: Duration,
    context_size: usize,
}

/// How to build each slot's context.
pub struct SlotSettings {
    pub slots: usize,
    pub queue: usize,
    pub context_size: u32,
    pub threads: u32,
    pub retry_after: Duration,
}

impl SlotPool {
    /// Starts `settings.slots` threads, creating their contexts one after the other.
    pub fn start(
        model: Arc<LlamaModel>,
        settings: &SlotSettings,
    ) -> Result<Self, BackendInitError> {
        let context_size = NonZeroU32::new(settings.context_size)
            .ok_or_else(|| BackendInitError::Context("ctx must be at least 1".to_owned()))?;
        let (jobs, receiver) = sync_channel::<Job>(settings.queue);
        let receiver = Arc::new(Mutex::new(receiver));
        let counters = Arc::new(Counters::default());
        let mut actual_context = 0;
        for slot in 0..settings.slots.max(1) {
            let (ready_tx, ready_rx) = std::sync::mpsc::channel();
            let params = LlamaContextParams::default()
                .with_n_ctx(Some(context_size))
                .with_n_threads(settings.threads as i32)
                .with_n_threads_batch(settings.threads as i32);
            let model = Arc::clone(&model);
            let receiver = Arc::clone(&receiver);
            let counters = Arc::clone(&counters);
            std::thread::Builder::new()
                .name(format!("sluice-llama-{slot}"))
                .spawn(move || {
                    let runtime = match llama_runtime() {
                        Ok(runtime) => runtime,
                        Err(error) => {
                            let _ = ready_tx.send(Err(error.to_string()));
                            return;
                        }
                    };
                    let context = {
                        let _setup = model_setup_lock();
                        model.new_context(runtime, params)
                    };
                    match context {
                        Ok(mut context) => {
                            counters.live_slots.fetch_add(1, Ordering::SeqCst);
                            let _ = ready_tx.send(Ok(context.n_ctx() as usize));
                            serve(&mut context, &model, &receiver, &counters);
                            counters.live_slots.fetch_sub(1, Ordering::SeqCst);
                        }
                        Err(error) => {
                            let _ = ready_tx.send(Err(error.to_string()));
                        }
                    }
                })
                .map_err(|error| BackendInitError::Context(error.to_string()))?;
            actual_context = ready_rx
                .recv()
                .map_err(|_| BackendInitError::Context("the slot thread died".to_owned()))?
                .map_err(BackendInitError::Context)?;
        }
        Ok(SlotPool {
            jobs,
            counters,
            retry_after: settings.retry_after,
            context_size: actual_context,
        })
    }

    /// The context size of each slot, as llama.cpp allocated it.
    pub fn context_size(&self) -> usize {
        self.context_size
    }

    /// Queues a job, or refuses it when the queue is full.
    pub fn submit(&self, job: Job) -> Result<(), BackendError> {
        if self.counters.shutdown.load(Ordering::SeqCst) {
            return Err(BackendError::Cancelled);
        }
        if self.counters.live_slots.load(Ordering::SeqCst) == 0 {
            return Err(BackendError::unavailable("no generation slot is running"));
        }
        self.counters.queued.fetch_add(1, Ordering::SeqCst);
        match self.jobs.try_send(job) {
            Ok(()) => Ok(()),
            Err(error) => {
                self.counters.queued.fetch_sub(1, Ordering::SeqCst);
                Err(match error {
                    TrySendError::Full(_) => BackendError::Busy {
                        retry_after: self.retry_after,
                    },
                    TrySendError::Disconnected(_) => {
                        BackendError::unavailable("no generation slot is running")
                    }
                })
            }
        }
    }

    pub fn load(&self) -> BackendLoad {
        BackendLoad {
            active: self.counters.active.load(Ordering::SeqCst),
            queued: self.counters.queued.load(Ordering::SeqCst),
        }
    }

    /// Whether a slot is running and the pool is not shutting down.
    pub fn ready(&self) -> bool {
        self.counters.live_slots.load(Ordering::SeqCst) > 0
            && !self.counters.shutdown.load(Ordering::SeqCst)
    }

    /// Stops running generations and refuses queued and new jobs with
    /// [`BackendError::Cancelled`].
    pub fn shutdown(&self) {
        self.counters.shutdown.store(true, Ordering::SeqCst);
    }
}

/// A slot's life: take jobs until the pool is dropped.
fn serve(
    context: &mut llama_cpp_2::context::LlamaContext<'_>,
    model: &LlamaModel,
    receiver: &Mutex<Receiver<Job>>,
    counters: &Counters,
) {
    loop {
        let job = {
            let receiver = receiver.lock().unwrap_or_else(|e| e.into_inner());
            match receiver.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        counters.queued.fetch_sub(1, Ordering::SeqCst);
        if job.events.is_closed() {
            continue;
        }
        if counters.shutdown.load(Ordering::SeqCst) {
            let _ = job
                .events
                .blocking_send(GenEvent::Failed(BackendError::Cancelled));
            continue;
        }
        let started = GenEvent::Started {
            prompt_tokens: job.prompt.len(),
        };
        if job.events.blocking_send(started).is_err() {
            continue;
        }
        counters.active.fetch_add(1, Ordering::SeqCst);
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            generate(
                context,
                model,
                &job.prompt,
                &job.params,
                &job.events,
                &counters.shutdown,
            )
        }));
        counters.active.fetch_sub(1, Ordering::SeqCst);
        let last = match outcome {
            Ok(Ok((reason, completion_tokens))) => GenEvent::Finished {
                reason,
                completion_tokens,
            },
            Ok(Err(Interrupted::Disconnected)) => continue,
            Ok(Err(Interrupted::Failed(error))) => GenEvent::Failed(error),
            Err(_) => {
                tracing::error!("a llama.cpp generation panicked; the slot carries on");
                GenEvent::Failed(BackendError::unavailable("the generation failed"))
            }
        };
        let _ = job.events.blocking_send(last);
    }
}
