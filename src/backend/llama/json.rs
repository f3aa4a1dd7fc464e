//! `response_format` on the local model: JSON answers enforced by a grammar.
//!
//! Clients that ask for `json_object` or `json_schema` parse the answer, so a small model's
//! free text would break them. A GBNF grammar restricts sampling to valid JSON (an object at the
//! top, as OpenAI's JSON mode promises); generation can only end once the object is closed. A
//! `json_schema` is turned into a grammar of its own by llama.cpp's converter, so the answer
//! matches the schema (property names, types, required properties, enums); a schema the
//! converter cannot express is refused with a 400 rather than loosened in silence.

use serde_json::Value;

use crate::backend::BackendError;
use crate::openai::ChatCompletionRequest;

/// JSON with an object at the top. Whitespace is bounded so a small model cannot loop on it.
pub const JSON_OBJECT_GRAMMAR: &str = r#"
root   ::= object
value  ::= object | array | string | number | "true" | "false" | "null"
object ::= "{" ws ( member ( ws "," ws member )* )? ws "}"
member ::= string ws ":" ws value
array  ::= "[" ws ( value ( ws "," ws value )* )? ws "]"
string ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{4} ) )* "\""
number ::= "-"? ( "0" | [1-9] [0-9]{0,15} ) ( "." [0-9]{1,16} )? ( [eE] [-+]? [0-9]{1,3} )?
ws     ::= ( " " | "\n" [ \t]{0,16} )?
"#;

/// What the answer must look like.
#[derive(Debug, Clone, PartialEq)]
pub enum OutputFormat {
    Text,
    /// A JSON object; `schema` is the client's JSON schema, if it gave one.
    Json {
        schema: Option<Value>,
    },
}

impl OutputFormat {
    /// The grammar that enforces this format, if any.
    pub fn grammar(&self) -> Result<Option<String>, BackendError> {
        match self {
            OutputFormat::Text => Ok(None),
            OutputFormat::Json { schema: None } => Ok(Some(JSON_OBJECT_GRAMMAR.to_owned())),
            OutputFormat::Json {
                schema: Some(schema),
            } => schema_grammar(schema, "response_format.json_schema.schema").map(Some),
        }
    }
}

/// The GBNF grammar of a JSON schema (rule `root`). `param` names the schema in the error.
///
/// String `pattern`s are left out of the grammar (the model still reads them in the prompt):
/// llama.cpp's converter writes every pattern it cannot express straight to stderr, quoting it,
/// and a pattern is client text that must not reach the gateway's logs.
pub fn schema_grammar(schema: &Value, param: &str) -> Result<String, BackendError> {
    let schema = without_patterns(schema);
    llama_cpp_2::json_schema_to_grammar(&schema.to_string()).map_err(|_| BackendError::BadRequest {
        message: "the local model cannot enforce this JSON schema (llama.cpp's grammar converter                   rejects it: unresolvable $ref or an unsupported construct)"
            .to_owned(),
        param: Some(param.to_owned()),
    })
}

/// Keywords whose value is a map of names to subschemas.
const SCHEMA_MAPS: &[&str] = &[
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
];

/// `schema` without its `pattern` keywords, at any depth. Only schema positions are walked, so
/// a property that happens to be called `pattern` stays.
fn without_patterns(schema: &Value) -> Value {
    let Value::Object(node) = schema else {
        return match schema {
            Value::Array(items) => Value::Array(items.iter().map(without_patterns).collect()),
            other => other.clone(),
        };
    };
    let mut out = serde_json::Map::with_capacity(node.len());
    for (key, value) in node {
        let kept = match (key.as_str(), value) {
            ("pattern", Value::String(_)) => continue,
            (map, Value::Object(entries)) if SCHEMA_MAPS.contains(&map) => Value::Object(
                entries
                    .iter()
                    .map(|(name, sub)| (name.clone(), without_patterns(sub)))
                    .collect(),
            ),
            // Data, not schemas: kept exactly.
            ("enum" | "const" | "default" | "examples" | "required", _) => value.clone(),
            (_, Value::Object(_) | Value::Array(_)) => without_patterns(value),
            _ => value.clone(),
        };
        out.insert(key.clone(), kept);
    }
    Value::Object(out)
}

