//! Task-based routing on a real gateway (real detectors, policies, SmolLM2 and audit log; a mock
//! cloud that records what it receives): rules steer cleared traffic by task hint, size and
//! keywords; a sensitive request stays on premise whatever a rule says; each decision records the
//! rule that chose its backend, and `/v1/scan` shows it.

mod support;

use serde_json::Value;
use support::*;

const RULES: &str = r#"
[keywords]
extraction = ["extract", "classify", "which language"]

[[rules]]
name = "reasoning-to-cloud"
when = { task = ["reason"] }
to = "cloud"

[[rules]]
name = "reflex-local"
when = { max_prompt_tokens = 60, tools = false, keywords = ["extraction"] }
to = "local"

[[rules]]
name = "hinted-local"
when = { task = ["language-detection"] }
to = "local"
"#;

#[derive(serde::Deserialize)]
struct Routing {
    rules: Vec<sluice::route::RouteRuleConfig>,
    keywords: std::collections::BTreeMap<String, sluice::route::KeywordClass>,
}

async fn ask(addr: std::net::SocketAddr, text: &str, task: Option<&str>) -> reqwest::Response {
    let mut r = client()
        .post(format!("http://{addr}/v1/chat/completions"))
        .bearer_auth(CLIENT_KEY)
        .json(&chat_body(text, false));
    if let Some(t) = task {
        r = r.header("x-sluice-task", t);
    }
    r.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_steer_cleared_traffic_and_never_sensitive_traffic() {
    let upstream = MockUpstream::start().await;
    let audit = AuditDirs::new();
    let setup = Setup::with_cloud(&upstream, &audit);
    let mut config = gateway_config(&setup);
    let routing: Routing = toml::from_str(RULES).unwrap();
    config.routing.rules = routing.rules;
    config.routing.keywords = routing.keywords;
    let gw = sluice::server::start(config, real_pipeline())
        .await
        .expect("gateway starts");

    // A short extraction prompt: the local tier (the mock sees nothing).
    let r = ask(
        gw.addr,
        "Extract the invoice number from: invoice 4471, due May.",
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-sluice-action"), "allow");
    assert_eq!(header(&r, "x-sluice-backend"), "local");
    let reflex = header(&r, "x-sluice-request-id");
    assert!(upstream.received().is_empty());

    // The task hint, in any case.
    let r = ask(gw.addr, "Bonjour tout le monde", Some("Language-Detection")).await;
    assert_eq!(header(&r, "x-sluice-backend"), "local");

    // No rule holds: the default route (the cloud).
    let r = ask(gw.addr, "Explain why unit tests are useful.", None).await;
    assert_eq!(header(&r, "x-sluice-backend"), "cloud");
    let defaulted = header(&r, "x-sluice-request-id");
    assert_eq!(upstream.received().len(), 1);

    // A rule naming the cloud: cleared text goes; PHI does not, whatever the hint says.
    let r = ask(gw.addr, "Compare two sorting algorithms.", Some("reason")).await;
    assert_eq!(header(&r, "x-sluice-backend"), "cloud");
    let r = ask(gw.addr, &canary_prompt(), Some("reason")).await;
    assert_eq!(header(&r, "x-sluice-action"), "local");
    assert_eq!(header(&r, "x-sluice-backend"), "local");
    let sensitive = header(&r, "x-sluice-request-id");
    let received = upstream.received();
    assert_eq!(received.len(), 2);
    for body in &received {
        assert_no_canary("cloud request", body);
    }

    // /v1/scan shows the route a request would take.
    let scan: Value = client()
        .post(format!("http://{}/v1/scan", gw.addr))
        .bearer_auth(CLIENT_KEY)
        .header("x-sluice-task", "reason")
        .json(&serde_json::json!({"text": "Compare two sorting algorithms."}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(scan["route"]["rule"], "reasoning-to-cloud", "{scan}");
    assert_eq!(scan["route"]["backend"], "cloud");

    gw.stop().await.unwrap();
    upstream.stop().await;

    // Each decision names the rule that chose its backend; none for defaults or PHI.
    let decisions: Vec<Value> = audit
        .all_records()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["kind"] == "decision")
        .map(|r| serde_json::from_str(r["body"].as_str().unwrap()).unwrap())
        .collect();
    let rule_of = |id: &str| {
        decisions
            .iter()
            .find(|d| d["request_id"] == id)
            .unwrap()
            .get("route_rule")
            .cloned()
    };
    assert_eq!(rule_of(&reflex), Some(Value::from("reflex-local")));
    assert_eq!(rule_of(&defaulted), None);
    assert_eq!(rule_of(&sensitive), None);
}

#[test]
fn a_rule_naming_no_backend_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sluice.toml");
    std::fs::write(
        &path,
        r#"
[audit]
dir = "audit"
[backends.local]
kind = "llama"
[routing]
local = "local"
[[routing.rules]]
name = "r"
to = "nowhere"
"#,
    )
    .unwrap();
    let err = sluice::config::Config::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("nowhere") && err.contains("no [backends.nowhere]"),
        "{err}"
    );
}
