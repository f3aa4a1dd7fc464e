//! Chat-completions request -> Anthropic Messages request.

use serde_json::{json, Map, Value};

use super::error::{is_identifier, TranslateError};
use crate::openai::{ChatCompletionRequest, ChatMessage, ContentPart, MessageContent, Role, Tool};

/// Anthropic requires `max_tokens`; OpenAI lets the model decide, so pick a generous default.
const DEFAULT_MAX_TOKENS: u32 = 4096;

/// Top-level fields of an OpenAI request that only steer OpenAI features (billing, storage,
/// logprobs, sampling penalties) and are dropped rather than refused, so ordinary clients work.
const DROPPED_OPENAI_FIELDS: &[&str] = &[
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "frequency_penalty",
    "presence_penalty",
    "store",
    "metadata",
    "service_tier",
    "prompt_cache_key",
    "safety_identifier",
];

/// Fields a message may carry that OpenAI clients echo back from earlier answers and that have
/// no bearing on the next answer.
const IGNORED_MESSAGE_FIELDS: &[&str] = &["refusal", "annotations", "audio", "reasoning_content"];

const IMAGE_MEDIA_TYPES: &[&str] = &["image/jpeg", "image/png", "image/gif", "image/webp"];

/// Builds the body of `POST /v1/messages` for `request`, addressed to `upstream_model`.
///
/// Refuses (400) what Anthropic cannot do faithfully instead of silently answering something
/// else: `n > 1`, structured `response_format`, unknown fields, unsupported content parts.
pub fn to_messages_request(
    request: &ChatCompletionRequest,
    upstream_model: &str,
) -> Result<Value, TranslateError> {
    check_unsupported(request)?;
    let mut body = Map::new();
    body.insert("model".into(), upstream_model.into());
    let (system, messages) = translate_messages(&request.messages)?;
    if let Some(system) = system {
        body.insert("system".into(), system);
    }
    body.insert("messages".into(), Value::Array(messages));
    let max_tokens = request.token_limit().unwrap_or(DEFAULT_MAX_TOKENS);
    body.insert("max_tokens".into(), max_tokens.into());
    insert_sampling(request, &mut body);
    insert_tools(request, &mut body)?;
    if let Some(user) = user_id(request)? {
        body.insert("metadata".into(), json!({ "user_id": user }));
    }
    if request.is_stream() {
        body.insert("stream".into(), true.into());
    }
    Ok(Value::Object(body))
}

// ---------------------------------------------------------------------------------------------
// Request-level checks

fn check_unsupported(request: &ChatCompletionRequest) -> Result<(), TranslateError> {
    if request.n.is_some_and(|n| n > 1) {
        return Err(TranslateError::bad_request(
            "n greater than 1 is not supported by this backend",
        ));
    }
    check_response_format(request.response_format.as_ref())?;
    for (name, value) in &request.extra {
        check_extra_field(name, value)?;
    }
    Ok(())
}

fn check_response_format(format: Option<&Value>) -> Result<(), TranslateError> {
    let Some(format) = format.filter(|f| !f.is_null()) else {
        return Ok(());
    };
    match format.get("type").and_then(Value::as_str) {
        Some("text") => Ok(()),
        // Anthropic's base API has no JSON mode; answering free text instead would break the
        // client's parser, so refuse both JSON flavours.
        Some("json_schema") => Err(TranslateError::bad_request(
            "response_format json_schema is not supported by this backend",
        )),
        Some("json_object") => Err(TranslateError::bad_request(
            "response_format json_object is not supported by this backend",
        )),
        _ => Err(TranslateError::bad_request(
            "response_format type is not supported by this backend",
        )),
    }
}

fn check_extra_field(name: &str, value: &Value) -> Result<(), TranslateError> {
    // Clients often send every field with `null` for "unset".
    if value.is_null() || DROPPED_OPENAI_FIELDS.contains(&name) {
        return Ok(());
    }
    match name {
        // Both are translated elsewhere.
        "user" | "parallel_tool_calls" => Ok(()),
        "modalities" if value == &json!(["text"]) => Ok(()),
        _ => Err(TranslateError::bad_request(format!(
            "{} is not supported by this backend",
            field_label(name)
        ))),
    }
}

/// Client-chosen key names are echoed only when they look like ordinary field names, so a
/// crafted key cannot smuggle request text into logs.
fn field_label(name: &str) -> String {
    if is_identifier(name) {
        format!("field {name}")
    } else {
        "a request field".to_owned()
    }
}

