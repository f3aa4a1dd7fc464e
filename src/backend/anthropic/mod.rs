//! Translation between sluice's internal chat-completions shapes and Anthropic's Messages API
//! (`POST /v1/messages`, `anthropic-version: 2023-06-01`), for the `anthropic` cloud backend.
//!
//! Sluice scans, decides and redacts on chat-completions objects only; this module lets a
//! backend that speaks a different wire format sit behind that pipeline without the rest of
//! sluice knowing. It is pure (no HTTP): the caller sends the JSON built here and feeds the
//! answer (complete body or SSE events) back through it.
//!
//! Privacy rule for every error built here: messages carry field names, indices and fixed
//! vocabulary only, never request or answer values (those are unscanned text that may hold
//! PII). The one exception is Anthropic's own error text, relayed as the cloud wrote it.
//!
//! Shapes were checked against the official Python SDK `anthropic==2.17.0` (`anthropic/types`).

mod error;
mod request;
mod response;
mod stream;

pub use error::TranslateError;
pub use request::to_messages_request;
pub use response::{error_from_status_body, from_messages_response};
pub use stream::EventsToChunks;

/// Seconds since the Unix epoch, for the `created` field OpenAI clients expect.
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or(0)
}

/// Anthropic `stop_reason` -> OpenAI `finish_reason`.
fn finish_reason(stop_reason: &str) -> &'static str {
    match stop_reason {
        "max_tokens" | "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        // end_turn, stop_sequence, pause_turn (server tools only, which sluice never sends)
        // and reasons added later all mean "the model stopped on its own" to an OpenAI client.
        _ => "stop",
    }
}

/// Anthropic's token counts, shared by the complete answer and the stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
struct AnthropicUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
}

impl AnthropicUsage {
    /// Later counts are cumulative totals: a present value replaces, an absent one keeps.
    fn merge(&mut self, later: &AnthropicUsage) {
        self.input_tokens = later.input_tokens.or(self.input_tokens);
        self.output_tokens = later.output_tokens.or(self.output_tokens);
        self.cache_creation_input_tokens = later
            .cache_creation_input_tokens
            .or(self.cache_creation_input_tokens);
        self.cache_read_input_tokens = later
            .cache_read_input_tokens
            .or(self.cache_read_input_tokens);
    }

    /// Anthropic counts cached input apart from `input_tokens`; OpenAI's `prompt_tokens` is the
    /// whole input, with the cached share reported in `prompt_tokens_details.cached_tokens`.
    fn to_openai(self) -> crate::openai::Usage {
        let cache_read = self.cache_read_input_tokens.unwrap_or(0);
        let prompt = self.input_tokens.unwrap_or(0)
            + self.cache_creation_input_tokens.unwrap_or(0)
            + cache_read;
        let mut usage = crate::openai::Usage::new(prompt, self.output_tokens.unwrap_or(0));
        if self.cache_read_input_tokens.is_some() {
            usage.extra.insert(
                "prompt_tokens_details".to_owned(),
                serde_json::json!({ "cached_tokens": cache_read }),
            );
        }
        usage
    }
}

#[cfg(test)]
mod tests;
