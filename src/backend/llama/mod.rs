//! The embedded llama.cpp backend: the on-premise model that serves sensitive traffic.
//!
//! The model is loaded once and shared by a few slots ([`slots`]), each generating one answer at
//! a time on its own thread. A request is checked, rendered and tokenized on the blocking pool
//! ([`prompt`]), then queued; the async side only relays events ([`answer`]). Nothing here runs
//! model code on the async runtime. `response_format` JSON modes and schemas ([`json`]) and tool
//! calls ([`tools`]) are enforced by grammars. Embeddings come from a context of their own,
//! started on first use ([`embed`]).

mod answer;
mod embed;
mod generate;
mod json;
mod logprobs;
mod prompt;
mod runtime;
mod slots;
mod text;
mod tools;

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatTemplate, LlamaModel};
use tokio::sync::mpsc;

use self::answer::AnswerEnvelope;
use self::generate::{GenEvent, GenParams};
use self::json::OutputFormat;
use self::runtime::{llama_runtime, model_setup_lock};
use self::slots::{Job, SlotPool, SlotSettings};
use self::tools::{ToolMode, ToolPlan};
use super::{
    Backend, BackendError, BackendInitError, BackendLoad, BackendReply, EmbeddingsAnswer,
    LlamaConfig,
};
use crate::openai::embeddings::{embeddings_answer, EmbeddingsRequest};
use crate::openai::ChatCompletionRequest;

/// Stop sequences accepted per request (OpenAI allows 4; local clients sometimes send more).
const MAX_STOP_SEQUENCES: usize = 16;

/// Events buffered between a slot and a slow client before generation waits for it.
const EVENT_BUFFER: usize = 64;

/// The longest input embedded, in tokens (the embedding context's size, at most the slots').
const EMBED_CONTEXT: u32 = 2048;

/// The embedded model behind the [`Backend`] interface.
pub struct EmbeddedLlama {
    name: String,
    model_name: String,
    model: Arc<LlamaModel>,
    template: LlamaChatTemplate,
    slots: SlotPool,
    config: LlamaConfig,
    /// The longest token's text in bytes: a prompt of `n` bytes is at least `n / this` tokens,
    /// which rules out an oversized prompt before it is rendered and tokenized.
    longest_token_bytes: usize,
    embedder: embed::Embedder,
}

