//! Responses request → chat-completions request.
//!
//! The body is walked as a `serde_json::Value` by hand instead of deserialized with derived
//! types, because serde's messages quote the offending value ("invalid type: string \"...\"")
//! and request values are unscanned client text that may hold PII. Every error here is built
//! from field names, indices and fixed vocabulary only; a type string the client sent is named
//! in a message only when it is one of the known constants listed below.

use serde_json::{json, Map, Value};

use super::Echo;
use crate::dialect::FrontError;
use crate::openai::{
    ChatCompletionRequest, ChatMessage, ContentPart, Extra, FunctionCall, FunctionDefinition,
    ImageUrl, MessageContent, Role, StreamOptions, Tool, ToolCall,
};

type Object = Map<String, Value>;

/// Top-level fields that are translated.
const TRANSLATED_FIELDS: &[&str] = &[
    "model",
    "input",
    "instructions",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "max_output_tokens",
    "temperature",
    "top_p",
    "stream",
    "text",
    "user",
    "metadata",
    "background",
];

/// Top-level fields accepted and dropped: they steer OpenAI-side storage, caching, billing or
/// reasoning, none of which a chat-completions upstream behind sluice has a slot for.
const DROPPED_FIELDS: &[&str] = &[
    "store",
    "truncation",
    "include",
    "reasoning",
    "service_tier",
    "stream_options",
    "prompt_cache_key",
    "safety_identifier",
    "max_tool_calls",
];

/// Known Responses fields that need server-side state; refused with a reason of their own.
const STATEFUL_FIELDS: &[&str] = &["previous_response_id", "conversation", "prompt"];

/// Known Responses fields that are neither translated nor safe to drop, so they can be named.
const UNSUPPORTED_FIELDS: &[&str] = &[
    "top_logprobs",
    "prompt_cache_retention",
    "context_management",
    "seed",
    "stop",
    "n",
    "logprobs",
    "messages",
    "response_format",
    "max_tokens",
    "max_completion_tokens",
];

/// Built-in (hosted) tool types: OpenAI runs these server-side, a chat upstream cannot.
const HOSTED_TOOL_TYPES: &[&str] = &[
    "web_search",
    "web_search_preview",
    "web_search_2025_08_26",
    "web_search_preview_2025_03_11",
    "file_search",
    "computer",
    "computer_use",
    "computer_use_preview",
    "code_interpreter",
    "image_generation",
    "mcp",
    "local_shell",
    "shell",
    "apply_patch",
    "custom",
    "namespace",
    "tool_search",
    "allowed_tools",
];

/// Input item types that only OpenAI's own tools produce; nothing in chat can carry them.
const HOSTED_ITEM_TYPES: &[&str] = &[
    "computer_call",
    "computer_call_output",
    "web_search_call",
    "file_search_call",
    "image_generation_call",
    "code_interpreter_call",
    "local_shell_call",
    "local_shell_call_output",
    "shell_call",
    "shell_call_output",
    "apply_patch_call",
    "apply_patch_call_output",
    "mcp_list_tools",
    "mcp_approval_request",
    "mcp_approval_response",
    "mcp_call",
    "custom_tool_call",
    "custom_tool_call_output",
    "compaction",
];