fn user_id(request: &ChatCompletionRequest) -> Result<Option<&str>, TranslateError> {
    match request.extra.get("user") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(user)) => Ok(Some(user)),
        Some(_) => Err(TranslateError::bad_request("user must be a string")),
    }
}

fn insert_sampling(request: &ChatCompletionRequest, body: &mut Map<String, Value>) {
    if let Some(temperature) = request.temperature {
        // OpenAI allows 0..2, Anthropic 0..1: clamping keeps "hot" requests at the hottest
        // setting Anthropic has instead of failing them.
        body.insert("temperature".into(), temperature.clamp(0.0, 1.0).into());
    }
    if let Some(top_p) = request.top_p {
        body.insert("top_p".into(), top_p.into());
    }
    let stops = request.stop_sequences();
    if !stops.is_empty() {
        body.insert("stop_sequences".into(), json!(stops));
    }
}

// ---------------------------------------------------------------------------------------------
// Messages

/// A conversation turn under construction: Anthropic wants strictly alternating roles, so
/// consecutive messages of one role are merged into one turn's content blocks.
struct Turn {
    role: &'static str,
    blocks: Vec<Value>,
}

fn translate_messages(
    messages: &[ChatMessage],
) -> Result<(Option<Value>, Vec<Value>), TranslateError> {
    let mut system_texts = Vec::new();
    let mut turns: Vec<Turn> = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        check_message_fields(index, message)?;
        match message.role {
            // Anthropic takes instructions only at the top; OpenAI allows them anywhere. Hoisting
            // keeps them in force, which is closer than dropping them.
            Role::System | Role::Developer => system_texts.extend(system_text(index, message)?),
            Role::User => push_turn(&mut turns, "user", user_blocks(index, message)?),
            Role::Assistant => {
                push_turn(&mut turns, "assistant", assistant_blocks(index, message)?)
            }
            Role::Tool => push_turn(&mut turns, "user", vec![tool_result_block(index, message)?]),
            Role::Function => {
                return Err(TranslateError::bad_request(format!(
                    "messages[{index}].role function is not supported by this backend"
                )));
            }
        }
    }
    if turns.is_empty() {
        return Err(TranslateError::bad_request(
            "messages must contain at least one non-empty user or assistant message",
        ));
    }
    let messages = turns
        .into_iter()
        .map(|turn| json!({ "role": turn.role, "content": turn.blocks }))
        .collect();
    Ok((system_value(system_texts), messages))
}

fn check_message_fields(index: usize, message: &ChatMessage) -> Result<(), TranslateError> {
    for (name, value) in &message.extra {
        if !value.is_null() && !IGNORED_MESSAGE_FIELDS.contains(&name.as_str()) {
            return Err(TranslateError::bad_request(format!(
                "messages[{index}]: {} is not supported by this backend",
                field_label(name)
            )));
        }
    }
    Ok(())
}

fn push_turn(turns: &mut Vec<Turn>, role: &'static str, blocks: Vec<Value>) {
    // Anthropic rejects empty content; an empty message adds nothing to the conversation.
    if blocks.is_empty() {
        return;
    }
    match turns.last_mut() {
        Some(last) if last.role == role => last.blocks.extend(blocks),
        _ => turns.push(Turn { role, blocks }),
    }
}

fn system_value(texts: Vec<String>) -> Option<Value> {
    match texts.len() {
        0 => None,
        1 => texts.into_iter().next().map(Value::String),
        _ => Some(Value::Array(texts.into_iter().map(text_block).collect())),
    }
}

fn system_text(index: usize, message: &ChatMessage) -> Result<Vec<String>, TranslateError> {
    let Some(content) = &message.content else {
        return Ok(Vec::new());
    };
    let texts = match content {
        MessageContent::Text(text) => vec![text.clone()],
        MessageContent::Parts(parts) => parts
            .iter()
            .enumerate()
            .map(|(part_index, part)| text_of_part(index, part_index, part))
            .collect::<Result<_, _>>()?,
    };
    Ok(texts.into_iter().filter(|text| !text.is_empty()).collect())
}

fn user_blocks(index: usize, message: &ChatMessage) -> Result<Vec<Value>, TranslateError> {
    let Some(content) = &message.content else {
        return Ok(Vec::new());
    };
    match content {
        MessageContent::Text(text) => Ok(non_empty_text_block(text).into_iter().collect()),
        MessageContent::Parts(parts) => {
            let mut blocks = Vec::new();
            for (part_index, part) in parts.iter().enumerate() {
                if part.kind == "image_url" {
                    blocks.push(image_block(index, part_index, part)?);
                } else {
                    blocks.extend(non_empty_text_block(&text_of_part(
                        index, part_index, part,
                    )?));
                }
            }
            Ok(blocks)
        }
    }
}

