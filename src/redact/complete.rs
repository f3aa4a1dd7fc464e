//! Restoring a complete (non-streaming) answer: every text the model wrote in every choice.
//!
//! Message content (string or parts), refusals, names, tool calls (arguments as JSON text, with
//! escaped values) and fields sluice does not model (`reasoning_content`, the legacy
//! `function_call`) are restored. `logprobs` keeps the model's tokens as generated: a placeholder
//! there is cut into tokens that cannot be restored one by one. An answer without placeholders
//! keeps the upstream's exact bytes.

use serde_json::Value;

use super::restore::{context_of, RestoreBudget, RestoreError, Restorer, TextContext};
use crate::backend::Completion;
use crate::openai::{ChatMessage, MessageContent};

/// Restores `completion` in place.
pub fn restore_completion(
    completion: &mut Completion,
    restorer: &Restorer,
) -> Result<(), RestoreError> {
    if restorer.is_empty() {
        return Ok(());
    }
    let mut response = completion.response().clone();
    let mut budget = RestoreBudget::default();
    let mut restore = Restore {
        restorer,
        budget: &mut budget,
        changed: false,
    };
    for choice in &mut response.choices {
        restore.message(&mut choice.message)?;
        for value in choice.extra.values_mut() {
            restore.value(value, TextContext::Plain)?;
        }
    }
    if restore.changed {
        *completion.response_mut() = response;
    }
    Ok(())
}

struct Restore<'a> {
    restorer: &'a Restorer,
    budget: &'a mut RestoreBudget,
    changed: bool,
}

impl Restore<'_> {
    fn message(&mut self, message: &mut ChatMessage) -> Result<(), RestoreError> {
        match &mut message.content {
            Some(MessageContent::Text(text)) => self.text(text, TextContext::Plain)?,
            Some(MessageContent::Parts(parts)) => {
                for part in parts {
                    if let Some(text) = &mut part.text {
                        self.text(text, TextContext::Plain)?;
                    }
                    for value in part.extra.values_mut() {
                        self.value(value, TextContext::Plain)?;
                    }
                }
            }
            None => {}
        }
        if let Some(name) = &mut message.name {
            self.text(name, TextContext::Plain)?;
        }
        for call in message.tool_calls.iter_mut().flatten() {
            self.text(&mut call.function.name, TextContext::Plain)?;
            self.text(&mut call.function.arguments, TextContext::JsonArguments)?;
            for value in call
                .function
                .extra
                .values_mut()
                .chain(call.extra.values_mut())
            {
                self.value(value, TextContext::Plain)?;
            }
        }
        for (key, value) in message.extra.iter_mut() {
            self.value(value, context_of(key, TextContext::Plain))?;
        }
        Ok(())
    }

    fn value(&mut self, value: &mut Value, context: TextContext) -> Result<(), RestoreError> {
        self.changed |= self.restorer.restore_value(value, context, self.budget)?;
        Ok(())
    }

    fn text(&mut self, text: &mut String, context: TextContext) -> Result<(), RestoreError> {
        self.changed |= self.restorer.restore_in_place(text, context, self.budget)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::format::PlaceholderFormat;
    use crate::redact::vault::Pseudonyms;
    use bytes::Bytes;

    fn restorer() -> Restorer {
        let mut p = Pseudonyms::new(PlaceholderFormat::default());
        p.intern("PERSON", "Zoë \"Z\" Ångström");
        p.intern("EMAIL_ADDRESS", "zoe@example.com");
        Restorer::new(&p)
    }

    #[test]
    fn restores_content_tool_calls_and_unmodelled_fields() {
        let raw = serde_json::json!({
            "id": "c", "object": "chat.completion", "created": 1, "model": "<PERSON_1>",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant",
                "content": "Hi <PERSON_1>, mail <EMAIL_ADDRESS_1> or <PERSON_7>.",
                "reasoning_content": "the user is <PERSON_1>",
                "function_call": {"name": "f", "arguments": "{\"to\":\"<PERSON_1>\"}"},
                "tool_calls": [{"id": "call_1", "type": "function", "function": {
                    "name": "send", "arguments": "{\"to\":\"<PERSON_1>\",\"at\":\"<EMAIL_ADDRESS_1>\"}"}}]
            }}]
        });
        let mut completion =
            Completion::from_upstream(Bytes::from(serde_json::to_vec(&raw).unwrap())).unwrap();
        restore_completion(&mut completion, &restorer()).unwrap();
        let out: serde_json::Value = serde_json::from_slice(&completion.to_bytes()).unwrap();
        let m = &out["choices"][0]["message"];
        assert_eq!(
            m["content"],
            "Hi Zoë \"Z\" Ångström, mail zoe@example.com or <PERSON_7>."
        );
        assert_eq!(m["reasoning_content"], "the user is Zoë \"Z\" Ångström");
        let args: serde_json::Value = serde_json::from_str(
            m["tool_calls"][0]["function"]["arguments"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(args["to"], "Zoë \"Z\" Ångström");
        assert_eq!(args["at"], "zoe@example.com");
        let legacy: serde_json::Value =
            serde_json::from_str(m["function_call"]["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(legacy["to"], "Zoë \"Z\" Ångström");
        assert_eq!(
            out["model"], "<PERSON_1>",
            "envelope fields are not model text"
        );
    }

    #[test]
    fn an_answer_without_placeholders_keeps_its_bytes() {
        let raw = Bytes::from_static(
            br#"{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"fine"},"finish_reason":"stop"}],"z":1}"#,
        );
        let mut completion = Completion::from_upstream(raw.clone()).unwrap();
        restore_completion(&mut completion, &restorer()).unwrap();
        assert!(completion.is_verbatim());
        assert_eq!(completion.to_bytes(), raw);
    }
}
