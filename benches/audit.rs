//! Audit log benchmark (`cargo bench --bench audit`): sustained group-commit throughput, time to
//! durability at a paced 1,000 records/s, the disk's own fsync latency as the physical floor, and
//! verification speed. Runs on the target directory's disk (never /tmp, which may be tmpfs where
//! fsync is free); set SLUICE_BENCH_DIR to measure another disk. Every loop is bounded in count and
//! time.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice::audit::keys::{generate_fingerprint_key, generate_signing_key, load_verifying_key};
use sluice::audit::verify::{verify_log, VerifyOptions};
use sluice::audit::{
    Action, AuditConfig, AuditLog, BackendRef, DecisionRecord, EntityEvidence, PolicyRef,
};
use sluice::detect::entity::{DetectorKind, Entity};

const THROUGHPUT_RECORDS: usize = 200_000;
const THROUGHPUT_MAX: Duration = Duration::from_secs(30);
const SUBMITTERS: usize = 256;
const PACED_RATE: u64 = 1_000;
const PACED_SECS: u64 = 5;
const FSYNC_SAMPLES: usize = 2_000;
const FSYNC_MAX: Duration = Duration::from_secs(10);

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn describe(name: &str, samples: &mut [Duration]) {
    samples.sort();
    println!(
        "{name:<52} n={:<6} p50 {:>7.3} ms  p99 {:>7.3} ms  max {:>7.3} ms",
        samples.len(),
        ms(percentile(samples, 0.50)),
        ms(percentile(samples, 0.99)),
        ms(*samples.last().unwrap_or(&Duration::ZERO)),
    );
}

fn filesystem(path: &Path) -> String {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: statfs fills the zeroed struct for a valid NUL-terminated path.
    let mut s: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(c.as_ptr(), &mut s) } != 0 {
        return "unknown".into();
    }
    match s.f_type as i64 {
        0xEF53 => "ext4".into(),
        0x0102_1994 => "tmpfs (fsync is free here: figures are not meaningful)".into(),
        0x9123_683E => "btrfs".into(),
        0x5846_5342 => "xfs".into(),
        0x794C_7630 => "overlayfs".into(),
        other => format!("f_type {other:#x}"),
    }
}

/// A decision as the gateway makes it for a PHI prompt: four entity types, fingerprinted.
fn typical_decision(log: &AuditLog) -> DecisionRecord {
    let text = "Patient Jane Roe, SSN 123-45-6789, MRN 00482913, presents with type 2 diabetes.";
    let mut evidence = EntityEvidence::new(log.fingerprinter());
    for (t, v, d) in [
        ("PERSON", "Jane Roe", DetectorKind::Ner),
        ("US_SSN", "123-45-6789", DetectorKind::Regex),
        ("MEDICAL_RECORD_NUMBER", "00482913", DetectorKind::Regex),
        (
            "MEDICAL_CONDITION",
            "type 2 diabetes",
            DetectorKind::Dictionary,
        ),
    ] {
        let start = text[..text.find(v).unwrap()].chars().count();
        let entity = Entity {
            decoded: None,
            entity_type: t.into(),
            start,
            end: start + v.chars().count(),
            score: 0.93,
            detector: d,
            rule_id: format!("{}_rule", t.to_lowercase()),
            validated: false,
            context: vec![],
        };
        evidence.add_in_text(&entity, text).unwrap();
    }
    DecisionRecord {
        request_id: String::new(),
        client: "clinic-app".into(),
        policies: vec![PolicyRef {
            name: "hipaa".into(),
            version: "sha256:9f2c1e4b7a6d".into(),
        }],
        action: Action::Local,
        rule_ids: vec!["hipaa.identifier_with_health_context".into()],
        reasons: vec!["an identifier together with health context stays on-premise".into()],
        detectors: vec!["regex".into(), "dictionary".into(), "ner".into()],
        skipped_detectors: Vec::new(),
        entities: evidence.finish(),
        backend: Some(BackendRef {
            name: "llama".into(),
            on_premise: true,
        }),
        route_rule: None,
    }
}

