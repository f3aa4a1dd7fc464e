//! `POST /v1/embeddings` as a front end: RAG pipelines send the documents themselves here.
//!
//! The batch is judged as one request (one sensitive input keeps the whole batch on premise):
//! each input becomes a user message of the internal chat request, whose other fields are the
//! embeddings request's own, so scanning, seams, redaction and the audit record work as for
//! chat. What is forwarded is rebuilt from that (possibly redacted) chat request.

use serde_json::Value;

use super::{invalid, json_object, FrontError};
use crate::openai::embeddings::EmbeddingsRequest;
use crate::openai::{ChatCompletionRequest, ChatMessage, MessageContent, Role};

/// Parses an embeddings body into the chat request that is judged.
pub fn to_chat(body: &[u8]) -> Result<ChatCompletionRequest, FrontError> {
    let mut top = json_object(body)?;
    let model = match top.remove("model") {
        Some(Value::String(model)) => model,
        _ => return Err(invalid("model", "a string")),
    };
    let texts = match top.remove("input") {
        Some(Value::String(text)) => vec![text],
        Some(Value::Array(items)) if !items.is_empty() => items
            .into_iter()
            .map(|item| match item {
                Value::String(text) => Ok(text),
                _ => Err(invalid(
                    "input",
                    "a string or an array of strings (token-id inputs cannot be scanned)",
                )),
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => return Err(invalid("input", "a string or a non-empty array of strings")),
    };
    if texts.iter().any(String::is_empty) {
        return Err(invalid("input", "made of non-empty strings"));
    }
    Ok(ChatCompletionRequest {
        model,
        messages: texts
            .into_iter()
            .map(|text| ChatMessage::text(Role::User, text))
            .collect(),
        tools: None,
        tool_choice: None,
        response_format: None,
        max_tokens: None,
        max_completion_tokens: None,
        temperature: None,
        top_p: None,
        stop: None,
        seed: None,
        n: None,
        stream: None,
        stream_options: None,
        extra: top,
    })
}

/// The embeddings request a (possibly redacted) judged chat request stands for.
pub fn from_chat(chat: &ChatCompletionRequest) -> EmbeddingsRequest {
    EmbeddingsRequest {
        model: chat.model.clone(),
        input: chat
            .messages
            .iter()
            .map(|m| match &m.content {
                Some(MessageContent::Text(text)) => text.clone(),
                Some(parts) => parts.text_parts().concat(),
                None => String::new(),
            })
            .collect(),
        extra: chat.extra.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inputs_become_messages_and_come_back_with_the_other_fields() {
        let body = json!({"model": "text-embedding-3-small", "input": ["a", "b"], "encoding_format": "base64", "user": "u"});
        let chat = to_chat(body.to_string().as_bytes()).unwrap();
        assert_eq!(chat.messages.len(), 2);
        let back = from_chat(&chat);
        assert_eq!(back.to_json(), body);
        let one = to_chat(br#"{"model":"m","input":"x"}"#).unwrap();
        assert_eq!(from_chat(&one).input, ["x"]);
    }

    #[test]
    fn token_inputs_and_empty_inputs_are_refused_without_values() {
        for body in [
            json!({"model": "m", "input": [[1, 2, 3]]}),
            json!({"model": "m", "input": [1, 2]}),
            json!({"model": "m", "input": []}),
            json!({"model": "m", "input": ["587-24-6913", ""]}),
        ] {
            let e = to_chat(body.to_string().as_bytes()).unwrap_err();
            assert_eq!(e.param.as_deref(), Some("input"));
            assert!(!e.message.contains("587-24-6913"));
        }
    }
}
