//! Every piece of text a request would carry out of the building, for scanning and redaction.
//!
//! Detection must see all of it (message contents and content parts, names, tool-call arguments,
//! tool definitions, and string values in fields sluice does not model), and redaction must be
//! able to rewrite the same places in place. One walk serves both, so the two can never disagree
//! about what is covered. Object keys are not visited: they are field names, and a rewrite could
//! not change them in place.

use serde_json::Value;

use super::request::{ChatCompletionRequest, MessageContent, StopSequences};

/// What a piece of text is, so a caller can treat kinds differently (e.g. not run NER on URLs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextKind {
    /// A message's string content or the `text` of a text part.
    Content,
    /// A message's `name`.
    Name,
    /// The name of a function in an assistant tool call.
    ToolCallName,
    /// The JSON arguments of an assistant tool call.
    ToolCallArguments,
    /// `tool_call_id` of a tool result and `id` of a tool call.
    Identifier,
    /// The URL of an `image_url` part (may be a `data:` URL).
    ImageUrl,
    /// Names, descriptions and JSON-schema strings of tool definitions.
    ToolDefinition,
    /// Any string in a field sluice does not model (`user`, `metadata`, `input_audio`, ...),
    /// `tool_choice`, `response_format` and `stop`.
    Other,
}

/// Where a piece of text was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TextRef {
    pub kind: TextKind,
    /// Index into `messages`, for text that belongs to a message.
    pub message: Option<usize>,
}

impl TextRef {
    fn in_message(kind: TextKind, message: usize) -> Self {
        TextRef {
            kind,
            message: Some(message),
        }
    }

    fn top_level(kind: TextKind) -> Self {
        TextRef {
            kind,
            message: None,
        }
    }
}

/// Generates the shared and the mutable walk from one body, so they visit the same places.
macro_rules! text_walk {
    ($name:ident, $value_walk:ident, [$($mutability:ident)?], $iter:ident, $values:ident, $text:ty) => {
        fn $value_walk(value: & $($mutability)? Value, at: TextRef, visit: &mut impl FnMut(TextRef, $text)) {
            match value {
                Value::String(text) => visit(at, text),
                Value::Array(items) => {
                    for item in items {
                        $value_walk(item, at, visit);
                    }
                }
                Value::Object(map) => {
                    for item in map.$values() {
                        $value_walk(item, at, visit);
                    }
                }
                Value::Null | Value::Bool(_) | Value::Number(_) => {}
            }
        }

        impl ChatCompletionRequest {
            /// Calls `visit` for every piece of text in the request.
            pub fn $name(& $($mutability)? self, mut visit: impl FnMut(TextRef, $text)) {
                let visit = &mut visit;
                for (index, message) in self.messages.$iter().enumerate() {
                    let at = |kind| TextRef::in_message(kind, index);
                    match & $($mutability)? message.content {
                        Some(MessageContent::Text(text)) => visit(at(TextKind::Content), text),
                        Some(MessageContent::Parts(parts)) => {
                            for part in parts {
                                if let Some(text) = & $($mutability)? part.text {
                                    visit(at(TextKind::Content), text);
                                }
                                if let Some(image) = & $($mutability)? part.image_url {
                                    visit(at(TextKind::ImageUrl), & $($mutability)? image.url);
                                    for value in image.extra.$values() {
                                        $value_walk(value, at(TextKind::Other), visit);
                                    }
                                }
                                for value in part.extra.$values() {
                                    $value_walk(value, at(TextKind::Other), visit);
                                }
                            }
                        }
                        None => {}
                    }
                    if let Some(name) = & $($mutability)? message.name {
                        visit(at(TextKind::Name), name);
                    }
                    if let Some(id) = & $($mutability)? message.tool_call_id {
                        visit(at(TextKind::Identifier), id);
                    }
                    for call in message.tool_calls.$iter().flatten() {
                        visit(at(TextKind::Identifier), & $($mutability)? call.id);
                        visit(at(TextKind::ToolCallName), & $($mutability)? call.function.name);
                        visit(at(TextKind::ToolCallArguments), & $($mutability)? call.function.arguments);
                        for value in call.function.extra.$values().chain(call.extra.$values()) {
                            $value_walk(value, at(TextKind::Other), visit);
                        }
                    }
                    for value in message.extra.$values() {
                        $value_walk(value, at(TextKind::Other), visit);
                    }
                }
                let definition = TextRef::top_level(TextKind::ToolDefinition);
                for tool in self.tools.$iter().flatten() {
                    if let Some(function) = & $($mutability)? tool.function {
                        visit(definition, & $($mutability)? function.name);
                        if let Some(description) = & $($mutability)? function.description {
                            visit(definition, description);
                        }
                        if let Some(parameters) = & $($mutability)? function.parameters {
                            $value_walk(parameters, definition, visit);
                        }
                        for value in function.extra.$values() {
                            $value_walk(value, definition, visit);
                        }
                    }
                    for value in tool.extra.$values() {
                        $value_walk(value, definition, visit);
                    }
                }
                let other = TextRef::top_level(TextKind::Other);
                for value in self.tool_choice.$iter().chain(self.response_format.$iter()) {
                    $value_walk(value, other, visit);
                }
                match & $($mutability)? self.stop {
                    Some(StopSequences::One(stop)) => visit(other, stop),
                    Some(StopSequences::Many(stops)) => {
                        for stop in stops {
                            visit(other, stop);
                        }
                    }
                    None => {}
                }
                if let Some(options) = & $($mutability)? self.stream_options {
                    for value in options.extra.$values() {
                        $value_walk(value, other, visit);
                    }
                }
                for value in self.extra.$values() {
                    $value_walk(value, other, visit);
                }
            }
        }
    };
}

