//! The front ends other than chat completions (Anthropic Messages, the Responses API, legacy
//! completions) end to end on loopback: the same real detectors, policies, SmolLM2 and audit log
//! as `tests/gateway.rs`, with the mock cloud recording every body. PHI stays local whatever API
//! carries it; cleared text reaches the cloud; answers and errors come back in each API's shape.

mod support;

use serde_json::{json, Value};
use support::*;

async fn start(setup: &Setup<'_>) -> sluice::server::Running {
    sluice::server::start(gateway_config(setup), real_pipeline())
        .await
        .expect("gateway starts")
}

async fn post(
    addr: std::net::SocketAddr,
    path: &str,
    body: &Value,
    key: Option<(&str, &str)>,
) -> reqwest::Response {
    let mut request = client().post(format!("http://{addr}{path}")).json(body);
    if let Some((name, value)) = key {
        request = request.header(name, value);
    }
    request.send().await.unwrap()
}

fn anthropic_key() -> Option<(&'static str, &'static str)> {
    Some(("x-api-key", CLIENT_KEY))
}

fn bearer() -> Option<(&'static str, String)> {
    Some(("authorization", format!("Bearer {CLIENT_KEY}")))
}

async fn post_bearer(addr: std::net::SocketAddr, path: &str, body: &Value) -> reqwest::Response {
    let (name, value) = bearer().unwrap();
    post(addr, path, body, Some((name, &value))).await
}

/// `(event name, data)` of every SSE event of a named-event stream.
fn named_events(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let mut name = String::new();
            let mut data = String::new();
            for line in e.lines() {
                if let Some(n) = line.strip_prefix("event: ") {
                    name = n.to_owned();
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data.push_str(d);
                }
            }
            (
                name,
                serde_json::from_str(&data).expect("every event is JSON"),
            )
        })
        .collect()
}

