//! Where answers come from: the embedded llama.cpp model, OpenAI-compatible HTTP upstreams, and
//! pools of on-premise servers.
//!
//! The server picks a backend after the policy decision and calls [`Backend::chat`]. Every
//! backend answers in the same shape ([`BackendReply`]): a complete answer or a stream of parsed
//! SSE events that still carry their raw bytes, so the server can forward an upstream's bytes
//! unchanged, rewrite text (placeholder restoration) or count tokens, whichever it needs.
//!
//! Cancellation is by drop: dropping the future returned by `chat`, or the [`ChunkStream`], stops
//! the work (a local generation stops within one token and frees its slot).

pub mod anthropic;
pub mod config;
pub mod error;
pub mod http;
pub mod llama;
pub mod pool;
pub mod reply;

use futures_util::future::BoxFuture;

use crate::openai::embeddings::EmbeddingsRequest;
use crate::openai::ChatCompletionRequest;

pub use config::{build_backend, BackendConfig, HttpConfig, LlamaConfig};
pub use error::{BackendError, BackendInitError};
pub use http::HttpBackend;
pub use llama::EmbeddedLlama;
pub use pool::{Pool, PoolConfig};
pub use reply::{BackendReply, ChunkStream, Completion, StreamEvent, StreamItem, UsageProbe};

/// A source of chat completions. Object-safe, so a server can hold `Arc<dyn Backend>`.
pub trait Backend: Send + Sync {
    /// The configured name (`local`, `cloud`, ...), for headers, metrics and audit records.
    fn name(&self) -> &str;

    /// Whether the backend runs inside the organisation and may receive sensitive text.
    fn on_premise(&self) -> bool;

    /// Serves one request: a complete answer when `request.stream` is not `true`, a stream
    /// otherwise. Errors never contain request text.
    fn chat(
        &self,
        request: ChatCompletionRequest,
    ) -> BoxFuture<'_, Result<BackendReply, BackendError>>;

    /// Embeds a batch of texts (`POST /v1/embeddings`). A backend without an embeddings API says
    /// it is unavailable, which sends cleared traffic to the local model instead.
    fn embed(
        &self,
        _request: EmbeddingsRequest,
    ) -> BoxFuture<'_, Result<EmbeddingsAnswer, BackendError>> {
        Box::pin(async {
            Err(BackendError::unavailable(
                "this backend has no embeddings API",
            ))
        })
    }

    /// Work admitted but not finished, for metrics.
    fn load(&self) -> BackendLoad {
        BackendLoad::default()
    }

    /// The servers behind a pool and their state (for `/metrics`); none for other backends.
    fn members(&self) -> Vec<MemberState> {
        Vec::new()
    }

    /// Whether the backend can take requests now (for `/readyz`): the embedded model has live
    /// slots and is not shutting down. Remote backends are reached lazily and report `true`.
    fn ready(&self) -> bool {
        true
    }
}

/// An embeddings answer: the JSON body for the client and the tokens it reports.
#[derive(Debug, Clone)]
pub struct EmbeddingsAnswer {
    pub body: bytes::Bytes,
    pub prompt_tokens: Option<u64>,
}

/// One server of a pool, as the pool sees it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberState {
    /// Its API root, as configured.
    pub url: String,
    /// In rotation (not ejected).
    pub healthy: bool,
    pub outstanding: usize,
}

/// How busy a backend is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackendLoad {
    /// Requests being served right now.
    pub active: usize,
    /// Requests waiting for a slot.
    pub queued: usize,
}
