//! Local first, escalate when unsure, on a real gateway: SmolLM2 answers first (with real token
//! log-probabilities), the rule's check keeps or escalates, and a mock cloud records what
//! reaches it. Streams are buffered before the first byte; sensitive requests are never
//! escalated; a `redact` request escalates with placeholders only; both attempts are in the
//! audit log.

mod redact_support;
mod support;

use serde_json::{json, Value};
use support::*;

/// `keep-*` rules accept any answer SmolLM2 gives (no log-probability floor to speak of, any
/// length, hedges allowed); `strict-*` ones escalate every answer it can give.
const RULES: &str = r#"
[[rules]]
name = "keep-local"
when = { task = ["keep"] }
to = "local"
escalate = { to = "cloud", min_mean_logprob = -1000.0, answer = { min_chars = 0, unsure_phrases = [], allow_truncated = true } }

[[rules]]
name = "strict-local"
when = { task = ["strict"] }
to = "local"
escalate = { to = "cloud", min_mean_logprob = -0.000001, answer = { pattern = '^ANSWER-[0-9]{6}$' } }

[[rules]]
name = "strict-unbuffered"
when = { task = ["unbuffered"] }
to = "local"
escalate = { to = "cloud", min_mean_logprob = -0.000001, stream = "never" }
"#;

#[derive(serde::Deserialize)]
struct Routing {
    rules: Vec<sluice::route::RouteRuleConfig>,
}

fn rules() -> Vec<sluice::route::RouteRuleConfig> {
    toml::from_str::<Routing>(RULES).unwrap().rules
}