fn assistant_blocks(index: usize, message: &ChatMessage) -> Result<Vec<Value>, TranslateError> {
    let mut blocks = Vec::new();
    match &message.content {
        None => {}
        Some(MessageContent::Text(text)) => blocks.extend(non_empty_text_block(text)),
        Some(MessageContent::Parts(parts)) => {
            for (part_index, part) in parts.iter().enumerate() {
                blocks.extend(non_empty_text_block(&text_of_part(
                    index, part_index, part,
                )?));
            }
        }
    }
    for (call_index, call) in message.tool_calls.iter().flatten().enumerate() {
        blocks.push(tool_use_block(index, call_index, call)?);
    }
    Ok(blocks)
}

fn tool_use_block(
    index: usize,
    call_index: usize,
    call: &crate::openai::ToolCall,
) -> Result<Value, TranslateError> {
    let field = format!("messages[{index}].tool_calls[{call_index}]");
    if call.kind != "function" {
        return Err(TranslateError::bad_request(format!(
            "{field}.type is not supported by this backend"
        )));
    }
    // Anthropic stores the input as an object, not text; models sometimes send "" for "no
    // arguments", which OpenAI accepts as well.
    let input = if call.function.arguments.trim().is_empty() {
        json!({})
    } else {
        serde_json::from_str::<Value>(&call.function.arguments).map_err(|_| {
            TranslateError::bad_request(format!("{field}.function.arguments is not valid JSON"))
        })?
    };
    if !input.is_object() {
        return Err(TranslateError::bad_request(format!(
            "{field}.function.arguments must be a JSON object"
        )));
    }
    Ok(json!({
        "type": "tool_use",
        "id": call.id,
        "name": call.function.name,
        "input": input,
    }))
}

fn tool_result_block(index: usize, message: &ChatMessage) -> Result<Value, TranslateError> {
    let Some(tool_call_id) = &message.tool_call_id else {
        return Err(TranslateError::bad_request(format!(
            "messages[{index}].tool_call_id is required"
        )));
    };
    let mut block = json!({ "type": "tool_result", "tool_use_id": tool_call_id });
    let content = match &message.content {
        None => None,
        Some(MessageContent::Text(text)) => (!text.is_empty()).then(|| Value::String(text.clone())),
        Some(MessageContent::Parts(parts)) => {
            let mut blocks = Vec::new();
            for (part_index, part) in parts.iter().enumerate() {
                blocks.extend(non_empty_text_block(&text_of_part(
                    index, part_index, part,
                )?));
            }
            (!blocks.is_empty()).then_some(Value::Array(blocks))
        }
    };
    if let Some(content) = content {
        block["content"] = content;
    }
    Ok(block)
}

/// The text of a `text` (or, in assistant history, `refusal`) part; any other part type is
/// refused rather than dropped, since dropping would change what the model sees.
fn text_of_part(
    index: usize,
    part_index: usize,
    part: &ContentPart,
) -> Result<String, TranslateError> {
    let text = match part.kind.as_str() {
        "text" => part.text.clone(),
        "refusal" => part
            .extra
            .get("refusal")
            .and_then(Value::as_str)
            .map(str::to_owned),
        _ => {
            return Err(TranslateError::bad_request(format!(
                "messages[{index}].content[{part_index}].type is not supported here by this backend"
            )));
        }
    };
    text.ok_or_else(|| {
        TranslateError::bad_request(format!(
            "messages[{index}].content[{part_index}] has no text"
        ))
    })
}

fn text_block(text: String) -> Value {
    json!({ "type": "text", "text": text })
}

/// Anthropic rejects empty text blocks.
fn non_empty_text_block(text: &str) -> Option<Value> {
    (!text.is_empty()).then(|| text_block(text.to_owned()))
}