/// Parses a Responses request body into the chat request sluice works on, plus what the answer
/// must echo.
pub fn to_chat(body: &[u8]) -> Result<(ChatCompletionRequest, Echo), FrontError> {
    let root = crate::dialect::json_object(body)?;
    check_fields(&root)?;

    let model = required_string(&root, "model", "model")?.to_owned();
    let instructions = optional_string(&root, "instructions", "instructions")?.map(str::to_owned);
    let mut messages = Vec::new();
    if let Some(instructions) = &instructions {
        messages.push(ChatMessage::text(Role::System, instructions.clone()));
    }
    if let Some(input) = field(&root, "input") {
        convert_input(input, &mut messages)?;
    }
    if messages.is_empty() {
        return Err(bad("`input` is required", "input"));
    }

    let (tools, echo_tools) = convert_tools(&root)?;
    let (tool_choice, echo_tool_choice) = convert_tool_choice(&root)?;
    let (response_format, echo_text) = convert_text(&root)?;
    let parallel_tool_calls = optional_bool(&root, "parallel_tool_calls", "parallel_tool_calls")?;
    let max_output_tokens = optional_u32(&root, "max_output_tokens", "max_output_tokens")?;
    let temperature = optional_f64(&root, "temperature", "temperature")?;
    let top_p = optional_f64(&root, "top_p", "top_p")?;
    let stream = optional_bool(&root, "stream", "stream")?.unwrap_or(false);
    let user = optional_string(&root, "user", "user")?.map(str::to_owned);
    let metadata = convert_metadata(&root)?;

    let mut extra = Extra::new();
    if let Some(user) = &user {
        extra.insert("user".into(), json!(user));
    }
    if let Some(metadata) = &metadata {
        extra.insert("metadata".into(), metadata.clone());
    }
    // OpenAI rejects `parallel_tool_calls` on a chat request without tools.
    if let (Some(parallel), Some(_)) = (parallel_tool_calls, &tools) {
        extra.insert("parallel_tool_calls".into(), json!(parallel));
    }

    let chat = ChatCompletionRequest {
        model: model.clone(),
        messages,
        tools,
        tool_choice,
        response_format,
        max_tokens: max_output_tokens,
        max_completion_tokens: None,
        temperature,
        top_p,
        stop: None,
        seed: None,
        n: None,
        stream: stream.then_some(true),
        // A Response always ends with usage, and chat only streams usage when asked to.
        stream_options: stream.then(|| StreamOptions {
            include_usage: Some(true),
            extra: Extra::new(),
        }),
        extra,
    };
    let echo = Echo {
        model,
        instructions,
        tools: echo_tools,
        tool_choice: echo_tool_choice,
        temperature,
        top_p,
        max_output_tokens,
        parallel_tool_calls: parallel_tool_calls.unwrap_or(true),
        text: echo_text,
        metadata: metadata.unwrap_or_else(|| json!({})),
        user,
    };
    Ok((chat, echo))
}

fn bad(message: impl Into<String>, param: impl Into<String>) -> FrontError {
    FrontError::bad_request(message, Some(param.into()))
}

/// Refuses stateful and unknown top-level fields before anything else, so a client relying on
/// stored state learns it at once instead of getting an answer without its history.
fn check_fields(root: &Object) -> Result<(), FrontError> {
    for (key, value) in root {
        if value.is_null() || TRANSLATED_FIELDS.contains(&key.as_str()) {
            continue;
        }
        if DROPPED_FIELDS.contains(&key.as_str()) {
            continue;
        }
        if let Some(name) = known(key, STATEFUL_FIELDS) {
            return Err(stateful_error(name));
        }
        return Err(unknown_field_error(key));
    }
    if field(root, "background") == Some(&Value::Bool(true)) {
        return Err(bad(
            "background responses are not supported: sluice keeps no response state",
            "background",
        ));
    }
    Ok(())
}

fn stateful_error(name: &'static str) -> FrontError {
    let message = match name {
        "prompt" => {
            "stored prompts are not supported: send the instructions and the whole \
                     conversation in `instructions` and `input`"
        }
        _ => "sluice keeps no conversation state: send the whole conversation in `input`",
    };
    bad(message, name)
}

/// The unknown key itself is client text, so it is named only when it is a known constant.
fn unknown_field_error(key: &str) -> FrontError {
    let supported = [TRANSLATED_FIELDS, DROPPED_FIELDS].concat().join(", ");
    match known(key, UNSUPPORTED_FIELDS) {
        Some(name) => bad(
            format!("field `{name}` is not supported; supported fields are: {supported}"),
            name,
        ),
        None => FrontError::bad_request(
            format!(
                "request has an unsupported top-level field; supported fields are: {supported}"
            ),
            None,
        ),
    }
}

/// The vocabulary constant equal to `value`, so messages quote our constant, never client text.
fn known(value: &str, vocabulary: &[&'static str]) -> Option<&'static str> {
    vocabulary.iter().copied().find(|known| *known == value)
}

/// A field, with JSON `null` read as absent (clients differ in which they send).
fn field<'a>(object: &'a Object, key: &str) -> Option<&'a Value> {
    object.get(key).filter(|value| !value.is_null())
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn wrong_type(expected: &str, found: &Value, path: &str) -> FrontError {
    bad(
        format!("expected {expected}, found {}", kind_of(found)),
        path,
    )
}

fn as_str<'a>(value: &'a Value, path: &str) -> Result<&'a str, FrontError> {
    value
        .as_str()
        .ok_or_else(|| wrong_type("a string", value, path))
}

fn as_object<'a>(value: &'a Value, path: &str) -> Result<&'a Object, FrontError> {
    value
        .as_object()
        .ok_or_else(|| wrong_type("an object", value, path))
}

