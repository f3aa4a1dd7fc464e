//! Streamed chat chunks → the Responses event stream (`event: <type>\ndata: <json>\n\n`).
//!
//! Chat streams flat deltas; Responses streams a lifecycle (`response.created`, items opened,
//! deltas, items closed, `response.completed`) where each delta names its output item. The
//! encoder keeps just enough state to name items and to repeat the whole answer in the `done`
//! events and the final Response; text is forwarded the moment its chunk arrives.
//!
//! Items stay open until the chat finish reason (or the end of the stream): chat may interleave
//! deltas of several tool calls, and a closed Responses item cannot take more deltas.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::{
    function_call_item, message_item, new_id, now, output_text_part, refusal_part, response_object,
    usage_object, Echo, Outcome,
};
use crate::dialect::StreamEncoder;
use crate::openai::{ChatCompletionChunk, ToolCallDelta, Usage};

/// Builds the encoder for one streamed answer.
pub fn encoder(echo: &Echo) -> ResponsesEncoder {
    ResponsesEncoder {
        echo: echo.clone(),
        id: new_id("resp_"),
        created_at: now(),
        sequence_number: 0,
        started: false,
        ended: false,
        items: Vec::new(),
        message: None,
        calls: BTreeMap::new(),
        finish_reason: None,
        usage: None,
    }
}

/// Turns one streamed chat answer into Responses events. See the module doc.
pub struct ResponsesEncoder {
    echo: Echo,
    id: String,
    created_at: i64,
    sequence_number: u64,
    started: bool,
    ended: bool,
    /// Output items in `output_index` order.
    items: Vec<Item>,
    /// Output index of the message item taking text, while it is open.
    message: Option<usize>,
    /// Chat tool-call index → output index of its open `function_call` item.
    calls: BTreeMap<u32, usize>,
    finish_reason: Option<String>,
    usage: Option<Usage>,
}

enum Item {
    Message {
        id: String,
        parts: Vec<Part>,
        done: bool,
    },
    Call {
        id: String,
        call_id: String,
        name: String,
        arguments: String,
        done: bool,
    },
}

struct Part {
    kind: PartKind,
    text: String,
}

#[derive(Clone, Copy, PartialEq)]
enum PartKind {
    Text,
    Refusal,
}

impl PartKind {
    fn delta_event(self) -> &'static str {
        match self {
            PartKind::Text => "response.output_text.delta",
            PartKind::Refusal => "response.refusal.delta",
        }
    }
}

impl Part {
    fn to_json(&self) -> Value {
        match self.kind {
            PartKind::Text => output_text_part(&self.text),
            PartKind::Refusal => refusal_part(&self.text),
        }
    }
}

impl Item {
    fn to_json(&self, status: &str) -> Value {
        match self {
            Item::Message { id, parts, .. } => {
                message_item(id, status, parts.iter().map(Part::to_json).collect())
            }
            Item::Call {
                id,
                call_id,
                name,
                arguments,
                ..
            } => function_call_item(id, call_id, name, arguments, status),
        }
    }

    fn is_done(&self) -> bool {
        match self {
            Item::Message { done, .. } | Item::Call { done, .. } => *done,
        }
    }
}

impl StreamEncoder for ResponsesEncoder {
    fn chunk(&mut self, chunk: &ChatCompletionChunk) -> Vec<String> {
        let mut out = Vec::new();
        if self.ended {
            return out;
        }
        self.start(&mut out);
        // A Responses request cannot ask for several choices; only the first is an answer.
        for choice in chunk.choices.iter().filter(|choice| choice.index == 0) {
            let delta = &choice.delta;
            if let Some(text) = delta.content.as_deref().filter(|text| !text.is_empty()) {
                self.text_delta(PartKind::Text, text, &mut out);
            }
            if let Some(refusal) = delta.refusal.as_deref().filter(|text| !text.is_empty()) {
                self.text_delta(PartKind::Refusal, refusal, &mut out);
            }
            for call in delta.tool_calls.iter().flatten() {
                self.call_delta(call, &mut out);
            }
            if let Some(reason) = &choice.finish_reason {
                self.finish_reason = Some(reason.clone());
                self.close_items(&mut out);
            }
        }
        if let Some(usage) = &chunk.usage {
            self.usage = Some(usage.clone());
        }
        out
    }

