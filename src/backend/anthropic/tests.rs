use serde_json::{json, Value};

use super::*;
use crate::openai::{ChatCompletionChunk, ChatCompletionRequest};

const CANARY: &str = "587-24-6913";

fn request(body: Value) -> ChatCompletionRequest {
    serde_json::from_value(body).expect("test request must parse")
}

fn translate(body: Value) -> Result<Value, TranslateError> {
    to_messages_request(&request(body), "claude-sonnet-4-6")
}

fn translate_ok(body: Value) -> Value {
    translate(body).expect("translation must succeed")
}

// ---------------------------------------------------------------------------------------------
// Requests

#[test]
fn system_multi_turn_and_tools_alternate() {
    let body = translate_ok(json!({
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Use metric units."}]},
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {"role": "user", "content": "Quickly please."},
            {"role": "assistant", "content": "Checking.", "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "call_2", "type": "function",
                 "function": {"name": "weather", "arguments": "{\"city\":\"Rome\"}"}}
            ], "refusal": null},
            {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
            {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "24C"}]},
            {"role": "user", "content": "Thanks, and tomorrow?"}
        ]
    }));
    assert_eq!(body["model"], "claude-sonnet-4-6");
    assert_eq!(body["max_tokens"], 4096);
    assert_eq!(
        body["system"],
        json!([{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Use metric units."}])
    );
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": [
                {"type": "text", "text": "Weather in Paris and Rome?"},
                {"type": "text", "text": "Quickly please."}
            ]},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "call_2", "name": "weather", "input": {"city": "Rome"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "18C"},
                {"type": "tool_result", "tool_use_id": "call_2",
                 "content": [{"type": "text", "text": "24C"}]},
                {"type": "text", "text": "Thanks, and tomorrow?"}
            ]}
        ])
    );
    assert!(body.get("stream").is_none());
    assert!(body.get("tools").is_none());
}

#[test]
fn single_system_message_is_a_string() {
    let body = translate_ok(json!({
        "model": "m",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    }));
    assert_eq!(body["system"], "Be brief.");
}

#[test]
fn tool_call_without_arguments_becomes_empty_object() {
    let body = translate_ok(json!({
        "model": "m",
        "messages": [
            {"role": "user", "content": "time?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "now", "arguments": ""}}]}
        ]
    }));
    assert_eq!(body["messages"][1]["content"][0]["input"], json!({}));
}

#[test]
fn images_become_base64_and_url_sources() {
    let body = translate_ok(json!({
        "model": "m",
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "Compare"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}
        ]}]
    }));
    assert_eq!(
        body["messages"][0]["content"],
        json!([
            {"type": "text", "text": "Compare"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}
        ])
    );
}

#[test]
fn unsupported_images_and_parts_are_refused() {
    for url in [
        "data:image/tiff;base64,AAAA",
        "data:image/png,rawbytes",
        "ftp://host/x.png",
    ] {
        let result = translate(json!({
            "model": "m",
            "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]
        }));
        assert_eq!(result.unwrap_err().status, 400, "{url}");
    }
    let audio = translate(json!({
        "model": "m",
        "messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]
    }));
    assert_eq!(
        audio.unwrap_err().message,
        "messages[0].content[0].type is not supported here by this backend"
    );
}

fn with_tools(extra: Value) -> Value {
    let mut body = json!({
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"type": "function", "function": {
            "name": "weather", "description": "Weather of a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
            {"type": "function", "function": {"name": "now"}}]
    });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    translate_ok(body)
}

