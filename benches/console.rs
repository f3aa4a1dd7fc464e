//! Console benchmark (`cargo bench --bench console`): a one-million-record audit log (500,000
//! decisions and their outcomes over 30 days, five clients, realistic entity mixes), indexed once,
//! then the work behind each console page: a timeline page (query and HTML) unfiltered, deep in the
//! log, and under filters; the overview's figures over the whole log; a request's detail read back
//! from disk. Prints the cold index build time and the index's memory first.
//!
//! The log is generated into the target directory (`bench-data/console-1m`, about 0.6 GB) once
//! and reused by later runs; SLUICE_BENCH_DIR puts it elsewhere. Records are chained with the real
//! hash and bodies are the real record types, fingerprinted with a fixed key.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use sluice::audit::chain::{record_hash, ChainHash};
use sluice::audit::record::{format_ts, write_line, Kind};
use sluice::audit::{
    Action, BackendRef, DecisionRecord, EntityEvidence, Fingerprinter, OutcomeRecord, PolicyRef,
};
use sluice::console::index::{Filter, Index, Page, Role};
use sluice::console::overview::overview;
use sluice::console::pages::{self, FilterForm, TimelineView};
use sluice::detect::entity::{DetectorKind, Entity};

const DECISIONS: u64 = 500_000;
const PER_PAGE: usize = 50;

fn data_dir() -> PathBuf {
    let base = std::env::var_os("SLUICE_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
            target.join("bench-data")
        });
    base.join("console-1m")
}

/// Writes the log unless a complete one is already there.
fn generate(dir: &Path) {
    let done = dir.join(".complete");
    if done.exists() {
        return;
    }
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let started = Instant::now();
    let file = std::fs::File::create(dir.join("log-000001.jsonl")).unwrap();
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let fp = Fingerprinter::from_key(&[7; 32]);
    let t0 = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let step = Duration::microseconds(30 * 24 * 3_600 * 1_000_000 / DECISIONS as i64);
    let mut prev = ChainHash::ZERO;
    let mut seq = 0u64;
    let mut line = Vec::with_capacity(4096);
    let mut emit = |kind: Kind, ts: &str, body: &str, out: &mut BufWriter<std::fs::File>| {
        let hash = record_hash(&prev, seq, ts, kind.as_str(), body);
        line.clear();
        write_line(&mut line, seq, ts, kind, &prev, &hash, body);
        out.write_all(&line).unwrap();
        prev = hash;
        seq += 1;
    };
    let clients = ["billing", "care-notes", "intake", "research", "support"];
    let policies = vec![
        PolicyRef {
            name: "hipaa".into(),
            version: "de69aba050f6c84a903f3838995d2ba0cf23d81f143e658f821dedd19248a465".into(),
        },
        PolicyRef {
            name: "soc2".into(),
            version: "b818bc314f35d2aa30022f47e497e0e92196665ff7df6f82e774eac57e468ef4".into(),
        },
    ];
    let local = BackendRef {
        name: "local".into(),
        on_premise: true,
    };
    let cloud = BackendRef {
        name: "cloud".into(),
        on_premise: false,
    };
    for i in 0..DECISIONS {
        let t = t0 + step * i as i32;
        let ts = format_ts(t);
        let request_id = format!("req_{:032x}", 0x5eed_0000_0000u128 + i as u128);
        // A fixed mix: 55% cleared, 10% redacted, 30% PHI kept local, 5% blocked secrets.
        let (action, found, rules): (Action, &[Found], &[&str]) = match i % 20 {
            0..=10 => (Action::Allow, &[], &[]),
            11 | 12 => (
                Action::Redact,
                &[("EMAIL_ADDRESS", "email", DetectorKind::Regex)],
                &["soc2/contact-details"],
            ),
            13..=18 => (
                Action::Local,
                &[
                    ("PERSON", "first_names", DetectorKind::Dictionary),
                    ("US_SSN", "us-ssn", DetectorKind::Regex),
                    (
                        "MEDICAL_CONDITION",
                        "medical_conditions",
                        DetectorKind::Dictionary,
                    ),
                ],
                &["hipaa/phi", "soc2/government-id"],
            ),
            _ => (
                Action::Block,
                &[("API_KEY", "aws-access-key", DetectorKind::Regex)],
                &["soc2/secrets"],
            ),
        };
        let mut evidence = EntityEvidence::new(&fp);
        for (n, (entity_type, rule, detector)) in found.iter().enumerate() {
            let value = format!("value-{}-{n}", i % 5_000);
            let entity = Entity {
                entity_type: (*entity_type).into(),
                start: 0,
                end: value.chars().count(),
                score: 0.9,
                detector: *detector,
                rule_id: (*rule).into(),
                validated: false,
                context: vec![],
                decoded: None,
            };
            evidence.add(&entity, &value).unwrap();
        }
        let backend = match action {
            Action::Block => None,
            Action::Local => Some(local.clone()),
            _ => Some(cloud.clone()),
        };
        let decision = DecisionRecord {
            request_id: request_id.clone(),
            client: clients[(i % 5) as usize].into(),
            policies: policies.clone(),
            action,
            rule_ids: rules.iter().map(|r| r.to_string()).collect(),
            reasons: rules
                .iter()
                .map(|_| "A reason written in the policy file, about a sentence long.".into())
                .collect(),
            detectors: vec!["regex".into(), "dictionary".into(), "ner".into()],
            skipped_detectors: vec![],
            entities: evidence.finish(),
            backend: backend.clone(),
            route_rule: None,
        };
        emit(
            Kind::Decision,
            &ts,
            &serde_json::to_string(&decision).unwrap(),
            &mut out,
        );
        let outcome = OutcomeRecord {
            request_id,
            status: if action == Action::Block { 403 } else { 200 },
            latency_ms: 40.0 + (i % 97) as f64,
            tokens_in: Some(120 + i % 400),
            tokens_out: Some(60 + i % 300),
            backend,
            model: Some("gpt-4o-mini".into()),
            streamed: i % 3 == 0,
            escalation: None,
        };
        let ts = format_ts(t + Duration::milliseconds(300));
        emit(
            Kind::Outcome,
            &ts,
            &serde_json::to_string(&outcome).unwrap(),
            &mut out,
        );
    }
    out.flush().unwrap();
    std::fs::write(&done, b"").unwrap();
    eprintln!(
        "generated {} records in {:.1} s",
        DECISIONS * 2,
        started.elapsed().as_secs_f64()
    );
}

