//! Every piece of text a request would carry out of the building, grouped for scanning.
//!
//! The request is walked as raw JSON rather than through typed structs, so that text in fields sluice
//! does not know (new OpenAI parameters, `user`, `metadata`, vendor extensions) is scanned too:
//! whatever is forwarded is scanned. Texts are grouped into one unit per message (scanned once and
//! cached by content hash, so a long chat history is not re-scanned every turn), one for `tools`, and
//! one for everything else. Content that text detectors cannot judge (images, audio, files) is
//! reported as unscannable, and the gateway treats it as sensitive.

use serde_json::Value;

/// Keys whose string values are protocol vocabulary or opaque ids, never user text.
const STRUCTURAL_KEYS: &[&str] = &["role", "type", "tool_call_id", "detail", "format"];

/// Content part types that carry media rather than text.
const MEDIA_PART_TYPES: &[&str] = &[
    "image_url",
    "input_audio",
    "file",
    "input_image",
    "input_file",
];

/// Text units are joined with a blank line so detectors see field boundaries as paragraph breaks.
pub const SEPARATOR: &str = "\n\n";

/// One string of the request, located by JSON pointer, at `start` code points into its unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Leaf {
    pub pointer: String,
    pub start: usize,
    pub chars: usize,
}

/// Texts scanned together.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanUnit {
    /// A JSON pointer naming what the unit covers (`/messages/3`, `/tools`, ``).
    pub source: String,
    pub text: String,
    pub leaves: Vec<Leaf>,
}

#[derive(Debug, Default)]
pub struct Extracted {
    pub units: Vec<ScanUnit>,
    /// Pointers of media content that text detectors cannot scan.
    pub unscannable: Vec<String>,
}

/// Splits a parsed chat request into scan units. `model` at the top level is routing, not content.
pub fn extract(body: &Value) -> Extracted {
    let mut out = Extracted::default();
    let Some(obj) = body.as_object() else {
        return out;
    };
    let mut rest = UnitBuilder::new(String::new());
    for (key, value) in obj {
        let pointer = format!("/{}", escape(key));
        match key.as_str() {
            "model" => {}
            "messages" => {
                if let Some(msgs) = value.as_array() {
                    for (i, m) in msgs.iter().enumerate() {
                        let mut unit = UnitBuilder::new(format!("{pointer}/{i}"));
                        walk(
                            m,
                            &format!("{pointer}/{i}"),
                            &mut unit,
                            &mut out.unscannable,
                        );
                        out.units.push(unit.finish());
                    }
                } else {
                    walk(value, &pointer, &mut rest, &mut out.unscannable);
                }
            }
            "tools" | "functions" => {
                let mut unit = UnitBuilder::new(pointer.clone());
                walk(value, &pointer, &mut unit, &mut out.unscannable);
                out.units.push(unit.finish());
            }
            _ => walk(value, &pointer, &mut rest, &mut out.unscannable),
        }
    }
    let rest = rest.finish();
    if !rest.leaves.is_empty() {
        out.units.push(rest);
    }
    out.units.retain(|u| !u.leaves.is_empty());
    out
}

struct UnitBuilder {
    unit: ScanUnit,
    chars: usize,
}

impl UnitBuilder {
    fn new(source: String) -> Self {
        UnitBuilder {
            unit: ScanUnit {
                source,
                text: String::new(),
                leaves: Vec::new(),
            },
            chars: 0,
        }
    }

    fn push(&mut self, pointer: String, text: &str) {
        if text.is_empty() {
            return;
        }
        if !self.unit.leaves.is_empty() {
            self.unit.text.push_str(SEPARATOR);
            self.chars += SEPARATOR.len();
        }
        let chars = text.chars().count();
        self.unit.leaves.push(Leaf {
            pointer,
            start: self.chars,
            chars,
        });
        self.unit.text.push_str(text);
        self.chars += chars;
    }

    fn finish(self) -> ScanUnit {
        self.unit
    }
}

fn walk(value: &Value, pointer: &str, unit: &mut UnitBuilder, unscannable: &mut Vec<String>) {
    match value {
        Value::String(s) => unit.push(pointer.to_owned(), s),
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                walk(v, &format!("{pointer}/{i}"), unit, unscannable);
            }
        }
        Value::Object(map) => {
            let part_type = map.get("type").and_then(Value::as_str);
            if part_type.is_some_and(|t| MEDIA_PART_TYPES.contains(&t)) {
                unscannable.push(pointer.to_owned());
            }
            for (k, v) in map {
                if STRUCTURAL_KEYS.contains(&k.as_str()) && v.is_string() {
                    continue;
                }
                walk(v, &format!("{pointer}/{}", escape(k)), unit, unscannable);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// RFC 6901 escaping of a pointer segment.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
                    "function": {"name": "lookup", "arguments": "{\"ssn\":\"219-09-9999\"}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "MRN 1234"}
            ],
            "tools": [{"type": "function", "function": {"name": "lookup", "description": "Find a patient by SSN",
                "parameters": {"type": "object", "properties": {"ssn": {"type": "string", "description": "the SSN"}}}}}],
            "user": "jane@example.com",
            "metadata": {"note": "ward 7"},
            "temperature": 0.2
        });
        let ex = extract(&body);
        let all: String = ex
            .units
            .iter()
            .map(|u| u.text.clone())
            .collect::<Vec<_>>()
            .join("|");
        for needle in [
            "You help doctors.",
            "dr_jones",
            "Patient Jane Roe",
            "219-09-9999",
            "MRN 1234",
            "Find a patient by SSN",
            "the SSN",
            "jane@example.com",
            "ward 7",
            "lookup",
        ] {
            assert!(all.contains(needle), "missing {needle}");
        }
        assert!(!all.contains("gpt-4o"));
        assert!(!all.contains("assistant") && !all.contains("function|"));
        assert_eq!(ex.unscannable, vec!["/messages/1/content/1".to_string()]);
        assert_eq!(ex.units[0].source, "/messages/0");
        assert_eq!(ex.units.len(), 6);
    }

    #[test]
    fn leaves_locate_their_text() {
        let body = json!({"messages": [{"role": "user", "content": "héllo", "name": "Zoë"}]});
        let ex = extract(&body);
        let u = &ex.units[0];
        let chars: Vec<char> = u.text.chars().collect();
        for leaf in &u.leaves {
            let text: String = chars[leaf.start..leaf.start + leaf.chars].iter().collect();
            let expected = body.pointer(&leaf.pointer).unwrap().as_str().unwrap();
            assert_eq!(text, expected);
        }
    }
}
