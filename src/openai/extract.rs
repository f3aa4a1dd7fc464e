//! Every piece of text a request would carry out of the building, grouped for scanning.
//!
//! One walk, deny by default, over the request exactly as sluice re-serializes it for the
//! backend: every string value, every object key, every number (as its JSON digits) and the
//! `model` are scanned. The only things skipped are protocol vocabulary, and only after checking:
//! a key that is an OpenAI or JSON-schema field name, a value under `role`, `type`, `detail`,
//! `format`, ... that is one of that field's known values, `true`, `false` and `null`. Anything
//! else (a `type` of "patient Jane Roe", an SSN as a `metadata` key, a card number as `seed`) is
//! scanned like message text.
//!
//! Texts are grouped into one unit per message (scanned once and cached by content hash, so a long
//! chat history is not re-scanned every turn), one for `tools`, and one for everything else.
//! Content that text detectors cannot judge (images, audio, files) is reported as unscannable,
//! and the gateway treats it as sensitive. Each leaf says whether redaction may rewrite it: only
//! string values can carry a placeholder; a key, a number or the model name the upstream must see
//! verbatim, so a masked value there keeps the request on premise.

use std::sync::Arc;

use serde_json::Value;

use crate::detect::Reading;

/// Content part types that carry media rather than text.
const MEDIA_PART_TYPES: &[&str] = &[
    "image_url",
    "input_audio",
    "file",
    "input_image",
    "input_file",
];

/// Object keys that are field names of the chat-completions protocol or of JSON Schema. A key
/// outside this list is client text (a `metadata` key, a schema property, a `logit_bias` token).
const PROTOCOL_KEYS: &[&str] = &[
    // chat completions
    "model",
    "messages",
    "role",
    "content",
    "name",
    "tool_calls",
    "tool_call_id",
    "id",
    "type",
    "function",
    "arguments",
    "text",
    "image_url",
    "url",
    "detail",
    "input_audio",
    "data",
    "format",
    "file",
    "file_id",
    "filename",
    "file_data",
    "refusal",
    "audio",
    "tools",
    "description",
    "parameters",
    "strict",
    "tool_choice",
    "response_format",
    "json_schema",
    "schema",
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "stop",
    "seed",
    "n",
    "stream",
    "stream_options",
    "include_usage",
    "user",
    "metadata",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "presence_penalty",
    "frequency_penalty",
    "parallel_tool_calls",
    "store",
    "service_tier",
    "reasoning_effort",
    "modalities",
    "prediction",
    "function_call",
    "functions",
    "voice",
    "web_search_options",
    // JSON Schema
    "properties",
    "required",
    "items",
    "enum",
    "title",
    "default",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "pattern",
    "anyOf",
    "oneOf",
    "allOf",
    "not",
    "$ref",
    "$defs",
    "definitions",
    "$schema",
    "additionalProperties",
    "const",
    "examples",
    "nullable",
    "uniqueItems",
    "multipleOf",
];

/// Fields whose string value is a closed vocabulary, and that vocabulary. A value outside it is
/// scanned.
const VOCABULARIES: &[(&str, &[&str])] = &[
    (
        "role",
        &[
            "system",
            "developer",
            "user",
            "assistant",
            "tool",
            "function",
        ],
    ),
    (
        "type",
        &[
            "text",
            "image_url",
            "input_audio",
            "file",
            "input_text",
            "input_image",
            "input_file",
            "refusal",
            "function",
            "json_object",
            "json_schema",
            "object",
            "string",
            "number",
            "integer",
            "boolean",
            "array",
            "null",
            "content",
        ],
    ),
    ("detail", &["auto", "low", "high"]),
    (
        "format",
        &[
            "wav",
            "mp3",
            "flac",
            "opus",
            "pcm16",
            "aac",
            "date-time",
            "date",
            "time",
            "duration",
            "email",
            "hostname",
            "ipv4",
            "ipv6",
            "uri",
            "uuid",
        ],
    ),
    ("tool_choice", &["none", "auto", "required"]),
    ("reasoning_effort", &["minimal", "low", "medium", "high"]),
    ("service_tier", &["auto", "default", "flex", "priority"]),
];

/// Text units are joined with a blank line so detectors see field boundaries as paragraph breaks.
pub const SEPARATOR: &str = "\n\n";