fn as_array<'a>(value: &'a Value, path: &str) -> Result<&'a Vec<Value>, FrontError> {
    value
        .as_array()
        .ok_or_else(|| wrong_type("an array", value, path))
}

fn required_string<'a>(object: &'a Object, key: &str, path: &str) -> Result<&'a str, FrontError> {
    match field(object, key) {
        Some(value) => as_str(value, path),
        None => Err(bad(format!("`{key}` is required"), path)),
    }
}

fn optional_string<'a>(
    object: &'a Object,
    key: &str,
    path: &str,
) -> Result<Option<&'a str>, FrontError> {
    field(object, key)
        .map(|value| as_str(value, path))
        .transpose()
}

fn optional_bool(object: &Object, key: &str, path: &str) -> Result<Option<bool>, FrontError> {
    field(object, key)
        .map(|value| {
            value
                .as_bool()
                .ok_or_else(|| wrong_type("a boolean", value, path))
        })
        .transpose()
}

fn optional_f64(object: &Object, key: &str, path: &str) -> Result<Option<f64>, FrontError> {
    field(object, key)
        .map(|value| {
            value
                .as_f64()
                .ok_or_else(|| wrong_type("a number", value, path))
        })
        .transpose()
}

fn optional_u32(object: &Object, key: &str, path: &str) -> Result<Option<u32>, FrontError> {
    let Some(value) = field(object, key) else {
        return Ok(None);
    };
    let number = value
        .as_u64()
        .ok_or_else(|| wrong_type("a non-negative integer", value, path))?;
    u32::try_from(number)
        .map(Some)
        .map_err(|_| bad("integer is too large", path))
}

// ---- input -------------------------------------------------------------------------------

fn convert_input(input: &Value, messages: &mut Vec<ChatMessage>) -> Result<(), FrontError> {
    match input {
        Value::String(text) => {
            messages.push(ChatMessage::text(Role::User, text.clone()));
            Ok(())
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(index, item)| convert_item(item, &format!("input[{index}]"), messages)),
        other => Err(wrong_type("a string or an array of items", other, "input")),
    }
}

fn convert_item(
    item: &Value,
    path: &str,
    messages: &mut Vec<ChatMessage>,
) -> Result<(), FrontError> {
    let object = as_object(item, path)?;
    let kind = optional_string(object, "type", &format!("{path}.type"))?;
    match kind {
        // `type` may be left out of a message item (the "easy input message" form).
        None | Some("message") => messages.push(convert_message(object, path)?),
        Some("function_call") => push_function_call(object, path, messages)?,
        Some("function_call_output") => messages.push(convert_call_output(object, path)?),
        // Reasoning items carry OpenAI-encrypted state that only OpenAI's own servers can read;
        // a chat upstream has no slot for them, and the visible answer does not depend on them.
        Some("reasoning") => {}
        Some("item_reference") => {
            return Err(bad(
                "item references need stored responses; sluice keeps no conversation state: \
                 send the whole conversation in `input`",
                format!("{path}.type"),
            ));
        }
        Some(other) => return Err(unsupported_item_type(other, path)),
    }
    Ok(())
}

fn unsupported_item_type(kind: &str, path: &str) -> FrontError {
    let supported = "supported item types are: message, function_call, function_call_output";
    let message = match known(kind, HOSTED_ITEM_TYPES) {
        Some(name) => format!("input item type `{name}` is not supported; {supported}"),
        None => format!("unsupported input item type; {supported}"),
    };
    bad(message, format!("{path}.type"))
}

fn convert_message(object: &Object, path: &str) -> Result<ChatMessage, FrontError> {
    let role_path = format!("{path}.role");
    let role = match required_string(object, "role", &role_path)? {
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "system" => Role::System,
        "developer" => Role::Developer,
        _ => {
            return Err(bad(
                "unsupported role; expected one of: user, assistant, system, developer",
                role_path,
            ));
        }
    };
    let content_path = format!("{path}.content");
    let content = match field(object, "content") {
        Some(content) => convert_content(content, &content_path)?,
        None => return Err(bad("`content` is required", content_path)),
    };
    Ok(ChatMessage {
        role,
        content: Some(content),
        name: None,
        tool_calls: None,
        tool_call_id: None,
        extra: Extra::new(),
    })
}

fn convert_content(content: &Value, path: &str) -> Result<MessageContent, FrontError> {
    match content {
        Value::String(text) => Ok(MessageContent::Text(text.clone())),
        Value::Array(parts) => parts
            .iter()
            .enumerate()
            .map(|(index, part)| convert_part(part, &format!("{path}[{index}]")))
            .collect::<Result<Vec<_>, _>>()
            .map(MessageContent::Parts),
        other => Err(wrong_type(
            "a string or an array of content parts",
            other,
            path,
        )),
    }
}