/// Reads `response_format`.
pub fn output_format(request: &ChatCompletionRequest) -> Result<OutputFormat, BackendError> {
    let Some(format) = &request.response_format else {
        return Ok(OutputFormat::Text);
    };
    let bad = |message: &str| BackendError::BadRequest {
        message: message.to_owned(),
        param: Some("response_format".to_owned()),
    };
    match format.get("type").and_then(Value::as_str) {
        Some("text") => Ok(OutputFormat::Text),
        Some("json_object") => Ok(OutputFormat::Json { schema: None }),
        Some("json_schema") => Ok(OutputFormat::Json {
            schema: format
                .get("json_schema")
                .and_then(|spec| spec.get("schema"))
                .cloned(),
        }),
        Some(_) => Err(bad(
            "response_format.type must be text, json_object or json_schema",
        )),
        None => Err(bad("response_format needs a type")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openai::parse_request;

    fn format_of(response_format: &str) -> Result<OutputFormat, BackendError> {
        let body = format!(
            r#"{{"model":"m","messages":[{{"role":"user","content":"x"}}],"response_format":{response_format}}}"#
        );
        output_format(&parse_request(body.as_bytes()).unwrap())
    }

    #[test]
    fn reads_the_three_formats() {
        assert_eq!(format_of(r#"{"type":"text"}"#).unwrap(), OutputFormat::Text);
        assert_eq!(
            format_of(r#"{"type":"json_object"}"#).unwrap(),
            OutputFormat::Json { schema: None }
        );
        assert_eq!(
            format_of(
                r#"{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"object"}}}"#
            )
            .unwrap(),
            OutputFormat::Json {
                schema: Some(serde_json::json!({"type":"object"}))
            }
        );
    }

    #[test]
    fn a_schema_becomes_its_own_grammar_and_an_unusable_one_is_refused() {
        let format = format_of(
            r#"{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"object","properties":{"city":{"enum":["Paris","Oslo"]}},"required":["city"]}}}"#,
        )
        .unwrap();
        let grammar = format.grammar().unwrap().unwrap();
        assert!(
            grammar.contains(r#"\"Paris\""#) && grammar.contains("root ::="),
            "{grammar}"
        );
        let broken = format_of(
            r##"{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"object","properties":{"a":{"$ref":"#/nowhere"}}}}}"##,
        )
        .unwrap();
        assert!(matches!(
            broken.grammar(),
            Err(BackendError::BadRequest { param: Some(p), .. }) if p == "response_format.json_schema.schema"
        ));
        assert_eq!(
            format_of(r#"{"type":"json_object"}"#)
                .unwrap()
                .grammar()
                .unwrap()
                .as_deref(),
            Some(JSON_OBJECT_GRAMMAR)
        );
    }

    #[test]
    fn patterns_are_left_out_of_the_grammar_but_a_property_called_pattern_is_not() {
        let schema = serde_json::json!({"type": "object", "properties": {
            "zip": {"type": "string", "pattern": "[0-9]{5}"},
            "pattern": {"type": "string"},
            "list": {"type": "array", "items": {"anyOf": [{"type": "string", "pattern": "^a+$"}]}},
        }, "required": ["pattern"], "enum": [{"pattern": "x"}]});
        let stripped = without_patterns(&schema);
        let text = stripped.to_string();
        assert!(
            !text.contains("[0-9]{5}") && !text.contains("^a+$"),
            "{text}"
        );
        assert!(stripped["properties"]["pattern"].is_object());
        assert_eq!(stripped["enum"], schema["enum"]);
        assert!(schema_grammar(&schema, "p").unwrap().contains("root ::="));
    }

    #[test]
    fn unknown_formats_are_bad_requests() {
        assert!(matches!(
            format_of(r#"{"type":"yaml"}"#),
            Err(BackendError::BadRequest { .. })
        ));
        assert!(matches!(
            format_of(r#"{}"#),
            Err(BackendError::BadRequest { .. })
        ));
    }
}