fn decision_of<'a>(records: &'a str, request_id: &str) -> &'a str {
    records
        .lines()
        .find(|l| l.contains(request_id) && l.contains("\"decision\""))
        .expect("a decision record for the request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_messages_keep_phi_local_and_answer_in_anthropic_shape() {
    let upstream = MockUpstream::start().await;
    let audit = AuditDirs::new();
    let gw = start(&Setup::with_cloud(&upstream, &audit)).await;
    let body = json!({
        "model": "gpt-4o-mini", "max_tokens": 24,
        "system": [{"type": "text", "text": "You write letters."}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": canary_prompt()}]}]
    });
    let r = post(gw.addr, "/v1/messages", &body, anthropic_key()).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-sluice-action"), "local");
    assert_eq!(header(&r, "x-sluice-backend"), "local");
    let request_id = header(&r, "x-sluice-request-id");
    assert_eq!(
        header(&r, "request-id"),
        request_id,
        "Anthropic's SDKs read request-id"
    );
    let message: Value = r.json().await.unwrap();
    assert_eq!(message["type"], "message");
    assert_eq!(message["role"], "assistant");
    assert_eq!(
        message["model"], "gpt-4o-mini",
        "the name the client asked for"
    );
    assert!(message["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(message["content"][0]["type"], "text");
    assert!(!message["content"][0]["text"].as_str().unwrap().is_empty());
    assert!(["end_turn", "max_tokens"].contains(&message["stop_reason"].as_str().unwrap()));
    assert!(message["usage"]["output_tokens"].as_u64().unwrap() > 0);
    assert!(message["usage"]["input_tokens"].as_u64().unwrap() > 0);

    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    let r = post(gw.addr, "/v1/messages", &streamed, anthropic_key()).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-sluice-action"), "local");
    assert!(header(&r, "content-type").starts_with("text/event-stream"));
    let events = named_events(&r.text().await.unwrap());
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"message_start"), "{names:?}");
    assert_eq!(names[1], "content_block_start");
    assert!(
        names
            .iter()
            .filter(|n| **n == "content_block_delta")
            .count()
            > 1,
        "{names:?}"
    );
    assert_eq!(
        &names[names.len() - 3..],
        ["content_block_stop", "message_delta", "message_stop"]
    );
    for (name, data) in &events {
        assert_eq!(
            data["type"],
            name.as_str(),
            "the data's type names its event"
        );
    }
    let (_, delta) = &events[events.len() - 2];
    assert!(delta["usage"]["output_tokens"].as_u64().unwrap() > 0);

    gw.stop().await.unwrap();
    assert!(
        upstream.received().is_empty(),
        "the cloud mock received PHI"
    );
    let records = audit.all_records();
    assert_no_canary("the audit log", &records);
    let decision = decision_of(&records, &request_id);
    for t in ["US_SSN", "MEDICAL_CONDITION"] {
        assert!(
            decision.contains(t),
            "decision record lacks {t}: {decision}"
        );
    }
    upstream.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleared_text_reaches_the_cloud_from_every_front_end() {
    let upstream = MockUpstream::start().await;
    let audit = AuditDirs::new();
    let gw = start(&Setup::with_cloud(&upstream, &audit)).await;
    let prompt = "Explain why unit tests are useful in three sentences.";

    // Anthropic Messages, with Bearer auth, complete and streamed.
    let body = json!({"model": "gpt-4o-mini", "max_tokens": 50, "system": "Be brief.",
        "stop_sequences": ["END"], "messages": [{"role": "user", "content": prompt}]});
    let r = post_bearer(gw.addr, "/v1/messages", &body).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-sluice-backend"), "cloud");
    let message: Value = r.json().await.unwrap();
    assert_eq!(
        message["content"],
        json!([{"type": "text", "text": MOCK_ANSWER}])
    );
    assert_eq!(
        message["usage"],
        json!({"input_tokens": 9, "output_tokens": 6})
    );
    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    let r = post(gw.addr, "/v1/messages", &streamed, anthropic_key()).await;
    let events = named_events(&r.text().await.unwrap());
    let text: String = events
        .iter()
        .filter(|(n, _)| n == "content_block_delta")
        .map(|(_, d)| d["delta"]["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(text, MOCK_ANSWER);
    assert_eq!(events.last().unwrap().0, "message_stop");

    // The Responses API, complete and streamed.
    let body = json!({"model": "gpt-4o-mini", "instructions": "Be brief.", "input": prompt, "max_output_tokens": 50});
    let r = post_bearer(gw.addr, "/v1/responses", &body).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-sluice-backend"), "cloud");
    let response: Value = r.json().await.unwrap();
    assert_eq!(response["object"], "response");
    assert_eq!(response["status"], "completed");
    assert_eq!(response["model"], "gpt-4o-mini");
    assert_eq!(response["output"][0]["content"][0]["text"], MOCK_ANSWER);
    assert_eq!(response["usage"]["input_tokens"], 9);
    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    let r = post_bearer(gw.addr, "/v1/responses", &streamed).await;
    let events = named_events(&r.text().await.unwrap());
    let text: String = events
        .iter()
        .filter(|(n, _)| n == "response.output_text.delta")
        .map(|(_, d)| d["delta"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(text, MOCK_ANSWER);
    assert_eq!(events.first().unwrap().0, "response.created");
    assert_eq!(events.last().unwrap().0, "response.completed");

    // Legacy completions.
    let body = json!({"model": "gpt-4o-mini", "prompt": prompt, "max_tokens": 50});
    let r = post_bearer(gw.addr, "/v1/completions", &body).await;
    assert_eq!(r.status(), 200);
    let completion: Value = r.json().await.unwrap();
    assert_eq!(completion["object"], "text_completion");
    assert_eq!(completion["choices"][0]["text"], MOCK_ANSWER);

    let received: Vec<Value> = upstream
        .received()
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    assert_eq!(received.len(), 5);
    assert_eq!(
        received[0]["messages"],
        json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": prompt}])
    );
    assert_eq!(received[0]["stop"], json!(["END"]));
    assert_eq!(received[0]["max_tokens"], 50);
    assert_eq!(
        received[1]["stream_options"],
        json!({"include_usage": true})
    );
    assert_eq!(
        received[2]["messages"][0],
        json!({"role": "system", "content": "Be brief."})
    );
    assert_eq!(
        received[4]["messages"],
        json!([{"role": "user", "content": prompt}])
    );
    gw.stop().await.unwrap();
    sluice::audit::verify::verify_log(&audit.log_dir(), &Default::default()).unwrap();
    upstream.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phi_stays_local_through_responses_and_completions() {
    let upstream = MockUpstream::start().await;
    let audit = AuditDirs::new();
    let gw = start(&Setup::with_cloud(&upstream, &audit)).await;
    let r = post_bearer(
        gw.addr,
        "/v1/responses",
        &json!({"model": "gpt-4o-mini", "max_output_tokens": 16,
            "input": [{"role": "user", "content": [{"type": "input_text", "text": canary_prompt()}]}]}),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-sluice-action"), "local");
    let response: Value = r.json().await.unwrap();
    assert_eq!(response["model"], "gpt-4o-mini");
    assert!(response["output"][0]["content"][0]["text"].is_string());

    let r = post_bearer(
        gw.addr,
        "/v1/completions",
        &json!({"model": "gpt-4o-mini", "max_tokens": 16, "stream": true, "prompt": canary_prompt()}),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-sluice-action"), "local");
    let text = r.text().await.unwrap();
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
    assert!(text.contains("\"object\":\"text_completion\""));

    gw.stop().await.unwrap();
    assert!(
        upstream.received().is_empty(),
        "the cloud mock received PHI"
    );
    assert_no_canary("the audit log", &audit.all_records());
    upstream.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn front_end_errors_come_in_each_apis_shape_without_values() {
    let upstream = MockUpstream::start().await;
    let audit = AuditDirs::new();
    let gw = start(&Setup::with_cloud(&upstream, &audit)).await;
    let good = json!({"model": "gpt-4o-mini", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]});

    let r = post(gw.addr, "/v1/messages", &good, Some(("x-api-key", "wrong"))).await;
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "authentication_error");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("x-api-key"));

    let mut bad = good.clone();
    bad["messages"][0]["content"] = json!([{"type": CANARY_SSN, "text": canary_prompt()}]);
    let r = post(gw.addr, "/v1/messages", &bad, anthropic_key()).await;
    assert_eq!(r.status(), 400);
    let text = r.text().await.unwrap();
    assert_no_canary("a Messages error", &text);
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");

    let blocked = json!({"model": "gpt-4o-mini", "max_tokens": 8, "messages": [{"role": "user",
        "content": "key AKIAIOSFODNN7EXAMPLE secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}]});
    let r = post(gw.addr, "/v1/messages", &blocked, anthropic_key()).await;
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["type"], "permission_error");
    assert!(!body.to_string().contains("AKIAIOSFODNN7EXAMPLE"));

    let r = post(
        gw.addr,
        "/v1/messages",
        &json!("not an object"),
        anthropic_key(),
    )
    .await;
    assert_eq!(r.status(), 400);
    let r = client()
        .post(format!("http://{}/v1/messages", gw.addr))
        .header("x-api-key", CLIENT_KEY)
        .body(vec![b'{', 0xff, b'}'])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["type"], "error");

    let r = post_bearer(
        gw.addr,
        "/v1/responses",
        &json!({"model": "gpt-4o-mini", "input": "hi", "previous_response_id": "resp_1"}),
    )
    .await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["param"], "previous_response_id");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("no conversation state"));

    let r = post_bearer(
        gw.addr,
        "/v1/completions",
        &json!({"model": "gpt-4o-mini", "prompt": "hi", "echo": true}),
    )
    .await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["param"], "echo");

    let r = client()
        .get(format!("http://{}/v1/messages", gw.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    gw.stop().await.unwrap();
    assert!(upstream.received().is_empty());
    upstream.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embeddings_batches_are_decided_whole_and_phi_is_embedded_locally() {
    let upstream = MockUpstream::start().await;
    let audit = AuditDirs::new();
    let gw = start(&Setup::with_cloud(&upstream, &audit)).await;
    let cleared = [
        "Unit tests catch regressions early.",
        "The quarterly roadmap review is on Friday.",
    ];

    let r = post_bearer(
        gw.addr,
        "/v1/embeddings",
        &json!({"model": "gpt-4o-mini", "input": cleared}),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-sluice-backend"), "cloud");
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["data"].as_array().unwrap().len(), 2);
    assert_eq!(answer["data"][1]["embedding"], json!(MOCK_VECTOR));

    // One sensitive item keeps the whole batch on premise.
    let mixed = json!({"model": "gpt-4o-mini", "input": [cleared[0], canary_prompt(), cleared[1]]});
    let r = post_bearer(gw.addr, "/v1/embeddings", &mixed).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-sluice-action"), "local");
    assert_eq!(header(&r, "x-sluice-backend"), "local");
    let request_id = header(&r, "x-sluice-request-id");
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["model"], "gpt-4o-mini");
    let vectors: Vec<Vec<f64>> = answer["data"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, d)| {
            assert_eq!(d["index"], i);
            d["embedding"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(vectors.len(), 3);
    let dims = vectors[0].len();
    assert!(dims >= 64, "{dims} dimensions");
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    for v in &vectors {
        assert_eq!(v.len(), dims);
        assert!((dot(v, v) - 1.0).abs() < 1e-3, "normalised");
    }
    assert!(
        dot(&vectors[0], &vectors[2]) < 0.9999,
        "different texts, different vectors"
    );
    assert!(answer["usage"]["prompt_tokens"].as_u64().unwrap() > 0);

    // The same text embeds the same way, and base64 (what the openai SDKs ask for) decodes to it.
    let r = post_bearer(
        gw.addr,
        "/v1/embeddings",
        &json!({"model": "gpt-4o-mini", "input": canary_prompt(), "encoding_format": "base64"}),
    )
    .await;
    let answer: Value = r.json().await.unwrap();
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(answer["data"][0]["embedding"].as_str().unwrap())
        .unwrap();
    let decoded: Vec<f64> = bytes
        .chunks(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64)
        .collect();
    assert!((dot(&decoded, &vectors[1]) - 1.0).abs() < 1e-4);

    // What cannot be scanned or served is a clear 400.
    for (body, param) in [
        (
            json!({"model": "gpt-4o-mini", "input": [[101, 2023]]}),
            "input",
        ),
        (
            json!({"model": "gpt-4o-mini", "input": canary_prompt(), "dimensions": 7}),
            "dimensions",
        ),
    ] {
        let r = post_bearer(gw.addr, "/v1/embeddings", &body).await;
        assert_eq!(r.status(), 400, "{body}");
        let text = r.text().await.unwrap();
        assert_no_canary("an embeddings error", &text);
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap()["error"]["param"],
            param
        );
    }

    gw.stop().await.unwrap();
    let received = upstream.received();
    assert_eq!(
        received.len(),
        1,
        "only the cleared batch reached the cloud"
    );
    assert_eq!(
        serde_json::from_str::<Value>(&received[0]).unwrap()["input"],
        json!(cleared)
    );
    let records = audit.all_records();
    assert_no_canary("the audit log", &records);
    assert!(decision_of(&records, &request_id).contains("US_SSN"));
    upstream.stop().await;
}