fn convert_part(part: &Value, path: &str) -> Result<ContentPart, FrontError> {
    let object = as_object(part, path)?;
    let type_path = format!("{path}.type");
    match required_string(object, "type", &type_path)? {
        "input_text" | "output_text" | "text" => {
            let text = required_string(object, "text", &format!("{path}.text"))?;
            Ok(text_part(text))
        }
        // A refusal replayed from an earlier answer is still text the model will read, so it
        // goes where sluice scans (a text part), not into a chat `refusal` field it does not.
        "refusal" => {
            let refusal = required_string(object, "refusal", &format!("{path}.refusal"))?;
            Ok(text_part(refusal))
        }
        "input_image" => convert_image(object, path),
        "input_file" => Ok(convert_file(object, path)?),
        "input_audio" => {
            let audio = field(object, "input_audio")
                .ok_or_else(|| bad("`input_audio` is required", format!("{path}.input_audio")))?;
            as_object(audio, &format!("{path}.input_audio"))?;
            Ok(media_part("input_audio", "input_audio", audio.clone()))
        }
        _ => Err(bad(
            "unsupported content part type; expected one of: input_text, output_text, \
             input_image, input_file, input_audio, refusal",
            type_path,
        )),
    }
}

fn text_part(text: &str) -> ContentPart {
    ContentPart {
        kind: "text".into(),
        text: Some(text.to_owned()),
        image_url: None,
        extra: Extra::new(),
    }
}

/// A part sluice cannot read (`file`, `input_audio`): its payload sits under `key`.
fn media_part(kind: &str, key: &str, payload: Value) -> ContentPart {
    let mut extra = Extra::new();
    extra.insert(key.into(), payload);
    ContentPart {
        kind: kind.into(),
        text: None,
        image_url: None,
        extra,
    }
}

fn convert_image(object: &Object, path: &str) -> Result<ContentPart, FrontError> {
    let detail = optional_string(object, "detail", &format!("{path}.detail"))?;
    if let Some(url) = optional_string(object, "image_url", &format!("{path}.image_url"))? {
        return Ok(ContentPart {
            kind: "image_url".into(),
            text: None,
            image_url: Some(ImageUrl {
                url: url.to_owned(),
                detail: detail.map(str::to_owned),
                extra: Extra::new(),
            }),
            extra: Extra::new(),
        });
    }
    // Chat has no image-by-file-id part; a `file` part keeps it as media sluice cannot scan.
    if let Some(file_id) = optional_string(object, "file_id", &format!("{path}.file_id"))? {
        return Ok(media_part("file", "file", json!({ "file_id": file_id })));
    }
    Err(bad(
        "an input_image needs `image_url` or `file_id`",
        path.to_owned(),
    ))
}

fn convert_file(object: &Object, path: &str) -> Result<ContentPart, FrontError> {
    let mut file = Map::new();
    for key in ["file_id", "file_data", "filename", "file_url"] {
        if let Some(value) = optional_string(object, key, &format!("{path}.{key}"))? {
            file.insert(key.into(), json!(value));
        }
    }
    if !["file_id", "file_data", "file_url"]
        .iter()
        .any(|key| file.contains_key(*key))
    {
        return Err(bad(
            "an input_file needs `file_id`, `file_data` or `file_url`",
            path.to_owned(),
        ));
    }
    Ok(media_part("file", "file", Value::Object(file)))
}

/// Chat wants all calls of one assistant turn in one message (tool results must follow the
/// message holding their calls), while Responses lists each call as its own item; so a call
/// joins the assistant message right before it.
fn push_function_call(
    object: &Object,
    path: &str,
    messages: &mut Vec<ChatMessage>,
) -> Result<(), FrontError> {
    let call = ToolCall {
        id: required_string(object, "call_id", &format!("{path}.call_id"))?.to_owned(),
        kind: "function".into(),
        function: FunctionCall {
            name: required_string(object, "name", &format!("{path}.name"))?.to_owned(),
            arguments: required_string(object, "arguments", &format!("{path}.arguments"))?
                .to_owned(),
            extra: Extra::new(),
        },
        extra: Extra::new(),
    };
    match messages.last_mut() {
        Some(last) if last.role == Role::Assistant => {
            last.tool_calls.get_or_insert_with(Vec::new).push(call);
        }
        _ => messages.push(ChatMessage {
            role: Role::Assistant,
            content: None,
            name: None,
            tool_calls: Some(vec![call]),
            tool_call_id: None,
            extra: Extra::new(),
        }),
    }
    Ok(())
}

