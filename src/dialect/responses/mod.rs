//! The OpenAI Responses API (`POST /v1/responses`) as a front-end dialect.
//!
//! Sluice scans, decides and forwards chat-completions requests only, so this dialect is a pair of
//! translations: a Responses request becomes a `ChatCompletionRequest` (plus an [`Echo`] of the
//! request fields that a Response object repeats back), and the chat answer, complete or
//! streamed, becomes a Response object or the Responses event stream. Sluice keeps no state, so
//! everything that needs a stored conversation (`previous_response_id`, `conversation`, stored
//! prompts, item references) is refused rather than silently ignored.

mod answer;
mod request;
mod stream;

pub use answer::answer;
pub use request::to_chat;
pub use stream::{encoder, ResponsesEncoder};

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::openai::Usage;

/// What the answer needs from the request: a Response object echoes the request's settings, and
/// the chat answer no longer carries them (its `model` is the upstream's name, not the client's).
#[derive(Debug, Clone, PartialEq)]
pub struct Echo {
    /// The model name exactly as the client asked for it.
    pub model: String,
    pub instructions: Option<String>,
    /// Function tools in Responses shape (`{type, name, description, parameters, strict}`).
    pub tools: Vec<Value>,
    /// `"auto" | "none" | "required"` or `{"type":"function","name":...}`.
    pub tool_choice: Value,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub max_output_tokens: Option<u32>,
    pub parallel_tool_calls: bool,
    /// The `text` config, `{"format":{"type":"text"}}` when the client gave none.
    pub text: Value,
    /// Client metadata (string map), `{}` when none was given.
    pub metadata: Value,
    pub user: Option<String>,
}

/// How an answer ended, which decides the Response `status` and the status of its items.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    InProgress,
    Completed,
    /// `incomplete_details.reason`, from the Responses vocabulary.
    Incomplete(&'static str),
    Failed {
        code: &'static str,
        message: String,
    },
}

impl Outcome {
    /// Chat's `length` means the token limit cut the answer; `content_filter` is the upstream's
    /// own filter. Anything else (`stop`, `tool_calls`, absent) is a normal end.
    fn from_finish_reason(finish_reason: Option<&str>) -> Self {
        match finish_reason {
            Some("length") => Outcome::Incomplete("max_output_tokens"),
            Some("content_filter") => Outcome::Incomplete("content_filter"),
            _ => Outcome::Completed,
        }
    }

    fn status(&self) -> &'static str {
        match self {
            Outcome::InProgress => "in_progress",
            Outcome::Completed => "completed",
            Outcome::Incomplete(_) => "incomplete",
            Outcome::Failed { .. } => "failed",
        }
    }

    /// Output items can only be `in_progress`, `completed` or `incomplete`.
    fn item_status(&self) -> &'static str {
        match self {
            Outcome::InProgress => "in_progress",
            Outcome::Completed => "completed",
            Outcome::Incomplete(_) | Outcome::Failed { .. } => "incomplete",
        }
    }
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or(0)
}

