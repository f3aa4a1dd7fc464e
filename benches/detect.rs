//! Detection throughput and latency: the figures issue 2 asks for (see BENCHMARKS.md).
//!
//! - regex + dictionary on a 1 MB mixed prose corpus, single thread (MB/s), and each stage of it
//!   alone (regex, dictionary, the normalised view, merge + code points);
//! - NER on a 128-token window (2 threads);
//! - the full pipeline on 100 B, 1 KB and 10 KB texts.

use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use sluice::detect::allow::AllowList;
use sluice::detect::dictionary::DictionaryDetector;
use sluice::detect::merge::{merge, MergeOptions};
use sluice::detect::normalize::NormalizedText;
use sluice::detect::offsets::to_entities;
use sluice::detect::regex::RegexDetector;
use sluice::detect::{DetectConfig, Detector, Pipeline};

#[path = "corpus.rs"]
mod corpus;

fn config(ner: bool) -> DetectConfig {
    let mut cfg = DetectConfig::default();
    cfg.resolve_paths(&PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    cfg.ner = ner;
    cfg
}

fn regex_and_dictionary(c: &mut Criterion) {
    let pipeline = Pipeline::from_config(&config(false)).expect("rules load");
    let text = corpus::mixed_prose(1 << 20);
    let mut g = c.benchmark_group("regex+dictionary");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.sample_size(20).measurement_time(Duration::from_secs(10));
    g.bench_function("1MB mixed prose", |b| {
        b.iter(|| pipeline.scan(&text).unwrap())
    });
    g.finish();

    // The same corpus through each stage alone, to show where the pipeline's time goes.
    let cfg = config(false);
    let regex = RegexDetector::load(&cfg.rules)
        .and_then(|r| r.with_thresholds(cfg.min_score, &cfg.thresholds))
        .expect("rules load");
    let dictionary =
        DictionaryDetector::load(&cfg.rules.join("dictionaries")).expect("dictionaries load");
    let mut g = c.benchmark_group("regex+dictionary stages");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.sample_size(20).measurement_time(Duration::from_secs(6));
    g.bench_function("regex detector", |b| {
        b.iter(|| regex.detect(&text).unwrap())
    });
    g.bench_function("dictionary detector", |b| {
        b.iter(|| dictionary.detect(&text).unwrap())
    });
    // The view detectors see: on ASCII text with nothing to fold it is the text itself, and
    // this is the cost of finding that out; with Unicode hyphens it is a copy and a map.
    g.bench_function("normalised view, nothing to fold", |b| {
        b.iter(|| NormalizedText::new(&text).is_identity())
    });
    let hyphens = text.replace('-', "\u{2010}");
    g.bench_function("normalised view, Unicode hyphens", |b| {
        b.iter(|| NormalizedText::new(&hyphens).is_identity())
    });
    let findings: Vec<_> = regex
        .detect(&text)
        .unwrap()
        .into_iter()
        .chain(dictionary.detect(&text).unwrap())
        .collect();
    let opts = MergeOptions {
        min_score: cfg.min_score,
        thresholds: cfg.thresholds.clone(),
        allow: AllowList::load(&cfg.rules.join("dictionaries").join("allow")).expect("allow list"),
    };
    g.bench_function("merge + code points", |b| {
        b.iter_batched(
            || findings.clone(),
            |f| to_entities(&text, merge(&text, f, &opts)),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn full_pipeline(c: &mut Criterion) {
    let pipeline = Pipeline::from_config(&config(true)).expect("run `make models` first");
    let mut g = c.benchmark_group("full pipeline");
    g.sample_size(20).measurement_time(Duration::from_secs(8));
    for size in [100usize, 1_000, 10_000] {
        let text = corpus::mixed_prose(size);
        let text = &text[..size]; // the corpus is ASCII
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_with_input(
            BenchmarkId::from_parameter(format!("{size}B")),
            text,
            |b, t| b.iter(|| pipeline.scan(t).unwrap()),
        );
    }
    g.finish();
}

criterion_group!(benches, regex_and_dictionary, full_pipeline);
criterion_main!(benches);