#[test]
fn tools_become_input_schemas() {
    let body = with_tools(json!({}));
    assert_eq!(
        body["tools"],
        json!([
            {"name": "weather", "description": "Weather of a city",
             "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}},
            {"name": "now", "input_schema": {"type": "object", "properties": {}}}
        ])
    );
    assert!(body.get("tool_choice").is_none());
}

#[test]
fn tool_choice_variants() {
    let cases = [
        (json!("auto"), json!({"type": "auto"})),
        (json!("none"), json!({"type": "none"})),
        (json!("required"), json!({"type": "any"})),
        (
            json!({"type": "function", "function": {"name": "weather"}}),
            json!({"type": "tool", "name": "weather"}),
        ),
    ];
    for (openai, anthropic) in cases {
        let body = with_tools(json!({ "tool_choice": openai }));
        assert_eq!(body["tool_choice"], anthropic);
    }
    let serial = with_tools(json!({"tool_choice": "required", "parallel_tool_calls": false}));
    assert_eq!(
        serial["tool_choice"],
        json!({"type": "any", "disable_parallel_tool_use": true})
    );
    let implicit = with_tools(json!({"parallel_tool_calls": false}));
    assert_eq!(
        implicit["tool_choice"],
        json!({"type": "auto", "disable_parallel_tool_use": true})
    );
    let none = with_tools(json!({"tool_choice": "none", "parallel_tool_calls": false}));
    assert_eq!(none["tool_choice"], json!({"type": "none"}));
}

#[test]
fn bad_tool_choice_is_refused() {
    let result = translate(json!({
        "model": "m", "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"type": "function", "function": {"name": "f"}}],
        "tool_choice": {"type": "allowed_tools", "allowed_tools": {}}
    }));
    assert_eq!(
        result.unwrap_err().message,
        "tool_choice is not supported by this backend"
    );
}

#[test]
fn sampling_limits_stream_and_user() {
    let body = translate_ok(json!({
        "model": "m", "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 100, "max_completion_tokens": 200, "temperature": 1.7, "top_p": 0.9,
        "stop": ["END", "STOP"], "stream": true, "stream_options": {"include_usage": true},
        "user": "user-42", "seed": 7, "logprobs": null, "frequency_penalty": 0.5,
        "presence_penalty": 0.1, "logit_bias": {"50256": -100}, "store": false,
        "metadata": {"k": "v"}, "service_tier": "auto", "modalities": ["text"]
    }));
    assert_eq!(
        body,
        json!({
            "model": "claude-sonnet-4-6",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
            "max_tokens": 200, "temperature": 1.0, "top_p": 0.9,
            "stop_sequences": ["END", "STOP"], "stream": true,
            "metadata": {"user_id": "user-42"}
        })
    );
    let single_stop = translate_ok(json!({
        "model": "m", "messages": [{"role": "user", "content": "hi"}], "stop": "END", "max_tokens": 9
    }));
    assert_eq!(single_stop["stop_sequences"], json!(["END"]));
    assert_eq!(single_stop["max_tokens"], 9);
}

#[test]
fn response_format_structured_is_refused() {
    let schema = translate(json!({
        "model": "m", "messages": [{"role": "user", "content": "hi"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}
    }));
    let error = schema.unwrap_err();
    assert_eq!(error.status, 400);
    assert_eq!(
        error.message,
        "response_format json_schema is not supported by this backend"
    );
    let object = translate(json!({
        "model": "m", "messages": [{"role": "user", "content": "hi"}],
        "response_format": {"type": "json_object"}
    }));
    assert_eq!(object.unwrap_err().status, 400);
    translate_ok(json!({
        "model": "m", "messages": [{"role": "user", "content": "hi"}],
        "response_format": {"type": "text"}
    }));
}

#[test]
fn n_and_unknown_fields_are_refused() {
    let n =
        translate(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "n": 2}));
    assert_eq!(
        n.unwrap_err().message,
        "n greater than 1 is not supported by this backend"
    );
    translate_ok(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "n": 1}));
    let unknown = translate(json!({
        "model": "m", "messages": [{"role": "user", "content": "hi"}], "reasoning_effort": "high"
    }));
    assert_eq!(
        unknown.unwrap_err().message,
        "field reasoning_effort is not supported by this backend"
    );
    let legacy = translate(json!({
        "model": "m", "messages": [{"role": "function", "name": "f", "content": "x"}]
    }));
    assert_eq!(legacy.unwrap_err().status, 400);
    let empty = translate(json!({"model": "m", "messages": [{"role": "system", "content": "x"}]}));
    assert_eq!(empty.unwrap_err().status, 400);
}

#[test]
fn invalid_tool_arguments_are_refused() {
    let result = translate(json!({
        "model": "m",
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{not json"}}]}
        ]
    }));
    assert_eq!(
        result.unwrap_err().message,
        "messages[1].tool_calls[0].function.arguments is not valid JSON"
    );
}