/// The complete Response object. One builder for the plain answer and for every lifecycle event
/// of a stream, so both always carry the same fields (the SDKs require `tools`, `tool_choice`,
/// `parallel_tool_calls`, `output`, ... even on `response.created`).
fn response_object(
    echo: &Echo,
    id: &str,
    created_at: i64,
    outcome: &Outcome,
    output: Vec<Value>,
    usage: Option<Value>,
) -> Value {
    let mut object = Map::new();
    object.insert("id".into(), json!(id));
    object.insert("object".into(), json!("response"));
    object.insert("created_at".into(), json!(created_at));
    object.insert("status".into(), json!(outcome.status()));
    if matches!(outcome, Outcome::Completed | Outcome::Incomplete(_)) {
        object.insert("completed_at".into(), json!(now()));
    }
    object.insert("error".into(), error_field(outcome));
    object.insert("incomplete_details".into(), incomplete_field(outcome));
    object.insert("instructions".into(), json!(echo.instructions));
    object.insert("max_output_tokens".into(), json!(echo.max_output_tokens));
    object.insert("metadata".into(), echo.metadata.clone());
    object.insert("model".into(), json!(echo.model));
    object.insert("output".into(), Value::Array(output));
    object.insert(
        "parallel_tool_calls".into(),
        json!(echo.parallel_tool_calls),
    );
    object.insert("previous_response_id".into(), Value::Null);
    object.insert("temperature".into(), json!(echo.temperature));
    object.insert("text".into(), echo.text.clone());
    object.insert("tool_choice".into(), echo.tool_choice.clone());
    object.insert("tools".into(), Value::Array(echo.tools.clone()));
    object.insert("top_p".into(), json!(echo.top_p));
    // Sluice never truncates the conversation on the client's behalf.
    object.insert("truncation".into(), json!("disabled"));
    object.insert("usage".into(), usage.unwrap_or(Value::Null));
    object.insert("user".into(), json!(echo.user));
    Value::Object(object)
}

fn error_field(outcome: &Outcome) -> Value {
    match outcome {
        Outcome::Failed { code, message } => json!({ "code": code, "message": message }),
        _ => Value::Null,
    }
}

fn incomplete_field(outcome: &Outcome) -> Value {
    match outcome {
        Outcome::Incomplete(reason) => json!({ "reason": reason }),
        _ => Value::Null,
    }
}

/// Chat usage in Responses shape. The detail objects are required by the SDKs, so they are
/// always present, with zeros where the upstream gave no breakdown.
fn usage_object(usage: &Usage) -> Value {
    let cached = detail_count(usage, "prompt_tokens_details", "cached_tokens");
    let reasoning = detail_count(usage, "completion_tokens_details", "reasoning_tokens");
    json!({
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": { "cached_tokens": cached, "cache_write_tokens": 0 },
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": { "reasoning_tokens": reasoning },
        "total_tokens": usage.total_tokens,
    })
}

fn detail_count(usage: &Usage, details: &str, field: &str) -> u64 {
    usage
        .extra
        .get(details)
        .and_then(|details| details.get(field))
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

/// An `output_text` content part; `annotations` and `logprobs` are required lists.
fn output_text_part(text: &str) -> Value {
    json!({ "type": "output_text", "text": text, "annotations": [], "logprobs": [] })
}

fn refusal_part(refusal: &str) -> Value {
    json!({ "type": "refusal", "refusal": refusal })
}

fn message_item(id: &str, status: &str, content: Vec<Value>) -> Value {
    json!({
        "id": id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": content,
    })
}

fn function_call_item(id: &str, call_id: &str, name: &str, arguments: &str, status: &str) -> Value {
    json!({
        "id": id,
        "type": "function_call",
        "status": status,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_carries_cached_and_reasoning_details() {
        let mut usage = Usage::new(10, 5);
        usage.extra.insert(
            "prompt_tokens_details".into(),
            json!({ "cached_tokens": 4 }),
        );
        usage.extra.insert(
            "completion_tokens_details".into(),
            json!({ "reasoning_tokens": 2 }),
        );
        let object = usage_object(&usage);
        assert_eq!(object["input_tokens_details"]["cached_tokens"], 4);
        assert_eq!(object["output_tokens_details"]["reasoning_tokens"], 2);
        assert_eq!(object["total_tokens"], 15);
    }

    #[test]
    fn finish_reasons_map_to_outcomes() {
        assert_eq!(
            Outcome::from_finish_reason(Some("stop")),
            Outcome::Completed
        );
        assert_eq!(
            Outcome::from_finish_reason(Some("length")),
            Outcome::Incomplete("max_output_tokens")
        );
        assert_eq!(Outcome::from_finish_reason(None), Outcome::Completed);
    }
}
