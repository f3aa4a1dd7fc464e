//! The NER model runs only where it can change the decision (issue 12): a request that the rule
//! packs and dictionaries already send `local` is decided without it, and says so in its audit
//! record; a request that may go to the cloud, or that must be redacted, is always scanned by it.
//!
//! The pipeline is the real one (rule packs, dictionaries, the Rampart model) with the model
//! wrapped to count its calls.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use sluice::detect::ner::{NerConfig, NerDetector};
use sluice::detect::{DetectConfig, DetectError, Detector, Finding, Pipeline};
use support::*;

/// The real NER model, counting the texts it is asked to scan.
struct CountingNer {
    inner: NerDetector,
    calls: Arc<AtomicUsize>,
}

impl Detector for CountingNer {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn reads_prose(&self) -> bool {
        self.inner.reads_prose()
    }
    fn reported_types(&self) -> Option<Vec<&'static str>> {
        self.inner.reported_types()
    }
    fn detect(&self, text: &str) -> Result<Vec<Finding>, DetectError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.detect(text)
    }
    fn detect_until(&self, text: &str, deadline: Instant) -> Result<Vec<Finding>, DetectError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.detect_until(text, deadline)
    }
}

fn counted_pipeline() -> (Arc<Pipeline>, Arc<AtomicUsize>) {
    let mut cfg = DetectConfig::default();
    cfg.resolve_paths(&repo());
    let ner = NerDetector::load(&NerConfig::from(&cfg)).expect("run `make models` first");
    cfg.ner = false;
    let calls = Arc::new(AtomicUsize::new(0));
    let pipeline = Pipeline::from_config(&cfg)
        .expect("rule packs load")
        .with_detector(Box::new(CountingNer {
            inner: ner,
            calls: calls.clone(),
        }));
    (Arc::new(pipeline), calls)
}

async fn start(setup: &Setup<'_>, pipeline: Arc<Pipeline>) -> sluice::server::Running {
    sluice::server::start(gateway_config(setup), pipeline)
        .await
        .expect("gateway starts")
}

fn decision_record(audit: &AuditDirs, request_id: &str) -> serde_json::Value {
    let records = audit.all_records();
    let line = records
        .lines()
        .find(|l| l.contains(request_id) && l.contains("\"decision\""))
        .expect("a decision record for the request");
    let record: serde_json::Value = serde_json::from_str(line).expect("a record is JSON");
    serde_json::from_str(record["body"].as_str().expect("a body")).expect("a body is JSON")
}

