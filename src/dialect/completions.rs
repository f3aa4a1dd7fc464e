//! The legacy completions API (`POST /v1/completions`) as a front end: LlamaIndex's
//! `OpenAILike(is_chat_model=False)` and older clients send a bare `prompt`.
//!
//! The prompt becomes one user message: every backend sluice serves is a chat model, and the
//! one request form keeps one pipeline. Options that only a raw-text model can honour (`echo`,
//! `suffix`, `logprobs`, `best_of`, token-id prompts, several prompts) are refused by name
//! rather than silently ignored.

use serde_json::{json, Map, Value};

use super::{invalid, json_object, FrontError, StreamEncoder};
use crate::openai::{
    ChatCompletionChunk, ChatCompletionRequest, ChatCompletionResponse, ChatMessage, Extra, Role,
    StopSequences, StreamOptions,
};

/// Fields that change the answer in ways a chat model cannot honour.
const UNSUPPORTED: &[&str] = &["echo", "suffix", "logprobs", "best_of"];

/// Parses a completions request into the chat request, and the model name the client asked for.
pub fn to_chat(body: &[u8]) -> Result<(ChatCompletionRequest, String), FrontError> {
    let mut top = json_object(body)?;
    let model = match top.remove("model") {
        Some(Value::String(m)) => m,
        _ => return Err(invalid("model", "a string")),
    };
    let prompt =
        match top.remove("prompt") {
            Some(Value::String(p)) => p,
            Some(Value::Array(mut prompts)) if prompts.len() == 1 && prompts[0].is_string() => {
                match prompts.remove(0) {
                    Value::String(p) => p,
                    _ => unreachable!("checked to be a string"),
                }
            }
            Some(Value::Array(_)) => return Err(invalid(
                "prompt",
                "one string (token-id prompts and several prompts per request are not supported)",
            )),
            _ => return Err(invalid("prompt", "a string")),
        };
    for field in UNSUPPORTED {
        match top.get(*field) {
            None | Some(Value::Null) | Some(Value::Bool(false)) => {
                top.remove(*field);
            }
            Some(Value::Number(n)) if *field == "best_of" && n.as_u64() == Some(1) => {
                top.remove(*field);
            }
            Some(_) => {
                return Err(FrontError::bad_request(
                    format!(
                        "`{field}` is not supported: sluice serves completions with chat models"
                    ),
                    Some((*field).to_owned()),
                ))
            }
        }
    }
    let stream = match top.remove("stream") {
        Some(Value::Bool(b)) => Some(b),
        None | Some(Value::Null) => None,
        Some(_) => return Err(invalid("stream", "a boolean")),
    };
    let max_tokens = match top.remove("max_tokens") {
        Some(Value::Number(n)) => Some(
            n.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| invalid("max_tokens", "a non-negative integer"))?,
        ),
        None | Some(Value::Null) => None,
        Some(_) => return Err(invalid("max_tokens", "an integer")),
    };
    let stop = match top.remove("stop") {
        None | Some(Value::Null) => None,
        Some(stop) => Some(
            serde_json::from_value::<StopSequences>(stop)
                .map_err(|_| invalid("stop", "a string or an array of strings"))?,
        ),
    };
    let number = |top: &mut Map<String, Value>, field: &str| match top.remove(field) {
        Some(Value::Number(n)) => Ok(n.as_f64()),
        None | Some(Value::Null) => Ok(None),
        Some(_) => Err(invalid(field, "a number")),
    };
    let temperature = number(&mut top, "temperature")?;
    let top_p = number(&mut top, "top_p")?;
    let seed = number(&mut top, "seed")?.map(|s| s as i64);
    let n = number(&mut top, "n")?.map(|n| n as u32);
    // `stream_options`, `user`, `presence_penalty`, ... mean the same in chat completions and
    // travel as they came (scanned like every other forwarded field).
    let include_usage = top
        .remove("stream_options")
        .and_then(|o| o.get("include_usage").and_then(Value::as_bool));
    let request = ChatCompletionRequest {
        model: model.clone(),
        messages: vec![ChatMessage::text(Role::User, prompt)],
        tools: None,
        tool_choice: None,
        response_format: None,
        max_tokens,
        max_completion_tokens: None,
        temperature,
        top_p,
        stop,
        seed,
        n,
        stream,
        stream_options: include_usage.map(|u| StreamOptions {
            include_usage: Some(u),
            extra: Extra::new(),
        }),
        extra: top,
    };
    Ok((request, model))
}

/// The `text_completion` object for a complete chat answer.
pub fn answer(response: &ChatCompletionResponse, model: &str) -> Value {
    let choices: Vec<Value> = response
        .choices
        .iter()
        .map(|c| {
            json!({
                "text": c.message.content.as_ref().map(|m| m.text_parts().concat()).unwrap_or_default(),
                "index": c.index,
                "logprobs": null,
                "finish_reason": c.finish_reason,
            })
        })
        .collect();
    let mut out = json!({
        "id": completion_id(&response.id),
        "object": "text_completion",
        "created": response.created,
        "model": model,
        "choices": choices,
    });
    if let Some(usage) = &response.usage {
        out["usage"] = json!({
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens,
        });
    }
    out
}

