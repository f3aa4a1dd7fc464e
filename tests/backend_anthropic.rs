//! The `anthropic` backend kind against a mock of Anthropic's Messages API on loopback that
//! records every request: chat clients are served by it (complete and streamed, text and tool
//! use), the request it receives is a well-formed Messages request with `x-api-key` and
//! `anthropic-version`, its errors reach the client as OpenAI errors, and PHI never reaches it.

mod support;

use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};
use sluice::backend::{BackendConfig, HttpConfig};
use support::*;

const ANTHROPIC_KEY_ENV: &str = "SLUICE_TEST_ANTHROPIC_KEY";

/// What the mock received: headers that matter and the body.
#[derive(Debug, Clone)]
struct Received {
    api_key: String,
    version: String,
    body: Value,
}

type Log = Arc<Mutex<Vec<Received>>>;

async fn messages(req: HttpRequest, body: web::Bytes, log: web::Data<Log>) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let body: Value = serde_json::from_slice(&body).unwrap();
    log.lock().unwrap().push(Received {
        api_key: header("x-api-key"),
        version: header("anthropic-version"),
        body: body.clone(),
    });
    if body["max_tokens"] == 1 {
        return HttpResponse::build(actix_web::http::StatusCode::from_u16(529).unwrap()).json(
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        );
    }
    let tool = body["tools"][0]["name"].as_str().map(str::to_owned);
    if body["stream"] != true {
        let content = match &tool {
            Some(name) => {
                json!([{"type": "text", "text": "Checking."}, {"type": "tool_use", "id": "toolu_01", "name": name, "input": {"city": "Paris"}}])
            }
            None => json!([{"type": "text", "text": MOCK_ANSWER}]),
        };
        return HttpResponse::Ok().json(json!({
            "id": "msg_01", "type": "message", "role": "assistant", "model": body["model"],
            "content": content, "stop_reason": if tool.is_some() { "tool_use" } else { "end_turn" },
            "stop_sequence": null, "usage": {"input_tokens": 12, "output_tokens": 7}
        }));
    }
    let mut events = vec![
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_02", "type": "message", "role": "assistant", "model": body["model"], "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 12, "output_tokens": 1}}}),
        ),
        ("ping", json!({"type": "ping"})),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
    ];
    for word in MOCK_ANSWER.split_inclusive(' ') {
        events.push(("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": word}})));
    }
    events.push((
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    ));
    if let Some(name) = &tool {
        events.push(("content_block_start", json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_02", "name": name, "input": {}}})));
        for piece in ["{\"city\": ", "\"Paris\"}"] {
            events.push(("content_block_delta", json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": piece}})));
        }
        events.push((
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 1}),
        ));
    }
    let stop = if tool.is_some() {
        "tool_use"
    } else {
        "end_turn"
    };
    events.push(("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": 7}})));
    events.push(("message_stop", json!({"type": "message_stop"})));
    let text: String = events
        .into_iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect();
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .body(text)
}

async fn start_mock() -> (std::net::SocketAddr, Log, actix_web::dev::ServerHandle) {
    let log: Log = Arc::default();
    let shared = log.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(shared.clone()))
            .route("/v1/messages", web::post().to(messages))
    })
    .workers(1)
    .disable_signals()
    .bind("127.0.0.1:0")
    .unwrap();
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    (addr, log, handle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_clients_are_served_by_anthropic_and_phi_never_reaches_it() {
    let (addr, log, mock) = start_mock().await;
    let audit = AuditDirs::new();
    let setup = Setup {
        upstream: None,
        audit: &audit,
        local_slots: 1,
        local_queue: 4,
        policies: None,
    };
    let mut config = gateway_config(&setup);
    std::env::set_var(ANTHROPIC_KEY_ENV, "sk-ant-test");
    config.backends.insert(
        "cloud".into(),
        BackendConfig::Anthropic(HttpConfig {
            base_url: format!("http://{addr}/v1"),
            api_key_env: Some(ANTHROPIC_KEY_ENV.into()),
            max_retries: 0,
            model_map: [("gpt-4o-mini".to_owned(), "claude-test".to_owned())].into(),
            ..HttpConfig::default()
        }),
    );
    config.routing.cloud = Some("cloud".into());
    let gw = sluice::server::start(config, real_pipeline())
        .await
        .unwrap();
    let prompt = "Explain why unit tests are useful in three sentences.";

    let mut body = chat_body(prompt, false);
    body["messages"] =
        json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": prompt}]);
    body["stop"] = json!(["END"]);
    let r = post_chat(gw.addr, &body).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-sluice-backend"), "cloud");
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["choices"][0]["message"]["content"], MOCK_ANSWER);
    assert_eq!(answer["choices"][0]["finish_reason"], "stop");
    assert_eq!(answer["usage"]["prompt_tokens"], 12);
    assert_eq!(answer["model"], "gpt-4o-mini");

    // Streamed, with a tool: text deltas, then the call in pieces, then usage when asked for.
    let mut streamed = chat_body(prompt, true);
    streamed["tools"] = json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]);
    streamed["stream_options"] = json!({"include_usage": true});
    let r = post_chat(gw.addr, &streamed).await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
    let chunks: Vec<Value> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let content: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(content, MOCK_ANSWER);
    let arguments: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&arguments).unwrap(),
        json!({"city": "Paris"})
    );
    assert!(chunks
        .iter()
        .any(|c| c["choices"][0]["finish_reason"] == "tool_calls"));
    assert_eq!(chunks.last().unwrap()["usage"]["completion_tokens"], 7);

    // Anthropic's overload reaches an OpenAI client as an OpenAI error (and, being a 5xx before
    // any byte, falls back to the local model).
    let mut overloaded = chat_body(prompt, false);
    overloaded["max_tokens"] = json!(1);
    let r = post_chat(gw.addr, &overloaded).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        header(&r, "x-sluice-backend"),
        "local",
        "fallback after a 529"
    );

    // PHI is served locally: the mock never sees it.
    let r = post_chat(gw.addr, &chat_body(&canary_prompt(), false)).await;
    assert_eq!(header(&r, "x-sluice-backend"), "local");

    gw.stop().await.unwrap();
    let received = log.lock().unwrap().clone();
    assert_eq!(received.len(), 3);
    for r in &received {
        assert_eq!(r.api_key, "sk-ant-test");
        assert_eq!(r.version, "2023-06-01");
        assert_no_canary("a request to Anthropic", &r.body.to_string());
    }
    let first = &received[0].body;
    assert_eq!(first["model"], "claude-test");
    assert_eq!(first["system"], "Be brief.");
    assert_eq!(
        first["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": prompt}]}])
    );
    assert_eq!(first["stop_sequences"], json!(["END"]));
    assert_eq!(first["max_tokens"], 24);
    assert_eq!(received[1].body["tools"][0]["name"], "get_weather");
    assert_eq!(received[1].body["stream"], true);
    mock.stop(false).await;
}