fn skipped(body: &serde_json::Value) -> Vec<String> {
    body["skipped_detectors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| s["detector"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_already_local_runs_no_ner_and_its_record_says_why() {
    let upstream = MockUpstream::start().await;
    let audit = AuditDirs::new();
    let setup = Setup::with_cloud(&upstream, &audit);
    let (pipeline, calls) = counted_pipeline();
    let gw = start(&setup, pipeline).await;

    // A validated SSN and a medical record number: local under HIPAA, whatever names NER finds.
    let r = post_chat(gw.addr, &chat_body(&canary_prompt(), false)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-sluice-action"), "local");
    let request_id = header(&r, "x-sluice-request-id");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "NER ran on a settled request"
    );

    let metrics = client()
        .get(format!("http://{}/metrics", gw.addr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("sluice_ner_skipped_total 1"), "{metrics}");
    gw.stop().await.unwrap();
    assert!(upstream.received().is_empty());

    let body = decision_record(&audit, &request_id);
    assert_eq!(skipped(&body), ["ner"], "{body}");
    assert_eq!(body["action"], "local");
    assert!(
        !body["detectors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == "ner"),
        "a skipped detector is not listed as having scanned: {body}"
    );
    let reason = body["skipped_detectors"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("local") && reason.contains("hipaa"),
        "{reason}"
    );
    // The explanation stays complete: the rules that fired on what was found are recorded.
    let rules = body["rule_ids"].to_string();
    assert!(rules.contains("hipaa/health-care-identifier"), "{rules}");
    assert_no_canary("the audit log", &audit.all_records());
    upstream.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_could_go_to_the_cloud_is_scanned_by_ner() {
    let upstream = MockUpstream::start().await;
    let audit = AuditDirs::new();
    let setup = Setup::with_cloud(&upstream, &audit);
    let (pipeline, calls) = counted_pipeline();
    let gw = start(&setup, pipeline).await;

    // Nothing the rule packs know; only NER finds the name, which keeps it on premise.
    let r = post_chat(
        gw.addr,
        &chat_body(
            "Write a short thank-you note to Margaret Thistlewood for the flowers.",
            false,
        ),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-sluice-action"), "local");
    let request_id = header(&r, "x-sluice-request-id");
    assert!(calls.load(Ordering::SeqCst) >= 1);
    gw.stop().await.unwrap();
    assert!(upstream.received().is_empty());
    let record = decision_record(&audit, &request_id);
    assert!(skipped(&record).is_empty(), "{record}");
    assert!(
        record["entities"].to_string().contains("PERSON"),
        "{record}"
    );
    upstream.stop().await;
}

const REDACT_SSN: &str = r#"
name = "mask-ssn"
description = "test: SSNs are masked, everything else may go to the cloud"
default = "allow"
on_detector_error = "local"

[[rule]]
id = "ssn"
match = ["US_SSN"]
action = "redact"
reason = "SSNs are replaced by placeholders."
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redact_decision_always_runs_ner() {
    let upstream = MockUpstream::start().await;
    let audit = AuditDirs::new();
    let policies = tempfile::tempdir().unwrap();
    std::fs::write(policies.path().join("mask-ssn.toml"), REDACT_SSN).unwrap();
    let setup = Setup {
        policies: Some(policies.path()),
        ..Setup::with_cloud(&upstream, &audit)
    };
    let mut config = gateway_config(&setup);
    config.policies.default_set = vec!["mask-ssn".into()];
    let (pipeline, calls) = counted_pipeline();
    let gw = sluice::server::start(config, pipeline)
        .await
        .expect("gateway starts");

    // The SSN is validated (firm), and `redact` is already the decision: NER still runs,
    // because every value of a masked type must be found.
    let r = post_chat(
        gw.addr,
        &chat_body("Is 512-48-7391 a valid SSN format?", false),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-sluice-action"), "redact");
    let request_id = header(&r, "x-sluice-request-id");
    assert!(
        calls.load(Ordering::SeqCst) >= 1,
        "NER skipped under redact"
    );
    gw.stop().await.unwrap();
    let record = decision_record(&audit, &request_id);
    assert!(skipped(&record).is_empty(), "{record}");
    for body in upstream.received() {
        assert!(!body.contains(CANARY_SSN), "the SSN reached the cloud");
    }
    upstream.stop().await;
}

#[test]
fn two_passes_find_what_one_pass_finds() {
    let mut cfg = DetectConfig::default();
    cfg.resolve_paths(&repo());
    let pipeline = Pipeline::from_config(&cfg).expect("run `make models` first");
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    let texts = [
        canary_prompt(),
        "Card 4111 1111 1111 1111, routing 021000021, call Ann Lee at (415) 555-0132.".into(),
        "Ship to 1600 Pennsylvania Avenue NW, Washington, DC 20500 for John Smith.".into(),
        "Key AKIAIOSFODNN7EXAMPLE in base64: QUtJQUlPU0ZPRE5ON0VYQU1QTEU= for jane@example.org"
            .into(),
        "Nothing to see here, version 3.2.1 costs $40.".into(),
    ];
    for text in &texts {
        let one = pipeline.scan(text).unwrap();
        let two = match pipeline
            .first_pass_until(text, sluice::detect::Reading::Prose, deadline)
            .unwrap()
        {
            sluice::detect::Scanned::Partial(first) => {
                pipeline.second_pass_until(text, &first, deadline).unwrap()
            }
            sluice::detect::Scanned::Complete(_) => panic!("NER is on: the first pass is partial"),
        };
        assert_eq!(one, two, "two passes differ from one on {text:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ner_always_scans_even_a_settled_request() {
    let upstream = MockUpstream::start().await;
    let audit = AuditDirs::new();
    let setup = Setup::with_cloud(&upstream, &audit);
    let mut config = gateway_config(&setup);
    config.detect.ner_always = true;
    let (pipeline, calls) = counted_pipeline();
    let gw = sluice::server::start(config, pipeline)
        .await
        .expect("gateway starts");
    let r = post_chat(gw.addr, &chat_body(&canary_prompt(), false)).await;
    assert_eq!(header(&r, "x-sluice-action"), "local");
    let request_id = header(&r, "x-sluice-request-id");
    assert!(calls.load(Ordering::SeqCst) >= 1);
    gw.stop().await.unwrap();
    let body = decision_record(&audit, &request_id);
    assert!(skipped(&body).is_empty(), "{body}");
    // The name only NER finds is now in the evidence too.
    assert!(body["entities"].to_string().contains("PERSON"), "{body}");
    upstream.stop().await;
}