async fn ask(addr: std::net::SocketAddr, body: &Value, task: &str) -> reqwest::Response {
    client()
        .post(format!("http://{addr}/v1/chat/completions"))
        .bearer_auth(CLIENT_KEY)
        .header("x-sluice-task", task)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// The outcome records of one request, in log order.
fn outcomes(audit: &AuditDirs, request_id: &str) -> Vec<Value> {
    let mut records = audit.bodies("outcome");
    records.retain(|o| o["request_id"] == request_id);
    records
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sure_answers_stay_local_and_unsure_ones_go_to_the_cloud_before_the_first_byte() {
    let upstream = MockUpstream::start().await;
    let audit = AuditDirs::new();
    let setup = Setup::with_cloud(&upstream, &audit);
    let mut config = gateway_config(&setup);
    config.routing.rules = rules();
    let gw = sluice::server::start(config, real_pipeline())
        .await
        .expect("gateway starts");
    let question = "Name a primary colour.";

    // Kept: the local answer, without the log-probabilities the client did not ask for.
    let r = ask(gw.addr, &chat_body(question, false), "keep").await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-sluice-backend"), "local");
    let kept = header(&r, "x-sluice-request-id");
    let answer: Value = r.json().await.unwrap();
    assert!(answer["choices"][0].get("logprobs").is_none(), "{answer}");
    assert!(upstream.received().is_empty());

    // Kept, and the client asked for log-probabilities: the model's real ones.
    let mut body = chat_body(question, false);
    body["logprobs"] = json!(true);
    body["top_logprobs"] = json!(2);
    let answer: Value = ask(gw.addr, &body, "keep").await.json().await.unwrap();
    let content = answer["choices"][0]["message"]["content"].as_str().unwrap();
    let tokens = answer["choices"][0]["logprobs"]["content"]
        .as_array()
        .unwrap();
    assert!(!tokens.is_empty(), "{answer}");
    let joined: String = tokens
        .iter()
        .map(|t| t["token"].as_str().unwrap())
        .collect();
    assert!(
        joined.starts_with(content.trim_end()),
        "{joined:?} vs {content:?}"
    );
    for token in tokens {
        let logprob = token["logprob"].as_f64().unwrap();
        assert!(logprob <= 0.0, "{token}");
        let top = token["top_logprobs"].as_array().unwrap();
        assert_eq!(top.len(), 2, "{token}");
        // Greedy decoding picks the most likely token.
        assert!(
            (top[0]["logprob"].as_f64().unwrap() - logprob).abs() < 1e-4,
            "{token}"
        );
    }

    // Kept, streamed: the buffered local answer as a well-formed stream.
    let r = ask(gw.addr, &chat_body(question, true), "keep").await;
    assert_eq!(header(&r, "x-sluice-backend"), "local");
    let streamed = redact_support::parse_stream(&r.text().await.unwrap());
    assert!(
        streamed.finished && streamed.done && streamed.errors.is_empty(),
        "{streamed:?}"
    );
    assert!(upstream.received().is_empty());

    // Unsure (the shape and the log-probability floor): the cloud answers.
    let r = ask(gw.addr, &chat_body(question, false), "strict").await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-sluice-backend"), "cloud");
    let escalated = header(&r, "x-sluice-request-id");
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["choices"][0]["message"]["content"], MOCK_ANSWER);
    assert_eq!(upstream.received().len(), 1);
    let sent: Value = serde_json::from_str(&upstream.received()[0]).unwrap();
    assert!(
        sent.get("logprobs").is_none(),
        "the cloud gets the client's request: {sent}"
    );

    // Unsure, streamed: nothing of the local answer reaches the client, only the cloud's stream.
    let r = ask(gw.addr, &chat_body(question, true), "strict").await;
    assert_eq!(header(&r, "x-sluice-backend"), "cloud");
    let streamed = redact_support::parse_stream(&r.text().await.unwrap());
    assert_eq!(streamed.content, MOCK_ANSWER);
    assert_eq!(upstream.received().len(), 2);

    // A route that never escalates streams streams the local answer unchecked.
    let r = ask(gw.addr, &chat_body(question, true), "unbuffered").await;
    assert_eq!(header(&r, "x-sluice-backend"), "local");
    let unbuffered = header(&r, "x-sluice-request-id");
    assert!(redact_support::parse_stream(&r.text().await.unwrap()).done);
    assert_eq!(upstream.received().len(), 2);

    // A sensitive request on an escalating rule is never escalated nor even judged.
    let r = ask(gw.addr, &chat_body(&canary_prompt(), false), "strict").await;
    assert_eq!(header(&r, "x-sluice-action"), "local");
    assert_eq!(header(&r, "x-sluice-backend"), "local");
    let sensitive = header(&r, "x-sluice-request-id");
    assert_eq!(upstream.received().len(), 2);

    let metrics = client()
        .get(format!("http://{}/metrics", gw.addr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("sluice_local_first_total{rule=\"strict-local\",verdict=\"escalated\"} 2"),
        "{metrics}"
    );
    assert!(metrics.contains(
        "sluice_local_first_unsure_total{reason=\"pattern_mismatch\",rule=\"strict-local\"} 2"
    ));
    gw.stop().await.unwrap();
    upstream.stop().await;

    // Both attempts of an escalated request are on record; a kept one has one outcome.
    let records = outcomes(&audit, &escalated);
    assert_eq!(records.len(), 2, "{records:?}");
    let (first, second) = (&records[0]["escalation"], &records[1]["escalation"]);
    assert_eq!(records[0]["backend"]["name"], "local");
    assert_eq!(first["attempt"], "local_first");
    assert_eq!(first["rule"], "strict-local");
    assert_eq!(first["escalated_to"], "cloud");
    assert!(first["mean_logprob"].as_f64().unwrap() < 0.0);
    let unsure: Vec<&str> = first["unsure"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    assert!(
        unsure.contains(&"pattern_mismatch") && unsure.contains(&"low_logprob"),
        "{unsure:?}"
    );
    assert_eq!(records[1]["backend"]["name"], "cloud");
    assert_eq!(second["attempt"], "escalated");
    let records = outcomes(&audit, &kept);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["escalation"]["attempt"], "local_first");
    assert!(records[0]["escalation"].get("escalated_to").is_none());
    assert!(records[0]["tokens_out"].as_u64().unwrap() > 0);
    for id in [&sensitive, &unbuffered] {
        let records = outcomes(&audit, id);
        assert_eq!(records.len(), 1);
        assert!(records[0].get("escalation").is_none(), "{records:?}");
    }
    assert_no_canary("audit log", &audit.all_records());

    // Costs count each request once, and both attempts' tokens.
    let prices: sluice::audit::costs::CostConfig =
        toml::from_str("default_price = { input_per_million = 1.0, output_per_million = 1.0 }")
            .unwrap();
    let costs = sluice::audit::costs::compute(&audit.log_dir(), None, None, &prices).unwrap();
    assert_eq!(costs.total.requests, 7, "{costs:?}");
    assert_eq!(costs.by_backend["cloud"].requests, 2);
    assert_eq!(costs.by_backend["local"].requests, 5);
    assert!(costs.by_backend["local"].tokens_out > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redact_request_escalates_with_placeholders_only() {
    use redact_support::*;
    let echo = EchoUpstream::start().await;
    let audit = AuditDirs::new();
    let dir = policy_dir(&["gdpr"]);
    let mut config = echo_config(&echo, &audit, dir.path(), &["gdpr"]);
    config.routing.rules = rules();
    let gw = sluice::server::start(config, pipeline_with_deny_lists())
        .await
        .expect("gateway starts");
    let text = "Write a short thank-you note to zoe.angstrom@example.com for the meeting.";
    let r = ask(gw.addr, &chat_body(text, false), "strict").await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-sluice-action"), "redact");
    assert_eq!(header(&r, "x-sluice-backend"), "cloud");
    let answer: Value = r.json().await.unwrap();
    // The echo comes back restored for the client.
    assert!(
        answer["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .contains("zoe.angstrom@example.com"),
        "{answer}"
    );
    gw.stop().await.unwrap();
    let received = echo.received();
    assert_eq!(received.len(), 1);
    assert!(!received[0].contains("zoe.angstrom"), "{}", received[0]);
    echo.stop().await;
}

#[test]
fn an_escalating_rule_must_answer_on_premise_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sluice.toml");
    let config = |to: &str, escalate_to: &str| {
        format!(
            r#"
[audit]
dir = "audit"
[backends.local]
kind = "llama"
[backends.cloud]
kind = "openai"
[routing]
local = "local"
[[routing.rules]]
name = "r"
to = "{to}"
escalate = {{ to = "{escalate_to}" }}
"#
        )
    };
    let error = |text: String| {
        std::fs::write(&path, text).unwrap();
        sluice::config::Config::load(&path).unwrap_err().to_string()
    };
    let e = error(config("cloud", "local"));
    assert!(e.contains("\"r\"") && e.contains("not on premise"), "{e}");
    let e = error(config("local", "nowhere"));
    assert!(e.contains("no [backends.nowhere]"), "{e}");
    let e = error(config("local", "local"));
    assert!(e.contains("another backend"), "{e}");
}
