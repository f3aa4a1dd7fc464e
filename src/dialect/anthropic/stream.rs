//! A streamed chat answer as Anthropic's event sequence: `message_start`, then per content
//! block `content_block_start`, deltas and `content_block_stop`, then `message_delta` (stop
//! reason and usage) and `message_stop`.
//!
//! Chat chunks interleave freely; Anthropic blocks are strictly sequential, so a block is
//! closed when the next kind of content starts. Text is forwarded as it comes: nothing is
//! held back beyond the chunk being translated (placeholders were already restored upstream of
//! this encoder).

use serde_json::{json, Value};

use super::answer::{message_id, stop_reason, tool_use_id};
use super::error::error_body;
use crate::dialect::{named_event, StreamEncoder};
use crate::openai::ChatCompletionChunk;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Block {
    Text,
    /// A tool use block for the chat tool call with this index.
    Tool(u32),
}

/// Encodes one answer's chat chunks as Anthropic events.
pub struct MessagesEncoder {
    model: String,
    started: bool,
    open: Option<(usize, Block)>,
    next_index: usize,
    finish_reason: Option<String>,
    input_tokens: u64,
    output_tokens: u64,
    ended: bool,
}

impl MessagesEncoder {
    /// An encoder whose `message_start` names `model` (the model the client asked for).
    pub fn new(model: &str) -> Self {
        MessagesEncoder {
            model: model.to_owned(),
            started: false,
            open: None,
            next_index: 0,
            finish_reason: None,
            input_tokens: 0,
            output_tokens: 0,
            ended: false,
        }
    }

    fn start(&mut self, chat_id: &str, out: &mut Vec<String>) {
        if self.started {
            return;
        }
        self.started = true;
        out.push(named_event(
            "message_start",
            &json!({"type": "message_start", "message": {
                "id": message_id(chat_id), "type": "message", "role": "assistant", "model": self.model,
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": self.input_tokens, "output_tokens": 0}
            }}),
        ));
    }

    fn open(&mut self, block: Block, start: Value, out: &mut Vec<String>) -> usize {
        if let Some((index, open)) = self.open {
            if open == block {
                return index;
            }
        }
        self.close(out);
        let index = self.next_index;
        self.next_index += 1;
        self.open = Some((index, block));
        out.push(named_event(
            "content_block_start",
            &json!({"type": "content_block_start", "index": index, "content_block": start}),
        ));
        index
    }

    fn close(&mut self, out: &mut Vec<String>) {
        if let Some((index, _)) = self.open.take() {
            out.push(named_event(
                "content_block_stop",
                &json!({"type": "content_block_stop", "index": index}),
            ));
        }
    }

    fn delta(index: usize, delta: Value) -> String {
        named_event(
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": index, "delta": delta}),
        )
    }
}

impl StreamEncoder for MessagesEncoder {
    fn chunk(&mut self, chunk: &ChatCompletionChunk) -> Vec<String> {
        let mut out = Vec::new();
        if self.ended {
            return out;
        }
        if let Some(usage) = &chunk.usage {
            self.input_tokens = usage.prompt_tokens;
            self.output_tokens = usage.completion_tokens;
        }
        let Some(choice) = chunk.choices.first() else {
            return out;
        };
        self.start(&chunk.id, &mut out);
        if let Some(text) = choice.delta.content.as_deref().filter(|t| !t.is_empty()) {
            let index = self.open(Block::Text, json!({"type": "text", "text": ""}), &mut out);
            out.push(Self::delta(
                index,
                json!({"type": "text_delta", "text": text}),
            ));
        }
        for call in choice.delta.tool_calls.iter().flatten() {
            let current = matches!(self.open, Some((_, Block::Tool(i))) if i == call.index);
            let function = call.function.as_ref();
            if !current || call.id.is_some() {
                if current {
                    self.close(&mut out);
                }
                let start = json!({
                    "type": "tool_use",
                    "id": tool_use_id(call.id.as_deref().unwrap_or_default()),
                    "name": function.and_then(|f| f.name.as_deref()).unwrap_or_default(),
                    "input": {},
                });
                self.open(Block::Tool(call.index), start, &mut out);
            }
            let index = self.open.map(|(i, _)| i).expect("a block was just opened");
            if let Some(arguments) = function.and_then(|f| f.arguments.as_deref()) {
                if !arguments.is_empty() {
                    out.push(Self::delta(
                        index,
                        json!({"type": "input_json_delta", "partial_json": arguments}),
                    ));
                }
            }
        }
        if let Some(reason) = &choice.finish_reason {
            self.finish_reason = Some(reason.clone());
        }
        out
    }

