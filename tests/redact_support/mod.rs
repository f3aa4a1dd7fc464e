//! Shared pieces of the redaction tests and bench: a cloud upstream on loopback that echoes what
//! it receives (so every placeholder it was sent comes back and must be restored), the gateway
//! configured against it under the shipped gdpr policy, and a detection pipeline made of the
//! repository's detectors plus a deny list of test values (CJK names, which the NER model does
//! not find, and values with quotes and backslashes).
//!
//! Declare `mod support;` before `mod redact_support;`.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use futures_util::stream;
use serde_json::{json, Value};
use sluice::config::Config;
use sluice::detect::dictionary::DictionaryDetector;
use sluice::detect::merge::MergeOptions;
use sluice::detect::ner::{NerConfig, NerDetector};
use sluice::detect::regex::RegexDetector;
use sluice::detect::{allow::AllowList, DetectConfig, Detector, Pipeline};

use crate::support::{gateway_config, repo, AuditDirs, Setup};

/// Appended by the echo to every answer: a real value the model "writes on its own", which must
/// reach the client as written.
pub const ECHO_SIGNATURE: &str = "\n-- echoed; questions to dpo@example.org";

/// How the echo cuts its streamed texts into chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cuts {
    /// Two chunks, cut at this byte (moved back to a character boundary).
    At(usize),
    /// Chunks of this many bytes (moved on to character boundaries).
    Every(usize),
}

/// What the echo does besides echoing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EchoBehaviour {
    pub cuts: Cuts,
    /// Sleep before each streamed event.
    pub delay: Duration,
    /// Send, after the content, an in-stream error event that quotes the content (sluice cannot
    /// restore an event outside the chunk format).
    pub odd_event: bool,
}

impl Default for EchoBehaviour {
    fn default() -> Self {
        EchoBehaviour {
            cuts: Cuts::Every(7),
            delay: Duration::ZERO,
            odd_event: false,
        }
    }
}

#[derive(Default)]
struct EchoState {
    bodies: Mutex<Vec<String>>,
    behaviour: Mutex<EchoBehaviour>,
}

/// An OpenAI-compatible upstream that answers with what it was sent: the text of every message
/// as content, a tool call `echo` whose arguments carry that text as JSON, and a copy of every
/// tool call in the request. It records every body.
pub struct EchoUpstream {
    pub addr: SocketAddr,
    state: Arc<EchoState>,
    handle: actix_web::dev::ServerHandle,
}