/// Every request-side refusal, each with the canary planted in a value the error could quote.
#[test]
fn canary_never_appears_in_request_errors() {
    let user = |content: Value| json!({"role": "user", "content": content});
    let bad_requests = [
        json!({"model": "m", "messages": [user(json!("hi")),
            {"role": "assistant", "tool_calls": [{"id": CANARY, "type": "function",
             "function": {"name": CANARY, "arguments": format!("{{\"ssn\": {CANARY}")}}]}]}),
        json!({"model": "m", "messages": [user(json!("hi")),
            {"role": "assistant", "tool_calls": [{"id": "c", "type": "function",
             "function": {"name": "f", "arguments": format!("\"{CANARY}\"")}}]}]}),
        json!({"model": "m", "messages": [user(json!([{"type": "image_url",
            "image_url": {"url": format!("data:image/{CANARY};base64,AAAA")}}]))]}),
        json!({"model": "m", "messages": [user(json!([{"type": "image_url",
            "image_url": {"url": format!("file:///{CANARY}")}}]))]}),
        json!({"model": "m", "messages": [user(json!([{"type": CANARY, "text": CANARY}]))]}),
        json!({"model": "m", "messages": [user(json!(CANARY))], CANARY: CANARY}),
        json!({"model": "m", "messages": [user(json!(CANARY))], "prediction": CANARY}),
        json!({"model": "m", "messages": [user(json!(CANARY))], "user": [CANARY]}),
        json!({"model": "m", "messages": [user(json!(CANARY)),
            {"role": "user", "content": "x", CANARY: CANARY}]}),
        json!({"model": "m", "messages": [user(json!(CANARY))], "n": 3}),
        json!({"model": "m", "messages": [user(json!(CANARY))],
            "response_format": {"type": "json_schema", "json_schema": {"name": CANARY}}}),
        json!({"model": "m", "messages": [user(json!(CANARY))],
            "response_format": {"type": CANARY}}),
        json!({"model": "m", "messages": [user(json!(CANARY))],
            "tools": [{"type": CANARY, "function": {"name": CANARY}}]}),
        json!({"model": "m", "messages": [user(json!(CANARY))],
            "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": CANARY}),
        json!({"model": "m", "messages": [{"role": "tool", "content": CANARY}]}),
        json!({"model": "m", "messages": [{"role": "function", "name": CANARY, "content": CANARY}]}),
    ];
    for body in bad_requests {
        let error = translate(body.clone()).expect_err(&format!("must be refused: {body}"));
        assert!(
            !error.message.contains(CANARY),
            "canary leaked: {}",
            error.message
        );
        assert!(!error.to_string().contains(CANARY));
    }
}

// ---------------------------------------------------------------------------------------------
// Complete answers

#[test]
fn complete_answer_with_text_and_tool_use() {
    let body = json!({
        "id": "msg_01XYZ", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
        "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "sig"},
            {"type": "text", "text": "Let me check. "},
            {"type": "text", "text": "One moment.", "citations": null},
            {"type": "tool_use", "id": "toolu_01", "name": "weather", "input": {"city": "Paris"}}
        ],
        "stop_reason": "tool_use", "stop_sequence": null,
        "usage": {"input_tokens": 10, "output_tokens": 20,
                  "cache_creation_input_tokens": 3, "cache_read_input_tokens": 5}
    });
    let answer = from_messages_response(body.to_string().as_bytes(), "my-model").unwrap();
    let mut value = serde_json::to_value(&answer).unwrap();
    assert!(value["created"].as_i64().unwrap() > 0);
    value["created"] = json!(0);
    assert_eq!(
        value,
        json!({
            "id": "chatcmpl-msg_01XYZ", "object": "chat.completion", "created": 0, "model": "my-model",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": "Let me check. One moment.",
                "tool_calls": [{"id": "toolu_01", "type": "function",
                    "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}]}}],
            "usage": {"prompt_tokens": 18, "completion_tokens": 20, "total_tokens": 38,
                      "prompt_tokens_details": {"cached_tokens": 5}}
        })
    );
}

#[test]
fn stop_reasons_map_to_finish_reasons() {
    for (stop, finish) in [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("something_new", "stop"),
    ] {
        let body = json!({"id": "msg_1", "type": "message", "role": "assistant",
            "content": [{"type": "text", "text": "x"}], "stop_reason": stop,
            "usage": {"input_tokens": 1, "output_tokens": 1}});
        let answer = from_messages_response(body.to_string().as_bytes(), "m").unwrap();
        assert_eq!(
            answer.choices[0].finish_reason.as_deref(),
            Some(finish),
            "{stop}"
        );
        assert!(answer.usage.as_ref().unwrap().extra.is_empty());
    }
}

#[test]
fn tool_only_answer_has_null_content() {
    let body = json!({"id": "msg_1", "type": "message", "role": "assistant",
        "content": [{"type": "tool_use", "id": "t", "name": "now", "input": {}}],
        "stop_reason": "tool_use", "usage": {"input_tokens": 1, "output_tokens": 1}});
    let answer = from_messages_response(body.to_string().as_bytes(), "m").unwrap();
    assert!(answer.choices[0].message.content.is_none());
    assert_eq!(
        answer.choices[0].message.tool_calls.as_ref().unwrap()[0]
            .function
            .arguments,
        "{}"
    );
}

#[test]
fn error_bodies_keep_anthropic_type_and_text() {
    let body =
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}});
    let in_body = from_messages_response(body.to_string().as_bytes(), "m").unwrap_err();
    assert_eq!(in_body.status, 529);
    assert_eq!(in_body.message, "anthropic overloaded_error: Overloaded");
    let by_status = error_from_status_body(429, body.to_string().as_bytes());
    assert_eq!(by_status.status, 429);
    assert_eq!(by_status.upstream_type.as_deref(), Some("overloaded_error"));
    let opaque = error_from_status_body(500, b"<html>oops</html>");
    assert_eq!(opaque.message, "anthropic answered HTTP status 500");
}

