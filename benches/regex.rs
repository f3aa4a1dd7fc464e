//! Throughput of the regex detector (all shipped rule packs) on about 1 MB of mixed prose with PII
//! sprinkled in, on short messages, and on hostile inputs. Single thread.
//!
//! Run: `cargo bench --bench regex` (criterion prints MiB/s for the byte-throughput groups).

use std::collections::HashMap;
use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sluice::detect::regex::RegexDetector;
use sluice::detect::Detector;

/// A small deterministic generator (xorshift64*), so every run scans the same corpus.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const WORDS: &[&str] = &[
    "the",
    "patient",
    "reported",
    "a",
    "mild",
    "headache",
    "after",
    "the",
    "meeting",
    "and",
    "we",
    "discussed",
    "options",
    "for",
    "treatment",
    "with",
    "her",
    "family",
    "in",
    "detail",
    "of",
    "to",
    "is",
    "was",
    "that",
    "quarterly",
    "revenue",
    "grew",
    "across",
    "all",
    "regions",
    "while",
    "costs",
    "remained",
    "stable",
    "deployment",
    "pipeline",
    "failed",
    "because",
    "container",
    "image",
    "could",
    "not",
    "be",
    "pulled",
    "please",
    "summarize",
    "following",
    "notes",
    "into",
    "short",
    "paragraph",
    "customer",
    "asked",
    "about",
    "refund",
    "policy",
    "their",
    "order",
    "arrived",
    "late",
    "damaged",
    "café",
    "naïve",
    "résumé",
    "über",
    "schedule",
    "follow-up",
    "visit",
    "next",
    "week",
    "review",
    "blood",
    "pressure",
    "readings",
    "morning",
    "contract",
    "renewal",
    "terms",
    "signed",
    "by",
    "both",
    "parties",
    "on",
    "time",
    "budget",
    "approved",
    "engineering",
    "team",
    "shipped",
    "new",
    "feature",
    "users",
    "love",
    "it",
    "performance",
    "improved",
];

const NUMBERS: &[&str] = &[
    "2019", "12", "3.5", "$1,200", "45%", "100", "7", "2023", "v2.1", "15 mg", "30",
];

const PII: &[&str] = &[
    "Contact jane.doe@example.org for details",
    "call (555) 234-5678 tomorrow",
    "her SSN is 536-22-1234",
    "DOB: 03/14/1962",
    "born on March 14, 1962",
    "card 4111 1111 1111 1111 on file",
    "see https://intranet.example.com/tickets/48213?view=full",
    "server 10.20.30.40 went down",
    "MRN: 00482913",
    "member ID W123456789",
    "lives at 1234 Maple Avenue, Apt 5",
    "a 92-year-old woman",
    "IBAN DE89 3704 0044 0532 0130 00",
    "token ghp_R7x9Kq2LmN4pW8sT1vY6zA3bC5dE0fG2hJ4k",
    "AWS key AKIAQ7R3LXTZ4MPA2KVE leaked",
    "password=Tr0ub4dor&3x",
    "NPI 1245319599",
    "fax: 555-987-6543",
    "ZIP code 02139",
    "VIN 1M8GDM9AXKP042788",
];

/// About `len` bytes of paragraphs (one per line), with a PII snippet in roughly every fourth
/// sentence and ordinary numbers in many others.
fn corpus(len: usize) -> String {
    let mut rng = Rng(0x5EED_CAFE_F00D_1234);
    let mut out = String::with_capacity(len + 256);
    while out.len() < len {
        let sentences = 3 + rng.below(6);
        for s in 0..sentences {
            let words = 8 + rng.below(14);
            for w in 0..words {
                let word = match rng.below(20) {
                    0 => rng.pick(NUMBERS),
                    _ => rng.pick(WORDS),
                };
                if w == 0 {
                    let mut c = word.chars();
                    if let Some(first) = c.next() {
                        out.extend(first.to_uppercase());
                        out.push_str(c.as_str());
                    }
                } else {
                    out.push(' ');
                    out.push_str(word);
                }
            }
            if rng.below(4) == 0 {
                out.push_str(", ");
                out.push_str(rng.pick(PII));
            }
            out.push_str(if s + 1 == sentences { ".\n" } else { ". " });
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    // As the pipeline builds it: thresholds known (default min_score 0.5).
    let detector = RegexDetector::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules")))
        .and_then(|d| d.with_thresholds(0.5, &HashMap::new()))
        .expect("rule packs load");

    let mut group = c.benchmark_group("regex");
    let text = corpus(1 << 20);
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("prose_1mb", |b| {
        b.iter(|| detector.detect(black_box(&text)).unwrap())
    });
    for size in [100usize, 1024, 10 * 1024] {
        let text: String = corpus(size + 512).chars().take(size).collect();
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::new("message", size), &text, |b, t| {
            b.iter(|| detector.detect(black_box(t)).unwrap())
        });
    }
    group.finish();

    let mut hostile = c.benchmark_group("regex_hostile");
    hostile.sample_size(10);
    let cases = [
        ("a_x100k", "a".repeat(100_000)),
        ("digits_10mb", "7".repeat(10 << 20)),
        ("zip_like_1mb", "12345 ".repeat((1 << 20) / 6)),
        ("at_signs_1mb", "a@".repeat(1 << 19)),
    ];
    for (name, text) in &cases {
        hostile.throughput(Throughput::Bytes(text.len() as u64));
        hostile.bench_function(*name, |b| {
            b.iter(|| detector.detect(black_box(text)).unwrap())
        });
    }
    hostile.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
