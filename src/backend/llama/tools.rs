//! Tool calls on the local model.
//!
//! A call is a JSON object `{"name": ..., "parameters": {...}}` whose shape a grammar enforces:
//! the name is one of the offered functions and the parameters match that function's JSON
//! schema, so what comes back is a well-formed `tool_calls` entry, never text that merely looks
//! like one. `tool_choice: "required"` (or a named function) makes the call the only thing the
//! model may write; `auto` lets it write either a call (an answer that starts with `{`) or plain
//! text. `none`, or no tools, leaves the answer free text. (The keys are `name` and
//! `parameters` because llama.cpp's converter lays properties out in sorted order and the model
//! must choose the function before writing its arguments.)

use serde_json::{json, Value};

use super::json::schema_grammar;
use crate::backend::BackendError;
use crate::openai::{ChatCompletionRequest, Extra, FunctionCall, FunctionDefinition, ToolCall};

/// Whether, and how, the answer may call a tool.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolMode {
    /// Plain text only.
    Off,
    /// A call or plain text, the model's choice.
    Auto,
    /// A call, and nothing else.
    Required,
}

/// What the tools of a request mean for generation.
#[derive(Debug, Clone)]
pub struct ToolPlan {
    pub mode: ToolMode,
    /// The grammar for the answer (rule `root`), unless the mode is `Off`.
    pub grammar: Option<String>,
    /// The functions the model may call, for the system prompt.
    pub offered: Vec<FunctionDefinition>,
}

