//! A Messages request as the internal chat request.
//!
//! Anthropic keeps tool results inside the user turn that answers a tool use; chat completions
//! wants them as `tool` messages right after the assistant's calls, so a user turn is split: its
//! tool results first (Anthropic requires them first too), then the rest of its content. Images
//! and documents become media parts, which keeps the request on premise (text detectors cannot
//! read them). Fields with no chat equivalent that would change the answer are refused rather
//! than dropped: a silently ignored `thinking` budget or server tool is an agent failing without
//! knowing why.

use serde_json::{Map, Value};

use crate::dialect::{invalid, json_kind, json_object, FrontError};
use crate::openai::{
    ChatCompletionRequest, ChatMessage, ContentPart, Extra, FunctionCall, FunctionDefinition,
    ImageUrl, MessageContent, Role, StopSequences, StreamOptions, Tool, ToolCall,
};

/// Top-level fields this front end reads.
const SUPPORTED: &str = "model, messages, max_tokens, system, stop_sequences, stream, temperature, top_p, top_k, tools, tool_choice, metadata, thinking (disabled), service_tier";

/// Parses a Messages request body into the chat request sluice scans and forwards, and the model
/// name the client asked for (the answer repeats it).
pub fn to_chat(body: &[u8]) -> Result<(ChatCompletionRequest, String), FrontError> {
    let mut top = json_object(body)?;
    let model = take_string(&mut top, "model")?.ok_or_else(|| missing("model"))?;
    let max_tokens = match top.remove("max_tokens") {
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n > 0)
            .ok_or_else(|| invalid("max_tokens", "a positive integer"))?,
        None => return Err(missing("max_tokens")),
    };
    let mut messages = Vec::new();
    if let Some(system) = top.remove("system") {
        messages.push(system_message(system)?);
    }
    let Some(Value::Array(turns)) = top.remove("messages") else {
        return Err(invalid("messages", "an array of messages"));
    };
    for (i, turn) in turns.into_iter().enumerate() {
        turn_messages(turn, i, &mut messages)?;
    }
    let tools = match top.remove("tools") {
        Some(Value::Array(tools)) => Some(
            tools
                .into_iter()
                .enumerate()
                .map(|(i, t)| tool(t, i))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(Value::Null) | None => None,
        Some(_) => return Err(invalid("tools", "an array")),
    };
    let mut extra = Extra::new();
    let tool_choice = match top.remove("tool_choice") {
        Some(choice) => tool_choice(choice, &mut extra)?,
        None => None,
    };
    let stop = match top.remove("stop_sequences") {
        Some(Value::Array(stops)) => Some(StopSequences::Many(
            stops
                .into_iter()
                .enumerate()
                .map(|(i, s)| match s {
                    Value::String(s) => Ok(s),
                    _ => Err(invalid(&format!("stop_sequences[{i}]"), "a string")),
                })
                .collect::<Result<_, _>>()?,
        )),
        Some(Value::Null) | None => None,
        Some(_) => return Err(invalid("stop_sequences", "an array of strings")),
    };
    let stream = match top.remove("stream") {
        Some(Value::Bool(b)) => Some(b),
        Some(Value::Null) | None => None,
        Some(_) => return Err(invalid("stream", "a boolean")),
    };
    let temperature = take_number(&mut top, "temperature")?;
    let top_p = take_number(&mut top, "top_p")?;
    if let Some(metadata) = top.remove("metadata") {
        if let Some(user) = metadata.get("user_id").filter(|u| !u.is_null()) {
            extra.insert("user".into(), user.clone());
        }
    }
    match top.remove("thinking") {
        None | Some(Value::Null) => {}
        Some(t) if t.get("type").and_then(Value::as_str) == Some("disabled") => {}
        Some(_) => {
            return Err(FrontError::bad_request(
                "extended thinking is not supported by sluice's backends; leave `thinking` out or set it to {\"type\": \"disabled\"}",
                Some("thinking".into()),
            ))
        }
    }
    // Sampling knobs chat completions has no field for; they only shape the answer.
    top.remove("top_k");
    top.remove("service_tier");
    if let Some(field) = top.keys().next() {
        let shown = if is_identifier(field) {
            format!("`{field}`")
        } else {
            "a field".to_owned()
        };
        return Err(FrontError::bad_request(
            format!("{shown} is not supported by sluice's Messages API; supported: {SUPPORTED}"),
            None,
        ));
    }
    let request = ChatCompletionRequest {
        model: model.clone(),
        messages,
        tools,
        tool_choice,
        response_format: None,
        max_tokens: Some(max_tokens),
        max_completion_tokens: None,
        temperature,
        top_p,
        stop,
        seed: None,
        n: None,
        stream,
        // The closing message_delta carries usage, so the chat stream must report it.
        stream_options: (stream == Some(true)).then(|| StreamOptions {
            include_usage: Some(true),
            extra: Extra::new(),
        }),
        extra,
    };
    Ok((request, model))
}