    fn finish(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        if self.ended {
            return out;
        }
        self.start("", &mut out);
        self.close(&mut out);
        self.ended = true;
        out.push(named_event(
            "message_delta",
            &json!({"type": "message_delta",
                "delta": {"stop_reason": stop_reason(self.finish_reason.as_deref()), "stop_sequence": null},
                "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens}}),
        ));
        out.push(named_event(
            "message_stop",
            &json!({"type": "message_stop"}),
        ));
        out
    }

    fn error(&mut self, status: u16, message: &str) -> Vec<String> {
        if self.ended {
            return Vec::new();
        }
        self.ended = true;
        vec![named_event("error", &error_body(status, message))]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(value: Value) -> ChatCompletionChunk {
        serde_json::from_value(value).unwrap()
    }

    fn events(out: &[String]) -> Vec<(String, Value)> {
        out.iter()
            .map(|e| {
                let (name, data) = e.trim_end().split_once('\n').unwrap();
                (
                    name.trim_start_matches("event: ").to_owned(),
                    serde_json::from_str(data.trim_start_matches("data: ")).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn text_then_tool_call_then_usage() {
        let mut encoder = MessagesEncoder::new("claude-x");
        let mut out = Vec::new();
        for c in [
            json!({"id": "chatcmpl-1", "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}),
            json!({"id": "chatcmpl-1", "choices": [{"index": 0, "delta": {"content": "Hel"}}]}),
            json!({"id": "chatcmpl-1", "choices": [{"index": 0, "delta": {"content": "lo"}}]}),
            json!({"id": "chatcmpl-1", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_9", "type": "function", "function": {"name": "f", "arguments": ""}}]}}]}),
            json!({"id": "chatcmpl-1", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{\"a\":"}}]}}]}),
            json!({"id": "chatcmpl-1", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}}]}),
            json!({"id": "chatcmpl-1", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}),
            json!({"id": "chatcmpl-1", "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9}}),
        ] {
            out.extend(encoder.chunk(&chunk(c)));
        }
        out.extend(encoder.finish());
        let names: Vec<String> = events(&out).into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        let all = events(&out);
        assert_eq!(all[0].1["message"]["model"], json!("claude-x"));
        assert_eq!(all[0].1["message"]["id"], json!("msg_1"));
        assert_eq!(
            all[5].1["content_block"],
            json!({"type": "tool_use", "id": "toolu_call_9", "name": "f", "input": {}})
        );
        assert_eq!(all[5].1["index"], json!(1));
        assert_eq!(
            all[7].1["delta"],
            json!({"type": "input_json_delta", "partial_json": "1}"})
        );
        assert_eq!(all[9].1["delta"]["stop_reason"], json!("tool_use"));
        assert_eq!(all[9].1["usage"]["output_tokens"], json!(4));
    }

    #[test]
    fn an_error_ends_the_stream_in_anthropic_shape() {
        let mut encoder = MessagesEncoder::new("m");
        encoder.chunk(&chunk(
            json!({"choices": [{"index": 0, "delta": {"content": "x"}}]}),
        ));
        let out = encoder.error(503, "upstream went away");
        let all = events(&out);
        assert_eq!(all[0].0, "error");
        assert_eq!(all[0].1["error"]["type"], json!("overloaded_error"));
        assert!(encoder.finish().is_empty());
    }

    #[test]
    fn an_empty_answer_still_has_the_full_sequence() {
        let mut encoder = MessagesEncoder::new("m");
        let names: Vec<String> = events(&encoder.finish())
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["message_start", "message_delta", "message_stop"]);
    }
}