    fn finish(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        if self.ended {
            return out;
        }
        self.start(&mut out);
        self.close_items(&mut out);
        let outcome = Outcome::from_finish_reason(self.finish_reason.as_deref());
        let kind = match outcome {
            Outcome::Incomplete(_) => "response.incomplete",
            _ => "response.completed",
        };
        let response = self.response(&outcome);
        self.emit(&mut out, kind, json!({ "response": response }));
        self.ended = true;
        out
    }

    /// Sends the `error` event (what SDK users match on) and then `response.failed`, which
    /// carries the Response with what was produced so far and ends the lifecycle.
    fn error(&mut self, status: u16, message: &str) -> Vec<String> {
        let mut out = Vec::new();
        if self.ended {
            return out;
        }
        // The SDK's stream helper refuses any event before `response.created`.
        self.start(&mut out);
        let code = error_code(status);
        self.emit(
            &mut out,
            "error",
            json!({ "code": code, "message": message, "param": null }),
        );
        let outcome = Outcome::Failed {
            code,
            message: message.to_owned(),
        };
        let response = self.response(&outcome);
        self.emit(&mut out, "response.failed", json!({ "response": response }));
        self.ended = true;
        out
    }
}

/// Maps sluice's HTTP status onto the fixed codes the SDK accepts in `response.error.code`.
fn error_code(status: u16) -> &'static str {
    match status {
        429 => "rate_limit_exceeded",
        400..=499 => "invalid_prompt",
        _ => "server_error",
    }
}

impl ResponsesEncoder {
    /// The two opening events, sent before the first thing that needs them.
    fn start(&mut self, out: &mut Vec<String>) {
        if self.started {
            return;
        }
        self.started = true;
        let response = self.response(&Outcome::InProgress);
        self.emit(out, "response.created", json!({ "response": response }));
        let response = self.response(&Outcome::InProgress);
        self.emit(out, "response.in_progress", json!({ "response": response }));
    }

    fn response(&self, outcome: &Outcome) -> Value {
        let output = match outcome {
            Outcome::InProgress => Vec::new(),
            _ => self.output(outcome.item_status()),
        };
        let usage = match outcome {
            Outcome::InProgress => None,
            _ => self.usage.as_ref().map(usage_object),
        };
        response_object(
            &self.echo,
            &self.id,
            self.created_at,
            outcome,
            output,
            usage,
        )
    }

    /// Every item as it stands: closed items keep the status they were closed with.
    fn output(&self, open_status: &str) -> Vec<Value> {
        let closed_status = self.closed_item_status();
        self.items
            .iter()
            .map(|item| {
                item.to_json(if item.is_done() {
                    closed_status
                } else {
                    open_status
                })
            })
            .collect()
    }

