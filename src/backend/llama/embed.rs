//! Embeddings from the embedded model, for inputs that must not leave the premises.
//!
//! One thread owns one llama.cpp context created with embeddings on and mean pooling (a
//! generation context cannot be switched safely while slots share the model), started on the
//! first embeddings request so a gateway that never embeds pays nothing for it. Its queue is
//! bounded like the slots': a full queue is 503 with `Retry-After`. Vectors are L2-normalised, as
//! OpenAI's are, so cosine similarity is a dot product.

use std::num::NonZeroU32;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use llama_cpp_2::context::params::{LlamaContextParams, LlamaPoolingType};
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use tokio::sync::oneshot;

use super::runtime::{llama_runtime, model_setup_lock};
use crate::backend::BackendError;

/// Vectors for a batch and the tokens they took.
pub struct Embedded {
    pub vectors: Vec<Vec<f32>>,
    pub prompt_tokens: usize,
}

struct EmbedJob {
    texts: Vec<String>,
    reply: oneshot::Sender<Result<Embedded, BackendError>>,
}

/// The embedding thread, started on first use.
pub struct Embedder {
    model: Arc<LlamaModel>,
    context_size: u32,
    threads: u32,
    queue: usize,
    retry_after: Duration,
    jobs: OnceLock<Result<SyncSender<EmbedJob>, String>>,
}

impl Embedder {
    pub fn new(
        model: Arc<LlamaModel>,
        context_size: u32,
        threads: u32,
        queue: usize,
        retry_after: Duration,
    ) -> Self {
        Embedder {
            model,
            context_size,
            threads,
            queue,
            retry_after,
            jobs: OnceLock::new(),
        }
    }

    /// The embedding of every text, in order.
    pub async fn embed(&self, texts: Vec<String>) -> Result<Embedded, BackendError> {
        let jobs = self
            .jobs
            .get_or_init(|| self.start())
            .as_ref()
            .map_err(|e| BackendError::unavailable(format!("the embedding context failed: {e}")))?;
        let (reply, answer) = oneshot::channel();
        jobs.try_send(EmbedJob { texts, reply })
            .map_err(|e| match e {
                TrySendError::Full(_) => BackendError::Busy {
                    retry_after: self.retry_after,
                },
                TrySendError::Disconnected(_) => {
                    BackendError::unavailable("the embedding thread is not running")
                }
            })?;
        answer
            .await
            .map_err(|_| BackendError::unavailable("the embedding stopped unexpectedly"))?
    }

    fn start(&self) -> Result<SyncSender<EmbedJob>, String> {
        let (jobs, receiver) = sync_channel::<EmbedJob>(self.queue.max(1));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let model = Arc::clone(&self.model);
        let size = NonZeroU32::new(self.context_size).ok_or("ctx must be at least 1")?;
        // A pooled sequence must fit one micro-batch.
        let params = LlamaContextParams::default()
            .with_n_ctx(Some(size))
            .with_n_batch(size.get())
            .with_n_ubatch(size.get())
            .with_n_threads(self.threads as i32)
            .with_n_threads_batch(self.threads as i32)
            .with_embeddings(true)
            .with_pooling_type(LlamaPoolingType::Mean);
        std::thread::Builder::new()
            .name("sluice-llama-embed".into())
            .spawn(move || {
                let runtime = match llama_runtime() {
                    Ok(runtime) => runtime,
                    Err(e) => return drop(ready_tx.send(Err(e.to_string()))),
                };
                let context = {
                    let _setup = model_setup_lock();
                    model.new_context(runtime, params)
                };
                let mut context = match context {
                    Ok(context) => context,
                    Err(e) => return drop(ready_tx.send(Err(e.to_string()))),
                };
                let _ = ready_tx.send(Ok(()));
                while let Ok(job) = receiver.recv() {
                    if job.reply.is_closed() {
                        continue;
                    }
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        embed_all(&mut context, &model, &job.texts)
                    }))
                    .unwrap_or_else(|_| {
                        tracing::error!("a llama.cpp embedding panicked; the thread carries on");
                        Err(BackendError::unavailable("the embedding failed"))
                    });
                    let _ = job.reply.send(result);
                }
            })
            .map_err(|e| e.to_string())?;
        ready_rx
            .recv()
            .map_err(|_| "the embedding thread died".to_owned())??;
        Ok(jobs)
    }
}

fn embed_all(
    context: &mut LlamaContext<'_>,
    model: &LlamaModel,
    texts: &[String],
) -> Result<Embedded, BackendError> {
    let capacity = context.n_ctx() as usize;
    let mut vectors = Vec::with_capacity(texts.len());
    let mut prompt_tokens = 0;
    for (i, text) in texts.iter().enumerate() {
        let tokens = model.vocab().tokenize(text.as_bytes(), true, false);
        if tokens.len() > capacity {
            return Err(BackendError::BadRequest {
                message: format!(
                    "an input is {} tokens but the local model embeds at most {capacity}",
                    tokens.len()
                ),
                param: Some(format!("input[{i}]")),
            });
        }
        prompt_tokens += tokens.len();
        context.clear_kv_cache();
        let mut batch = LlamaBatch::new(tokens.len().max(1), 1);
        for (position, token) in tokens.iter().enumerate() {
            batch
                .add(*token, position as i32, &[0], true)
                .map_err(|_| BackendError::unavailable("the embedding batch is full"))?;
        }
        context
            .decode(&mut batch)
            .map_err(|_| BackendError::unavailable("llama.cpp could not embed the input"))?;
        let pooled = context
            .embeddings_seq_ith(0)
            .map_err(|_| BackendError::unavailable("llama.cpp returned no embedding"))?;
        vectors.push(normalised(pooled));
    }
    Ok(Embedded {
        vectors,
        prompt_tokens,
    })
}

fn normalised(vector: &[f32]) -> Vec<f32> {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 && norm.is_finite() {
        vector.iter().map(|x| x / norm).collect()
    } else {
        vector.to_vec()
    }
}
