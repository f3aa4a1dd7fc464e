//! A chat answer as an Anthropic Message.

use serde_json::{json, Map, Value};

use crate::dialect::FrontError;
use crate::openai::ChatCompletionResponse;

/// The Message for a complete chat answer. `model` is the name the client asked for. A tool
/// call whose arguments are not a JSON object cannot be a `tool_use` block: that is the model's
/// failure, answered as 502 rather than handed over malformed.
pub fn answer(response: &ChatCompletionResponse, model: &str) -> Result<Value, FrontError> {
    let choice = response.choices.first();
    let mut content = Vec::new();
    if let Some(message) = choice.map(|c| &c.message) {
        let text = message
            .content
            .as_ref()
            .map(|c| c.text_parts().concat())
            .unwrap_or_default();
        if !text.is_empty() {
            content.push(json!({"type": "text", "text": text}));
        }
        for call in message.tool_calls.iter().flatten() {
            content.push(json!({
                "type": "tool_use",
                "id": tool_use_id(&call.id),
                "name": call.function.name,
                "input": tool_input(&call.function.arguments)?,
            }));
        }
    }
    let usage = response.usage.as_ref();
    Ok(json!({
        "id": message_id(&response.id),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason(choice.and_then(|c| c.finish_reason.as_deref())),
        "stop_sequence": null,
        "usage": {
            "input_tokens": usage.map_or(0, |u| u.prompt_tokens),
            "output_tokens": usage.map_or(0, |u| u.completion_tokens),
        },
    }))
}

/// Anthropic's `stop_reason` for a chat `finish_reason`.
pub(super) fn stop_reason(finish_reason: Option<&str>) -> &'static str {
    match finish_reason {
        Some("length") => "max_tokens",
        Some("tool_calls" | "function_call") => "tool_use",
        Some("content_filter") => "refusal",
        _ => "end_turn",
    }
}

/// `msg_` ids, as Anthropic's SDKs and logs expect; a chat id keeps its suffix.
pub(super) fn message_id(chat_id: &str) -> String {
    let suffix = chat_id.strip_prefix("chatcmpl-").unwrap_or(chat_id);
    if suffix.is_empty() {
        format!("msg_{}", uuid::Uuid::new_v4().simple())
    } else {
        format!("msg_{suffix}")
    }
}

/// A tool call id as Anthropic writes them (`toolu_`), unless it already came from Anthropic.
pub(super) fn tool_use_id(call_id: &str) -> String {
    if call_id.starts_with("toolu_") || call_id.is_empty() {
        if call_id.is_empty() {
            return format!("toolu_{}", uuid::Uuid::new_v4().simple());
        }
        return call_id.to_owned();
    }
    format!("toolu_{call_id}")
}

fn tool_input(arguments: &str) -> Result<Value, FrontError> {
    if arguments.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(value @ Value::Object(_)) => Ok(value),
        _ => Err(FrontError {
            status: 502,
            message: "the model's tool call arguments are not a JSON object".into(),
            param: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(value: Value) -> ChatCompletionResponse {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn text_and_tool_calls_become_blocks_with_the_requested_model() {
        let chat = response(json!({
            "id": "chatcmpl-abc", "model": "gpt-4o-2024", "created": 1,
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": "Let me look.",
                "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\":1}"}}]}}],
            "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
        }));
        let message = answer(&chat, "claude-sonnet").unwrap();
        assert_eq!(
            message,
            json!({
                "id": "msg_abc", "type": "message", "role": "assistant", "model": "claude-sonnet",
                "content": [
                    {"type": "text", "text": "Let me look."},
                    {"type": "tool_use", "id": "toolu_call_1", "name": "lookup", "input": {"q": 1}}
                ],
                "stop_reason": "tool_use", "stop_sequence": null,
                "usage": {"input_tokens": 7, "output_tokens": 3}
            })
        );
    }

    #[test]
    fn malformed_tool_arguments_are_a_gateway_error() {
        let chat = response(json!({
            "choices": [{"message": {"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{oops"}}]}, "finish_reason": "tool_calls"}]
        }));
        assert_eq!(answer(&chat, "m").unwrap_err().status, 502);
    }

    #[test]
    fn finish_reasons_map_to_stop_reasons() {
        assert_eq!(stop_reason(Some("stop")), "end_turn");
        assert_eq!(stop_reason(Some("length")), "max_tokens");
        assert_eq!(stop_reason(Some("tool_calls")), "tool_use");
        assert_eq!(stop_reason(None), "end_turn");
    }
}