fn convert_call_output(object: &Object, path: &str) -> Result<ChatMessage, FrontError> {
    let call_id = required_string(object, "call_id", &format!("{path}.call_id"))?;
    let output_path = format!("{path}.output");
    let content = match field(object, "output") {
        Some(output) => convert_content(output, &output_path)?,
        None => return Err(bad("`output` is required", output_path)),
    };
    Ok(ChatMessage {
        role: Role::Tool,
        content: Some(content),
        name: None,
        tool_calls: None,
        tool_call_id: Some(call_id.to_owned()),
        extra: Extra::new(),
    })
}

// ---- tools, tool_choice, text format, metadata --------------------------------------------

type ChatTools = Option<Vec<Tool>>;

fn convert_tools(root: &Object) -> Result<(ChatTools, Vec<Value>), FrontError> {
    let Some(tools) = field(root, "tools") else {
        return Ok((None, Vec::new()));
    };
    let mut chat = Vec::new();
    let mut echo = Vec::new();
    for (index, tool) in as_array(tools, "tools")?.iter().enumerate() {
        let (chat_tool, echo_tool) = convert_tool(tool, &format!("tools[{index}]"))?;
        chat.push(chat_tool);
        echo.push(echo_tool);
    }
    Ok(((!chat.is_empty()).then_some(chat), echo))
}

fn convert_tool(tool: &Value, path: &str) -> Result<(Tool, Value), FrontError> {
    let object = as_object(tool, path)?;
    let type_path = format!("{path}.type");
    let kind = required_string(object, "type", &type_path)?;
    if kind != "function" {
        return Err(unsupported_tool_type(kind, &type_path));
    }
    let name = required_string(object, "name", &format!("{path}.name"))?;
    let description = optional_string(object, "description", &format!("{path}.description"))?;
    let parameters = field(object, "parameters")
        .map(|value| as_object(value, &format!("{path}.parameters")).map(|_| value.clone()))
        .transpose()?;
    let strict = optional_bool(object, "strict", &format!("{path}.strict"))?;
    let chat = Tool {
        kind: "function".into(),
        function: Some(FunctionDefinition {
            name: name.to_owned(),
            description: description.map(str::to_owned),
            parameters: parameters.clone(),
            strict,
            extra: Extra::new(),
        }),
        extra: Extra::new(),
    };
    let echo = json!({
        "type": "function",
        "name": name,
        "description": description,
        "parameters": parameters,
        "strict": strict,
    });
    Ok((chat, echo))
}

fn unsupported_tool_type(kind: &str, path: &str) -> FrontError {
    let message = match known(kind, HOSTED_TOOL_TYPES) {
        Some(name) => {
            format!("tool type `{name}` is not supported: sluice forwards only `function` tools")
        }
        None => "unsupported tool type: sluice forwards only `function` tools".to_owned(),
    };
    bad(message, path.to_owned())
}

fn convert_tool_choice(root: &Object) -> Result<(Option<Value>, Value), FrontError> {
    let Some(choice) = field(root, "tool_choice") else {
        return Ok((None, json!("auto")));
    };
    match choice {
        Value::String(mode) => match mode.as_str() {
            "auto" | "none" | "required" => Ok((Some(choice.clone()), choice.clone())),
            _ => Err(bad(
                "unsupported tool_choice; expected auto, none, required or a function",
                "tool_choice",
            )),
        },
        Value::Object(object) => {
            let kind = required_string(object, "type", "tool_choice.type")?;
            if kind != "function" {
                return Err(unsupported_tool_type(kind, "tool_choice.type"));
            }
            let name = required_string(object, "name", "tool_choice.name")?;
            let chat = json!({ "type": "function", "function": { "name": name } });
            Ok((Some(chat), json!({ "type": "function", "name": name })))
        }
        other => Err(wrong_type("a string or an object", other, "tool_choice")),
    }
}

