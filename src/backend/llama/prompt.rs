//! Turning an OpenAI conversation into the model's prompt tokens.
//!
//! The model's own chat template (ChatML for SmolLM2) lays out the turns; it only knows plain
//! text turns, so everything else is rendered into text first:
//! * `developer` messages become `system` messages (the role newer OpenAI models use for them);
//! * tool definitions become a paragraph of the system prompt that says how to call them (the
//!   grammar of `tools` makes the call well-formed);
//! * earlier assistant tool calls are written out as text, and tool results are `tool` turns;
//! * a requested JSON format (and its schema) is stated in the system prompt;
//! * image, audio and file parts are refused: the local model cannot read them, and silently
//!   dropping them would answer a different question than the one asked.
//!
//! Tokenizing with `parse_special = true` makes the template's ChatML tags control tokens.

use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::token::LlamaToken;

use super::json::OutputFormat;
use super::tools::ToolPlan;
use crate::backend::BackendError;
use crate::openai::{ChatCompletionRequest, MessageContent, Role};

/// One turn as the chat template sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    pub role: &'static str,
    pub content: String,
}

/// Renders the request's messages (and tools) into plain text turns.
pub fn render_turns(
    request: &ChatCompletionRequest,
    format: &OutputFormat,
    tools: &ToolPlan,
) -> Result<Vec<Turn>, BackendError> {
    let mut turns = Vec::with_capacity(request.messages.len() + 1);
    for (index, message) in request.messages.iter().enumerate() {
        let role = match message.role {
            Role::System | Role::Developer => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool | Role::Function => "tool",
        };
        let mut content = match &message.content {
            None => String::new(),
            Some(MessageContent::Text(text)) => text.clone(),
            Some(MessageContent::Parts(parts)) => {
                let mut texts = Vec::with_capacity(parts.len());
                for part in parts {
                    match (part.kind.as_str(), &part.text) {
                        ("text", Some(text)) => texts.push(text.as_str()),
                        _ => {
                            return Err(BackendError::BadRequest {
                                message: "the local model reads text only, not image, audio or \
                                          file content parts"
                                    .to_owned(),
                                param: Some(format!("messages[{index}].content")),
                            })
                        }
                    }
                }
                texts.join("\n")
            }
        };
        for call in message.tool_calls.iter().flatten() {
            if !content.is_empty() {
                content.push('\n');
            }
            content.push_str(&format!(
                "(called tool {} with arguments {})",
                call.function.name, call.function.arguments
            ));
        }
        turns.push(Turn { role, content });
    }
    let paragraphs = [tools.paragraph(), format_paragraph(format)];
    for paragraph in paragraphs.into_iter().flatten() {
        match turns.iter_mut().find(|turn| turn.role == "system") {
            Some(system) => {
                system.content.push_str("\n\n");
                system.content.push_str(&paragraph);
            }
            None => turns.insert(
                0,
                Turn {
                    role: "system",
                    content: paragraph,
                },
            ),
        }
    }
    Ok(turns)
}

fn format_paragraph(format: &OutputFormat) -> Option<String> {
    match format {
        OutputFormat::Text => None,
        OutputFormat::Json { schema: None } => Some("Answer with a JSON object.".to_owned()),
        OutputFormat::Json {
            schema: Some(schema),
        } => Some(format!(
            "Answer with a JSON object that follows this JSON schema: {schema}"
        )),
    }
}

/// Applies the chat template and tokenizes the prompt (special tokens parsed).
pub fn tokenize(
    model: &LlamaModel,
    template: &LlamaChatTemplate,
    turns: Vec<Turn>,
) -> Result<Vec<LlamaToken>, BackendError> {
    let messages = turns
        .into_iter()
        .map(|turn| LlamaChatMessage::new(turn.role.to_owned(), turn.content))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| BackendError::bad_request("a message contains a NUL character"))?;
    let prompt = model
        .apply_chat_template(template, &messages, true)
        .map_err(|error| {
            BackendError::unavailable(format!("the model's chat template failed: {error}"))
        })?;
    Ok(model.vocab().tokenize(prompt.as_bytes(), true, true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openai::parse_request;

    fn turns(body: &str) -> Result<Vec<Turn>, BackendError> {
        let request = parse_request(body.as_bytes()).unwrap();
        render_turns(&request, &OutputFormat::Text, &ToolPlan::of(&request)?)
    }

    #[test]
    fn roles_map_to_template_roles() {
        let rendered = turns(
            r#"{"model":"m","messages":[{"role":"developer","content":"d"},{"role":"user","content":"u"},
            {"role":"assistant","content":"a"},{"role":"tool","tool_call_id":"c","content":"t"}]}"#,
        )
        .unwrap();
        let roles: Vec<_> = rendered.iter().map(|t| t.role).collect();
        assert_eq!(roles, ["system", "user", "assistant", "tool"]);
    }

    #[test]
    fn text_parts_are_joined() {
        let rendered = turns(
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}"#,
        )
        .unwrap();
        assert_eq!(rendered[0].content, "a\nb");
    }

    #[test]
    fn image_parts_are_refused_naming_the_message() {
        let error = turns(
            r#"{"model":"m","messages":[{"role":"user","content":"x"},{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:x"}}]}]}"#,
        )
        .unwrap_err();
        match error {
            BackendError::BadRequest { message, param } => {
                assert!(message.contains("text only"));
                assert_eq!(param.as_deref(), Some("messages[1].content"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn tools_are_described_in_the_system_prompt() {
        let rendered = turns(
            r#"{"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"x"}],
            "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather for a city",
            "parameters":{"type":"object"}}}]}"#,
        )
        .unwrap();
        assert_eq!(rendered.len(), 2);
        assert!(rendered[0].content.starts_with("be brief\n\n"));
        assert!(rendered[0]
            .content
            .contains("get_weather: Weather for a city"));
    }

    #[test]
    fn tools_without_a_system_message_get_one_and_none_choice_hides_them() {
        let body = r#"{"model":"m","messages":[{"role":"user","content":"x"}],
            "tools":[{"type":"function","function":{"name":"f"}}]}"#;
        assert_eq!(turns(body).unwrap()[0].role, "system");
        let hidden = body.replace("\"tools\"", "\"tool_choice\":\"none\",\"tools\"");
        assert_eq!(turns(&hidden).unwrap().len(), 1);
    }

    #[test]
    fn assistant_tool_calls_become_text() {
        let rendered = turns(
            r#"{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",
            "function":{"name":"lookup","arguments":"{\"q\":1}"}}]}]}"#,
        )
        .unwrap();
        assert_eq!(
            rendered[0].content,
            "(called tool lookup with arguments {\"q\":1})"
        );
    }
}