impl EmbeddedLlama {
    /// Loads the model and starts the slots. Blocks (about a second for SmolLM2).
    pub fn load(name: &str, config: &LlamaConfig) -> Result<Self, BackendInitError> {
        if !config.model.is_file() {
            return Err(BackendInitError::MissingModel {
                path: config.model.clone(),
            });
        }
        let invalid = |reason: &str| BackendInitError::Invalid {
            backend: name.to_owned(),
            reason: reason.to_owned(),
        };
        if config.slots == 0 {
            return Err(invalid("slots must be at least 1"));
        }
        if config.threads == 0 || config.threads > 512 {
            return Err(invalid("threads must be between 1 and 512"));
        }
        if config.ctx < 16 {
            return Err(invalid("ctx must be at least 16 tokens"));
        }
        if !(0.0..=2.0).contains(&config.temperature) {
            return Err(invalid("temperature must be between 0 and 2"));
        }
        if config.max_tokens == 0 {
            return Err(invalid("max_tokens must be at least 1"));
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        if config.slots * config.threads as usize > cores {
            // llama.cpp's threads spin while they wait for each other; oversubscribed cores make
            // every generation many times slower, not just proportionally slower.
            tracing::warn!(
                backend = name,
                slots = config.slots,
                threads = config.threads,
                cores,
                "slots × threads exceeds the CPU cores; generation will be much slower"
            );
        }
        let runtime = llama_runtime()?;
        let model = {
            let _setup = model_setup_lock();
            LlamaModel::load_from_file(runtime, &config.model, &LlamaModelParams::default())
                .map_err(|error| BackendInitError::ModelLoad {
                    path: config.model.clone(),
                    reason: error.to_string(),
                })?
        };
        let template = match model.chat_template(None) {
            Ok(template) => template,
            Err(_) => {
                tracing::warn!(model = %config.model.display(), "the model has no chat template; using ChatML");
                LlamaChatTemplate::new("chatml").expect("a constant without NUL")
            }
        };
        let longest_token_bytes = model
            .tokens(false)
            .map(|(_, piece)| piece.len())
            .max()
            .unwrap_or(1)
            .max(1);
        let model = Arc::new(model);
        let slots = SlotPool::start(
            Arc::clone(&model),
            &SlotSettings {
                slots: config.slots,
                queue: config.queue,
                context_size: config.ctx,
                threads: config.threads,
                retry_after: Duration::from_secs(config.retry_after_secs.max(1)),
            },
        )?;
        let model_name = config.served_model_name();
        tracing::info!(
            backend = name,
            model = %model_name,
            slots = config.slots,
            ctx = slots.context_size(),
            threads = config.threads,
            "embedded model loaded"
        );
        let embedder = embed::Embedder::new(
            Arc::clone(&model),
            config.ctx.min(EMBED_CONTEXT),
            config.threads,
            config.queue,
            Duration::from_secs(config.retry_after_secs.max(1)),
        );
        Ok(EmbeddedLlama {
            embedder,
            name: name.to_owned(),
            model_name,
            model,
            template,
            slots,
            config: config.clone(),
            longest_token_bytes,
        })
    }

    /// The `model` reported in answers.
    pub fn model_name(&self) -> &str {
        &self.model_name
    }

    /// Tokens per slot context (prompt and answer together).
    pub fn context_size(&self) -> usize {
        self.slots.context_size()
    }

    /// Ends running generations and refuses further work with [`BackendError::Cancelled`]
    /// (for a shutdown whose grace period is over).
    pub fn shutdown(&self) {
        self.slots.shutdown();
    }

    async fn serve(&self, request: ChatCompletionRequest) -> Result<BackendReply, BackendError> {
        let format = json::output_format(&request)?;
        let tools = ToolPlan::of(&request)?;
        let mut params = self.params(&request)?;
        params.grammar = match (&tools.mode, &format) {
            (ToolMode::Off, format) => format.grammar()?,
            (ToolMode::Required, _) => tools.grammar.clone(),
            (ToolMode::Auto, OutputFormat::Text) => tools.grammar.clone(),
            (ToolMode::Auto, OutputFormat::Json { .. }) => {
                return Err(BackendError::BadRequest {
                    message: "the local model cannot offer tools (tool_choice auto) and a JSON \
                              response_format at once; set tool_choice to required or none"
                        .to_owned(),
                    param: Some("tool_choice".to_owned()),
                })
            }
        };
        let context = self.slots.context_size();
        // Rendering and tokenizing a 10 MB conversation takes a core for minutes and a copy of
        // it; the size of its texts alone tells it cannot fit.
        let bytes: usize = request
            .messages
            .iter()
            .flat_map(|message| {
                let content = message.content.iter().flat_map(|c| c.text_parts());
                let calls = message.tool_calls.iter().flatten();
                content.chain(calls.map(|call| call.function.arguments.as_str()))
            })
            .map(str::len)
            .sum();
        let fewest_tokens = bytes / self.longest_token_bytes;
        if fewest_tokens >= context {
            return Err(BackendError::BadRequest {
                message: format!(
                    "the prompt is at least {fewest_tokens} tokens but the local model's context \
                     holds {context} tokens, answer included"
                ),
                param: Some("messages".to_owned()),
            });
        }
        let turns = prompt::render_turns(&request, &format, &tools)?;
        let model = Arc::clone(&self.model);
        let template = self.template.clone();
        let prompt =
            tokio::task::spawn_blocking(move || prompt::tokenize(&model, &template, turns))
                .await
                .map_err(|_| BackendError::unavailable("tokenizing the prompt failed"))??;
        if prompt.is_empty() {
            return Err(BackendError::bad_request(
                "the conversation renders to no tokens",
            ));
        }
        if prompt.len() >= context {
            return Err(BackendError::BadRequest {
                message: format!(
                    "the prompt is {} tokens but the local model's context holds {context} \
                     tokens, answer included",
                    prompt.len()
                ),
                param: Some("messages".to_owned()),
            });
        }
        let (events, mut receiver) = mpsc::channel(EVENT_BUFFER);
        self.slots.submit(Job {
            prompt,
            params,
            events,
        })?;
        let prompt_tokens = match receiver.recv().await {
            Some(GenEvent::Started { prompt_tokens }) => prompt_tokens,
            Some(GenEvent::Failed(error)) => return Err(error),
            Some(_) | None => {
                return Err(BackendError::unavailable(
                    "the generation slot stopped unexpectedly",
                ))
            }
        };
        // The answer names the model the client asked for, as a cloud backend's would; which
        // backend served it is the gateway's `x-sluice-backend` header (issue 14).
        let envelope = AnswerEnvelope::new(&request.model, tools.mode != ToolMode::Off);
        if request.is_stream() {
            Ok(BackendReply::Stream(answer::stream(
                receiver,
                envelope,
                prompt_tokens,
                request.wants_stream_usage(),
            )))
        } else {
            answer::collect(receiver, envelope, prompt_tokens)
                .await
                .map(|completion| BackendReply::Complete(Box::new(completion)))
        }
    }

    /// Reads and checks the sampling settings of a request.
    fn params(&self, request: &ChatCompletionRequest) -> Result<GenParams, BackendError> {
        let bad = |param: &str, message: &str| BackendError::BadRequest {
            message: message.to_owned(),
            param: Some(param.to_owned()),
        };
        if request.n.is_some_and(|n| n != 1) {
            return Err(bad("n", "the local model answers with one choice (n = 1)"));
        }
        let max_tokens = request.token_limit().unwrap_or(self.config.max_tokens);
        if max_tokens == 0 {
            return Err(bad("max_tokens", "max_tokens must be at least 1"));
        }
        let temperature = request.temperature.unwrap_or(self.config.temperature);
        if !(0.0..=2.0).contains(&temperature) {
            return Err(bad("temperature", "temperature must be between 0 and 2"));
        }
        let top_p = request.top_p.unwrap_or(1.0);
        if !(0.0..=1.0).contains(&top_p) {
            return Err(bad("top_p", "top_p must be between 0 and 1"));
        }
        let stops: Vec<String> = request
            .stop_sequences()
            .into_iter()
            .filter(|stop| !stop.is_empty())
            .map(str::to_owned)
            .collect();
        if stops.len() > MAX_STOP_SEQUENCES {
            return Err(bad("stop", "too many stop sequences (at most 16)"));
        }
        let seed = match request.seed {
            Some(seed) => (seed as u64 ^ (seed as u64 >> 32)) as u32,
            None => rand::random(),
        };
        let logprobs = match request.extra.get("logprobs") {
            None | Some(serde_json::Value::Null) => false,
            Some(value) => value
                .as_bool()
                .ok_or_else(|| bad("logprobs", "logprobs must be true or false"))?,
        };
        let top_logprobs = match request.extra.get("top_logprobs") {
            None | Some(serde_json::Value::Null) => 0,
            Some(value) => value
                .as_u64()
                .filter(|top| *top <= u64::from(logprobs::MAX_TOP_LOGPROBS))
                .ok_or_else(|| bad("top_logprobs", "top_logprobs must be between 0 and 20"))?
                as u8,
        };
        if top_logprobs > 0 && !logprobs {
            return Err(bad(
                "top_logprobs",
                "top_logprobs needs logprobs set to true",
            ));
        }
        Ok(GenParams {
            logprobs: logprobs.then_some(top_logprobs),
            max_tokens,
            temperature: temperature as f32,
            top_p: top_p as f32,
            top_k: self.config.top_k,
            seed,
            stops,
            grammar: None,
        })
    }
}

impl Backend for EmbeddedLlama {
    fn name(&self) -> &str {
        &self.name
    }

    fn on_premise(&self) -> bool {
        true
    }

    fn chat(
        &self,
        request: ChatCompletionRequest,
    ) -> BoxFuture<'_, Result<BackendReply, BackendError>> {
        Box::pin(self.serve(request))
    }

    fn embed(
        &self,
        request: EmbeddingsRequest,
    ) -> BoxFuture<'_, Result<EmbeddingsAnswer, BackendError>> {
        Box::pin(async move {
            let native = self.model.n_embd() as u64;
            if request.dimensions().is_some_and(|d| d != native) {
                return Err(BackendError::BadRequest {
                    message: format!("the local model's embeddings have {native} dimensions"),
                    param: Some("dimensions".to_owned()),
                });
            }
            let embedded = self.embedder.embed(request.input.clone()).await?;
            let body =
                embeddings_answer(&request, &embedded.vectors, embedded.prompt_tokens as u64);
            Ok(EmbeddingsAnswer {
                body: bytes::Bytes::from(body.to_string()),
                prompt_tokens: Some(embedded.prompt_tokens as u64),
            })
        })
    }

    fn load(&self) -> BackendLoad {
        self.slots.load()
    }

    fn ready(&self) -> bool {
        self.slots.ready()
    }
}