fn system_message(system: Value) -> Result<ChatMessage, FrontError> {
    let content = match system {
        Value::String(text) => MessageContent::Text(text),
        Value::Array(blocks) => MessageContent::Parts(
            blocks
                .into_iter()
                .enumerate()
                .map(|(i, block)| {
                    let path = format!("system[{i}]");
                    match block_type(&block, &path)? {
                        "text" => Ok(text_part(text_of(block, &path)?)),
                        _ => Err(invalid(&format!("{path}.type"), "\"text\"")),
                    }
                })
                .collect::<Result<_, _>>()?,
        ),
        other => {
            return Err(FrontError::bad_request(
                format!(
                    "`system` must be a string or an array of text blocks, not {}",
                    json_kind(&other)
                ),
                Some("system".into()),
            ))
        }
    };
    Ok(ChatMessage {
        content: Some(content),
        ..ChatMessage::text(Role::System, "")
    })
}

/// One Messages turn as one or more chat messages (appended to `out`).
fn turn_messages(turn: Value, i: usize, out: &mut Vec<ChatMessage>) -> Result<(), FrontError> {
    let path = format!("messages[{i}]");
    let Value::Object(mut turn) = turn else {
        return Err(invalid(&path, "an object"));
    };
    let role = match turn.get("role").and_then(Value::as_str) {
        Some("user") => Role::User,
        Some("assistant") => Role::Assistant,
        _ => {
            return Err(invalid(
                &format!("{path}.role"),
                "\"user\" or \"assistant\"",
            ))
        }
    };
    let blocks = match turn.remove("content") {
        Some(Value::String(text)) => {
            out.push(ChatMessage::text(role, text));
            return Ok(());
        }
        Some(Value::Array(blocks)) => blocks,
        _ => {
            return Err(invalid(
                &format!("{path}.content"),
                "a string or an array of content blocks",
            ))
        }
    };
    let mut parts = Vec::new();
    let mut calls = Vec::new();
    for (j, block) in blocks.into_iter().enumerate() {
        let path = format!("{path}.content[{j}]");
        match (block_type(&block, &path)?, role) {
            ("text", _) => parts.push(text_part(text_of(block, &path)?)),
            ("image" | "document", Role::User) => parts.push(media_part(block, &path)?),
            ("tool_use", Role::Assistant) => calls.push(tool_call(block, &path)?),
            ("tool_result", Role::User) => out.push(tool_result(block, &path)?),
            // Earlier reasoning the client echoes back: no chat model reads it.
            ("thinking" | "redacted_thinking", Role::Assistant) => {}
            _ => {
                return Err(FrontError::bad_request(
                    format!(
                        "this content block type is not supported in a {} turn; supported: text, image, document, tool_use (assistant), tool_result (user)",
                        role.as_str()
                    ),
                    Some(format!("{path}.type")),
                ))
            }
        }
    }
    if parts.is_empty() && calls.is_empty() {
        return Ok(());
    }
    let content = match parts.as_slice() {
        [] => None,
        // One text block is sent as a plain string, as most chat clients write it.
        [only] if only.kind == "text" && only.extra.is_empty() => {
            only.text.clone().map(MessageContent::Text)
        }
        _ => Some(MessageContent::Parts(parts)),
    };
    out.push(ChatMessage {
        role,
        content,
        name: None,
        tool_calls: (!calls.is_empty()).then_some(calls),
        tool_call_id: None,
        extra: Extra::new(),
    });
    Ok(())
}

fn block_type<'a>(block: &'a Value, path: &str) -> Result<&'a str, FrontError> {
    block
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(&format!("{path}.type"), "a content block type"))
}

