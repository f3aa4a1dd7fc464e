//! Complete Anthropic answers (success and error bodies) -> chat-completions objects.

use serde::Deserialize;
use serde_json::Value;

use super::error::TranslateError;
use super::{finish_reason, unix_now, AnthropicUsage};
use crate::openai::{
    ChatCompletionResponse, ChatMessage, Choice, Extra, FunctionCall, MessageContent, Role,
    ToolCall,
};

/// The parts of Anthropic's `Message` sluice needs.
#[derive(Deserialize)]
struct AnthropicMessage {
    id: String,
    content: Vec<Block>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: AnthropicUsage,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block {
    Text {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    /// Thinking, redacted thinking and server-tool blocks: sluice never enables them, and an
    /// OpenAI client has nowhere to put them.
    #[serde(other)]
    Other,
}

/// Anthropic's error body: `{"type":"error","error":{"type":...,"message":...}}`.
#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorObject,
}

#[derive(Deserialize)]
pub(super) struct ErrorObject {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    message: String,
}

impl ErrorObject {
    pub(super) fn into_error(self) -> TranslateError {
        TranslateError::upstream(&self.kind, &self.message)
    }
}

/// Turns a successful `POST /v1/messages` body into a chat completion named `client_model`.
pub fn from_messages_response(
    body: &[u8],
    client_model: &str,
) -> Result<ChatCompletionResponse, TranslateError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| not_a_message())?;
    if value.get("type").and_then(Value::as_str) == Some("error") {
        return Err(parse_error_value(value));
    }
    // serde's messages quote the offending values (answer text): keep them out of the error.
    let message: AnthropicMessage = serde_json::from_value(value).map_err(|_| not_a_message())?;
    Ok(completion(message, client_model))
}

/// Turns a non-2xx Anthropic answer into the error sluice should report, keeping Anthropic's
/// own type and text when the body has the documented shape.
pub fn error_from_status_body(status: u16, body: &[u8]) -> TranslateError {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(parsed) => {
            let mut error = parsed.error.into_error();
            error.status = status;
            error
        }
        Err(_) => TranslateError {
            status,
            message: format!("anthropic answered HTTP status {status}"),
            upstream_type: None,
        },
    }
}

fn parse_error_value(value: Value) -> TranslateError {
    serde_json::from_value::<ErrorBody>(value)
        .map(|body| body.error.into_error())
        .unwrap_or_else(|_| TranslateError::bad_gateway("anthropic answered a malformed error"))
}

fn not_a_message() -> TranslateError {
    TranslateError::bad_gateway("anthropic answer is not a valid Messages API message")
}

fn completion(message: AnthropicMessage, client_model: &str) -> ChatCompletionResponse {
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for block in message.content {
        match block {
            Block::Text { text: piece } => text.push_str(&piece),
            Block::ToolUse { id, name, input } => tool_calls.push(tool_call(id, name, &input)),
            Block::Other => {}
        }
    }
    // OpenAI sends `content: null` beside tool calls, and "" for an empty plain answer.
    let content = (!text.is_empty() || tool_calls.is_empty()).then_some(MessageContent::Text(text));
    let finish = message
        .stop_reason
        .as_deref()
        .map(finish_reason)
        .unwrap_or("stop");
    ChatCompletionResponse {
        id: format!("chatcmpl-{}", message.id),
        object: "chat.completion".to_owned(),
        created: unix_now(),
        model: client_model.to_owned(),
        choices: vec![Choice {
            index: 0,
            message: ChatMessage {
                role: Role::Assistant,
                content,
                name: None,
                tool_calls: (!tool_calls.is_empty()).then_some(tool_calls),
                tool_call_id: None,
                extra: Extra::new(),
            },
            finish_reason: Some(finish.to_owned()),
            logprobs: None,
            extra: Extra::new(),
        }],
        usage: Some(message.usage.to_openai()),
        system_fingerprint: None,
        extra: Extra::new(),
    }
}

fn tool_call(id: String, name: String, input: &Value) -> ToolCall {
    ToolCall {
        id,
        kind: "function".to_owned(),
        function: FunctionCall {
            name,
            arguments: input.to_string(),
            extra: Extra::new(),
        },
        extra: Extra::new(),
    }
}