#[test]
fn canary_never_appears_in_answer_errors() {
    let malformed = [
        format!("{{\"id\": \"msg\", \"content\": \"{CANARY}\"}}"),
        format!(
            "{{\"id\": \"msg\", \"content\": [{{\"type\": \"text\", \"text\": 5}}], \"x\": \"{CANARY}\"}}"
        ),
        format!("not json {CANARY}"),
        format!("{{\"id\": 1, \"content\": [{{\"type\": \"text\", \"text\": \"{CANARY}\"}}]}}"),
    ];
    for body in malformed {
        let error = from_messages_response(body.as_bytes(), "m").unwrap_err();
        assert_eq!(error.status, 502);
        assert!(!error.message.contains(CANARY), "{}", error.message);
    }
    let mut stream = EventsToChunks::new("m");
    let event = format!(
        "{{\"type\": \"content_block_start\", \"index\": \"{CANARY}\", \"content_block\": {{}}}}"
    );
    let error = stream
        .event(Some("content_block_start"), &event)
        .unwrap_err();
    assert!(!error.message.contains(CANARY));
}

// ---------------------------------------------------------------------------------------------
// Streams

/// A stream as Anthropic records it: text, then a tool call streamed in partial JSON pieces.
const RECORDED_STREAM: &[(&str, &str)] = &[
    (
        "message_start",
        r#"{"type":"message_start","message":{"id":"msg_01ABC","type":"message","role":"assistant","model":"claude-sonnet-4-6","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":472,"cache_creation_input_tokens":0,"cache_read_input_tokens":100,"output_tokens":2}}}"#,
    ),
    (
        "content_block_start",
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
    ),
    ("ping", r#"{"type": "ping"}"#),
    (
        "content_block_delta",
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Okay, "}}"#,
    ),
    (
        "content_block_delta",
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"checking."}}"#,
    ),
    (
        "content_block_stop",
        r#"{"type":"content_block_stop","index":0}"#,
    ),
    (
        "content_block_start",
        r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1","name":"get_weather","input":{}}}"#,
    ),
    (
        "content_block_delta",
        r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}"#,
    ),
    (
        "content_block_delta",
        r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"location\": \"San Fra"}}"#,
    ),
    (
        "some_future_event",
        r#"{"type":"some_future_event","detail":1}"#,
    ),
    (
        "content_block_delta",
        r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"ncisco\"}"}}"#,
    ),
    (
        "content_block_stop",
        r#"{"type":"content_block_stop","index":1}"#,
    ),
    (
        "message_delta",
        r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}"#,
    ),
    ("message_stop", r#"{"type":"message_stop"}"#),
];

fn run(stream: &mut EventsToChunks, events: &[(&str, &str)]) -> Vec<Value> {
    let mut chunks: Vec<ChatCompletionChunk> = Vec::new();
    for (name, data) in events {
        chunks.extend(stream.event(Some(name), data).unwrap());
    }
    chunks
        .into_iter()
        .map(|chunk| {
            let mut value = serde_json::to_value(chunk).unwrap();
            assert_eq!(value["id"], "chatcmpl-msg_01ABC");
            assert_eq!(value["model"], "client-model");
            assert_eq!(value["object"], "chat.completion.chunk");
            // Compare only what varies between chunks.
            for envelope in ["id", "model", "object", "created"] {
                value.as_object_mut().unwrap().remove(envelope);
            }
            value
        })
        .collect()
}

