//! The OpenAI chat-completions wire format, shared by the server and every backend.
//!
//! Clients speak this format to sluice, and sluice speaks it to cloud and on-premise upstreams, so
//! the types here are lossless: every object keeps the fields it does not model in an `extra` map
//! that is serialized back unchanged. That is what lets a request with fields sluice has never
//! heard of reach a cloud backend untouched. [`sse`] frames and parses the streaming form;
//! [`extract`] finds every piece of text a request carries, for scanning and redaction.

pub mod embeddings;
pub mod error;
pub mod extract;
pub mod parse;
pub mod request;
pub mod response;
pub mod sse;

pub use error::{ErrorBody, ErrorDetail};
pub use parse::{parse_request, RequestParseError};
pub use request::{
    ChatCompletionRequest, ChatMessage, ContentPart, FunctionCall, FunctionDefinition, ImageUrl,
    MessageContent, Role, StopSequences, StreamOptions, Tool, ToolCall,
};
pub use response::{
    ChatCompletionChunk, ChatCompletionResponse, Choice, ChunkChoice, Delta, FunctionCallDelta,
    ToolCallDelta, Usage,
};

/// The JSON object map used for pass-through fields.
pub type Extra = serde_json::Map<String, serde_json::Value>;