text_walk!(visit_text, walk_value, [], iter, values, &str);
text_walk!(visit_text_mut, walk_value_mut, [mut], iter_mut, values_mut, &mut String);

#[cfg(test)]
mod tests {
    use crate::openai::parse_request;

    const BODY: &str = r#"{
        "model": "m",
        "messages": [
            {"role": "system", "content": "sys"},
            {"role": "user", "name": "who", "content": [
                {"type": "text", "text": "part"},
                {"type": "image_url", "image_url": {"url": "https://img"}},
                {"type": "input_audio", "input_audio": {"data": "audio", "format": "wav"}}
            ]},
            {"role": "assistant", "tool_calls": [
                {"id": "call1", "type": "function", "function": {"name": "fname", "arguments": "{\"a\":\"args\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call1", "content": "result"}
        ],
        "tools": [{"type": "function", "function": {"name": "fname", "description": "desc",
            "parameters": {"type": "object", "properties": {"a": {"type": "string", "description": "pdesc"}}}}}],
        "stop": ["halt"],
        "user": "uid",
        "metadata": {"k": "meta"}
    }"#;

    #[test]
    fn visits_every_text_field() {
        let request = parse_request(BODY.as_bytes()).unwrap();
        let mut seen = Vec::new();
        request.visit_text(|_, text| seen.push(text.to_owned()));
        for expected in [
            "sys",
            "who",
            "part",
            "https://img",
            "audio",
            "wav",
            "call1",
            "fname",
            "{\"a\":\"args\"}",
            "result",
            "desc",
            "pdesc",
            "object",
            "halt",
            "uid",
            "meta",
        ] {
            assert!(
                seen.iter().any(|t| t == expected),
                "{expected} not visited: {seen:?}"
            );
        }
    }

    #[test]
    fn mutable_walk_visits_the_same_places_and_rewrites_them() {
        let mut request = parse_request(BODY.as_bytes()).unwrap();
        let mut shared = Vec::new();
        request.visit_text(|at, text| shared.push((at, text.to_owned())));
        let mut mutable = Vec::new();
        request.visit_text_mut(|at, text| {
            mutable.push((at, text.clone()));
            *text = text.to_uppercase();
        });
        assert_eq!(shared, mutable);
        let json = serde_json::to_string(&request).unwrap();
        assert!(json.contains("PDESC") && json.contains("META") && json.contains("ARGS"));
        assert!(!json.contains("pdesc"));
    }

    #[test]
    fn message_texts_carry_their_message_index() {
        let request = parse_request(BODY.as_bytes()).unwrap();
        let mut result_index = None;
        request.visit_text(|at, text| {
            if text == "result" {
                result_index = at.message;
            }
        });
        assert_eq!(result_index, Some(3));
    }
}