/// What a leaf is in the request, which decides whether redaction may rewrite it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafKind {
    /// A string value: may carry a placeholder.
    Text,
    /// The object key under which `pointer`'s value sits.
    Key,
    /// A number, as its JSON text.
    Number,
    /// The top-level `model`, which routing and the upstream must see verbatim.
    Model,
    /// A function's name (in a tool definition, a tool call or `tool_choice`): OpenAI accepts
    /// only `[a-zA-Z0-9_-]` there, so no placeholder can replace part of it.
    FunctionName,
}

impl LeafKind {
    /// Whether a placeholder may replace text in this leaf.
    pub fn rewritable(self) -> bool {
        self == LeafKind::Text
    }
}

/// One scanned piece of the request, located by JSON pointer, at `start` code points into its unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Leaf {
    /// For a key, the pointer of the value under it (its last segment is the key).
    pub pointer: String,
    pub kind: LeafKind,
    pub start: usize,
    pub chars: usize,
}

/// Texts scanned together.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanUnit {
    /// A JSON pointer naming what the unit covers (`/messages/3`, `/tools`, ``).
    pub source: String,
    /// Shared with the detection task (no copy of a 10 MB prompt per scan).
    pub text: Arc<String>,
    pub leaves: Vec<Leaf>,
    /// Numbers and the model name are read verbatim (no NER: it guesses on lone numbers).
    pub reading: Reading,
}

/// The source of the unit that holds every number and the model name.
pub const VERBATIM_SOURCE: &str = "#verbatim";

#[derive(Debug, Default)]
pub struct Extracted {
    pub units: Vec<ScanUnit>,
    /// Pointers of media content that text detectors cannot scan.
    pub unscannable: Vec<String>,
}

/// Splits a re-serialized chat request into scan units.
pub fn extract(body: &Value) -> Extracted {
    let mut out = Extracted::default();
    let mut rest = UnitBuilder::new(String::new());
    let mut verbatim = UnitBuilder::new(VERBATIM_SOURCE.to_owned());
    verbatim.reading = Reading::Verbatim;
    let mut walker = Walker {
        verbatim: &mut verbatim,
        unscannable: &mut out.unscannable,
    };
    let Some(obj) = body.as_object() else {
        walker.walk(body, "", &mut rest);
        out.units.extend([rest.finish(), verbatim.finish()]);
        out.units.retain(|u| !u.leaves.is_empty());
        return out;
    };
    for (key, value) in obj {
        let pointer = format!("/{}", escape(key));
        if !PROTOCOL_KEYS.contains(&key.as_str()) {
            rest.push(pointer.clone(), LeafKind::Key, key);
        }
        match (key.as_str(), value) {
            ("model", Value::String(model)) => {
                walker.verbatim.push(pointer, LeafKind::Model, model)
            }
            ("messages", Value::Array(messages)) => {
                for (i, message) in messages.iter().enumerate() {
                    let pointer = format!("{pointer}/{i}");
                    let mut unit = UnitBuilder::new(pointer.clone());
                    walker.walk(message, &pointer, &mut unit);
                    out.units.push(unit.finish());
                }
            }
            ("tools" | "functions", _) => {
                let mut unit = UnitBuilder::new(pointer.clone());
                walker.walk(value, &pointer, &mut unit);
                out.units.push(unit.finish());
            }
            _ => walker.walk_field(key, value, &pointer, &mut rest),
        }
    }
    out.units.extend([rest.finish(), verbatim.finish()]);
    out.units.retain(|u| !u.leaves.is_empty());
    out
}

struct UnitBuilder {
    source: String,
    reading: Reading,
    text: String,
    leaves: Vec<Leaf>,
    chars: usize,
}

impl UnitBuilder {
    fn new(source: String) -> Self {
        UnitBuilder {
            source,
            reading: Reading::Prose,
            text: String::new(),
            leaves: Vec::new(),
            chars: 0,
        }
    }

    fn push(&mut self, pointer: String, kind: LeafKind, text: &str) {
        if text.is_empty() {
            return;
        }
        if !self.leaves.is_empty() {
            self.text.push_str(SEPARATOR);
            self.chars += SEPARATOR.len();
        }
        let chars = text.chars().count();
        self.leaves.push(Leaf {
            pointer,
            kind,
            start: self.chars,
            chars,
        });
        self.text.push_str(text);
        self.chars += chars;
    }