    fn closed_item_status(&self) -> &'static str {
        Outcome::from_finish_reason(self.finish_reason.as_deref()).item_status()
    }

    /// Writes one SSE event; every event carries its `type` and the next `sequence_number`.
    fn emit(&mut self, out: &mut Vec<String>, kind: &str, payload: Value) {
        let mut event = Map::new();
        event.insert("type".into(), json!(kind));
        event.insert("sequence_number".into(), json!(self.sequence_number));
        if let Value::Object(fields) = payload {
            event.extend(fields);
        }
        self.sequence_number += 1;
        out.push(format!("event: {kind}\ndata: {}\n\n", Value::Object(event)));
    }

    fn text_delta(&mut self, kind: PartKind, text: &str, out: &mut Vec<String>) {
        let output_index = self.open_message(out);
        let content_index = self.open_part(output_index, kind, out);
        let Item::Message { id, parts, .. } = &mut self.items[output_index] else {
            unreachable!("open_message returns a message item");
        };
        parts[content_index].text.push_str(text);
        let item_id = id.clone();
        let mut payload = json!({
            "item_id": item_id,
            "output_index": output_index,
            "content_index": content_index,
            "delta": text,
        });
        if kind == PartKind::Text {
            payload["logprobs"] = json!([]);
        }
        self.emit(out, kind.delta_event(), payload);
    }

    fn open_message(&mut self, out: &mut Vec<String>) -> usize {
        if let Some(index) = self.message {
            return index;
        }
        let index = self.items.len();
        self.items.push(Item::Message {
            id: new_id("msg_"),
            parts: Vec::new(),
            done: false,
        });
        self.message = Some(index);
        self.emit_item_added(index, out);
        index
    }

    /// The content part taking `kind`; switching between text and refusal closes the current
    /// part, since a part has one type.
    fn open_part(&mut self, output_index: usize, kind: PartKind, out: &mut Vec<String>) -> usize {
        let Item::Message { id, parts, .. } = &mut self.items[output_index] else {
            unreachable!("message index points at a message item");
        };
        let current = parts.len().checked_sub(1);
        if let Some(last) = current.filter(|&last| parts[last].kind == kind) {
            return last;
        }
        parts.push(Part {
            kind,
            text: String::new(),
        });
        let item_id = id.clone();
        let content_index = parts.len() - 1;
        let part = parts[content_index].to_json();
        if let Some(previous) = current {
            self.close_part(output_index, previous, out);
        }
        self.emit(
            out,
            "response.content_part.added",
            json!({
                "item_id": item_id,
                "output_index": output_index,
                "content_index": content_index,
                "part": part,
            }),
        );
        content_index
    }

    fn call_delta(&mut self, delta: &ToolCallDelta, out: &mut Vec<String>) {
        let function = delta.function.as_ref();
        let output_index = match self.calls.get(&delta.index) {
            Some(&index) => index,
            None => self.open_call(delta, out),
        };
        let Item::Call {
            id,
            name,
            arguments,
            ..
        } = &mut self.items[output_index]
        else {
            unreachable!("call index points at a call item");
        };
        // Some upstreams repeat the name in every delta; only the first one counts.
        if let Some(more) = function.and_then(|f| f.name.as_deref()) {
            if name.is_empty() {
                name.push_str(more);
            }
        }
        let Some(fragment) = function
            .and_then(|f| f.arguments.as_deref())
            .filter(|fragment| !fragment.is_empty())
        else {
            return;
        };
        arguments.push_str(fragment);
        let item_id = id.clone();
        self.emit(
            out,
            "response.function_call_arguments.delta",
            json!({ "item_id": item_id, "output_index": output_index, "delta": fragment }),
        );
    }

    fn open_call(&mut self, delta: &ToolCallDelta, out: &mut Vec<String>) -> usize {
        let index = self.items.len();
        let name = delta.function.as_ref().and_then(|f| f.name.clone());
        self.items.push(Item::Call {
            id: new_id("fc_"),
            // The client answers with this id in `function_call_output`, so it must exist
            // even when an upstream leaves it out.
            call_id: delta.id.clone().unwrap_or_else(|| new_id("call_")),
            name: name.unwrap_or_default(),
            arguments: String::new(),
            done: false,
        });
        self.calls.insert(delta.index, index);
        self.emit_item_added(index, out);
        index
    }

    fn emit_item_added(&mut self, output_index: usize, out: &mut Vec<String>) {
        let item = self.items[output_index].to_json("in_progress");
        self.emit(
            out,
            "response.output_item.added",
            json!({ "output_index": output_index, "item": item }),
        );
    }

    /// Closes every open item, in output order, with its `done` events.
    fn close_items(&mut self, out: &mut Vec<String>) {
        for output_index in 0..self.items.len() {
            if !self.items[output_index].is_done() {
                self.close_item(output_index, out);
            }
        }
        self.message = None;
        self.calls.clear();
    }

    fn close_item(&mut self, output_index: usize, out: &mut Vec<String>) {
        match &mut self.items[output_index] {
            Item::Message { parts, done, .. } => {
                *done = true;
                if let Some(last) = parts.len().checked_sub(1) {
                    self.close_part(output_index, last, out);
                }
            }
            Item::Call {
                id,
                arguments,
                done,
                ..
            } => {
                *done = true;
                let payload = json!({
                    "item_id": id,
                    "output_index": output_index,
                    "arguments": arguments,
                });
                self.emit(out, "response.function_call_arguments.done", payload);
            }
        }
        let item = self.items[output_index].to_json(self.closed_item_status());
        self.emit(
            out,
            "response.output_item.done",
            json!({ "output_index": output_index, "item": item }),
        );
    }

    fn close_part(&mut self, output_index: usize, content_index: usize, out: &mut Vec<String>) {
        let Item::Message { id, parts, .. } = &self.items[output_index] else {
            unreachable!("parts belong to message items");
        };
        let part = &parts[content_index];
        let position = json!({
            "item_id": id,
            "output_index": output_index,
            "content_index": content_index,
        });
        let mut payload = position.clone();
        let kind = match part.kind {
            PartKind::Text => {
                payload["text"] = json!(part.text);
                payload["logprobs"] = json!([]);
                "response.output_text.done"
            }
            PartKind::Refusal => {
                payload["refusal"] = json!(part.text);
                "response.refusal.done"
            }
        };
        let mut part_payload = position;
        part_payload["part"] = part.to_json();
        self.emit(out, kind, payload);
        self.emit(out, "response.content_part.done", part_payload);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::dialect::responses::to_chat;

    fn echo() -> Echo {
        let body = json!({
            "model": "client-model",
            "input": "weather?",
            "stream": true,
            "tools": [{ "type": "function", "name": "weather", "parameters": { "type": "object" } }],
        });
        to_chat(body.to_string().as_bytes()).unwrap().1
    }

    fn chunk(value: Value) -> ChatCompletionChunk {
        let mut envelope = json!({ "id": "c1", "object": "chat.completion.chunk",
                                   "created": 1, "model": "upstream" });
        envelope
            .as_object_mut()
            .unwrap()
            .extend(value.as_object().unwrap().clone());
        serde_json::from_value(envelope).unwrap()
    }

    fn delta(delta: Value, finish_reason: Option<&str>) -> ChatCompletionChunk {
        chunk(
            json!({ "choices": [{ "index": 0, "delta": delta, "finish_reason": finish_reason }] }),
        )
    }

    /// The chunks of an answer with text, then one tool call, then usage.
    fn text_and_call_chunks() -> Vec<ChatCompletionChunk> {
        vec![
            delta(json!({ "role": "assistant", "content": "" }), None),
            delta(json!({ "content": "Let me " }), None),
            delta(json!({ "content": "check." }), None),
            delta(
                json!({ "tool_calls": [{ "index": 0, "id": "call_7", "type": "function",
                "function": { "name": "weather", "arguments": "" } }] }),
                None,
            ),
            delta(
                json!({ "tool_calls": [{ "index": 0, "function": { "arguments": "{\"city\":" } }] }),
                None,
            ),
            delta(
                json!({ "tool_calls": [{ "index": 0, "function": { "arguments": "\"Oslo\"}" } }] }),
                None,
            ),
            delta(json!({}), Some("tool_calls")),
            chunk(
                json!({ "choices": [], "usage": { "prompt_tokens": 9, "completion_tokens": 4,
                                                     "total_tokens": 13 } }),
            ),
        ]
    }

    fn run(chunks: &[ChatCompletionChunk]) -> Vec<String> {
        let mut encoder = encoder(&echo());
        let mut events: Vec<String> = chunks.iter().flat_map(|c| encoder.chunk(c)).collect();
        events.extend(encoder.finish());
        events
    }

    fn parse(event: &str) -> (String, Value) {
        let (head, data) = event.split_once('\n').unwrap();
        assert!(event.ends_with("\n\n"));
        let kind = head.strip_prefix("event: ").unwrap().to_owned();
        let data: Value =
            serde_json::from_str(data.strip_prefix("data: ").unwrap().trim()).unwrap();
        assert_eq!(data["type"], kind.as_str());
        (kind, data)
    }

    fn kinds(events: &[String]) -> Vec<String> {
        events.iter().map(|event| parse(event).0).collect()
    }

    #[test]
    fn text_then_tool_call_stream_sequence() {
        let events = run(&text_and_call_chunks());
        assert_eq!(
            kinds(&events),
            vec![
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        let parsed: Vec<Value> = events.iter().map(|e| parse(e).1).collect();
        for (number, event) in parsed.iter().enumerate() {
            assert_eq!(event["sequence_number"], number as u64);
        }
        assert_eq!(parsed[4]["delta"], "Let me ");
        assert_eq!(parsed[9]["text"], "Let me check.");
        assert_eq!(parsed[6]["item"]["call_id"], "call_7");
        assert_eq!(parsed[12]["arguments"], "{\"city\":\"Oslo\"}");

        let done = &parsed[14]["response"];
        assert_eq!(done["status"], "completed");
        assert_eq!(done["model"], "client-model");
        assert_eq!(done["id"], parsed[0]["response"]["id"]);
        assert_eq!(done["output"][0]["content"][0]["text"], "Let me check.");
        assert_eq!(done["output"][1]["name"], "weather");
        assert_eq!(done["output"][1]["status"], "completed");
        assert_eq!(done["usage"]["total_tokens"], 13);
    }

    #[test]
    fn text_deltas_are_forwarded_immediately() {
        let mut encoder = encoder(&echo());
        let events = encoder.chunk(&delta(json!({ "content": "Hel" }), None));
        let (kind, data) = parse(events.last().unwrap());
        assert_eq!(kind, "response.output_text.delta");
        assert_eq!(data["delta"], "Hel");
    }

    #[test]
    fn tool_call_only_stream_sequence() {
        let chunks = &text_and_call_chunks()[3..];
        assert_eq!(
            kinds(&run(chunks)),
            vec![
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
    }

    #[test]
    fn length_finish_ends_incomplete() {
        let events = run(&[
            delta(json!({ "content": "cut" }), None),
            delta(json!({}), Some("length")),
        ]);
        let (kind, data) = parse(events.last().unwrap());
        assert_eq!(kind, "response.incomplete");
        assert_eq!(
            data["response"]["incomplete_details"]["reason"],
            "max_output_tokens"
        );
        assert_eq!(data["response"]["output"][0]["status"], "incomplete");
    }

    #[test]
    fn error_mid_stream_sends_error_then_failed() {
        let mut encoder = encoder(&echo());
        encoder.chunk(&delta(json!({ "content": "par" }), None));
        let events = encoder.error(502, "upstream connection lost");
        assert_eq!(kinds(&events), vec!["error", "response.failed"]);
        let (_, failed) = parse(&events[1]);
        assert_eq!(failed["response"]["status"], "failed");
        assert_eq!(failed["response"]["error"]["code"], "server_error");
        assert_eq!(failed["response"]["output"][0]["content"][0]["text"], "par");
        assert!(encoder.finish().is_empty(), "nothing follows an error");
    }

    #[test]
    fn error_before_any_chunk_still_opens_the_response() {
        let mut encoder = encoder(&echo());
        let events = encoder.error(429, "rate limited");
        assert_eq!(
            kinds(&events),
            vec![
                "response.created",
                "response.in_progress",
                "error",
                "response.failed",
            ]
        );
    }

    #[test]
    fn sdk_sample_stream() {
        // `cargo test sdk_sample -- --nocapture` feeds these to the SDK check script.
        for event in run(&text_and_call_chunks()) {
            println!("STREAM {}", Value::String(event));
        }
        let mut encoder = encoder(&echo());
        let mut events = encoder.chunk(&delta(json!({ "content": "par" }), None));
        events.extend(encoder.chunk(&delta(json!({ "refusal": "no" }), None)));
        events.extend(encoder.error(500, "boom"));
        for event in events {
            println!("FAILED {}", Value::String(event));
        }
    }
}
