//! Backend settings as they appear in sluice.toml, and building backends from them.
//!
//! ```toml
//! [backends.local]
//! kind = "llama"
//! model = "models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
//! slots = 1
//! queue = 16
//! ctx = 2048
//! threads = 2
//!
//! [backends.cloud]
//! kind = "openai"
//! base_url_env = "OPENAI_BASE_URL"   # wins over base_url when set
//! api_key_env = "OPENAI_API_KEY"
//! on_premise = false
//!
//! [backends.claude]
//! kind = "anthropic"                 # the native Messages API
//! api_key_env = "ANTHROPIC_API_KEY"
//! model_map = { "claude" = "claude-sonnet-4-5" }
//!
//! [backends.gpus]
//! kind = "pool"                      # on-premise servers, balanced and health-checked
//! members = ["http://10.0.0.5:8080/v1", "http://10.0.0.6:8080/v1"]
//! ```
//!
//! Secrets are never in the file: only the names of the environment variables holding them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;

use super::http::Wire;
use super::pool::{Pool, PoolConfig};
use super::{Backend, BackendInitError, EmbeddedLlama, HttpBackend};

/// One `[backends.<name>]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum BackendConfig {
    /// The embedded llama.cpp model.
    Llama(LlamaConfig),
    /// Any OpenAI-compatible HTTP API (OpenAI, a cloud proxy, vLLM, llama-server, Ollama).
    Openai(HttpConfig),
    /// Anthropic's native Messages API (`base_url` defaults to `https://api.anthropic.com/v1`;
    /// the key in `api_key_env` is sent as `x-api-key`).
    Anthropic(HttpConfig),
    /// Several on-premise OpenAI-compatible servers, balanced with health checks
    /// ([`super::pool`]).
    Pool(PoolConfig),
}

impl BackendConfig {
    /// The HTTP settings of a single HTTP upstream (either wire); `None` for the embedded model
    /// and pools (which are always on premise).
    pub fn http(&self) -> Option<&HttpConfig> {
        match self {
            BackendConfig::Llama(_) | BackendConfig::Pool(_) => None,
            BackendConfig::Openai(http) | BackendConfig::Anthropic(http) => Some(http),
        }
    }
}

/// `kind = "llama"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlamaConfig {
    /// The GGUF file (relative paths are relative to the configuration file's directory).
    #[serde(default = "default_model_path")]
    pub model: PathBuf,
    /// The name the local model is known by (`GET /v1/models`, logs); defaults to the file name
    /// without `.gguf`. Answers name the model the client asked for.
    #[serde(default)]
    pub model_name: Option<String>,
    /// Requests generated at the same time, each with its own llama.cpp context.
    #[serde(default = "default_slots")]
    pub slots: usize,
    /// Requests that may wait for a slot; one more gets 503 with `Retry-After`.
    #[serde(default = "default_queue")]
    pub queue: usize,
    /// Context size in tokens per slot (prompt and answer together).
    #[serde(default = "default_ctx")]
    pub ctx: u32,
    /// CPU threads per slot.
    #[serde(default = "default_threads")]
    pub threads: u32,
    /// Completion token limit when the request sets none.
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
    /// Sampling temperature when the request sets none (0 means greedy).
    #[serde(default = "default_temperature")]
    pub temperature: f64,
    /// Top-k applied before top-p and temperature (0 disables it), as llama-server does.
    #[serde(default = "default_top_k")]
    pub top_k: u32,
    /// The `Retry-After` sent when the queue is full.
    #[serde(default = "default_retry_after")]
    pub retry_after_secs: u64,
}

impl LlamaConfig {
    /// The name it is known by: `model_name`, or the file name without `.gguf`.
    pub fn served_model_name(&self) -> String {
        self.model_name.clone().unwrap_or_else(|| {
            self.model
                .file_name()
                .map(|name| name.to_string_lossy())
                .map(|name| name.strip_suffix(".gguf").unwrap_or(&name).to_owned())
                .unwrap_or_else(|| "local".to_owned())
        })
    }
}

impl Default for LlamaConfig {
    fn default() -> Self {
        LlamaConfig {
            model: default_model_path(),
            model_name: None,
            slots: default_slots(),
            queue: default_queue(),
            ctx: default_ctx(),
            threads: default_threads(),
            max_tokens: default_max_tokens(),
            temperature: default_temperature(),
            top_k: default_top_k(),
            retry_after_secs: default_retry_after(),
        }
    }
}