fn text_of(mut block: Value, path: &str) -> Result<String, FrontError> {
    match block.get_mut("text").map(Value::take) {
        Some(Value::String(text)) => Ok(text),
        _ => Err(invalid(&format!("{path}.text"), "a string")),
    }
}

fn text_part(text: String) -> ContentPart {
    ContentPart {
        kind: "text".into(),
        text: Some(text),
        image_url: None,
        extra: Extra::new(),
    }
}

/// An image or document block as a chat media part (`image_url` or `file`).
fn media_part(block: Value, path: &str) -> Result<ContentPart, FrontError> {
    let is_image = block.get("type").and_then(Value::as_str) == Some("image");
    let source = block
        .get("source")
        .ok_or_else(|| missing(&format!("{path}.source")))?;
    let url = match source.get("type").and_then(Value::as_str) {
        Some("base64") => {
            let media = source.get("media_type").and_then(Value::as_str);
            let data = source.get("data").and_then(Value::as_str);
            match (media, data) {
                (Some(media), Some(data)) => format!("data:{media};base64,{data}"),
                _ => return Err(invalid(&format!("{path}.source"), "media_type and data")),
            }
        }
        Some("url") => source
            .get("url")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(&format!("{path}.source.url"), "a string"))?
            .to_owned(),
        // Plain-text documents and file ids are still media to the detectors: kept whole in a
        // `file` part, which keeps the request on premise.
        _ => {
            let mut extra = Extra::new();
            extra.insert("file".into(), source.clone());
            return Ok(ContentPart {
                kind: "file".into(),
                text: None,
                image_url: None,
                extra,
            });
        }
    };
    if is_image {
        Ok(ContentPart {
            kind: "image_url".into(),
            text: None,
            image_url: Some(ImageUrl {
                url,
                detail: None,
                extra: Extra::new(),
            }),
            extra: Extra::new(),
        })
    } else {
        let mut file = Map::new();
        file.insert("file_data".into(), Value::String(url));
        let mut extra = Extra::new();
        extra.insert("file".into(), Value::Object(file));
        Ok(ContentPart {
            kind: "file".into(),
            text: None,
            image_url: None,
            extra,
        })
    }
}

fn tool_call(block: Value, path: &str) -> Result<ToolCall, FrontError> {
    let id = block
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(&format!("{path}.id"), "a string"))?;
    let name = block
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(&format!("{path}.name"), "a string"))?;
    let input = block
        .get("input")
        .cloned()
        .unwrap_or(Value::Object(Map::new()));
    Ok(ToolCall {
        id: id.to_owned(),
        kind: "function".into(),
        function: FunctionCall {
            name: name.to_owned(),
            arguments: input.to_string(),
            extra: Extra::new(),
        },
        extra: Extra::new(),
    })
}

/// A tool result as a `tool` message. An error result says so in its text, since chat
/// completions has no flag for it.
fn tool_result(block: Value, path: &str) -> Result<ChatMessage, FrontError> {
    let id = block
        .get("tool_use_id")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(&format!("{path}.tool_use_id"), "a string"))?
        .to_owned();
    let is_error = block.get("is_error").and_then(Value::as_bool) == Some(true);
    let mut parts = Vec::new();
    if is_error {
        parts.push(text_part("The tool reported an error:".into()));
    }
    match block.get("content") {
        None | Some(Value::Null) => {}
        Some(Value::String(text)) => parts.push(text_part(text.clone())),
        Some(Value::Array(blocks)) => {
            for (k, inner) in blocks.iter().enumerate() {
                let path = format!("{path}.content[{k}]");
                match block_type(inner, &path)? {
                    "text" => parts.push(text_part(text_of(inner.clone(), &path)?)),
                    "image" | "document" => parts.push(media_part(inner.clone(), &path)?),
                    _ => return Err(invalid(&format!("{path}.type"), "text, image or document")),
                }
            }
        }
        Some(_) => return Err(invalid(&format!("{path}.content"), "a string or an array")),
    }
    let content = if parts.iter().all(|p| p.kind == "text") {
        MessageContent::Text(
            parts
                .iter()
                .filter_map(|p| p.text.as_deref())
                .collect::<Vec<_>>()
                .join("\n"),
        )
    } else {
        MessageContent::Parts(parts)
    };
    Ok(ChatMessage {
        role: Role::Tool,
        content: Some(content),
        name: None,
        tool_calls: None,
        tool_call_id: Some(id),
        extra: Extra::new(),
    })
}

