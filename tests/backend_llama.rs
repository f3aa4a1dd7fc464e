//! The embedded backend with the real SmolLM2 model: answers, streaming, limits, stop
//! sequences, the bounded queue and disconnects.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use sluice::backend::{
    Backend, BackendError, BackendInitError, BackendReply, ChunkStream, EmbeddedLlama, LlamaConfig,
    StreamItem,
};
use sluice::openai::{parse_request, ChatCompletionRequest, ChatCompletionResponse};

fn model_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
}

fn config(slots: usize, queue: usize) -> LlamaConfig {
    LlamaConfig {
        model: model_path(),
        slots,
        queue,
        ctx: 1024,
        threads: 2,
        ..LlamaConfig::default()
    }
}

/// One engine shared by the tests that do not need a dedicated one.
fn shared() -> &'static EmbeddedLlama {
    static ENGINE: OnceLock<EmbeddedLlama> = OnceLock::new();
    ENGINE.get_or_init(|| EmbeddedLlama::load("local", &config(2, 16)).expect("model loads"))
}

fn request(prompt: &str, extra: &str) -> ChatCompletionRequest {
    let body = format!(
        r#"{{"model":"anything","messages":[{{"role":"user","content":{}}}],"temperature":0{extra}}}"#,
        serde_json::to_string(prompt).unwrap()
    );
    parse_request(body.as_bytes()).unwrap()
}

async fn complete(backend: &dyn Backend, request: ChatCompletionRequest) -> ChatCompletionResponse {
    match backend.chat(request).await.expect("the request is served") {
        BackendReply::Complete(completion) => completion.into_response(),
        BackendReply::Stream(_) => panic!("a non-streaming request got a stream"),
    }
}

fn stream_of(reply: Result<BackendReply, BackendError>) -> ChunkStream {
    match reply.expect("the request is served") {
        BackendReply::Stream(stream) => stream,
        BackendReply::Complete(_) => panic!("a streaming request got a complete answer"),
    }
}

fn content(response: &ChatCompletionResponse) -> String {
    response.choices[0]
        .message
        .content
        .as_ref()
        .unwrap()
        .text_parts()
        .concat()
}

const STORY: &str = "Write a long story about a lighthouse keeper and the sea.";