impl EchoUpstream {
    pub async fn start() -> EchoUpstream {
        let state: Arc<EchoState> = Arc::default();
        let shared = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::from(shared.clone()))
                .app_data(web::PayloadConfig::new(64 * 1024 * 1024))
                .route("/v1/chat/completions", web::post().to(echo_chat))
        })
        .workers(1)
        .disable_signals()
        // Like real upstreams, stream events without waiting for the client's delayed ACKs.
        .tcp_nodelay(true)
        .bind("127.0.0.1:0")
        .expect("bind echo");
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        EchoUpstream {
            addr,
            state,
            handle,
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn received(&self) -> Vec<String> {
        self.state.bodies.lock().unwrap().clone()
    }

    pub fn set(&self, behaviour: EchoBehaviour) {
        *self.state.behaviour.lock().unwrap() = behaviour;
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

/// The text the echo answers with for `request`: every message's text, one per line, and its
/// signature.
pub fn echo_text(request: &Value) -> String {
    let mut lines: Vec<String> = Vec::new();
    for m in request["messages"].as_array().into_iter().flatten() {
        match &m["content"] {
            Value::String(s) => lines.push(s.clone()),
            Value::Array(parts) => lines.extend(
                parts
                    .iter()
                    .filter_map(|p| p["text"].as_str().map(str::to_owned)),
            ),
            _ => {}
        }
    }
    let mut text = lines.join("\n");
    text.push_str(ECHO_SIGNATURE);
    text
}

/// The tool calls the echo answers with: `echo` first, then a copy of every call in the request.
pub fn echo_calls(request: &Value) -> Vec<(String, String)> {
    let mut calls = vec![(
        "echo".to_owned(),
        json!({ "echo": echo_text(request) }).to_string(),
    )];
    for m in request["messages"].as_array().into_iter().flatten() {
        for c in m["tool_calls"].as_array().into_iter().flatten() {
            calls.push((
                c["function"]["name"].as_str().unwrap_or("").to_owned(),
                c["function"]["arguments"].as_str().unwrap_or("").to_owned(),
            ));
        }
    }
    calls
}

fn pieces(text: &str, cuts: Cuts) -> Vec<String> {
    let floor = |mut i: usize| {
        i = i.min(text.len());
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    match cuts {
        Cuts::At(at) => {
            let at = floor(at);
            vec![text[..at].to_owned(), text[at..].to_owned()]
        }
        Cuts::Every(n) => {
            let mut out = Vec::new();
            let mut start = 0;
            while start < text.len() {
                let mut end = (start + n.max(1)).min(text.len());
                while !text.is_char_boundary(end) {
                    end += 1;
                }
                out.push(text[start..end].to_owned());
                start = end;
            }
            out
        }
    }
}

async fn echo_chat(body: web::Bytes, state: web::Data<EchoState>) -> HttpResponse {
    let text = String::from_utf8_lossy(&body).into_owned();
    state.bodies.lock().unwrap().push(text.clone());
    let behaviour = *state.behaviour.lock().unwrap();
    let request: Value = serde_json::from_str(&text).unwrap_or_default();
    let model = request["model"].as_str().unwrap_or("echo").to_owned();
    let content = echo_text(&request);
    let calls = echo_calls(&request);
    if request["stream"].as_bool() != Some(true) {
        let tool_calls: Vec<Value> = calls
            .iter()
            .enumerate()
            .map(|(i, (name, args))| {
                json!({"id": format!("call_echo_{i}"), "type": "function",
                    "function": {"name": name, "arguments": args}})
            })
            .collect();
        return HttpResponse::Ok().json(json!({
            "id": "echo-1", "object": "chat.completion", "created": 1, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content,
                "tool_calls": tool_calls}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
        }));
    }
    let chunk = |delta: Value, finish: Value| {
        format!(
            "data: {}\n\n",
            json!({"id": "echo-1", "object": "chat.completion.chunk", "created": 1, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        )
    };
    let mut events = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    for piece in pieces(&content, behaviour.cuts) {
        events.push(chunk(json!({ "content": piece }), Value::Null));
    }
    if behaviour.odd_event {
        events.push(format!(
            "data: {}\n\n",
            json!({"error": {"message": format!("upstream trouble near: {content}")}})
        ));
    }
    for (i, (name, args)) in calls.iter().enumerate() {
        events.push(chunk(
            json!({"tool_calls": [{"index": i, "id": format!("call_echo_{i}"), "type": "function",
                "function": {"name": name, "arguments": ""}}]}),
            Value::Null,
        ));
        for piece in pieces(args, behaviour.cuts) {
            events.push(chunk(
                json!({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}),
                Value::Null,
            ));
        }
    }
    events.push(chunk(json!({}), json!("stop")));
    if request["stream_options"]["include_usage"].as_bool() == Some(true) {
        events.push(format!(
            "data: {}\n\n",
            json!({"id": "echo-1", "object": "chat.completion.chunk", "created": 1, "model": model,
                "choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}})
        ));
    }
    events.push("data: [DONE]\n\n".into());
    let delay = behaviour.delay;
    let body = stream::unfold(events.into_iter(), move |mut it| async move {
        let next = it.next()?;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        Some((Ok::<_, actix_web::Error>(web::Bytes::from(next)), it))
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .streaming(body)
}

/// Test values the shipped detectors would miss, found by a deny list: `(entity type, terms)`.
pub const DENY_LISTS: &[(&str, &str, &[&str])] = &[
    (
        "people",
        "PERSON",
        &["王小明", "Dwayne \"The Rock\" Johnson"],
    ),
    (
        "accounts",
        "CUSTOM",
        &["CORP\\jroe-admin", "acme-labs.com Tower"],
    ),
];

/// The repository's detectors (regex, dictionaries, NER) plus [`DENY_LISTS`] (written to a
/// temporary directory, which is only read while loading).
pub fn pipeline_with_deny_lists() -> Arc<Pipeline> {
    let mut cfg = DetectConfig::default();
    cfg.resolve_paths(&repo());
    let extra = tempfile::tempdir().unwrap();
    let deny = extra.path().join("deny");
    std::fs::create_dir_all(&deny).unwrap();
    for (name, ty, terms) in DENY_LISTS {
        let mut file = format!("# entity_type: {ty}\n");
        for t in *terms {
            file.push_str(t);
            file.push('\n');
        }
        std::fs::write(deny.join(format!("{name}.txt")), file).unwrap();
    }
    let dictionaries = cfg.rules.join("dictionaries");
    let detectors: Vec<Box<dyn Detector>> = vec![
        Box::new(
            RegexDetector::load(&cfg.rules)
                .unwrap()
                .with_thresholds(cfg.min_score, &cfg.thresholds)
                .unwrap(),
        ),
        Box::new(DictionaryDetector::load(&dictionaries).unwrap()),
        Box::new(DictionaryDetector::load(extra.path()).unwrap()),
        Box::new(NerDetector::load(&NerConfig::from(&cfg)).expect("run `make models` first")),
    ];
    Arc::new(Pipeline::new(
        detectors,
        MergeOptions {
            min_score: cfg.min_score,
            thresholds: cfg.thresholds.clone(),
            allow: AllowList::load(&dictionaries.join("allow")).unwrap(),
        },
    ))
}

/// A policy directory with the shipped policies named.
pub fn policy_dir(names: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in names {
        let file = format!("{name}.toml");
        std::fs::copy(repo().join("policies").join(&file), dir.path().join(&file)).unwrap();
    }
    dir
}

/// The test gateway's config with `echo` as its cloud backend and `policies` as the policy set.
pub fn echo_config(
    echo: &EchoUpstream,
    audit: &AuditDirs,
    policy_dir: &Path,
    policies: &[&str],
) -> Config {
    let mut config = gateway_config(&Setup {
        upstream: None,
        audit,
        local_slots: 1,
        local_queue: 4,
        policies: Some(policy_dir),
    });
    let cloud = format!(
        "kind = \"openai\"\nbase_url = \"{}\"\napi_key_env = \"{}\"\nmax_retries = 0\n",
        echo.base_url(),
        crate::support::CLOUD_KEY_ENV
    );
    config
        .backends
        .insert("cloud".into(), toml::from_str(&cloud).unwrap());
    config.routing.cloud = Some("cloud".into());
    config.policies.default_set = policies.iter().map(|p| p.to_string()).collect();
    config
}

/// Content and tool-call arguments of a streamed answer, accumulated as SDKs do, and whether the
/// stream ended with `[DONE]` after a `finish_reason`.
#[derive(Debug, Default)]
pub struct StreamedAnswer {
    pub content: String,
    pub calls: Vec<(String, String)>,
    pub finished: bool,
    pub done: bool,
    pub errors: Vec<Value>,
    pub chunks: usize,
    /// Content that arrived after the `finish_reason` chunk (must be none).
    pub late_content: String,
}

pub fn parse_stream(body: &str) -> StreamedAnswer {
    let mut answer = StreamedAnswer::default();
    for data in body.lines().filter_map(|l| l.strip_prefix("data: ")) {
        if data == "[DONE]" {
            answer.done = true;
            continue;
        }
        let v: Value = serde_json::from_str(data).expect("every event is JSON");
        if v.get("error").is_some() {
            answer.errors.push(v);
            continue;
        }
        answer.chunks += 1;
        for choice in v["choices"].as_array().into_iter().flatten() {
            let delta = &choice["delta"];
            if let Some(t) = delta["content"].as_str() {
                if answer.finished {
                    answer.late_content.push_str(t);
                }
                answer.content.push_str(t);
            }
            for call in delta["tool_calls"].as_array().into_iter().flatten() {
                let i = call["index"].as_u64().unwrap() as usize;
                if answer.calls.len() <= i {
                    answer.calls.resize(i + 1, (String::new(), String::new()));
                }
                if let Some(n) = call["function"]["name"].as_str() {
                    answer.calls[i].0.push_str(n);
                }
                if let Some(a) = call["function"]["arguments"].as_str() {
                    answer.calls[i].1.push_str(a);
                }
            }
            if !choice["finish_reason"].is_null() {
                answer.finished = true;
            }
        }
    }
    answer
}
