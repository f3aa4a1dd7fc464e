//! Complete chat answer → complete Response object (the non-streaming `POST /v1/responses`).
//!
//! Chat puts text and tool calls in one message; Responses lists them as separate output items
//! (one `message` item, then one `function_call` item per call), so the message is split here.

use serde_json::Value;

use super::{
    function_call_item, message_item, new_id, now, output_text_part, refusal_part, response_object,
    usage_object, Echo, Outcome,
};
use crate::openai::{ChatCompletionResponse, ChatMessage};

/// The Response object for a complete chat answer. Only the first choice is used: a Responses
/// request cannot ask for more than one.
pub fn answer(response: &ChatCompletionResponse, echo: &Echo) -> Value {
    let choice = response.choices.first();
    let outcome = Outcome::from_finish_reason(choice.and_then(|c| c.finish_reason.as_deref()));
    let output = choice
        .map(|choice| output_items(&choice.message, outcome.item_status()))
        .unwrap_or_default();
    // The upstream's timestamp is when the answer was made; some upstreams leave it out.
    let created_at = if response.created > 0 {
        response.created
    } else {
        now()
    };
    response_object(
        echo,
        &new_id("resp_"),
        created_at,
        &outcome,
        output,
        response.usage.as_ref().map(usage_object),
    )
}

fn output_items(message: &ChatMessage, status: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let content = message_content(message);
    if !content.is_empty() {
        items.push(message_item(&new_id("msg_"), status, content));
    }
    for call in message.tool_calls.iter().flatten() {
        items.push(function_call_item(
            &new_id("fc_"),
            &call.id,
            &call.function.name,
            &call.function.arguments,
            // A call is only handed to the client once its arguments are whole.
            "completed",
        ));
    }
    items
}

/// The text (joined into one part, as chat has no part boundaries that mean anything) and the
/// refusal, if the upstream gave one.
fn message_content(message: &ChatMessage) -> Vec<Value> {
    let mut content = Vec::new();
    let text = message
        .content
        .as_ref()
        .map(|content| content.text_parts().concat())
        .unwrap_or_default();
    if !text.is_empty() {
        content.push(output_text_part(&text));
    }
    if let Some(refusal) = message.extra.get("refusal").and_then(Value::as_str) {
        content.push(refusal_part(refusal));
    }
    content
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::dialect::responses::to_chat;

    fn echo() -> Echo {
        let body = json!({
            "model": "client-model",
            "instructions": "be brief",
            "input": "hi",
            "tools": [{ "type": "function", "name": "weather", "parameters": { "type": "object" } }],
            "temperature": 0.2,
            "metadata": { "k": "v" },
        });
        to_chat(body.to_string().as_bytes()).unwrap().1
    }

    fn chat_answer(finish_reason: &str) -> ChatCompletionResponse {
        serde_json::from_value(json!({
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": "upstream-model-2025",
            "choices": [{
                "index": 0,
                "finish_reason": finish_reason,
                "message": {
                    "role": "assistant",
                    "content": "Let me check.",
                    "tool_calls": [{ "id": "call_9", "type": "function",
                        "function": { "name": "weather", "arguments": "{\"city\":\"Oslo\"}" } }],
                },
            }],
            "usage": { "prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19,
                       "prompt_tokens_details": { "cached_tokens": 3 } },
        }))
        .unwrap()
    }

    #[test]
    fn complete_answer_has_message_calls_usage_and_echo() {
        let object = answer(&chat_answer("tool_calls"), &echo());
        assert!(object["id"].as_str().unwrap().starts_with("resp_"));
        assert_eq!(object["object"], "response");
        assert_eq!(object["created_at"], 1_700_000_000);
        assert_eq!(object["status"], "completed");
        assert_eq!(object["model"], "client-model");
        assert_eq!(object["instructions"], "be brief");
        assert_eq!(object["temperature"], 0.2);
        assert_eq!(object["metadata"], json!({ "k": "v" }));
        assert_eq!(object["tools"][0]["name"], "weather");
        assert_eq!(object["tool_choice"], "auto");
        assert_eq!(object["incomplete_details"], Value::Null);

        let output = object["output"].as_array().unwrap();
        assert_eq!(output.len(), 2);
        assert_eq!(output[0]["type"], "message");
        assert!(output[0]["id"].as_str().unwrap().starts_with("msg_"));
        assert_eq!(output[0]["role"], "assistant");
        assert_eq!(output[0]["content"][0]["type"], "output_text");
        assert_eq!(output[0]["content"][0]["text"], "Let me check.");
        assert_eq!(output[0]["content"][0]["annotations"], json!([]));
        assert_eq!(output[1]["type"], "function_call");
        assert!(output[1]["id"].as_str().unwrap().starts_with("fc_"));
        assert_eq!(output[1]["call_id"], "call_9");
        assert_eq!(output[1]["arguments"], "{\"city\":\"Oslo\"}");
        assert_eq!(output[1]["status"], "completed");

        assert_eq!(object["usage"]["input_tokens"], 12);
        assert_eq!(object["usage"]["output_tokens"], 7);
        assert_eq!(object["usage"]["total_tokens"], 19);
        assert_eq!(object["usage"]["input_tokens_details"]["cached_tokens"], 3);
        assert_eq!(
            object["usage"]["output_tokens_details"]["reasoning_tokens"],
            0
        );
    }

    #[test]
    fn length_finish_is_incomplete() {
        let object = answer(&chat_answer("length"), &echo());
        assert_eq!(object["status"], "incomplete");
        assert_eq!(
            object["incomplete_details"],
            json!({ "reason": "max_output_tokens" })
        );
        assert_eq!(object["output"][0]["status"], "incomplete");
    }

    #[test]
    fn sdk_sample_answer() {
        // `cargo test sdk_sample -- --nocapture` feeds this to the SDK check script.
        println!("ANSWER {}", answer(&chat_answer("tool_calls"), &echo()));
        println!("ANSWER {}", answer(&chat_answer("length"), &echo()));
        let body = json!({
            "model": "m", "input": "hi", "max_output_tokens": 50, "parallel_tool_calls": false,
            "tools": [{ "type": "function", "name": "weather", "strict": true,
                        "parameters": { "type": "object", "properties": {} } }],
            "tool_choice": { "type": "function", "name": "weather" },
            "text": { "format": { "type": "json_schema", "name": "out", "strict": true,
                                  "schema": { "type": "object", "properties": {} } } },
        });
        let structured = to_chat(body.to_string().as_bytes()).unwrap().1;
        println!("ANSWER {}", answer(&chat_answer("stop"), &structured));
    }
}