fn choice(delta: Value, finish: Value) -> Value {
    json!({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
}

#[test]
fn recorded_stream_becomes_openai_chunks() {
    let mut stream = EventsToChunks::new("client-model");
    let chunks = run(&mut stream, RECORDED_STREAM);
    assert!(stream.is_finished());
    let expected = vec![
        choice(json!({"role": "assistant", "content": ""}), Value::Null),
        choice(json!({"content": "Okay, "}), Value::Null),
        choice(json!({"content": "checking."}), Value::Null),
        choice(
            json!({"tool_calls": [{"index": 0, "id": "toolu_01T1", "type": "function",
                   "function": {"name": "get_weather", "arguments": ""}}]}),
            Value::Null,
        ),
        choice(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"location\": \"San Fra"}}]}),
            Value::Null,
        ),
        choice(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "ncisco\"}"}}]}),
            Value::Null,
        ),
        choice(json!({}), json!("tool_calls")),
        json!({"choices": [], "usage": {"prompt_tokens": 572, "completion_tokens": 89,
               "total_tokens": 661, "prompt_tokens_details": {"cached_tokens": 100}}}),
    ];
    assert_eq!(chunks, expected);
    // Nothing after the end, and no second usage chunk.
    assert!(stream
        .event(Some("message_stop"), r#"{"type":"message_stop"}"#)
        .unwrap()
        .is_empty());
}

#[test]
fn events_without_names_use_their_type() {
    let mut stream = EventsToChunks::new("client-model");
    let unnamed: Vec<_> = RECORDED_STREAM
        .iter()
        .map(|(_, data)| ("", *data))
        .collect();
    let mut count = 0;
    for (_, data) in unnamed {
        count += stream.event(None, data).unwrap().len();
    }
    assert_eq!(count, 8);
    assert!(stream.is_finished());
}

#[test]
fn thinking_is_skipped_and_argumentless_tools_get_braces() {
    let events: &[(&str, &str)] = &[
        (
            "message_start",
            r#"{"type":"message_start","message":{"id":"msg_01ABC","usage":{"input_tokens":5,"output_tokens":1}}}"#,
        ),
        (
            "content_block_start",
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"secret plan"}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"abc"}}"#,
        ),
        (
            "content_block_stop",
            r#"{"type":"content_block_stop","index":0}"#,
        ),
        (
            "content_block_start",
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_A","name":"now","input":{}}}"#,
        ),
        (
            "content_block_stop",
            r#"{"type":"content_block_stop","index":1}"#,
        ),
        (
            "content_block_start",
            r#"{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_B","name":"now","input":{}}}"#,
        ),
        (
            "content_block_stop",
            r#"{"type":"content_block_stop","index":2}"#,
        ),
        (
            "message_delta",
            r#"{"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":7}}"#,
        ),
        ("message_stop", r#"{"type":"message_stop"}"#),
    ];
    let mut stream = EventsToChunks::new("client-model");
    let chunks = run(&mut stream, events);
    let start = |index: u32, id: &str| {
        choice(
            json!({"tool_calls": [{"index": index, "id": id, "type": "function",
                   "function": {"name": "now", "arguments": ""}}]}),
            Value::Null,
        )
    };
    let braces = |index: u32| {
        choice(
            json!({"tool_calls": [{"index": index, "function": {"arguments": "{}"}}]}),
            Value::Null,
        )
    };
    assert_eq!(
        chunks,
        vec![
            choice(json!({"role": "assistant", "content": ""}), Value::Null),
            start(0, "toolu_A"),
            braces(0),
            start(1, "toolu_B"),
            braces(1),
            choice(json!({}), json!("length")),
            json!({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}}),
        ]
    );
}

#[test]
fn error_event_carries_anthropic_type_and_text() {
    let mut stream = EventsToChunks::new("client-model");
    stream
        .event(Some("message_start"), RECORDED_STREAM[0].1)
        .unwrap();
    let error = stream
        .event(
            Some("error"),
            r#"{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}"#,
        )
        .unwrap_err();
    assert_eq!(error.status, 529);
    assert_eq!(error.message, "anthropic overloaded_error: Overloaded");
    assert_eq!(error.upstream_type.as_deref(), Some("overloaded_error"));
    assert!(!stream.is_finished());
    let odd = stream
        .event(
            Some("error"),
            r#"{"type":"error","error":{"type":"Weird Type!","message":"m"}}"#,
        )
        .unwrap_err();
    assert_eq!(
        (odd.status, odd.message.as_str()),
        (502, "anthropic error: m")
    );
}

#[test]
fn delta_for_unknown_block_is_an_error() {
    let mut stream = EventsToChunks::new("client-model");
    let error = stream
        .event(Some("content_block_delta"), RECORDED_STREAM[3].1)
        .unwrap_err();
    assert_eq!(error.status, 502);
}
