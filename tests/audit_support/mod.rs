//! Shared fixtures for the audit tests: a log directory with keys kept outside it, records built
//! from canary values through the real evidence builder, and helpers to tamper with lines.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::Value;
use sluice::audit::chain::{record_hash, ChainHash};
use sluice::audit::keys::{generate_fingerprint_key, generate_signing_key};
use sluice::audit::{
    Action, AuditConfig, AuditLog, BackendRef, Clock, DecisionRecord, EntityEvidence,
    Fingerprinter, OutcomeRecord, PolicyRef,
};
use sluice::detect::entity::{DetectorKind, Entity};

/// Raw values that must never appear in any audit file.
pub const CANARY_NAME: &str = "Zebulon Quillfeather";
pub const CANARY_SSN: &str = "078-05-1120";
pub const CANARY_MRN: &str = "MRN-4471938";
pub const CANARY_DIAGNOSIS: &str = "glioblastoma";

pub struct Fixture {
    pub root: tempfile::TempDir,
    pub dir: PathBuf,
    pub signing_key: PathBuf,
    pub public_key: PathBuf,
    pub fingerprint_key: PathBuf,
}

impl Fixture {
    pub fn new() -> Fixture {
        let root = tempfile::tempdir().unwrap();
        let keys = root.path().join("keys");
        let signing_key = keys.join("signing.pem");
        let public_key = keys.join("signing.pub.pem");
        let fingerprint_key = keys.join("fingerprint.key");
        generate_signing_key(&signing_key, &public_key).unwrap();
        generate_fingerprint_key(&fingerprint_key).unwrap();
        Fixture {
            dir: root.path().join("audit"),
            root,
            signing_key,
            public_key,
            fingerprint_key,
        }
    }

    pub fn config(&self) -> AuditConfig {
        AuditConfig::new(&self.dir, &self.signing_key, &self.fingerprint_key)
    }

    pub fn file(&self, index: u64) -> PathBuf {
        self.dir.join(sluice::audit::files::log_file_name(index))
    }

    /// Every byte of every file in the log directory.
    pub fn all_bytes(&self) -> Vec<u8> {
        let mut all = Vec::new();
        for entry in fs::read_dir(&self.dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                all.extend(fs::read(&path).unwrap());
            }
        }
        all
    }
}

/// A wall clock a test moves by hand; every reading advances it by one millisecond.
pub struct TestClock {
    micros: AtomicI64,
}

impl TestClock {
    pub fn at(t: DateTime<Utc>) -> Arc<TestClock> {
        Arc::new(TestClock {
            micros: AtomicI64::new(t.timestamp_micros()),
        })
    }

    pub fn set(&self, t: DateTime<Utc>) {
        self.micros.store(t.timestamp_micros(), Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        let m = self.micros.fetch_add(1000, Ordering::SeqCst);
        Utc.timestamp_micros(m).unwrap()
    }
}

pub fn day(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, s).unwrap()
}

pub fn one_minute() -> Duration {
    Duration::minutes(1)
}

fn entity(
    entity_type: &str,
    start: usize,
    end: usize,
    score: f32,
    detector: DetectorKind,
) -> Entity {
    Entity {
        decoded: None,
        entity_type: entity_type.into(),
        start,
        end,
        score,
        detector,
        rule_id: format!("{}-rule", entity_type.to_lowercase().replace('_', "-")),
        validated: false,
        context: vec![],
    }
}

fn span(text: &str, value: &str) -> (usize, usize) {
    let byte = text.find(value).unwrap();
    let start = text[..byte].chars().count();
    (start, start + value.chars().count())
}

/// A prompt holding the canary patient, as the gateway would see it.
pub fn canary_prompt() -> String {
    format!(
        "Summarize: patient {CANARY_NAME}, SSN {CANARY_SSN}, record {CANARY_MRN}, diagnosed with {CANARY_DIAGNOSIS}."
    )
}

