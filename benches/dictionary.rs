//! Throughput of the dictionary detector on ~1 MB of mixed prose, with the shipped dictionaries.
//!
//! Two corpora, generated deterministically (a fixed-seed generator picking from fixed sentence
//! parts) so figures are comparable between runs and machines:
//! - `mixed`: business and engineering chatter, clinical notes dense with health terms (about
//!   16,000 findings per MB, a hard case) and some non-ASCII text;
//! - `general`: the same without the clinical sentences (what most gateway traffic looks like).
//!
//! Run with `cargo bench --bench dictionary`.
//!
//! Two timings of the same work: wall-clock (criterion's default) and this thread's CPU time.
//! On a shared 2-core machine other processes steal the core mid-sample and the wall-clock
//! figure drops with the load average; the CPU-time figure is what one uncontended core does.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sluice::detect::dictionary::DictionaryDetector;
use sluice::detect::Detector;

const PARTS: &[&str] = &[
    "The deploy pipeline failed again because the integration tests timed out on staging.",
    "Please review the pull request before the release train leaves on Thursday afternoon.",
    "Our quarterly numbers look healthy, although churn in the enterprise tier went up slightly.",
    "The patient has type 2 diabetes and hypertension, managed with metformin and lisinopril.",
    "History of asthma since childhood; uses an albuterol inhaler as needed, no hospital stays.",
    "Scheduled for a colonoscopy next month after a positive screening; prior MRI was normal.",
    "She was diagnosed with breast cancer in 2019 and completed chemotherapy and radiation therapy.",
    "Can you summarise this thread and draft a reply to the vendor about the contract renewal?",
    "Migrating the billing service to Kubernetes reduced costs, but the on-call load increased.",
    "Depression and anxiety disorder noted; started sertraline, follow-up with psychotherapy.",
    "Le patient présente une hypertension artérielle; traitement par amlodipine depuis 2020.",
    "会議は明日の午前十時からです。資料を事前に共有してください。",
    "Write a haiku about autumn leaves, coffee, and the quiet hum of the office printer.",
    "HIV viral load undetectable on Biktarvy; COPD stable; next echocardiogram in six months.",
    "The cache hit ratio dropped after the schema change, so we rolled back the migration.",
];

/// Indexes into `PARTS` of the sentences without health terms.
const GENERAL: &[usize] = &[0, 1, 2, 7, 8, 11, 12, 14];

/// ~`size` bytes of text drawn from `parts` by a fixed-seed linear congruential generator.
fn corpus(parts: &[&str], size: usize) -> String {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut text = String::with_capacity(size + 256);
    while text.len() < size {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        text.push_str(parts[(state >> 33) as usize % parts.len()]);
        text.push(if state & 0x10_0000 == 0 { ' ' } else { '\n' });
    }
    text
}

/// CPU time consumed by the calling thread.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_THREAD_CPUTIME_ID is always supported
    // on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn bench(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/dictionaries");
    let detector = DictionaryDetector::load(&dir).expect("shipped dictionaries load");
    let terms: usize = detector.dictionaries().iter().map(|d| d.terms).sum();
    eprintln!(
        "dictionary bench: {terms} terms, automaton {} KiB",
        detector.memory_usage() / 1024
    );
    let general_parts: Vec<&str> = GENERAL.iter().map(|&i| PARTS[i]).collect();
    let corpora = [
        ("mixed", corpus(PARTS, 1 << 20)),
        ("general", corpus(&general_parts, 1 << 20)),
    ];

    let mut group = c.benchmark_group("dictionary");
    for (name, text) in &corpora {
        eprintln!(
            "dictionary bench: {name}: {} bytes, {} findings",
            text.len(),
            detector.detect(text).unwrap().len()
        );
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(format!("{name}_1mb_wall_time"), |b| {
            b.iter(|| detector.detect(black_box(text)).unwrap())
        });
        group.bench_function(format!("{name}_1mb_cpu_time"), |b| {
            b.iter_custom(|iters| {
                let start = thread_cpu_time();
                for _ in 0..iters {
                    black_box(detector.detect(black_box(text)).unwrap());
                }
                thread_cpu_time() - start
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("dictionary_load");
    group.sample_size(10);
    group.bench_function("load_shipped", |b| {
        b.iter(|| DictionaryDetector::load(&dir).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