    fn finish(self) -> ScanUnit {
        ScanUnit {
            source: self.source,
            text: Arc::new(self.text),
            leaves: self.leaves,
            reading: self.reading,
        }
    }
}

/// The walk over one part of the request: text goes to the unit given, numbers to the one
/// verbatim unit, media to the unscannable list.
struct Walker<'a> {
    verbatim: &'a mut UnitBuilder,
    unscannable: &'a mut Vec<String>,
}

impl Walker<'_> {
    /// Walks the value of field `key` (at `pointer`).
    fn walk_field(&mut self, key: &str, value: &Value, pointer: &str, unit: &mut UnitBuilder) {
        if let Value::String(s) = value {
            if is_vocabulary(key, s) {
                return;
            }
        }
        self.walk(value, pointer, unit);
    }

    fn walk(&mut self, value: &Value, pointer: &str, unit: &mut UnitBuilder) {
        match value {
            Value::String(s) => {
                let kind = if is_function_name(pointer) {
                    LeafKind::FunctionName
                } else {
                    LeafKind::Text
                };
                unit.push(pointer.to_owned(), kind, s)
            }
            Value::Number(n) => {
                self.verbatim
                    .push(pointer.to_owned(), LeafKind::Number, &n.to_string())
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    self.walk(v, &format!("{pointer}/{i}"), unit);
                }
            }
            Value::Object(map) => {
                let part_type = map.get("type").and_then(Value::as_str);
                if part_type.is_some_and(|t| MEDIA_PART_TYPES.contains(&t)) {
                    self.unscannable.push(pointer.to_owned());
                }
                for (k, v) in map {
                    let pointer = format!("{pointer}/{}", escape(k));
                    if !PROTOCOL_KEYS.contains(&k.as_str()) {
                        unit.push(pointer.clone(), LeafKind::Key, k);
                    }
                    self.walk_field(k, v, &pointer, unit);
                }
            }
            Value::Null | Value::Bool(_) => {}
        }
    }
}

