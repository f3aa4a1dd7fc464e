//! Front-end wire formats other than OpenAI chat completions: Anthropic Messages, the OpenAI
//! Responses API and legacy completions.
//!
//! Each dialect turns its request into sluice's one internal form, a [`ChatCompletionRequest`],
//! which is what gets scanned, decided, redacted, audited and forwarded: one pipeline and one
//! set of invariants for every API a client speaks. On the way back each dialect turns the
//! chat-completions answer (complete, or chunk by chunk with a [`StreamEncoder`]) into its own
//! shape. Pure: no HTTP server types here, so each translation is unit-tested on its own.
//!
//! [`ChatCompletionRequest`]: crate::openai::ChatCompletionRequest

pub mod anthropic;
pub mod completions;
pub mod embeddings;
pub mod responses;

use crate::openai::ChatCompletionChunk;

/// A client error found while translating a request. `message` and `param` name fields, indices
/// and fixed vocabulary, never request values: the request has not been scanned yet.
#[derive(Debug, Clone, PartialEq)]
pub struct FrontError {
    pub status: u16,
    pub message: String,
    /// Path of the offending field, e.g. `messages[2].content[0].type`.
    pub param: Option<String>,
}

impl FrontError {
    pub fn bad_request(message: impl Into<String>, param: Option<String>) -> Self {
        FrontError {
            status: 400,
            message: message.into(),
            param,
        }
    }
}

/// Turns a streamed chat-completions answer into a dialect's SSE events, one chunk at a time.
/// Each method returns whole SSE events as text (`event: x\ndata: {...}\n\n`), possibly none.
pub trait StreamEncoder: Send {
    /// One chat chunk of the answer (text delta, tool-call delta, finish reason, usage chunk).
    fn chunk(&mut self, chunk: &ChatCompletionChunk) -> Vec<String>;
    /// The answer ended normally (`data: [DONE]` or the end of the stream): close whatever is
    /// open and end the answer.
    fn finish(&mut self) -> Vec<String>;
    /// The stream failed mid-answer (`status` and `message` are sluice's own, no request text):
    /// tell the client in-band, in the dialect's error shape. Nothing follows.
    fn error(&mut self, status: u16, message: &str) -> Vec<String>;
}

/// A request body that must be one JSON object. The error names the position of a syntax
/// error, never the text around it.
pub fn json_object(body: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>, FrontError> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        FrontError::bad_request(
            format!(
                "the request body is not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ),
            None,
        )
    })?;
    match value {
        serde_json::Value::Object(object) => Ok(object),
        _ => Err(FrontError::bad_request(
            "the request body must be a JSON object",
            None,
        )),
    }
}

/// "`field` must be ..." with `field` as the error's param.
pub fn invalid(field: &str, expected: &str) -> FrontError {
    FrontError::bad_request(
        format!("`{field}` must be {expected}"),
        Some(field.to_owned()),
    )
}

/// One SSE event with an `event:` name, as Anthropic and the Responses API frame them.
pub fn named_event(name: &str, data: &serde_json::Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

/// The JSON type name of a value, for errors that must not quote the value itself.
pub fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