/// `text.format` → chat `response_format`. `text.verbosity` has no chat-completions equivalent
/// that every upstream accepts, so it is dropped.
fn convert_text(root: &Object) -> Result<(Option<Value>, Value), FrontError> {
    let default_echo = json!({ "format": { "type": "text" } });
    let Some(text) = field(root, "text") else {
        return Ok((None, default_echo));
    };
    let text = as_object(text, "text")?;
    let Some(format) = field(text, "format") else {
        return Ok((None, default_echo));
    };
    let format = as_object(format, "text.format")?;
    match required_string(format, "type", "text.format.type")? {
        // Plain text is chat's default; saying so would only trip upstreams without the field.
        "text" => Ok((None, default_echo)),
        "json_object" => Ok((
            Some(json!({ "type": "json_object" })),
            json!({ "format": { "type": "json_object" } }),
        )),
        "json_schema" => convert_json_schema(format),
        _ => Err(bad(
            "unsupported text format; expected text, json_object or json_schema",
            "text.format.type",
        )),
    }
}

fn convert_json_schema(format: &Object) -> Result<(Option<Value>, Value), FrontError> {
    let name = required_string(format, "name", "text.format.name")?;
    let schema =
        field(format, "schema").ok_or_else(|| bad("`schema` is required", "text.format.schema"))?;
    as_object(schema, "text.format.schema")?;
    let strict = optional_bool(format, "strict", "text.format.strict")?;
    let description = optional_string(format, "description", "text.format.description")?;

    let mut json_schema = Map::new();
    json_schema.insert("name".into(), json!(name));
    json_schema.insert("schema".into(), schema.clone());
    if let Some(strict) = strict {
        json_schema.insert("strict".into(), json!(strict));
    }
    if let Some(description) = description {
        json_schema.insert("description".into(), json!(description));
    }
    let mut echo = json_schema.clone();
    echo.insert("type".into(), json!("json_schema"));
    let chat = json!({ "type": "json_schema", "json_schema": json_schema });
    Ok((Some(chat), json!({ "format": echo })))
}

