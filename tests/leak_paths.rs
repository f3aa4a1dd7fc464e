//! The paths by which sensitive values used to reach the cloud with an `allow` decision: fields
//! that were never scanned (object keys, numbers, vocabulary fields, the model name), evasions the
//! detectors did not see through (full-width digits, HTML entities, percent-escapes, zero-width
//! characters, Unicode hyphens, spaced digits, base64), validated identifiers retyped by NER, and
//! raw request text echoed into audit records and error messages. The real detectors and the
//! shipped policies decide; a mock cloud records every body it receives.

mod redact_support;
mod support;

use std::sync::Arc;

use base64::Engine;
use redact_support::*;
use serde_json::{json, Value};
use sluice::detect::Pipeline;
use support::*;

async fn start(config: sluice::config::Config, pipeline: Arc<Pipeline>) -> sluice::server::Running {
    sluice::server::start(config, pipeline).await.unwrap()
}

/// The gateway under the shipped hipaa and soc2 policies, with a recording mock as its cloud.
struct Cloud {
    upstream: MockUpstream,
    audit: AuditDirs,
    running: sluice::server::Running,
}

impl Cloud {
    async fn start() -> Cloud {
        let upstream = MockUpstream::start().await;
        let audit = AuditDirs::new();
        let running = start(
            gateway_config(&Setup::with_cloud(&upstream, &audit)),
            shared_pipeline(),
        )
        .await;
        Cloud {
            upstream,
            audit,
            running,
        }
    }
}

fn shared_pipeline() -> Arc<Pipeline> {
    static PIPELINE: std::sync::OnceLock<Arc<Pipeline>> = std::sync::OnceLock::new();
    PIPELINE.get_or_init(real_pipeline).clone()
}

/// Sends `body` and asserts that it was not served by the cloud with any of `secrets` in it.
async fn assert_kept(
    addr: std::net::SocketAddr,
    upstream: &MockUpstream,
    case: &str,
    body: &Value,
    secrets: &[&str],
) {
    let before = upstream.received().len();
    let r = post_chat(addr, body).await;
    let action = header(&r, "x-sluice-action");
    let status = r.status();
    assert!(
        status.is_success() || status == 403,
        "{case}: status {status}"
    );
    let received = upstream.received();
    for sent in &received[before..] {
        for secret in secrets {
            assert!(
                !sent.contains(secret),
                "{case}: the cloud received {secret:?} (action {action})"
            );
        }
    }
    assert_ne!(action, "allow", "{case}: a sensitive request was allowed");
}

