//! `response_format` on the local model: JSON answers enforced by a grammar.
//!
//! Clients that ask for `json_object` or `json_schema` parse the answer, so a small model's
//! free text would break them. A GBNF grammar restricts sampling to syntactically valid JSON (an
//! object at the top, as OpenAI's JSON mode promises); generation can only end once the object is
//! closed. A `json_schema` is shown to the model in the system prompt, but only JSON syntax is
//! enforced, not the schema itself.

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