/// A decision built the way the gateway builds one: entities from detectors, fingerprinted by
/// the log's fingerprinter. `phi` selects the canary prompt (PHI) or a secret-only prompt.
pub fn decision(
    fp: &Fingerprinter,
    request_id: &str,
    client: &str,
    action: Action,
    phi: bool,
) -> DecisionRecord {
    let mut evidence = EntityEvidence::new(fp);
    if phi {
        let text = canary_prompt();
        for (t, v, d) in [
            ("PERSON", CANARY_NAME, DetectorKind::Ner),
            ("US_SSN", CANARY_SSN, DetectorKind::Regex),
            ("MEDICAL_RECORD_NUMBER", CANARY_MRN, DetectorKind::Regex),
            (
                "MEDICAL_CONDITION",
                CANARY_DIAGNOSIS,
                DetectorKind::Dictionary,
            ),
        ] {
            let (s, e) = span(&text, v);
            evidence
                .add_in_text(&entity(t, s, e, 0.91, d), &text)
                .unwrap();
        }
    } else if action == Action::Block {
        let text = "key sk-live-abcdefghijklmnop";
        evidence
            .add_in_text(
                &entity(
                    "API_KEY",
                    4,
                    text.chars().count(),
                    0.99,
                    DetectorKind::Regex,
                ),
                text,
            )
            .unwrap();
    }
    let backend = match action {
        Action::Block => None,
        Action::Local => Some(BackendRef {
            name: "llama".into(),
            on_premise: true,
        }),
        Action::Allow | Action::Redact => Some(BackendRef {
            name: "openai".into(),
            on_premise: false,
        }),
    };
    DecisionRecord {
        request_id: request_id.into(),
        client: client.into(),
        policies: vec![PolicyRef {
            name: "hipaa".into(),
            // As the gateway writes it: the sha256 of the policy file, 64 hex digits.
            version: "de69aba050f6c84a903f3838995d2ba0cf23d81f143e658f821dedd19248a465".into(),
        }],
        action,
        rule_ids: if phi {
            vec!["hipaa/phi".into()]
        } else {
            vec![]
        },
        reasons: if phi {
            vec!["An identifier of a person together with health information is protected health information: it stays on premises.".into()]
        } else {
            vec![]
        },
        detectors: vec!["regex".into(), "dictionary".into(), "ner".into()],
        skipped_detectors: Vec::new(),
        entities: evidence.finish(),
        backend,
        route_rule: None,
    }
}

pub fn outcome(request_id: &str, backend: Option<BackendRef>) -> OutcomeRecord {
    OutcomeRecord {
        request_id: request_id.into(),
        status: 200,
        latency_ms: 12.5,
        tokens_in: Some(40),
        tokens_out: Some(12),
        backend,
        model: Some("SmolLM2-135M-Instruct".into()),
        streamed: false,
        escalation: None,
    }
}

/// Appends `n` decisions (every third one with PHI, kept local) from a fresh current-thread runtime.
pub fn append_decisions(log: &AuditLog, n: usize, prefix: &str) -> Vec<sluice::audit::Receipt> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut receipts = Vec::new();
        for i in 0..n {
            let phi = i % 3 == 0;
            let action = if phi { Action::Local } else { Action::Allow };
            let d = decision(
                log.fingerprinter(),
                &format!("{prefix}-{i}"),
                "demo",
                action,
                phi,
            );
            receipts.push(log.append(d).await.unwrap());
        }
        receipts
    })
}

pub fn shutdown(log: &AuditLog) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(log.shutdown()).unwrap();
}

pub fn read_lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

pub fn write_lines(path: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    fs::write(path, text).unwrap();
}

pub fn parse(line: &str) -> Value {
    serde_json::from_str(line).unwrap()
}

/// Recomputes `prev` and `hash` of every line from `from` on, so that the chain is internally
/// consistent again after a tamper (what an attacker with write access but no key would do).
/// With `renumber`, also rewrites `seq` to be consecutive.
pub fn rechain(lines: &mut [String], from: usize, renumber: bool) {
    let mut prev = if from == 0 {
        ChainHash::ZERO
    } else {
        ChainHash::from_hex(parse(&lines[from - 1])["hash"].as_str().unwrap()).unwrap()
    };
    let first_seq = if from == 0 {
        0
    } else {
        parse(&lines[from - 1])["seq"].as_u64().unwrap() + 1
    };
    for (seq, line) in (first_seq..).zip(lines.iter_mut().skip(from)) {
        let mut v = parse(line);
        if renumber {
            v["seq"] = seq.into();
        }
        v["prev"] = prev.to_hex().into();
        let hash = record_hash(
            &prev,
            v["seq"].as_u64().unwrap(),
            v["ts"].as_str().unwrap(),
            v["kind"].as_str().unwrap(),
            v["body"].as_str().unwrap(),
        );
        v["hash"] = hash.to_hex().into();
        *line = v.to_string();
        prev = hash;
    }
}

/// Index of the first line of `kind` at or after `from`.
pub fn find_kind(lines: &[String], kind: &str, from: usize) -> usize {
    (from..lines.len())
        .find(|&i| parse(&lines[i])["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} record after line {from}"))
}