fn tool(tool: Value, i: usize) -> Result<Tool, FrontError> {
    let path = format!("tools[{i}]");
    // Client tools have no `type` (or `custom`); typed ones are Anthropic's server tools.
    match tool.get("type").and_then(Value::as_str) {
        None | Some("custom") => {}
        Some(_) => {
            return Err(FrontError::bad_request(
                "Anthropic's server tools (web search, code execution, computer use, ...) run at Anthropic and are not supported through sluice; declare client tools with name and input_schema",
                Some(format!("{path}.type")),
            ))
        }
    }
    let name = tool
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(&format!("{path}.name"), "a string"))?;
    let schema = tool
        .get("input_schema")
        .filter(|s| s.is_object())
        .ok_or_else(|| invalid(&format!("{path}.input_schema"), "a JSON Schema object"))?;
    Ok(Tool {
        kind: "function".into(),
        function: Some(FunctionDefinition {
            name: name.to_owned(),
            description: tool
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned),
            parameters: Some(schema.clone()),
            strict: None,
            extra: Extra::new(),
        }),
        extra: Extra::new(),
    })
}

/// `{type: auto|any|tool|none}` as chat's `tool_choice`; `disable_parallel_tool_use` as
/// `parallel_tool_calls: false`.
fn tool_choice(choice: Value, extra: &mut Extra) -> Result<Option<Value>, FrontError> {
    if choice
        .get("disable_parallel_tool_use")
        .and_then(Value::as_bool)
        == Some(true)
    {
        extra.insert("parallel_tool_calls".into(), Value::Bool(false));
    }
    let mapped = match choice.get("type").and_then(Value::as_str) {
        Some("auto") => Value::String("auto".into()),
        Some("any") => Value::String("required".into()),
        Some("none") => Value::String("none".into()),
        Some("tool") => {
            let name = choice
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("tool_choice.name", "a string"))?;
            serde_json::json!({"type": "function", "function": {"name": name}})
        }
        _ => return Err(invalid("tool_choice.type", "auto, any, tool or none")),
    };
    Ok(Some(mapped))
}

fn take_string(top: &mut Map<String, Value>, field: &str) -> Result<Option<String>, FrontError> {
    match top.remove(field) {
        Some(Value::String(s)) => Ok(Some(s)),
        None | Some(Value::Null) => Ok(None),
        Some(_) => Err(invalid(field, "a string")),
    }
}

fn take_number(top: &mut Map<String, Value>, field: &str) -> Result<Option<f64>, FrontError> {
    match top.remove(field) {
        Some(Value::Number(n)) => Ok(n.as_f64()),
        None | Some(Value::Null) => Ok(None),
        Some(_) => Err(invalid(field, "a number")),
    }
}

fn missing(field: &str) -> FrontError {
    FrontError::bad_request(format!("`{field}` is required"), Some(field.to_owned()))
}