/// An entity a decision found: type, detector rule, detector.
type Found = (&'static str, &'static str, DetectorKind);

fn resident_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0 / (1024.0 * 1024.0)
}

fn render(index: &Index, filter: &Filter, page_number: usize) -> String {
    let Page { total, rows } = index.page(filter, page_number, PER_PAGE);
    // As the page does: the query, the filter form's choices, the HTML.
    let view = TimelineView {
        form: FilterForm {
            since: "",
            until: "",
            client: "",
            action: "",
            backend: "",
            entity: "",
            rule: "",
            policy: "",
            show: "",
            clients: index.names(Role::Client),
            backends: index.names(Role::Backend),
            entities: index.names(Role::Entity),
            rules: index.names(Role::Rule),
            policies: index.names(Role::Policy),
            error: None,
        },
        total,
        page: page_number,
        pages: total.div_ceil(PER_PAGE),
        rows,
        index,
        query: String::new(),
    };
    pages::timeline(&view).into_string()
}

fn bench(c: &mut Criterion) {
    let dir = data_dir();
    generate(&dir);
    let before = resident_mib();
    let started = Instant::now();
    let mut index = Index::new(&dir);
    index.refresh().unwrap();
    let built = started.elapsed();
    println!(
        "console index: {} records read, {} entries, built in {:.2} s, {:.0} MiB resident for the index",
        index.records,
        index.entries().len(),
        built.as_secs_f64(),
        resident_mib() - before
    );
    assert_eq!(index.records, DECISIONS * 2);

    let s = &index.strings;
    let day = 24 * 3_600 * 1_000_000i64;
    let start = index.entries()[0].micros;
    let filters = [
        ("timeline page 1, unfiltered", Filter::default(), 0),
        ("timeline page 5000, unfiltered", Filter::default(), 4_999),
        (
            "timeline page 1, entity US_SSN",
            Filter {
                entity: Some(s.get("US_SSN")),
                ..Filter::default()
            },
            0,
        ),
        (
            "timeline page 1, client + action + 3-day window",
            Filter {
                client: Some(s.get("billing")),
                action: Some(Action::Local),
                since: Some(start + 10 * day),
                until: Some(start + 13 * day),
                ..Filter::default()
            },
            0,
        ),
        (
            "timeline page 1, rule matching nothing",
            Filter {
                rule: Some(None),
                ..Filter::default()
            },
            0,
        ),
    ];
    let mut group = c.benchmark_group("console_1m_records");
    group.sample_size(20);
    for (name, filter, page) in &filters {
        group.bench_function(*name, |b| b.iter(|| render(&index, filter, *page)));
    }
    group.bench_function("overview figures, whole log", |b| {
        b.iter(|| overview(&index, &Filter::default()))
    });
    let id = index.entries()[index.entries().len() / 2].request.text(s);
    group.bench_function("request detail (find + read from disk)", |b| {
        b.iter(|| {
            let entry = index.find(&id).unwrap();
            sluice::console::index::read_line_at(&dir, entry.at).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