fn image_block(
    index: usize,
    part_index: usize,
    part: &ContentPart,
) -> Result<Value, TranslateError> {
    let field = format!("messages[{index}].content[{part_index}].image_url");
    let Some(image) = &part.image_url else {
        return Err(TranslateError::bad_request(format!("{field} is missing")));
    };
    let url = image.url.as_str();
    let source = if let Some(data_url) = url.strip_prefix("data:") {
        base64_source(&field, data_url)?
    } else if has_http_scheme(url) {
        json!({ "type": "url", "url": url })
    } else {
        return Err(TranslateError::bad_request(format!(
            "{field}.url must be a data: or http(s) URL"
        )));
    };
    // `detail` has no Anthropic equivalent; it only tunes cost, not meaning, so it is dropped.
    Ok(json!({ "type": "image", "source": source }))
}

fn has_http_scheme(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

/// `data:<media type>[;params];base64,<data>` -> Anthropic's base64 image source.
fn base64_source(field: &str, data_url: &str) -> Result<Value, TranslateError> {
    let invalid = || TranslateError::bad_request(format!("{field}.url is not a base64 data URL"));
    let (header, data) = data_url.split_once(',').ok_or_else(invalid)?;
    let mut params = header.split(';');
    let media_type = params
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if !params.any(|param| param.trim().eq_ignore_ascii_case("base64")) {
        return Err(invalid());
    }
    if !IMAGE_MEDIA_TYPES.contains(&media_type.as_str()) {
        return Err(TranslateError::bad_request(format!(
            "{field}.url media type is not supported (jpeg, png, gif, webp only)"
        )));
    }
    Ok(json!({ "type": "base64", "media_type": media_type, "data": data }))
}

// ---------------------------------------------------------------------------------------------
// Tools

fn insert_tools(
    request: &ChatCompletionRequest,
    body: &mut Map<String, Value>,
) -> Result<(), TranslateError> {
    let tools = request.tools.as_deref().unwrap_or_default();
    // Anthropic rejects tool_choice without tools; OpenAI answers plain text then.
    if tools.is_empty() {
        return Ok(());
    }
    let tools = tools
        .iter()
        .enumerate()
        .map(|(index, tool)| tool_definition(index, tool))
        .collect::<Result<Vec<_>, _>>()?;
    body.insert("tools".into(), Value::Array(tools));
    if let Some(choice) = tool_choice(request)? {
        body.insert("tool_choice".into(), choice);
    }
    Ok(())
}

fn tool_definition(index: usize, tool: &Tool) -> Result<Value, TranslateError> {
    let function = match (&tool.function, tool.kind.as_str()) {
        (Some(function), "function") => function,
        _ => {
            return Err(TranslateError::bad_request(format!(
                "tools[{index}].type is not supported by this backend"
            )));
        }
    };
    let mut definition = Map::new();
    definition.insert("name".into(), function.name.clone().into());
    if let Some(description) = &function.description {
        definition.insert("description".into(), description.clone().into());
    }
    // Anthropic requires an object schema; OpenAI treats a missing one as "no parameters".
    let schema = function
        .parameters
        .clone()
        .unwrap_or_else(|| json!({ "type": "object", "properties": {} }));
    definition.insert("input_schema".into(), schema);
    if let Some(strict) = function.strict {
        definition.insert("strict".into(), strict.into());
    }
    Ok(Value::Object(definition))
}

fn tool_choice(request: &ChatCompletionRequest) -> Result<Option<Value>, TranslateError> {
    let parallel_disabled = request.extra.get("parallel_tool_calls") == Some(&Value::Bool(false));
    let mut choice = match request.tool_choice.as_ref().filter(|c| !c.is_null()) {
        None if parallel_disabled => json!({ "type": "auto" }),
        None => return Ok(None),
        Some(choice) => translate_tool_choice(choice)?,
    };
    // `none` has no parallelism setting in Anthropic's schema.
    if parallel_disabled && choice["type"] != "none" {
        choice["disable_parallel_tool_use"] = true.into();
    }
    Ok(Some(choice))
}

fn translate_tool_choice(choice: &Value) -> Result<Value, TranslateError> {
    let unsupported =
        || TranslateError::bad_request("tool_choice is not supported by this backend");
    match choice {
        Value::String(mode) => match mode.as_str() {
            "auto" => Ok(json!({ "type": "auto" })),
            "none" => Ok(json!({ "type": "none" })),
            "required" => Ok(json!({ "type": "any" })),
            _ => Err(unsupported()),
        },
        Value::Object(object) if object.get("type") == Some(&json!("function")) => {
            let name = object
                .get("function")
                .and_then(|function| function.get("name"))
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    TranslateError::bad_request("tool_choice.function.name is required")
                })?;
            Ok(json!({ "type": "tool", "name": name }))
        }
        _ => Err(unsupported()),
    }
}