/// Whether `pointer` names a function's name: `.../function/name`, `.../function_call/name` or
/// `/functions/N/name`.
fn is_function_name(pointer: &str) -> bool {
    let Some(parent) = pointer.strip_suffix("/name") else {
        return false;
    };
    parent.ends_with("/function")
        || parent.ends_with("/function_call")
        || parent
            .strip_prefix("/functions/")
            .is_some_and(|i| i.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether `value` is one of the known values of field `key`.
fn is_vocabulary(key: &str, value: &str) -> bool {
    VOCABULARIES
        .iter()
        .any(|(field, values)| *field == key && values.contains(&value))
}

/// RFC 6901 escaping of a pointer segment.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The text a leaf stands for in `request` (the re-serialized body the units were built from).
pub fn leaf_text(request: &Value, leaf: &Leaf) -> Option<String> {
    match leaf.kind {
        LeafKind::Text | LeafKind::Model | LeafKind::FunctionName => {
            request.pointer(&leaf.pointer)?.as_str().map(str::to_owned)
        }
        LeafKind::Number => match request.pointer(&leaf.pointer)? {
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        },
        LeafKind::Key => {
            request.pointer(&leaf.pointer)?;
            let segment = leaf.pointer.rsplit('/').next()?;
            Some(segment.replace("~1", "/").replace("~0", "~"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn all_text(ex: &Extracted) -> String {
        ex.units
            .iter()
            .map(|u| u.text.to_string())
            .collect::<Vec<_>>()
            .join("|")
    }

    #[test]
    fn every_forwarded_string_is_in_some_unit() {
        let body = json!({
            "model": "gpt-4o",
            "messages": [
                {"role": "system", "content": "You help doctors."},
                {"role": "user", "name": "dr_jones", "content": [
                    {"type": "text", "text": "Patient Jane Roe"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}}
                ]},
                {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function",
                    "function": {"name": "lookup", "arguments": "{\"ssn\":\"512-48-7391\"}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "MRN 1234"}
            ],
            "tools": [{"type": "function", "function": {"name": "lookup", "description": "Find a patient by SSN",
                "parameters": {"type": "object", "properties": {"ssn": {"type": "string", "description": "the SSN"}}}}}],
            "user": "jane@example.com",
            "metadata": {"note": "ward 7"},
            "temperature": 0.2
        });
        let ex = extract(&body);
        let all = all_text(&ex);
        for needle in [
            "You help doctors.",
            "dr_jones",
            "Patient Jane Roe",
            "512-48-7391",
            "MRN 1234",
            "Find a patient by SSN",
            "the SSN",
            "jane@example.com",
            "ward 7",
            "lookup",
            "call_1",
            "gpt-4o",
            "0.2",
            "note",
            "ssn",
        ] {
            assert!(all.contains(needle), "missing {needle}");
        }
        // Vocabulary values and protocol keys are not text.
        assert!(!all.contains("assistant") && !all.contains("function|"));
        assert!(!all.contains("properties") && !all.contains("object"));
        assert_eq!(ex.unscannable, vec!["/messages/1/content/1".to_string()]);
        assert_eq!(ex.units[0].source, "/messages/0");
        // Four messages, tools, the other fields, and the model with the numbers.
        assert_eq!(ex.units.len(), 7);
        let verbatim = ex.units.last().unwrap();
        assert_eq!(verbatim.reading, Reading::Verbatim);
        assert_eq!(&*verbatim.text, "gpt-4o\n\n0.2");
    }

    #[test]
    fn vocabulary_fields_with_other_values_are_scanned() {
        let body = json!({
            "model": "m",
            "messages": [{"role": "user", "content": "hi"}],
            "metadata": {"362-57-6552": "customer", "type": "patient Jane Roe ssn 362-57-6552"},
            "seed": 4514397298150617u64,
            "logit_bias": {"620109045": 5},
            "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": {
                "type": "object", "format": "Jane Roe", "properties": {"Jane Roe": {"type": "string"}}}}}
        });
        let ex = extract(&body);
        let all = all_text(&ex);
        for needle in [
            "362-57-6552|",
            "patient Jane Roe ssn 362-57-6552",
            "4514397298150617",
            "620109045",
            "Jane Roe",
        ] {
            assert!(
                all.contains(needle.trim_end_matches('|')),
                "missing {needle}"
            );
        }
        let kinds: Vec<(LeafKind, String)> = ex
            .units
            .iter()
            .flat_map(|u| u.leaves.iter())
            .map(|l| (l.kind, leaf_text(&body, l).unwrap()))
            .collect();
        assert!(kinds.contains(&(LeafKind::Key, "362-57-6552".into())));
        assert!(kinds.contains(&(LeafKind::Number, "4514397298150617".into())));
        assert!(kinds.contains(&(LeafKind::Key, "620109045".into())));
        assert!(kinds.contains(&(LeafKind::Key, "Jane Roe".into())));
        assert!(kinds.contains(&(LeafKind::Model, "m".into())));
        assert!(kinds.contains(&(LeafKind::Text, "Jane Roe".into())));
    }

    #[test]
    fn leaves_locate_their_text() {
        let body = json!({"model": "m", "messages": [{"role": "user", "content": "héllo", "name": "Zoë",
            "x/é~": {"ké": 12.5}}]});
        let ex = extract(&body);
        for u in &ex.units {
            let chars: Vec<char> = u.text.chars().collect();
            for leaf in &u.leaves {
                let text: String = chars[leaf.start..leaf.start + leaf.chars].iter().collect();
                assert_eq!(Some(text), leaf_text(&body, leaf), "{leaf:?}");
            }
        }
    }

    mod coverage {
        use super::super::*;
        use crate::openai::parse_request;
        use proptest::prelude::*;
        use serde_json::{json, Map};

        /// Arbitrary JSON: strings with digits, dashes and letters, numbers of any size, nested
        /// objects whose keys are as arbitrary as their values.
        fn any_json() -> impl Strategy<Value = Value> {
            let text = "[a-zA-Z0-9 @.-]{0,12}";
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(|n| json!(n)),
                any::<u64>().prop_map(|n| json!(n)),
                (-1e12f64..1e12).prop_map(|f| json!(f)),
                text.prop_map(Value::String),
                prop::sample::select(vec!["user", "text", "function", "auto", "object"])
                    .prop_map(|s| Value::String(s.to_owned())),
            ];
            leaf.prop_recursive(4, 48, 6, move |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::vec((key(), inner), 0..4)
                        .prop_map(|entries| Value::Object(entries.into_iter().collect())),
                ]
            })
        }

        /// Keys: client text, or the protocol's own field names (which may be skipped).
        fn key() -> impl Strategy<Value = String> {
            prop_oneof![
                "[a-zA-Z0-9 /~_-]{0,10}",
                prop::sample::select(vec!["type", "role", "name", "properties", "format"])
                    .prop_map(str::to_owned),
            ]
        }

        fn request() -> impl Strategy<Value = Value> {
            (
                "[a-z0-9-]{1,12}",
                "[a-zA-Z0-9 -]{0,20}",
                prop::collection::vec((key(), any_json()), 0..3),
                prop::collection::vec((key(), any_json()), 0..3),
                any_json(),
            )
                .prop_map(|(model, content, top, in_message, parameters)| {
                    let mut message = Map::new();
                    message.insert("role".into(), json!("user"));
                    message.insert("content".into(), json!(content));
                    for (k, v) in in_message {
                        message.entry(k).or_insert(v);
                    }
                    let mut body = Map::new();
                    body.insert("model".into(), json!(model));
                    body.insert("messages".into(), json!([message]));
                    body.insert(
                        "tools".into(),
                        json!([{"type": "function", "function": {"name": "f", "parameters": parameters}}]),
                    );
                    for (k, v) in top {
                        body.entry(k).or_insert(v);
                    }
                    Value::Object(body)
                })
        }

        /// Every string, key and number of `outbound`, with its pointer and the key above it.
        fn pieces(
            value: &Value,
            pointer: &str,
            key: &str,
            out: &mut Vec<(LeafKind, String, String)>,
        ) {
            match value {
                Value::String(s) => {
                    let kind = if pointer == "/model" {
                        LeafKind::Model
                    } else if is_function_name(pointer) {
                        LeafKind::FunctionName
                    } else {
                        LeafKind::Text
                    };
                    if !s.is_empty() && !is_vocabulary(key, s) {
                        out.push((kind, pointer.to_owned(), s.clone()));
                    }
                }
                Value::Number(n) => out.push((LeafKind::Number, pointer.to_owned(), n.to_string())),
                Value::Array(items) => {
                    for (i, v) in items.iter().enumerate() {
                        pieces(v, &format!("{pointer}/{i}"), key, out);
                    }
                }
                Value::Object(map) => {
                    for (k, v) in map {
                        let p = format!("{pointer}/{}", escape(k));
                        if !k.is_empty() && !PROTOCOL_KEYS.contains(&k.as_str()) {
                            out.push((LeafKind::Key, p.clone(), k.clone()));
                        }
                        pieces(v, &p, k, out);
                    }
                }
                Value::Null | Value::Bool(_) => {}
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn everything_forwarded_is_in_a_scan_unit(body in request()) {
                let Ok(request) = parse_request(&serde_json::to_vec(&body).unwrap()) else {
                    return Ok(());
                };
                // Exactly the bytes a backend receives, read back.
                let outbound: Value =
                    serde_json::from_slice(&serde_json::to_vec(&request).unwrap()).unwrap();
                let ex = extract(&serde_json::to_value(&request).unwrap());
                let leaves: Vec<(LeafKind, String, String)> = ex
                    .units
                    .iter()
                    .flat_map(|u| {
                        let chars: Vec<char> = u.text.chars().collect();
                        u.leaves.iter().map(move |l| {
                            let text: String = chars[l.start..l.start + l.chars].iter().collect();
                            (l.kind, l.pointer.clone(), text)
                        })
                    })
                    .collect();
                let mut expected = Vec::new();
                pieces(&outbound, "", "", &mut expected);
                for piece in &expected {
                    prop_assert!(leaves.contains(piece), "not scanned: {piece:?}");
                }
                for (kind, pointer, text) in &leaves {
                    let leaf = Leaf { pointer: pointer.clone(), kind: *kind, start: 0, chars: 0 };
                    let found = leaf_text(&outbound, &leaf);
                    prop_assert_eq!(found.as_ref(), Some(text));
                }
            }
        }
    }
}