/// The disk's own latency for what a one-record batch does: append 1.2 KB and fdatasync. Paced
/// at `PACED_RATE` like the paced append test, or back to back.
fn fsync_floor(dir: &Path, paced: bool) {
    let path = dir.join("fsync-probe");
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap();
    let record = vec![b'x'; 1200];
    let mut samples = Vec::with_capacity(FSYNC_SAMPLES);
    let start = Instant::now();
    let period = Duration::from_micros(1_000_000 / PACED_RATE);
    while samples.len() < FSYNC_SAMPLES && start.elapsed() < FSYNC_MAX {
        if paced {
            let due = start + period * samples.len() as u32;
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        let t = Instant::now();
        file.write_all(&record).unwrap();
        file.sync_data().unwrap();
        samples.push(t.elapsed());
    }
    let name = if paced {
        format!("disk floor: 1.2 KB append + fdatasync, {PACED_RATE}/s")
    } else {
        "disk floor: 1.2 KB append + fdatasync, back to back".to_string()
    };
    describe(&name, &mut samples);
    std::fs::remove_file(path).unwrap();
}

fn open(root: &Path, name: &str) -> (AuditLog, PathBuf) {
    let dir = root.join(name);
    let config = AuditConfig::new(
        &dir,
        &root.join("keys/signing.pem"),
        &root.join("keys/fingerprint.key"),
    );
    (AuditLog::open(&config).unwrap(), dir)
}

fn throughput(root: &Path, rt: &tokio::runtime::Runtime) -> PathBuf {
    let (log, dir) = open(root, "throughput");
    let template = Arc::new(typical_decision(&log));
    let line_bytes = template.entities.types().len();
    let start = Instant::now();
    let mut latencies = rt.block_on(async {
        let per_task = THROUGHPUT_RECORDS / SUBMITTERS;
        let mut tasks = Vec::new();
        for t in 0..SUBMITTERS {
            let log = log.clone();
            let template = template.clone();
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(per_task);
                for i in 0..per_task {
                    if start.elapsed() > THROUGHPUT_MAX {
                        break;
                    }
                    let mut d = (*template).clone();
                    d.request_id = format!("t{t}-{i}");
                    let t0 = Instant::now();
                    log.append(d).await.unwrap();
                    latencies.push(t0.elapsed());
                }
                latencies
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        log.shutdown().await.unwrap();
        all
    });
    let elapsed = start.elapsed();
    let bytes: u64 = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    println!(
        "sustained append ({SUBMITTERS} submitters, group commit): {} records in {:.2} s = {:.0} records/s, {:.1} MB/s ({} entity types per record, {:.0} bytes per line)",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        bytes as f64 / elapsed.as_secs_f64() / 1e6,
        line_bytes,
        bytes as f64 / latencies.len() as f64,
    );
    describe("  time to durability under that load", &mut latencies);
    dir
}

fn paced(root: &Path, rt: &tokio::runtime::Runtime) {
    let (log, _) = open(root, "paced");
    let template = Arc::new(typical_decision(&log));
    let mut latencies = rt.block_on(async {
        let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / PACED_RATE));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut tasks = Vec::new();
        for i in 0..PACED_RATE * PACED_SECS {
            ticker.tick().await;
            let log = log.clone();
            let mut d = (*template).clone();
            d.request_id = format!("paced-{i}");
            tasks.push(tokio::spawn(async move {
                let t0 = Instant::now();
                log.append(d).await.unwrap();
                t0.elapsed()
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.push(task.await.unwrap());
        }
        log.shutdown().await.unwrap();
        all
    });
    describe(
        &format!("paced {PACED_RATE} records/s for {PACED_SECS} s: durability"),
        &mut latencies,
    );
}

fn verification(root: &Path, dir: &Path) {
    let options = VerifyOptions {
        trusted_keys: vec![load_verifying_key(&root.join("keys/signing.pub.pem")).unwrap()],
        anchors: vec![],
    };
    let bytes: u64 = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    let t = Instant::now();
    let summary = verify_log(dir, &options).unwrap();
    let elapsed = t.elapsed();
    println!(
        "verify (hashes, links, bodies, {} signatures): {} records in {:.2} s = {:.0} records/s, {:.0} MB/s",
        summary.checkpoints,
        summary.records,
        elapsed.as_secs_f64(),
        summary.records as f64 / elapsed.as_secs_f64(),
        bytes as f64 / elapsed.as_secs_f64() / 1e6,
    );
}

fn main() {
    let base = std::env::var_os("SLUICE_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    std::fs::create_dir_all(&base).unwrap();
    let root = tempfile::tempdir_in(&base).unwrap();
    generate_signing_key(
        &root.path().join("keys/signing.pem"),
        &root.path().join("keys/signing.pub.pem"),
    )
    .unwrap();
    generate_fingerprint_key(&root.path().join("keys/fingerprint.key")).unwrap();
    println!(
        "audit bench in {} ({}), {} CPUs",
        base.display(),
        filesystem(&base),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    fsync_floor(root.path(), false);
    let dir = throughput(root.path(), &rt);
    fsync_floor(root.path(), true);
    paced(root.path(), &rt);
    fsync_floor(root.path(), true);
    verification(root.path(), &dir);
}