impl ToolPlan {
    /// Reads `tools` and `tool_choice`. A named function that was not offered, a tool type
    /// other than `function`, or a schema the grammar converter cannot express is a 400: the
    /// client asked for something the local model would otherwise silently not do.
    pub fn of(request: &ChatCompletionRequest) -> Result<ToolPlan, BackendError> {
        let off = ToolPlan {
            mode: ToolMode::Off,
            grammar: None,
            offered: Vec::new(),
        };
        let tools = match request.tools.as_deref() {
            None | Some([]) => return Ok(off),
            Some(tools) => tools,
        };
        let mut offered = Vec::with_capacity(tools.len());
        for (i, tool) in tools.iter().enumerate() {
            match (&*tool.kind, &tool.function) {
                ("function", Some(function)) => offered.push(function.clone()),
                _ => {
                    return Err(BackendError::BadRequest {
                        message: "the local model calls function tools only".to_owned(),
                        param: Some(format!("tools[{i}]")),
                    })
                }
            }
        }
        let bad = |message: &str| BackendError::BadRequest {
            message: message.to_owned(),
            param: Some("tool_choice".to_owned()),
        };
        let mode = match &request.tool_choice {
            None => ToolMode::Auto,
            Some(Value::String(choice)) => match choice.as_str() {
                "none" => return Ok(off),
                "auto" => ToolMode::Auto,
                "required" => ToolMode::Required,
                _ => {
                    return Err(bad(
                        "tool_choice must be none, auto, required or a function",
                    ))
                }
            },
            Some(choice) => {
                let name = choice
                    .get("function")
                    .and_then(|f| f.get("name"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("tool_choice must name a function"))?;
                offered.retain(|f| f.name == name);
                if offered.is_empty() {
                    return Err(bad("tool_choice names a function that is not in tools"));
                }
                ToolMode::Required
            }
        };
        let grammar = call_grammar(&offered, &mode)?;
        Ok(ToolPlan {
            mode,
            grammar: Some(grammar),
            offered,
        })
    }

    /// The system prompt paragraph that tells the model how to call, if it may.
    pub fn paragraph(&self) -> Option<String> {
        let lead = match self.mode {
            ToolMode::Off => return None,
            ToolMode::Auto => "You can call these tools. To call one, answer with only a JSON object {\"name\": <tool name>, \"parameters\": <its arguments>}; otherwise answer in plain text.",
            ToolMode::Required => "Call one of these tools: answer with only a JSON object {\"name\": <tool name>, \"parameters\": <its arguments>}.",
        };
        let mut text = lead.to_owned();
        for function in &self.offered {
            text.push_str("\n- ");
            text.push_str(&function.name);
            if let Some(description) = &function.description {
                text.push_str(": ");
                text.push_str(description);
            }
            if let Some(parameters) = &function.parameters {
                text.push_str(" Parameters: ");
                text.push_str(&parameters.to_string());
            }
        }
        Some(text)
    }
}

/// One object schema per offered function (`name` fixed, `parameters` its schema), any of
/// them; in `auto` mode the alternative is text that does not start with `{`.
fn call_grammar(offered: &[FunctionDefinition], mode: &ToolMode) -> Result<String, BackendError> {
    let calls: Vec<Value> = offered
        .iter()
        .map(|f| {
            json!({
                "type": "object",
                "properties": {
                    "name": {"const": f.name},
                    "parameters": f.parameters.clone().unwrap_or_else(|| json!({"type": "object"})),
                },
                "required": ["name", "parameters"],
                "additionalProperties": false,
            })
        })
        .collect();
    let grammar = schema_grammar(&json!({ "anyOf": calls }), "tools")?;
    if *mode == ToolMode::Required {
        return Ok(grammar);
    }
    // The converter's `root` becomes the call rule; the new root adds the text alternative.
    let mut out = String::from("root ::= call | text\ntext ::= [^{ \\t\\r\\n] [^\\x00]*\n");
    for line in grammar.lines() {
        match line.strip_prefix("root ::=") {
            Some(rest) => out.push_str(&format!("call ::={rest}\n")),
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    Ok(out)
}

/// The tool call an answer makes, if it is one: `{"name", "parameters"}` as the grammar writes
/// it. The call gets a fresh id; its arguments are the parameters as JSON text.
pub fn parse_call(text: &str) -> Option<ToolCall> {
    let text = text.trim();
    if !text.starts_with('{') {
        return None;
    }
    let value: Value = serde_json::from_str(text).ok()?;
    let name = value.get("name")?.as_str()?.to_owned();
    let arguments = value.get("parameters")?.clone();
    Some(ToolCall {
        id: format!("call_{}", uuid::Uuid::new_v4().simple()),
        kind: "function".to_owned(),
        function: FunctionCall {
            name,
            arguments: arguments.to_string(),
            extra: Extra::new(),
        },
        extra: Extra::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openai::parse_request;

    fn plan(extra: &str) -> Result<ToolPlan, BackendError> {
        let body = format!(
            r#"{{"model":"m","messages":[{{"role":"user","content":"x"}}],
                "tools":[{{"type":"function","function":{{"name":"get_weather","description":"Weather","parameters":{{"type":"object","properties":{{"city":{{"type":"string"}}}},"required":["city"]}}}}}},
                         {{"type":"function","function":{{"name":"get_time"}}}}]{extra}}}"#
        );
        ToolPlan::of(&parse_request(body.as_bytes()).unwrap())
    }

    #[test]
    fn modes_follow_tool_choice() {
        assert_eq!(plan("").unwrap().mode, ToolMode::Auto);
        assert_eq!(
            plan(r#","tool_choice":"none""#).unwrap().mode,
            ToolMode::Off
        );
        assert_eq!(
            plan(r#","tool_choice":"required""#).unwrap().mode,
            ToolMode::Required
        );
        let named =
            plan(r#","tool_choice":{"type":"function","function":{"name":"get_time"}}"#).unwrap();
        assert_eq!(named.mode, ToolMode::Required);
        assert_eq!(named.offered.len(), 1);
        assert!(!named.grammar.unwrap().contains("get_weather"));
        assert!(matches!(
            plan(r#","tool_choice":{"type":"function","function":{"name":"nope"}}"#),
            Err(BackendError::BadRequest { param: Some(p), .. }) if p == "tool_choice"
        ));
    }

    #[test]
    fn the_grammar_fixes_names_and_schemas_and_auto_allows_text() {
        let required = plan(r#","tool_choice":"required""#)
            .unwrap()
            .grammar
            .unwrap();
        assert!(required.contains("\"\\\"get_weather\\\"\""), "{required}");
        assert!(required.contains("\"\\\"city\\\"\""), "{required}");
        assert!(!required.contains("text ::="));
        let auto = plan("").unwrap().grammar.unwrap();
        assert!(auto.starts_with("root ::= call | text\n"), "{auto}");
        assert_eq!(auto.matches("root ::=").count(), 1);
        assert!(auto.contains("call ::="));
    }

    #[test]
    fn answers_that_are_calls_become_tool_calls() {
        let call =
            parse_call(" {\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}\n")
                .unwrap();
        assert_eq!(call.function.name, "get_weather");
        assert_eq!(call.function.arguments, "{\"city\":\"Paris\"}");
        assert!(call.id.starts_with("call_"));
        assert!(parse_call("It is sunny.").is_none());
        assert!(parse_call("{\"name\": \"get_weather\", \"param").is_none());
    }
}