fn default_model_path() -> PathBuf {
    PathBuf::from("models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
}
fn default_slots() -> usize {
    1
}
fn default_queue() -> usize {
    16
}
fn default_ctx() -> u32 {
    2048
}
fn default_threads() -> u32 {
    2
}
fn default_max_tokens() -> u32 {
    512
}
fn default_temperature() -> f64 {
    0.8
}
fn default_top_k() -> u32 {
    40
}
fn default_retry_after() -> u64 {
    1
}

/// `kind = "openai"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// The API root, ending in `/v1` for most servers; `/chat/completions` is appended.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// An environment variable that, when set and not empty, overrides `base_url`.
    #[serde(default)]
    pub base_url_env: Option<String>,
    /// The environment variable holding the API key (sent as `Authorization: Bearer`). Without
    /// it no `Authorization` header is sent.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Whether the upstream runs inside the organisation (may receive sensitive text).
    #[serde(default)]
    pub on_premise: bool,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: f64,
    /// The longest wait for the next byte (the answer's headers, or the next part of a stream).
    #[serde(default = "default_read_timeout")]
    pub read_timeout_secs: f64,
    /// Retries after a connection error or a 502/503/504, before any byte of the answer.
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    /// The first retry's delay; each further retry waits twice as long.
    #[serde(default = "default_retry_backoff_ms")]
    pub retry_backoff_ms: u64,
    /// Renames requested models before forwarding (`"gpt-4o" = "my-deployment"`).
    #[serde(default)]
    pub model_map: BTreeMap<String, String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            base_url: default_base_url(),
            base_url_env: None,
            api_key_env: None,
            on_premise: false,
            connect_timeout_secs: default_connect_timeout(),
            read_timeout_secs: default_read_timeout(),
            max_retries: default_max_retries(),
            retry_backoff_ms: default_retry_backoff_ms(),
            model_map: BTreeMap::new(),
        }
    }
}

/// Where `kind = "anthropic"` goes when no `base_url` is set.
pub const ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com/v1";

fn default_base_url() -> String {
    "https://api.openai.com/v1".to_owned()
}
fn default_connect_timeout() -> f64 {
    10.0
}
fn default_read_timeout() -> f64 {
    120.0
}
fn default_max_retries() -> u32 {
    2
}
fn default_retry_backoff_ms() -> u64 {
    200
}

/// Builds the backend a config table describes. Loading a model blocks for a moment: call this
/// at start-up (or from `spawn_blocking`).
pub fn build_backend(
    name: &str,
    config: &BackendConfig,
) -> Result<Arc<dyn Backend>, BackendInitError> {
    Ok(match config {
        BackendConfig::Llama(config) => Arc::new(EmbeddedLlama::load(name, config)?),
        BackendConfig::Openai(config) => Arc::new(HttpBackend::new(name, config)?),
        BackendConfig::Pool(config) => Arc::new(Pool::new(name, config)?),
        BackendConfig::Anthropic(config) => {
            let mut config = config.clone();
            if config.base_url == default_base_url() {
                config.base_url = ANTHROPIC_BASE_URL.to_owned();
            }
            Arc::new(HttpBackend::with_wire(name, &config, Wire::Anthropic)?)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct File {
        backends: BTreeMap<String, BackendConfig>,
    }

    #[test]
    fn parses_both_kinds_with_defaults() {
        let file: File = toml::from_str(
            r#"
            [backends.local]
            kind = "llama"
            slots = 2
            threads = 1

            [backends.cloud]
            kind = "openai"
            base_url_env = "OPENAI_BASE_URL"
            api_key_env = "OPENAI_API_KEY"
            model_map = { "gpt-4o" = "deployment-1" }
            "#,
        )
        .unwrap();
        let BackendConfig::Llama(local) = &file.backends["local"] else {
            panic!("local must be llama");
        };
        assert_eq!(local.slots, 2);
        assert_eq!(local.queue, 16);
        assert_eq!(local.model, default_model_path());
        let BackendConfig::Openai(cloud) = &file.backends["cloud"] else {
            panic!("cloud must be openai");
        };
        assert_eq!(cloud.base_url, "https://api.openai.com/v1");
        assert!(!cloud.on_premise);
        assert_eq!(cloud.model_map["gpt-4o"], "deployment-1");
    }

    #[test]
    fn unknown_fields_are_errors_with_a_position() {
        let error = toml::from_str::<File>("[backends.local]\nkind = \"llama\"\nslot = 2\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("slot"), "{error}");
        assert!(
            error.contains("line 1") || error.contains("line 3"),
            "{error}"
        );
    }

    #[test]
    fn unknown_kind_is_an_error() {
        let error = toml::from_str::<File>("[backends.x]\nkind = \"magic\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("magic"), "{error}");
    }
}