fn completion_id(chat_id: &str) -> String {
    format!(
        "cmpl-{}",
        chat_id.strip_prefix("chatcmpl-").unwrap_or(chat_id)
    )
}

/// Streams `text_completion` chunks (`data:` only, ending with `data: [DONE]`).
pub struct CompletionsEncoder {
    model: String,
    ended: bool,
}

impl CompletionsEncoder {
    pub fn new(model: &str) -> Self {
        CompletionsEncoder {
            model: model.to_owned(),
            ended: false,
        }
    }

    fn event(value: &Value) -> String {
        format!("data: {value}\n\n")
    }
}

impl StreamEncoder for CompletionsEncoder {
    fn chunk(&mut self, chunk: &ChatCompletionChunk) -> Vec<String> {
        if self.ended {
            return Vec::new();
        }
        let mut out = Vec::new();
        for choice in &chunk.choices {
            let text = choice.delta.content.clone().unwrap_or_default();
            if text.is_empty() && choice.finish_reason.is_none() {
                continue;
            }
            out.push(Self::event(&json!({
                "id": completion_id(&chunk.id), "object": "text_completion", "created": chunk.created,
                "model": self.model,
                "choices": [{"text": text, "index": choice.index, "logprobs": null, "finish_reason": choice.finish_reason}],
            })));
        }
        if let Some(usage) = &chunk.usage {
            out.push(Self::event(&json!({
                "id": completion_id(&chunk.id), "object": "text_completion", "created": chunk.created,
                "model": self.model, "choices": [],
                "usage": {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens, "total_tokens": usage.total_tokens},
            })));
        }
        out
    }

    fn finish(&mut self) -> Vec<String> {
        if std::mem::replace(&mut self.ended, true) {
            return Vec::new();
        }
        vec!["data: [DONE]\n\n".to_owned()]
    }

    fn error(&mut self, status: u16, message: &str) -> Vec<String> {
        if std::mem::replace(&mut self.ended, true) {
            return Vec::new();
        }
        let body = crate::openai::ErrorBody::new(message, openai_error_type(status));
        vec![format!("data: {}\n\n", body.to_json())]
    }
}

fn openai_error_type(status: u16) -> &'static str {
    match status {
        400..=499 => "invalid_request_error",
        _ => "server_error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prompt_is_one_user_message_and_options_travel() {
        let body = json!({"model": "m", "prompt": ["Say hi"], "max_tokens": 5, "stop": "\n", "user": "u", "stream": true, "stream_options": {"include_usage": true}, "echo": false});
        let (request, model) = to_chat(body.to_string().as_bytes()).unwrap();
        assert_eq!(model, "m");
        let value = serde_json::to_value(&request).unwrap();
        assert_eq!(
            value,
            json!({"model": "m", "messages": [{"role": "user", "content": "Say hi"}], "max_tokens": 5,
                   "stop": "\n", "user": "u", "stream": true, "stream_options": {"include_usage": true}})
        );
    }

    #[test]
    fn raw_text_options_and_token_prompts_are_refused_without_quoting_values() {
        let canary = "587-24-6913";
        for (body, param) in [
            (json!({"model": "m", "prompt": "x", "echo": true}), "echo"),
            (
                json!({"model": "m", "prompt": "x", "suffix": canary}),
                "suffix",
            ),
            (json!({"model": "m", "prompt": [1, 2, 3]}), "prompt"),
            (json!({"model": "m", "prompt": [canary, "b"]}), "prompt"),
            (
                json!({"model": "m", "prompt": "x", "max_tokens": canary}),
                "max_tokens",
            ),
        ] {
            let e = to_chat(body.to_string().as_bytes()).unwrap_err();
            assert_eq!(e.param.as_deref(), Some(param));
            assert!(!e.message.contains(canary));
        }
    }

    #[test]
    fn answers_and_streams_in_text_completion_shape() {
        let response: ChatCompletionResponse = serde_json::from_value(json!({
            "id": "chatcmpl-7", "created": 3, "model": "upstream",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}
        }))
        .unwrap();
        let out = answer(&response, "asked");
        assert_eq!(out["object"], "text_completion");
        assert_eq!(out["model"], "asked");
        assert_eq!(out["choices"][0]["text"], "Hi");
        assert_eq!(out["id"], "cmpl-7");
        let mut encoder = CompletionsEncoder::new("asked");
        let chunk: ChatCompletionChunk = serde_json::from_value(
            json!({"id": "chatcmpl-7", "choices": [{"index": 0, "delta": {"content": "Hi"}}]}),
        )
        .unwrap();
        let events = encoder.chunk(&chunk);
        assert!(events[0].contains("\"text\":\"Hi\"") && events[0].contains("\"model\":\"asked\""));
        assert_eq!(encoder.finish(), vec!["data: [DONE]\n\n".to_owned()]);
    }
}
