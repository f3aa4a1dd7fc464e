//! The gateway end to end on loopback: real detectors, real policies, real SmolLM2, a real audit
//! log, and a mock cloud upstream that records every body it receives.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use sluice::detect::merge::MergeOptions;
use sluice::detect::{DetectError, Detector, Finding, Pipeline};
use support::*;

async fn start(setup: &Setup<'_>, pipeline: Arc<Pipeline>) -> sluice::server::Running {
    sluice::server::start(gateway_config(setup), pipeline)
        .await
        .expect("gateway starts")
}

fn verify(audit: &AuditDirs) -> sluice::audit::verify::Summary {
    sluice::audit::verify::verify_log(&audit.log_dir(), &Default::default())
        .expect("audit chain verifies")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_phi_stays_local_and_is_audited_without_values() {
    let upstream = MockUpstream::start().await;
    let audit = AuditDirs::new();
    let setup = Setup::with_cloud(&upstream, &audit);
    let gw = start(&setup, real_pipeline()).await;

    let r = post_chat(gw.addr, &chat_body(&canary_prompt(), false)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-sluice-action"), "local");
    assert_eq!(header(&r, "x-sluice-backend"), "local");
    let request_id = header(&r, "x-sluice-request-id");
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body["choices"][0]["message"]["content"].is_string());
    assert!(body["usage"]["completion_tokens"].as_u64().unwrap() > 0);

    gw.stop().await.unwrap();
    assert!(
        upstream.received().is_empty(),
        "the cloud mock received PHI: {:?}",
        upstream.received()
    );
    let records = audit.all_records();
    assert_no_canary("the audit log", &records);
    let decision = records
        .lines()
        .find(|l| l.contains(&request_id) && l.contains("\"decision\""))
        .expect("a decision record for the request");
    assert!(decision.contains("local"), "{decision}");
    for t in ["US_SSN", "MEDICAL_CONDITION", "MEDICAL_RECORD_NUMBER"] {
        assert!(
            decision.contains(t),
            "decision record lacks {t}: {decision}"
        );
    }
    assert!(records
        .lines()
        .any(|l| l.contains(&request_id) && l.contains("\"outcome\"")));
    verify(&audit);
    upstream.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleared_prompt_reaches_the_cloud_unchanged_both_ways() {
    let upstream = MockUpstream::start().await;
    let audit = AuditDirs::new();
    let setup = Setup::with_cloud(&upstream, &audit);
    let gw = start(&setup, real_pipeline()).await;
    let prompt = "Explain why unit tests are useful in three sentences.";

    let mut body = chat_body(prompt, false);
    body["user_tag"] = serde_json::json!({"team": "platform"});
    let r = post_chat(gw.addr, &body).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-sluice-action"), "allow");
    assert_eq!(header(&r, "x-sluice-backend"), "cloud");
    let answer: serde_json::Value = r.json().await.unwrap();
    assert_eq!(answer["choices"][0]["message"]["content"], MOCK_ANSWER);
    assert_eq!(
        answer["mock_extra_field"], "kept",
        "upstream fields pass through"
    );

    let r = post_chat(gw.addr, &chat_body(prompt, true)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-sluice-backend"), "cloud");
    let mut chunks = 0;
    let mut text = String::new();
    let mut stream = r.bytes_stream();
    while let Some(b) = stream.next().await {
        chunks += 1;
        text.push_str(&String::from_utf8_lossy(&b.unwrap()));
    }
    assert!(chunks > 1, "the stream arrived in one piece");
    assert!(text.trim_end().ends_with("data: [DONE]"));
    let streamed: String = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| {
            serde_json::from_str::<serde_json::Value>(d).unwrap()["choices"][0]["delta"]["content"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert_eq!(streamed, MOCK_ANSWER);

    let received = upstream.received();
    assert_eq!(received.len(), 2);
    let first: serde_json::Value = serde_json::from_str(&received[0]).unwrap();
    assert_eq!(first["messages"][0]["content"], prompt);
    assert_eq!(
        first["user_tag"]["team"], "platform",
        "unknown fields pass through"
    );
    gw.stop().await.unwrap();
    verify(&audit);
    upstream.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_blocked_with_reasons_but_no_values() {
    let upstream = MockUpstream::start().await;
    let audit = AuditDirs::new();
    let setup = Setup::with_cloud(&upstream, &audit);
    let gw = start(&setup, real_pipeline()).await;
    let secret = "ghp_R8x2Lq9Zt4Vb7Nc1Mw5Ks3Jd6Hf0Gy2Ap4Ue";
    let r = post_chat(
        gw.addr,
        &chat_body(&format!("Why does my token {secret} fail?"), false),
    )
    .await;
    assert_eq!(r.status(), 403);
    assert_eq!(header(&r, "x-sluice-action"), "block");
    let text = r.text().await.unwrap();
    let err: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(err["error"]["code"], "blocked_by_policy");
    assert!(text.contains("API_KEY"), "{text}");
    assert!(!text.contains(secret));
    gw.stop().await.unwrap();
    assert!(upstream.received().is_empty());
    assert!(!audit.all_records().contains(secret));
    verify(&audit);
    upstream.stop().await;
}

struct BrokenDetector;

impl Detector for BrokenDetector {
    fn name(&self) -> &str {
        "broken"
    }
    fn detect(&self, _text: &str) -> Result<Vec<Finding>, DetectError> {
        Err(DetectError::Model("forced failure".into()))
    }
}

/// A prompt with nothing sensitive in it, which a failed or timed-out scan must still keep local.
async fn ask_harmless_question_answered_locally(addr: std::net::SocketAddr) {
    let r = post_chat(
        addr,
        &chat_body("Explain why unit tests are useful.", false),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-sluice-action"), "local");
    assert_eq!(header(&r, "x-sluice-backend"), "local");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_detector_never_yields_a_cloud_request() {
    let upstream = MockUpstream::start().await;
    let audit = AuditDirs::new();
    let setup = Setup::with_cloud(&upstream, &audit);
    let pipeline = Arc::new(Pipeline::new(
        vec![Box::new(BrokenDetector)],
        MergeOptions::default(),
    ));
    let gw = start(&setup, pipeline).await;
    ask_harmless_question_answered_locally(gw.addr).await;
    gw.stop().await.unwrap();
    assert!(upstream.received().is_empty());
    assert!(audit.all_records().contains("detector error"));
    upstream.stop().await;
}

/// Takes 30 s unless told of a deadline, and records whether it gave up at one.
struct SlowDetector {
    gave_up: Arc<AtomicBool>,
}

impl Detector for SlowDetector {
    fn name(&self) -> &str {
        "slow"
    }
    fn detect(&self, text: &str) -> Result<Vec<Finding>, DetectError> {
        // Only a deadline the caller passes can cut this short in time for the test to see it.
        self.detect_until(text, Instant::now() + Duration::from_secs(30))
    }
    fn detect_until(&self, text: &str, deadline: Instant) -> Result<Vec<Finding>, DetectError> {
        let bound = Instant::now() + Duration::from_secs(30);
        while Instant::now() < bound {
            if Instant::now() >= deadline {
                self.gave_up.store(true, Ordering::SeqCst);
                return Err(DetectError::Deadline);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = text;
        Ok(Vec::new())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detection_timeout_serves_locally_and_stops_the_scan_itself() {
    let upstream = MockUpstream::start().await;
    let audit = AuditDirs::new();
    let setup = Setup::with_cloud(&upstream, &audit);
    let gave_up = Arc::new(AtomicBool::new(false));
    let pipeline = Arc::new(Pipeline::new(
        vec![Box::new(SlowDetector {
            gave_up: gave_up.clone(),
        })],
        MergeOptions::default(),
    ));
    let mut config = gateway_config(&setup);
    config.server.detect_timeout_ms = 300;
    let gw = sluice::server::start(config, pipeline)
        .await
        .expect("gateway starts");
    ask_harmless_question_answered_locally(gw.addr).await;
    // The blocking scan cannot be cancelled from outside; it must have seen the deadline itself
    // (without it, it would run for 30 s more).
    let waited = Instant::now() + Duration::from_secs(10);
    while !gave_up.load(Ordering::SeqCst) && Instant::now() < waited {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        gave_up.load(Ordering::SeqCst),
        "the scan ran on past its deadline"
    );
    gw.stop().await.unwrap();
    assert!(upstream.received().is_empty());
    upstream.stop().await;
}

/// chattr +i makes the log files and directory unwritable even for root, and even through the
/// writer's already-open file descriptor.
fn set_immutable(dir: &std::path::Path, on: bool) {
    let flag = if on { "+i" } else { "-i" };
    let mut paths: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.push(dir.to_path_buf());
    for p in paths {
        let ok = std::process::Command::new("chattr")
            .arg(flag)
            .arg(&p)
            .status()
            .expect("chattr (e2fsprogs) is installed");
        assert!(ok.success(), "chattr {flag} {} failed", p.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_audit_log_refuses_requests_and_forwards_nothing() {
    let upstream = MockUpstream::start().await;
    let audit = AuditDirs::new();
    let setup = Setup::with_cloud(&upstream, &audit);
    let gw = start(&setup, real_pipeline()).await;
    set_immutable(&audit.log_dir(), true);
    let cleared = post_chat(
        gw.addr,
        &chat_body("Explain why unit tests are useful.", false),
    )
    .await;
    let sensitive = post_chat(gw.addr, &chat_body(&canary_prompt(), false)).await;
    let ready = client()
        .get(format!("http://{}/readyz", gw.addr))
        .send()
        .await
        .unwrap()
        .status();
    set_immutable(&audit.log_dir(), false);
    assert_eq!(cleared.status(), 503);
    assert_eq!(sensitive.status(), 503);
    let err: serde_json::Value = cleared.json().await.unwrap();
    assert_eq!(err["error"]["code"], "audit_unavailable");
    assert_eq!(ready, 503, "readiness reflects the broken audit log");
    assert!(
        upstream.received().is_empty(),
        "a request was forwarded without a durable decision record"
    );
    let _ = gw.stop().await;
    upstream.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_local_queue_answers_503_with_retry_after() {
    let audit = AuditDirs::new();
    let setup = Setup {
        upstream: None,
        audit: &audit,
        local_slots: 1,
        local_queue: 0,
        policies: None,
    };
    let gw = start(&setup, real_pipeline()).await;
    let mut long = chat_body("Write a long story about a lighthouse keeper.", true);
    long["max_tokens"] = serde_json::json!(400);
    let first = post_chat(gw.addr, &long).await;
    assert_eq!(first.status(), 200);
    let mut first_stream = first.bytes_stream();
    first_stream.next().await.expect("first chunk").unwrap();

    let second = post_chat(gw.addr, &chat_body(&canary_prompt(), false)).await;
    assert_eq!(second.status(), 503);
    assert!(!header(&second, "retry-after").is_empty());
    assert_eq!(header(&second, "x-sluice-action"), "local");

    // Disconnecting frees the slot: the next request is served.
    drop(first_stream);
    let mut served = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if post_chat(gw.addr, &chat_body("Say hi.", false))
            .await
            .status()
            == 200
        {
            served = true;
            break;
        }
    }
    assert!(
        served,
        "the slot was not freed after the client disconnected"
    );
    gw.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phi_in_tool_call_arguments_is_caught() {
    let upstream = MockUpstream::start().await;
    let audit = AuditDirs::new();
    let setup = Setup::with_cloud(&upstream, &audit);
    let gw = start(&setup, real_pipeline()).await;
    let args = serde_json::json!({"ssn": CANARY_SSN, "diagnosis": CANARY_DIAGNOSIS}).to_string();
    let body = serde_json::json!({
        "model": "gpt-4o-mini",
        "max_tokens": 16,
        "messages": [
            {"role": "user", "content": "Look up the patient."},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": "lookup_patient", "arguments": args}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "found"}
        ],
        "tools": [{"type": "function", "function": {"name": "lookup_patient", "description": "Find a patient record",
            "parameters": {"type": "object", "properties": {"ssn": {"type": "string"}}}}}]
    });
    let r = post_chat(gw.addr, &body).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-sluice-action"), "local");
    gw.stop().await.unwrap();
    assert!(upstream.received().is_empty());
    assert_no_canary("the audit log", &audit.all_records());
    upstream.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_streaming_arrives_in_several_chunks() {
    let audit = AuditDirs::new();
    let setup = Setup {
        upstream: None,
        audit: &audit,
        local_slots: 1,
        local_queue: 4,
        policies: None,
    };
    let gw = start(&setup, real_pipeline()).await;
    let mut body = chat_body(&canary_prompt(), true);
    body["stream_options"] = serde_json::json!({"include_usage": true});
    let r = post_chat(gw.addr, &body).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), "text/event-stream");
    let mut stream = r.bytes_stream();
    let mut pieces = 0;
    let mut text = String::new();
    while let Some(b) = stream.next().await {
        pieces += 1;
        text.push_str(&String::from_utf8_lossy(&b.unwrap()));
    }
    let events: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect();
    assert!(
        pieces > 2 && events.len() > 3,
        "{pieces} pieces, {} events",
        events.len()
    );
    assert_eq!(*events.last().unwrap(), "[DONE]");
    assert!(
        text.contains("\"usage\""),
        "include_usage asked for a usage chunk"
    );
    gw.stop().await.unwrap();
    verify(&audit);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_clear_openai_errors() {
    let upstream = MockUpstream::start().await;
    let audit = AuditDirs::new();
    let setup = Setup::with_cloud(&upstream, &audit);
    let gw = start(&setup, real_pipeline()).await;
    let url = format!("http://{}/v1/chat/completions", gw.addr);
    let c = client();
    let send = |body: Vec<u8>| {
        c.post(&url)
            .bearer_auth(CLIENT_KEY)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    let r = c
        .post(&url)
        .json(&chat_body("hi", false))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = c
        .post(&url)
        .bearer_auth(WRONG_KEY)
        .json(&chat_body("hi", false))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let r = send(b"{not json".to_vec()).await.unwrap();
    assert_eq!(r.status(), 400);
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["error"]["type"], "invalid_request_error");

    let r = send(br#"{"model":"gpt-4o-mini"}"#.to_vec()).await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("messages"));

    let r = send(br#"{"model":"gpt-4o-mini","messages":"512-48-7391"}"#.to_vec())
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        !r.text().await.unwrap().contains("512-48-7391"),
        "errors must not echo request values"
    );

    let r = send(vec![b'{', b'"', 0xff, 0xfe, b'"', b'}'])
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let r = send(
        format!(r#"{{"model":"m","messages":[{{"role":"user","content":"x"}}],"x":{deep}}}"#)
            .into_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);

    let huge = "a".repeat(11 * 1024 * 1024);
    let r = send(
        format!(r#"{{"model":"m","messages":[{{"role":"user","content":"{huge}"}}]}}"#)
            .into_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 413);

    let r = c
        .get(format!("http://{}/v1/nowhere", gw.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = c.get(&url).bearer_auth(CLIENT_KEY).send().await.unwrap();
    assert_eq!(r.status(), 405);
    let e: serde_json::Value = r.json().await.unwrap();
    assert!(e["error"]["message"].is_string());

    // The server is still healthy and nothing reached the cloud.
    let r = c
        .get(format!("http://{}/healthz", gw.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(upstream.received().is_empty());
    gw.stop().await.unwrap();
    upstream.stop().await;

    // Every refusal before a decision is its own audit record: the error's type and status,
    // the unknown key's fingerprint, the peer; never the key or the body.
    verify(&audit);
    let records = audit.all_records();
    assert_no_canary("audit log", &records);
    assert!(!records.contains(WRONG_KEY) && !records.contains("512-48-7391"));
    let refused: Vec<serde_json::Value> = records
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["kind"] == "refused")
        .map(|r| serde_json::from_str(r["body"].as_str().unwrap()).unwrap())
        .collect();
    let statuses: Vec<u64> = refused
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [401, 401, 400, 400, 400, 400, 400, 413],
        "{refused:?}"
    );
    let fingerprinter =
        sluice::audit::Fingerprinter::load(&audit.keys().join("fingerprint.key")).unwrap();
    let expected = fingerprinter.fingerprint("API_KEY", WRONG_KEY);
    assert!(
        refused[0].get("key_fingerprint").is_none(),
        "no key was presented"
    );
    assert_eq!(refused[1]["key_fingerprint"], expected.as_str());
    assert_eq!(refused[1]["code"], "invalid_api_key");
    assert_eq!(refused[1]["route"], "/v1/chat/completions");
    assert_eq!(refused[1]["peer"], "127.0.0.1");
    assert!(refused[1].get("client").is_none());
    assert_eq!(refused[2]["client"], "tester");
    assert_eq!(refused[2]["error_type"], "invalid_request_error");
    // No decision was made for any of them.
    assert!(!records.contains("\"kind\":\"decision\""));
}

/// A key no client holds; it must never reach the audit log.
const WRONG_KEY: &str = "sk-wrong-7f3a9c1e5b2d";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_models_and_metrics_endpoints() {
    let audit = AuditDirs::new();
    let setup = Setup {
        upstream: None,
        audit: &audit,
        local_slots: 1,
        local_queue: 4,
        policies: None,
    };
    let gw = start(&setup, real_pipeline()).await;
    let c = client();
    let r = c
        .post(format!("http://{}/v1/scan", gw.addr))
        .bearer_auth(CLIENT_KEY)
        .json(&serde_json::json!({"text": canary_prompt()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let scan: serde_json::Value = r.json().await.unwrap();
    assert_eq!(scan["action"], "local");
    let types: Vec<&str> = scan["units"][0]["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["entity_type"].as_str().unwrap())
        .collect();
    assert!(types.contains(&"US_SSN"), "{types:?}");

    let r = c
        .get(format!("http://{}/v1/models", gw.addr))
        .bearer_auth(CLIENT_KEY)
        .send()
        .await
        .unwrap();
    let models: serde_json::Value = r.json().await.unwrap();
    assert_eq!(models["data"][0]["id"], "gpt-4o-mini");
    let r = c
        .get(format!("http://{}/v1/models/gpt-4o-mini", gw.addr))
        .bearer_auth(CLIENT_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let model: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        (&model["id"], &model["object"]),
        (&"gpt-4o-mini".into(), &"model".into())
    );
    // An unknown name is client text: the 404 does not repeat it.
    let r = c
        .get(format!("http://{}/v1/models/patient-587-24-6913", gw.addr))
        .bearer_auth(CLIENT_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let err = r.text().await.unwrap();
    assert!(
        err.contains("model_not_found") && !err.contains("587-24-6913"),
        "{err}"
    );
    let r = c
        .get(format!("http://{}/v1/models/gpt-4o-mini", gw.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    post_chat(gw.addr, &chat_body(&canary_prompt(), false)).await;
    let metrics = c
        .get(format!("http://{}/metrics", gw.addr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "sluice_requests_total{action=\"local\",backend=\"local\",client=\"tester\",route=\"chat_completions\",status=\"200\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("sluice_tokens_total{backend=\"local\",direction=\"out\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("sluice_build_info{"), "{metrics}");
    assert!(metrics.contains("sluice_entities_total{entity_type=\"US_SSN\"}"));
    assert_no_canary("metrics", &metrics);
    let ready = c
        .get(format!("http://{}/readyz", gw.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    gw.stop().await.unwrap();
}