/// Metadata is a map of strings in both APIs; checked here so a bad value fails with a path.
fn convert_metadata(root: &Object) -> Result<Option<Value>, FrontError> {
    let Some(metadata) = field(root, "metadata") else {
        return Ok(None);
    };
    // Keys are client text, so a bad entry is reported by the field alone, not by its key.
    let entries = as_object(metadata, "metadata")?;
    if entries.values().any(|value| !value.is_string()) {
        return Err(bad("metadata values must be strings", "metadata"));
    }
    Ok(Some(metadata.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: Value) -> Result<(ChatCompletionRequest, Echo), FrontError> {
        to_chat(body.to_string().as_bytes())
    }

    fn error(body: Value) -> FrontError {
        parse(body).expect_err("request should be refused")
    }

    #[test]
    fn string_input_is_one_user_message() {
        let (chat, echo) = parse(json!({ "model": "gpt-x", "input": "hello" })).unwrap();
        assert_eq!(chat.model, "gpt-x");
        assert_eq!(chat.messages, vec![ChatMessage::text(Role::User, "hello")]);
        assert_eq!(echo.model, "gpt-x");
        assert_eq!(echo.tool_choice, json!("auto"));
        assert!(echo.parallel_tool_calls);
        assert!(!chat.is_stream());
    }

    #[test]
    fn instructions_become_a_leading_system_message() {
        let (chat, echo) = parse(json!({
            "model": "m",
            "instructions": "be brief",
            "input": [{ "role": "user", "content": "hi" }],
        }))
        .unwrap();
        assert_eq!(
            chat.messages[0],
            ChatMessage::text(Role::System, "be brief")
        );
        assert_eq!(chat.messages[1], ChatMessage::text(Role::User, "hi"));
        assert_eq!(echo.instructions.as_deref(), Some("be brief"));
    }

    #[test]
    fn function_call_and_output_items_become_tool_messages() {
        let (chat, _) = parse(json!({
            "model": "m",
            "input": [
                { "type": "message", "role": "user",
                  "content": [{ "type": "input_text", "text": "weather in Oslo and Rome?" }] },
                { "type": "function_call", "call_id": "call_1", "name": "weather",
                  "arguments": "{\"city\":\"Oslo\"}" },
                { "type": "function_call", "call_id": "call_2", "name": "weather",
                  "arguments": "{\"city\":\"Rome\"}" },
                { "type": "function_call_output", "call_id": "call_1", "output": "rain" },
                { "type": "function_call_output", "call_id": "call_2",
                  "output": [{ "type": "input_text", "text": "sun" }] },
                { "type": "reasoning", "id": "rs_1", "summary": [] },
            ],
        }))
        .unwrap();
        assert_eq!(chat.messages.len(), 4);
        assert_eq!(
            chat.messages[0].content.as_ref().unwrap().text_parts(),
            vec!["weather in Oslo and Rome?"]
        );
        let assistant = &chat.messages[1];
        assert_eq!(assistant.role, Role::Assistant);
        let calls = assistant.tool_calls.as_ref().unwrap();
        assert_eq!(calls.len(), 2, "parallel calls share one assistant message");
        assert_eq!(calls[0].id, "call_1");
        assert_eq!(calls[1].function.arguments, "{\"city\":\"Rome\"}");
        assert_eq!(chat.messages[2].role, Role::Tool);
        assert_eq!(chat.messages[2].tool_call_id.as_deref(), Some("call_1"));
        assert_eq!(
            chat.messages[3].content.as_ref().unwrap().text_parts(),
            vec!["sun"]
        );
    }

    #[test]
    fn assistant_text_and_its_calls_share_a_message() {
        let (chat, _) = parse(json!({
            "model": "m",
            "input": [
                { "role": "user", "content": "hi" },
                { "type": "message", "role": "assistant", "id": "msg_1", "status": "completed",
                  "content": [{ "type": "output_text", "text": "checking", "annotations": [] }] },
                { "type": "function_call", "call_id": "c", "name": "f", "arguments": "{}" },
            ],
        }))
        .unwrap();
        assert_eq!(chat.messages.len(), 2);
        assert_eq!(chat.messages[1].tool_calls.as_ref().unwrap().len(), 1);
    }

    #[test]
    fn images_and_files_become_media_parts() {
        let (chat, _) = parse(json!({
            "model": "m",
            "input": [{ "role": "user", "content": [
                { "type": "input_image", "image_url": "https://x/a.png", "detail": "low" },
                { "type": "input_image", "file_id": "file-1", "detail": "auto" },
                { "type": "input_file", "file_id": "file-2" },
            ]}],
        }))
        .unwrap();
        let Some(MessageContent::Parts(parts)) = &chat.messages[0].content else {
            panic!("expected parts");
        };
        assert_eq!(parts[0].kind, "image_url");
        assert_eq!(
            parts[0].image_url.as_ref().unwrap().detail.as_deref(),
            Some("low")
        );
        assert_eq!(parts[1].kind, "file");
        assert_eq!(parts[2].kind, "file");
        assert_eq!(parts[2].extra["file"], json!({ "file_id": "file-2" }));
    }

    #[test]
    fn tools_and_tool_choice_are_mapped() {
        let (chat, echo) = parse(json!({
            "model": "m",
            "input": "hi",
            "tools": [{ "type": "function", "name": "weather", "description": "d",
                        "parameters": { "type": "object", "properties": {} }, "strict": true }],
            "tool_choice": { "type": "function", "name": "weather" },
            "parallel_tool_calls": false,
        }))
        .unwrap();
        let tools = chat.tools.unwrap();
        let function = tools[0].function.as_ref().unwrap();
        assert_eq!(tools[0].kind, "function");
        assert_eq!(function.name, "weather");
        assert_eq!(function.strict, Some(true));
        assert_eq!(
            chat.tool_choice,
            Some(json!({ "type": "function", "function": { "name": "weather" } }))
        );
        assert_eq!(chat.extra["parallel_tool_calls"], json!(false));
        assert_eq!(
            echo.tool_choice,
            json!({ "type": "function", "name": "weather" })
        );
        assert_eq!(echo.tools[0]["name"], "weather");
        assert!(!echo.parallel_tool_calls);
    }

    #[test]
    fn string_tool_choice_passes_through() {
        let (chat, _) =
            parse(json!({ "model": "m", "input": "hi", "tool_choice": "required" })).unwrap();
        assert_eq!(chat.tool_choice, Some(json!("required")));
    }

    #[test]
    fn hosted_tools_are_refused_by_type() {
        let refused = error(json!({ "model": "m", "input": "hi",
            "tools": [{ "type": "function", "name": "f" }, { "type": "web_search" }] }));
        assert_eq!(refused.status, 400);
        assert!(refused.message.contains("`web_search`"));
        assert_eq!(refused.param.as_deref(), Some("tools[1].type"));
    }

    #[test]
    fn json_schema_format_becomes_response_format() {
        let schema = json!({ "type": "object", "properties": { "a": { "type": "string" } } });
        let (chat, echo) = parse(json!({
            "model": "m",
            "input": "hi",
            "text": { "format": { "type": "json_schema", "name": "out", "schema": schema,
                                  "strict": true }, "verbosity": "low" },
        }))
        .unwrap();
        assert_eq!(
            chat.response_format,
            Some(json!({ "type": "json_schema",
                         "json_schema": { "name": "out", "schema": schema, "strict": true } }))
        );
        assert_eq!(echo.text["format"]["type"], "json_schema");
        assert_eq!(echo.text["format"]["name"], "out");
    }

    #[test]
    fn json_object_format_is_mapped() {
        let (chat, _) = parse(json!({ "model": "m", "input": "hi",
            "text": { "format": { "type": "json_object" } } }))
        .unwrap();
        assert_eq!(chat.response_format, Some(json!({ "type": "json_object" })));
    }

    #[test]
    fn scalar_settings_and_streaming_are_mapped() {
        let (chat, echo) = parse(json!({
            "model": "m", "input": "hi", "max_output_tokens": 64, "temperature": 0.5,
            "top_p": 0.9, "stream": true, "user": "u1", "metadata": { "k": "v" },
            "store": false, "truncation": "auto", "include": [], "reasoning": { "effort": "low" },
            "service_tier": "auto",
        }))
        .unwrap();
        assert_eq!(chat.max_tokens, Some(64));
        assert_eq!(chat.temperature, Some(0.5));
        assert_eq!(chat.top_p, Some(0.9));
        assert!(chat.is_stream());
        assert!(chat.wants_stream_usage());
        assert_eq!(chat.extra["user"], json!("u1"));
        assert_eq!(chat.extra["metadata"], json!({ "k": "v" }));
        assert!(!chat.extra.contains_key("parallel_tool_calls"));
        assert_eq!(echo.max_output_tokens, Some(64));
        assert_eq!(echo.metadata, json!({ "k": "v" }));
    }

    #[test]
    fn previous_response_id_is_refused() {
        let refused = error(json!({ "model": "m", "input": "hi",
            "previous_response_id": "resp_123" }));
        assert_eq!(refused.status, 400);
        assert_eq!(refused.param.as_deref(), Some("previous_response_id"));
        assert!(refused
            .message
            .contains("send the whole conversation in `input`"));
        assert!(!refused.message.contains("resp_123"));
        let refused = error(json!({ "model": "m", "input": "hi", "conversation": "conv_1" }));
        assert_eq!(refused.param.as_deref(), Some("conversation"));
    }

    #[test]
    fn unknown_fields_are_refused_without_naming_client_keys() {
        let refused = error(json!({ "model": "m", "input": "hi", "587-24-6913": 1 }));
        assert!(refused
            .message
            .contains("supported fields are: model, input"));
        assert!(!refused.message.contains("587-24-6913"));
        assert_eq!(refused.param, None);
        let refused = error(json!({ "model": "m", "input": "hi", "top_logprobs": 2 }));
        assert_eq!(refused.param.as_deref(), Some("top_logprobs"));
    }

    #[test]
    fn malformed_items_are_reported_by_path_without_values() {
        let canary = "587-24-6913";
        let cases = [
            (
                json!([{ "role": "user", "content": [{ "type": "input_text", "text": "ok" }] },
                    { "role": "user", "content": [{ "type": canary, "text": canary }] }]),
                "input[1].content[0].type",
            ),
            (
                json!([{ "role": canary, "content": canary }]),
                "input[0].role",
            ),
            (json!([{ "type": canary }]), "input[0].type"),
            (json!([canary]), "input[0]"),
            (
                json!([{ "role": "user", "content": [{ "type": "input_text", "text": 5 }] }]),
                "input[0].content[0].text",
            ),
            (
                json!([{ "type": "function_call", "call_id": canary, "name": canary,
                      "arguments": { "ssn": canary } }]),
                "input[0].arguments",
            ),
            (
                json!([{ "type": "item_reference", "id": canary }]),
                "input[0].type",
            ),
        ];
        for (input, param) in cases {
            let refused = error(json!({ "model": "m", "input": input }));
            assert_eq!(refused.param.as_deref(), Some(param));
            assert!(!refused.message.contains(canary), "{}", refused.message);
        }
        let refused = error(json!({ "model": "m", "input": "x", "metadata": { canary: 1 } }));
        assert!(!refused.message.contains(canary));
        assert!(!refused.param.unwrap().contains(canary));
        let refused = error(json!({ "model": "m", "input": "x",
            "tools": [{ "type": canary, "name": canary }] }));
        assert!(!refused.message.contains(canary));
    }

    #[test]
    fn invalid_json_error_carries_no_body_text() {
        let refused = to_chat(b"{\"input\": \"587-24-6913").unwrap_err();
        assert!(!refused.message.contains("587"));
    }
}