/// Whether an unknown field name may be repeated in an error: an identifier such as
/// `cache_control` is vocabulary; anything else could be client text.
fn is_identifier(name: &str) -> bool {
    name.len() <= 40 && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chat(body: Value) -> ChatCompletionRequest {
        to_chat(body.to_string().as_bytes()).unwrap().0
    }

    fn error(body: Value) -> FrontError {
        to_chat(body.to_string().as_bytes()).unwrap_err()
    }

    #[test]
    fn system_turns_and_stop_sequences_map_to_chat() {
        let request = chat(json!({
            "model": "claude-x", "max_tokens": 64, "system": "Be brief.",
            "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": [{"type": "text", "text": "Hello"}]}],
            "stop_sequences": ["END"], "temperature": 0.2, "metadata": {"user_id": "u1"}, "top_k": 5
        }));
        let value = serde_json::to_value(&request).unwrap();
        assert_eq!(
            value,
            json!({
                "model": "claude-x", "max_tokens": 64, "stop": ["END"], "temperature": 0.2, "user": "u1",
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": "Hello"}
                ]
            })
        );
    }

    #[test]
    fn tool_use_and_results_become_calls_and_tool_messages_in_order() {
        let request = chat(json!({
            "model": "m", "max_tokens": 10, "stream": true,
            "tools": [{"name": "lookup", "description": "d", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}],
            "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
            "messages": [
                {"role": "user", "content": "find it"},
                {"role": "assistant", "content": [{"type": "text", "text": "calling"}, {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "x"}}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "found"}]},
                    {"type": "text", "text": "thanks"}
                ]}
            ]
        }));
        let value = serde_json::to_value(&request).unwrap();
        assert_eq!(value["tool_choice"], json!("required"));
        assert_eq!(value["parallel_tool_calls"], json!(false));
        assert_eq!(value["stream_options"], json!({"include_usage": true}));
        assert_eq!(value["tools"][0]["function"]["name"], json!("lookup"));
        let messages = value["messages"].as_array().unwrap();
        assert_eq!(
            messages[1]["tool_calls"][0]["function"]["arguments"],
            json!("{\"q\":\"x\"}")
        );
        assert_eq!(
            messages[2],
            json!({"role": "tool", "content": "found", "tool_call_id": "toolu_1"})
        );
        assert_eq!(messages[3], json!({"role": "user", "content": "thanks"}));
    }

    #[test]
    fn images_and_documents_become_media_parts() {
        let request = chat(json!({
            "model": "m", "max_tokens": 10,
            "messages": [{"role": "user", "content": [
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
                {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}},
                {"type": "text", "text": "what is this?"}
            ]}]
        }));
        let value = serde_json::to_value(&request).unwrap();
        let parts = &value["messages"][0]["content"];
        assert_eq!(
            parts[0]["image_url"]["url"],
            json!("data:image/png;base64,AAAA")
        );
        assert_eq!(parts[1]["type"], json!("file"));
        let extracted = crate::openai::extract::extract(&value);
        assert_eq!(
            extracted.unscannable.len(),
            2,
            "{:?}",
            extracted.unscannable
        );
    }

    #[test]
    fn tool_choice_variants() {
        for (choice, expected) in [
            (json!({"type": "auto"}), json!("auto")),
            (json!({"type": "none"}), json!("none")),
            (
                json!({"type": "tool", "name": "f"}),
                json!({"type": "function", "function": {"name": "f"}}),
            ),
        ] {
            let request =
                chat(json!({"model": "m", "max_tokens": 1, "messages": [], "tool_choice": choice}));
            assert_eq!(request.tool_choice, Some(expected));
        }
    }

    #[test]
    fn unsupported_features_are_refused_by_name() {
        let thinking = error(
            json!({"model": "m", "max_tokens": 1, "messages": [], "thinking": {"type": "enabled", "budget_tokens": 1024}}),
        );
        assert_eq!(thinking.param.as_deref(), Some("thinking"));
        let server_tool = error(
            json!({"model": "m", "max_tokens": 1, "messages": [], "tools": [{"type": "web_search_20250305", "name": "web_search"}]}),
        );
        assert_eq!(server_tool.param.as_deref(), Some("tools[0].type"));
        let unknown =
            error(json!({"model": "m", "max_tokens": 1, "messages": [], "mcp_servers": []}));
        assert!(
            unknown.message.contains("`mcp_servers`"),
            "{}",
            unknown.message
        );
        assert_eq!(
            error(json!({"model": "m", "messages": []}))
                .param
                .as_deref(),
            Some("max_tokens")
        );
    }

    #[test]
    fn errors_never_quote_request_values() {
        let canary = "587-24-6913";
        for body in [
            json!({"model": "m", "max_tokens": 1, "messages": [{"role": canary, "content": "x"}]}),
            json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [{"type": canary, "text": canary}]}]}),
            json!({"model": "m", "max_tokens": 1, "messages": [], canary: 1}),
            json!({"model": "m", "max_tokens": 1, "messages": [], "tool_choice": {"type": canary}}),
            json!({"model": "m", "max_tokens": canary, "messages": []}),
            json!({"model": "m", "max_tokens": 1, "system": 5, "messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": [{"type": canary}]}]}]}),
        ] {
            let e = error(body);
            assert!(!e.message.contains(canary), "{}", e.message);
            assert!(!e.param.unwrap_or_default().contains(canary));
        }
    }
}