#[tokio::test]
async fn non_streaming_answer_reports_usage_and_the_local_model() {
    let backend = shared();
    let response = complete(
        backend,
        request("What is the capital of France?", r#","max_tokens":40"#),
    )
    .await;
    let usage = response.usage.clone().expect("usage is reported");
    assert!(usage.prompt_tokens > 5, "{usage:?}");
    assert!(
        usage.completion_tokens > 0 && usage.completion_tokens <= 40,
        "{usage:?}"
    );
    assert_eq!(
        usage.total_tokens,
        usage.prompt_tokens + usage.completion_tokens
    );
    // The name the client asked for, not the GGUF file's.
    assert_eq!(response.model, "anything");
    assert_eq!(response.object, "chat.completion");
    assert!(response.id.starts_with("chatcmpl-"));
    let text = content(&response);
    assert!(!text.trim().is_empty());
    assert!(text.contains("Paris"), "{text}");
    let finish = response.choices[0].finish_reason.as_deref();
    assert!(
        matches!(finish, Some("stop") | Some("length")),
        "{finish:?}"
    );
    assert!(backend.on_premise());
}

#[tokio::test]
async fn streaming_arrives_in_several_chunks_and_matches_the_complete_answer() {
    let backend = shared();
    let options = r#","max_tokens":24,"stream":true,"stream_options":{"include_usage":true}"#;
    let mut stream = stream_of(backend.chat(request(STORY, options)).await);
    let probe = stream.usage_probe();
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        events.push(event.expect("no stream error"));
    }
    let chunks: Vec<_> = events.iter().filter_map(|e| e.as_chunk()).collect();
    assert_eq!(
        chunks[0].choices[0].delta.role,
        Some(sluice::openai::Role::Assistant)
    );
    let texts: Vec<&str> = chunks
        .iter()
        .filter_map(|c| c.choices.first()?.delta.content.as_deref())
        .filter(|t| !t.is_empty())
        .collect();
    assert!(
        texts.len() >= 3,
        "expected several content chunks, got {texts:?}"
    );
    assert_eq!(events.last().unwrap().item(), &StreamItem::Done);
    let finish = chunks
        .iter()
        .find_map(|c| c.choices.first()?.finish_reason.clone())
        .expect("a finish_reason chunk");
    assert_eq!(finish, "length");
    let usage_chunk = chunks
        .iter()
        .find(|c| c.usage.is_some())
        .expect("usage chunk");
    assert!(usage_chunk.choices.is_empty());
    assert_eq!(usage_chunk.usage.as_ref().unwrap().completion_tokens, 24);
    assert_eq!(probe.get().unwrap().completion_tokens, 24);
    for event in &events {
        let bytes = event.to_bytes();
        assert!(bytes.starts_with(b"data: ") && bytes.ends_with(b"\n\n"));
    }

    let whole = complete(backend, request(STORY, r#","max_tokens":24"#)).await;
    assert_eq!(
        texts.concat(),
        content(&whole),
        "greedy streaming and non-streaming agree"
    );
}

#[tokio::test]
async fn usage_is_probed_even_without_include_usage() {
    let backend = shared();
    let mut stream = stream_of(
        backend
            .chat(request(STORY, r#","max_tokens":6,"stream":true"#))
            .await,
    );
    let probe = stream.usage_probe();
    let mut usage_chunks = 0;
    while let Some(event) = stream.next().await {
        if event.unwrap().as_chunk().is_some_and(|c| c.usage.is_some()) {
            usage_chunks += 1;
        }
    }
    assert_eq!(usage_chunks, 0, "no usage chunk unless asked for");
    assert_eq!(probe.get().unwrap().completion_tokens, 6);
}

#[tokio::test]
async fn max_tokens_and_max_completion_tokens_are_respected() {
    let backend = shared();
    for limit in [
        r#","max_tokens":5"#,
        r#","max_completion_tokens":5,"max_tokens":50"#,
    ] {
        let response = complete(backend, request(STORY, limit)).await;
        assert_eq!(response.choices[0].finish_reason.as_deref(), Some("length"));
        assert_eq!(response.usage.unwrap().completion_tokens, 5);
    }
}

#[tokio::test]
async fn stop_sequences_end_the_answer_without_the_stop_text() {
    let backend = shared();
    let free = content(&complete(backend, request(STORY, r#","max_tokens":40"#)).await);
    // A stop sequence taken from the middle of the unconstrained (greedy) answer.
    let start = free
        .char_indices()
        .map(|(i, _)| i)
        .find(|&i| i >= free.len() / 2)
        .unwrap();
    let stop: String = free[start..].chars().take(4).collect();
    let expected = &free[..free.find(&stop).unwrap()];
    for stop_field in [
        format!(r#","stop":{}"#, serde_json::to_string(&stop).unwrap()),
        format!(
            r#","stop":["zzzz-never",{}]"#,
            serde_json::to_string(&stop).unwrap()
        ),
    ] {
        let response = complete(
            backend,
            request(STORY, &format!(r#","max_tokens":40{stop_field}"#)),
        )
        .await;
        assert_eq!(content(&response), expected, "stop {stop:?}");
        assert_eq!(response.choices[0].finish_reason.as_deref(), Some("stop"));
    }
}

#[tokio::test]
async fn a_prompt_longer_than_the_context_is_a_bad_request() {
    let backend = shared();
    let long = "word ".repeat(3000);
    match backend.chat(request(&long, "")).await {
        Err(BackendError::BadRequest { message, .. }) => {
            assert!(message.contains("context"), "{message}");
            assert!(!message.contains("word word"), "no request text in errors");
        }
        other => panic!("expected BadRequest, got {other:?}"),
    }
}

#[tokio::test]
async fn unsupported_requests_are_bad_requests() {
    let backend = shared();
    for extra in [r#","n":2"#, r#","temperature":3"#, r#","max_tokens":0"#] {
        let body =
            format!(r#"{{"model":"m","messages":[{{"role":"user","content":"hi"}}]{extra}}}"#);
        let result = backend.chat(parse_request(body.as_bytes()).unwrap()).await;
        assert!(
            matches!(result, Err(BackendError::BadRequest { .. })),
            "{extra}: {result:?}"
        );
    }
}

#[tokio::test]
async fn tools_and_all_roles_are_accepted() {
    let backend = shared();
    let body = r#"{"model":"m","max_tokens":8,"temperature":0,
        "messages":[{"role":"developer","content":"Answer briefly."},
            {"role":"user","content":[{"type":"text","text":"What is the weather in Paris?"}]},
            {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"}}]},
            {"role":"tool","tool_call_id":"c1","content":"sunny, 21 C"}],
        "tools":[{"type":"function","function":{"name":"weather","description":"Current weather","parameters":{"type":"object"}}}]}"#;
    let response = complete(backend, parse_request(body.as_bytes()).unwrap()).await;
    assert!(response.usage.unwrap().completion_tokens > 0);
    let none = body.replace("\"tools\"", "\"tool_choice\":\"none\",\"tools\"");
    let response = complete(backend, parse_request(none.as_bytes()).unwrap()).await;
    assert!(response.choices[0].message.tool_calls.is_none());
}

const WEATHER_TOOLS: &str = r#","tools":[
    {"type":"function","function":{"name":"get_weather","description":"Current weather in a city",
        "parameters":{"type":"object","properties":{"city":{"type":"string"},"unit":{"enum":["celsius","fahrenheit"]}},"required":["city","unit"]}}},
    {"type":"function","function":{"name":"get_time","description":"Local time in a city",
        "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]"#;

/// The call of a complete answer: name and arguments as JSON.
fn the_call(response: &ChatCompletionResponse) -> (String, serde_json::Value) {
    let choice = &response.choices[0];
    assert_eq!(
        choice.finish_reason.as_deref(),
        Some("tool_calls"),
        "{choice:?}"
    );
    let calls = choice.message.tool_calls.as_ref().expect("a tool call");
    assert_eq!(calls.len(), 1);
    assert!(calls[0].id.starts_with("call_") && calls[0].kind == "function");
    let arguments = serde_json::from_str(&calls[0].function.arguments).unwrap_or_else(|e| {
        panic!(
            "arguments are not JSON ({e}): {}",
            calls[0].function.arguments
        )
    });
    (calls[0].function.name.clone(), arguments)
}

#[tokio::test]
async fn required_tool_choice_answers_a_call_that_matches_the_schema() {
    let backend = shared();
    let extra = format!(r#","max_tokens":60,"tool_choice":"required"{WEATHER_TOOLS}"#);
    let (name, arguments) =
        the_call(&complete(backend, request("What is the weather in Paris?", &extra)).await);
    assert!(
        ["get_weather", "get_time"].contains(&name.as_str()),
        "{name}"
    );
    assert!(arguments["city"].is_string(), "{arguments}");
    if name == "get_weather" {
        assert!(
            ["celsius", "fahrenheit"].contains(&arguments["unit"].as_str().unwrap()),
            "{arguments}"
        );
    }
    // A named function is the only one the model may call.
    let named = format!(
        r#","max_tokens":60,"tool_choice":{{"type":"function","function":{{"name":"get_time"}}}}{WEATHER_TOOLS}"#
    );
    let (name, arguments) =
        the_call(&complete(backend, request("What is the weather in Paris?", &named)).await);
    assert_eq!(name, "get_time");
    assert_eq!(
        arguments.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["city"]
    );
    // Streamed: one tool-call delta, then the finish reason.
    let streamed =
        format!(r#","max_tokens":60,"stream":true,"tool_choice":"required"{WEATHER_TOOLS}"#);
    let mut stream = stream_of(
        backend
            .chat(request("What is the weather in Paris?", &streamed))
            .await,
    );
    let (mut calls, mut finish) = (Vec::new(), None);
    while let Some(event) = stream.next().await {
        let event = event.expect("no stream error");
        if let Some(chunk) = event.as_chunk() {
            for choice in &chunk.choices {
                calls.extend(choice.delta.tool_calls.clone().unwrap_or_default());
                assert!(
                    choice.delta.content.as_deref().unwrap_or("").is_empty(),
                    "text in a call: {chunk:?}"
                );
                finish = finish.or(choice.finish_reason.clone());
            }
        }
    }
    assert_eq!(finish.as_deref(), Some("tool_calls"));
    assert_eq!(calls.len(), 1);
    let function = calls[0].function.as_ref().unwrap();
    serde_json::from_str::<serde_json::Value>(function.arguments.as_deref().unwrap()).unwrap();
}

#[tokio::test]
async fn what_the_local_model_cannot_honour_is_a_bad_request() {
    let backend = shared();
    for (extra, param) in [
        (
            r##","response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"object","properties":{"a":{"$ref":"#/nowhere"}}}}}"##.to_owned(),
            "response_format.json_schema.schema",
        ),
        (
            format!(r#","tool_choice":{{"type":"function","function":{{"name":"send_email"}}}}{WEATHER_TOOLS}"#),
            "tool_choice",
        ),
        (
            format!(r#","response_format":{{"type":"json_object"}}{WEATHER_TOOLS}"#),
            "tool_choice",
        ),
    ] {
        match backend.chat(request("hi", &extra)).await {
            Err(BackendError::BadRequest { param: Some(p), .. }) => assert_eq!(p, param, "{extra}"),
            other => panic!("{extra}: {other:?}"),
        }
    }
}

/// Waits (bounded) until `condition` holds.
async fn wait_for(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_busy_and_the_queued_request_runs_later() {
    let backend = Arc::new(EmbeddedLlama::load("busy", &config(1, 1)).unwrap());
    let long = r#","max_tokens":600,"stream":true"#;
    // Holds the only slot: nobody reads past the first event, so generation waits on the client.
    let mut first = stream_of(backend.chat(request(STORY, long)).await);
    first.next().await.unwrap().unwrap();
    wait_for("the first request to run", || backend.load().active == 1).await;

    let queued = {
        let backend = Arc::clone(&backend);
        tokio::spawn(async move { backend.chat(request("Say hi.", r#","max_tokens":3"#)).await })
    };
    wait_for("the second request to queue", || backend.load().queued == 1).await;

    match backend.chat(request("Say hi.", r#","max_tokens":3"#)).await {
        Err(BackendError::Busy { retry_after }) => assert!(retry_after >= Duration::from_secs(1)),
        other => panic!("expected Busy, got {other:?}"),
    }
    assert_eq!(
        backend.load().active,
        1,
        "the first request still holds the slot"
    );

    drop(first);
    let served = tokio::time::timeout(Duration::from_secs(60), queued)
        .await
        .expect("the queued request is served once the slot frees")
        .unwrap();
    assert!(
        matches!(served, Ok(BackendReply::Complete(_))),
        "{served:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_request_stops_generation_and_frees_the_slot() {
    let backend = EmbeddedLlama::load("drop", &config(1, 1)).unwrap();
    let limit = r#","max_tokens":300"#;

    // Control: this answer runs to the token limit; how long that takes is the yardstick.
    let started = Instant::now();
    let control = complete(&backend, request(STORY, limit)).await;
    let full_answer = started.elapsed();
    assert_eq!(control.choices[0].finish_reason.as_deref(), Some("length"));

    // A stream dropped after its first tokens.
    let streaming = format!(r#"{limit},"stream":true"#);
    let mut stream = stream_of(backend.chat(request(STORY, &streaming)).await);
    stream.next().await.unwrap().unwrap();
    stream.next().await.unwrap().unwrap();
    let dropped = Instant::now();
    drop(stream);
    wait_for("the slot to free", || backend.load().active == 0).await;
    assert!(
        dropped.elapsed() < full_answer / 4,
        "generation must stop when the stream is dropped: freed after {:?}, a full answer takes {full_answer:?}",
        dropped.elapsed()
    );

    // A non-streaming request abandoned while generating.
    let abandoned =
        tokio::time::timeout(full_answer / 10, backend.chat(request(STORY, limit))).await;
    assert!(
        abandoned.is_err(),
        "a tenth of the time is not enough for the answer"
    );
    let dropped = Instant::now();
    wait_for("the slot to free", || backend.load().active == 0).await;
    assert!(
        dropped.elapsed() < full_answer / 4,
        "generation must stop when the request is dropped: freed after {:?}, a full answer takes {full_answer:?}",
        dropped.elapsed()
    );

    // The freed slot serves the next request.
    let response = tokio::time::timeout(
        Duration::from_secs(60),
        complete(&backend, request("Say hi.", r#","max_tokens":3"#)),
    )
    .await
    .expect("the next request is served");
    assert!(response.usage.unwrap().completion_tokens > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_cancels_running_generations() {
    let backend = EmbeddedLlama::load("shutdown", &config(1, 1)).unwrap();
    assert!(backend.ready());
    let mut stream = stream_of(
        backend
            .chat(request(STORY, r#","max_tokens":800,"stream":true"#))
            .await,
    );
    stream.next().await.unwrap().unwrap();
    backend.shutdown();
    assert!(!backend.ready());
    let mut saw_cancel = false;
    while let Some(event) = stream.next().await {
        if let Err(error) = event {
            assert!(matches!(error, BackendError::Cancelled), "{error:?}");
            saw_cancel = true;
        }
    }
    assert!(saw_cancel);
    assert!(matches!(
        backend.chat(request("hi", "")).await,
        Err(BackendError::Cancelled)
    ));
}

#[test]
fn a_missing_model_file_names_make_models() {
    let config = LlamaConfig {
        model: PathBuf::from("models/nowhere/missing.gguf"),
        ..LlamaConfig::default()
    };
    let error = EmbeddedLlama::load("local", &config)
        .err()
        .expect("loading must fail");
    assert!(matches!(error, BackendInitError::MissingModel { .. }));
    let message = error.to_string();
    assert!(message.contains("make models"), "{message}");
    assert!(message.contains("missing.gguf"), "{message}");
}

#[tokio::test]
async fn json_mode_answers_with_a_json_object() {
    let backend = shared();
    let cases = [
        (
            "Return a JSON object with the key \"ok\" set to true.",
            r#"{"type":"json_object"}"#,
        ),
        (
            "Give the name and age of a cat called Tom aged 3 as JSON.",
            r#"{"type":"json_schema","json_schema":{"name":"pet","schema":{"type":"object",
                "properties":{"name":{"type":"string"},"age":{"type":"integer"}}}}}"#,
        ),
    ];
    for (prompt, format) in cases {
        let extra = format!(r#","max_tokens":100,"response_format":{format}"#);
        let response = complete(backend, request(prompt, &extra)).await;
        let text = content(&response);
        assert_eq!(
            response.choices[0].finish_reason.as_deref(),
            Some("stop"),
            "{text}"
        );
        let value: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {text}"));
        assert!(value.is_object(), "{text}");
    }
    // The schema itself is enforced: required properties, their types and enums.
    let strict = r#","max_tokens":100,"response_format":{"type":"json_schema","json_schema":{"name":"pet","schema":{"type":"object",
        "properties":{"name":{"type":"string"},"age":{"type":"integer"},"kind":{"enum":["cat","dog"]}},"required":["name","age","kind"]}}}"#;
    let text = content(&complete(backend, request("Describe a pet.", strict)).await);
    let value: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    assert!(value["name"].is_string() && value["age"].is_i64(), "{text}");
    assert!(
        ["cat", "dog"].contains(&value["kind"].as_str().unwrap()),
        "{text}"
    );
    let free = content(
        &complete(
            backend,
            request(
                "Return a JSON object with the key \"ok\" set to true.",
                r#","max_tokens":30"#,
            ),
        )
        .await,
    );
    assert!(
        serde_json::from_str::<serde_json::Value>(&free).is_err(),
        "without the grammar the model writes prose: {free}"
    );
}