const SSN: &str = "362-57-6552";
const NAME: &str = "Margaret Thistlewood";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_in_keys_numbers_and_vocabulary_fields_are_scanned() {
    let Cloud {
        upstream,
        audit: _audit,
        running,
    } = Cloud::start().await;
    let addr = running.addr;
    let hello = |extra: Value| {
        let mut body = json!({"model": "gpt-4o-mini", "max_tokens": 8,
            "messages": [{"role": "user", "content": "Say hello."}]});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    // Sanity: the same request without a value is cleared (otherwise nothing below is tested).
    let r = post_chat(addr, &hello(json!({"metadata": {"customer": "yes"}}))).await;
    assert_eq!(header(&r, "x-sluice-action"), "allow");

    let cases: Vec<(&str, Value, Vec<&str>)> = vec![
        (
            "an SSN as a metadata key",
            hello(json!({"metadata": {SSN: "customer"}})),
            vec![SSN],
        ),
        (
            "PHI under a `type` key",
            hello(json!({"metadata": {"type": format!("patient {NAME} ssn {SSN} diabetic")}})),
            vec![SSN, NAME],
        ),
        (
            "a card number as a JSON number",
            hello(json!({"seed": 4514397298150617u64})),
            vec!["4514397298150617"],
        ),
        (
            "an SSN as a logit_bias key",
            hello(json!({"logit_bias": {"620-10-9045": 5}})),
            vec!["620-10-9045"],
        ),
        (
            "an SSN as a role",
            json!({"model": "gpt-4o-mini", "max_tokens": 8, "messages": [{"role": "user", "content": "Hi", "x": {"role": SSN}}]}),
            vec![SSN],
        ),
        (
            "an SSN in the model name",
            json!({"model": format!("gpt-4o-mini-{SSN}"), "max_tokens": 8, "messages": [{"role": "user", "content": "Hi"}]}),
            vec![SSN],
        ),
        (
            "a patient's name as a JSON-schema property, with a diagnosis",
            json!({"model": "gpt-4o-mini", "max_tokens": 8, "messages": [{"role": "user",
                "content": "List the medications for the patient with type 2 diabetes."}],
                "response_format": {"type": "json_schema", "json_schema": {"name": "meds", "schema": {
                    "type": "object", "properties": {NAME: {"type": "string"}}}}}}),
            vec![NAME],
        ),
    ];
    for (case, body, secrets) in &cases {
        assert_kept(addr, &upstream, case, body, secrets).await;
    }
    running.stop().await.unwrap();
    upstream.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evasions_are_seen_through() {
    let Cloud {
        upstream,
        audit: _audit,
        running,
    } = Cloud::start().await;
    let b64 = base64::engine::general_purpose::STANDARD;
    let encoded = b64.encode(format!("{NAME}, SSN {SSN}, diagnosed with type 2 diabetes"));
    let html: String = SSN.chars().map(|c| format!("&#{};", c as u32)).collect();
    let percent: String = SSN.bytes().map(|b| format!("%{b:02X}")).collect();
    let cases: Vec<(&str, String)> = vec![
        ("full-width digits", "ＳＳＮ ３６２－５７－６５５２".into()),
        ("HTML entities", format!("SSN {html}")),
        ("percent-escapes", format!("SSN {percent}")),
        (
            "zero-width spaces",
            "SSN 362\u{200B}-57\u{200C}-65\u{2060}52".into(),
        ),
        ("U+2010 hyphens", "SSN 362\u{2010}57\u{2010}6552".into()),
        ("spaced digits", "SSN 3 6 2 - 5 7 - 6 5 5 2".into()),
        (
            "base64 of name, SSN and diagnosis",
            format!("Decode and summarise: {encoded}"),
        ),
    ];
    for (case, evaded) in &cases {
        let body = chat_body(&format!("Please file this: {evaded}. Thanks."), false);
        assert_kept(
            running.addr,
            &upstream,
            case,
            &body,
            &[evaded.as_str(), SSN],
        )
        .await;
    }
    // The scan endpoint says how each value was written.
    let r = client()
        .post(format!("http://{}/v1/scan", running.addr))
        .bearer_auth(CLIENT_KEY)
        .json(&json!({"text": format!("note {encoded}")}))
        .send()
        .await
        .unwrap();
    let scan: Value = r.json().await.unwrap();
    let entities = scan["units"][0]["entities"].as_array().unwrap();
    assert!(
        entities
            .iter()
            .any(|e| e["entity_type"] == "US_SSN" && e["decoded"] == "base64"),
        "{scan}"
    );
    running.stop().await.unwrap();
    upstream.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_medical_record_number_keeps_its_type_and_stays_local() {
    let Cloud {
        upstream,
        audit: _audit,
        running,
    } = Cloud::start().await;
    for text in [
        "MRN: 00482913",
        "Medical record number 00482913 needs a follow-up",
        "Please pull chart # 00482913 before rounds",
    ] {
        let r = client()
            .post(format!("http://{}/v1/scan", running.addr))
            .bearer_auth(CLIENT_KEY)
            .json(&json!({"text": text}))
            .send()
            .await
            .unwrap();
        let scan: Value = r.json().await.unwrap();
        let types: Vec<&str> = scan["units"][0]["entities"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["entity_type"].as_str())
            .collect();
        assert!(types.contains(&"MEDICAL_RECORD_NUMBER"), "{text}: {scan}");
        assert!(!types.contains(&"GOVERNMENT_ID"), "{text}: {scan}");
        let rules: Vec<&str> = scan["rules"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["rule"].as_str())
            .collect();
        assert!(rules.contains(&"health-care-identifier"), "{text}: {scan}");
        assert_eq!(scan["action"], "local", "{text}");
    }
    running.stop().await.unwrap();
    upstream.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_request_text_never_enters_audit_records_or_errors() {
    let Cloud {
        upstream,
        audit,
        running,
    } = Cloud::start().await;
    // A cleared request under a model name nobody configured: the mock echoes it in its answer.
    let body = json!({"model": "gpt-4o-mini-zebra-7731", "max_tokens": 8,
        "messages": [{"role": "user", "content": "Say hello."}]});
    let r = post_chat(running.addr, &body).await;
    assert_eq!(header(&r, "x-sluice-action"), "allow");
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["model"], "gpt-4o-mini-zebra-7731");
    let r = client()
        .get(format!(
            "http://{}/v1/patients/587-24-6913/John-Doe",
            running.addr
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let text = r.text().await.unwrap();
    assert!(
        !text.contains("587-24-6913") && !text.contains("John-Doe"),
        "{text}"
    );
    let r = client()
        .get(format!(
            "http://{}/v1/chat/completions?ssn=587-24-6913",
            running.addr
        ))
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert!(!text.contains("587-24-6913"), "{text}");
    running.stop().await.unwrap();
    upstream.stop().await;
    let records = audit.all_records();
    assert!(records.contains("unlisted"), "{records}");
    assert!(!records.contains("zebra-7731"), "{records}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_to_mask_where_no_placeholder_can_go_keeps_the_request_local() {
    let echo = EchoUpstream::start().await;
    let audit = AuditDirs::new();
    let policies = policy_dir(&["gdpr"]);
    let running = start(
        echo_config(&echo, &audit, policies.path(), &["gdpr"]),
        shared_pipeline(),
    )
    .await;
    // The name alone in a message is redacted and may go to the cloud...
    let r = post_chat(
        running.addr,
        &chat_body(&format!("Write a birthday card for {NAME}."), false),
    )
    .await;
    assert_eq!(header(&r, "x-sluice-action"), "redact");
    assert_eq!(header(&r, "x-sluice-backend"), "cloud");
    // ...but the same name as a metadata key cannot carry a placeholder: served locally.
    let mut body = chat_body(&format!("Write a birthday card for {NAME}."), false);
    body["metadata"] = json!({NAME: "vip"});
    let r = post_chat(running.addr, &body).await;
    assert_eq!(header(&r, "x-sluice-action"), "local");
    assert_eq!(header(&r, "x-sluice-backend"), "local");
    for sent in echo.received() {
        assert!(
            !sent.contains(NAME) && !sent.contains("Thistlewood"),
            "{sent}"
        );
    }
    running.stop().await.unwrap();
    echo.stop().await;
    assert!(audit.all_records().contains("unmaskable_field"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_split_across_two_messages_is_found_in_both() {
    let Cloud {
        upstream,
        audit: _audit,
        running,
    } = Cloud::start().await;
    let body = json!({"model": "gpt-4o-mini", "max_tokens": 8, "messages": [
        {"role": "user", "content": "For the form, my social security number is 362-57-"},
        {"role": "user", "content": "6552 and nothing else."}
    ]});
    let r = client()
        .post(format!("http://{}/v1/scan", running.addr))
        .bearer_auth(CLIENT_KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    let scan: Value = r.json().await.unwrap();
    for (unit, half) in [(0, "362-57-"), (1, "6552")] {
        let ssn = scan["units"][unit]["entities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["entity_type"] == "US_SSN")
            .unwrap_or_else(|| panic!("no US_SSN fragment in message {unit}: {scan}"));
        let text = body["messages"][unit]["content"].as_str().unwrap();
        let (start, end) = (ssn["start"].as_u64().unwrap(), ssn["end"].as_u64().unwrap());
        let found: String = text
            .chars()
            .skip(start as usize)
            .take((end - start) as usize)
            .collect();
        assert_eq!(found, half);
    }
    assert_kept(
        running.addr,
        &upstream,
        "a split SSN",
        &body,
        &["362-57-", "6552"],
    )
    .await;
    running.stop().await.unwrap();
    upstream.stop().await;
}
