//! Token generation speed of the embedded backend, comparable with llama.cpp's `llama-bench`.
//!
//! `llama-bench -p 0 -n 128 -t 2` (tg128) times 128 single-token decodes. This bench times the
//! same thing through the whole embedded path a client sees (slot thread, sampler, detokenizer,
//! stop filter, channel, chunk objects): a streaming request for 128 tokens, measured from the
//! first streamed token to the last, so prompt processing is excluded as in tg128.
//!
//! Run: `cargo bench --bench generate` (SLUICE_BENCH_THREADS, SLUICE_BENCH_RUNS and
//! SLUICE_BENCH_MODEL override threads (2), repetitions (5) and the GGUF file). The median is
//! the figure to compare: on a shared machine a few runs lose the CPU to other work.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use sluice::backend::{Backend, BackendReply, EmbeddedLlama, LlamaConfig};
use sluice::openai::parse_request;

const TOKENS: u32 = 128;
const PROMPT: &str = "Write a long story about a lighthouse keeper and the sea.";

struct Run {
    tokens: u64,
    decode: Duration,
    first_token: Duration,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

async fn run_once(backend: &EmbeddedLlama, sampling: &str) -> Run {
    let body = format!(
        r#"{{"model":"local","stream":true,"max_tokens":{TOKENS},{sampling},
            "messages":[{{"role":"user","content":"{PROMPT}"}}]}}"#
    );
    let started = Instant::now();
    let reply = backend
        .chat(parse_request(body.as_bytes()).expect("valid request"))
        .await
        .expect("served");
    let BackendReply::Stream(mut stream) = reply else {
        panic!("a streaming request gets a stream")
    };
    let probe = stream.usage_probe();
    let mut first = None;
    let mut last = started;
    while let Some(event) = stream.next().await {
        let event = event.expect("no stream error");
        let has_text = event
            .as_chunk()
            .and_then(|chunk| chunk.choices.first())
            .and_then(|choice| choice.delta.content.as_deref())
            .is_some_and(|text| !text.is_empty());
        if has_text {
            let now = Instant::now();
            first.get_or_insert(now);
            last = now;
        }
    }
    let first = first.expect("at least one token");
    Run {
        tokens: probe.get().expect("usage").completion_tokens,
        decode: last - first,
        first_token: first - started,
    }
}

fn summarize(label: &str, runs: &[Run]) {
    let mut rates: Vec<f64> = runs
        .iter()
        .map(|run| run.tokens.saturating_sub(1) as f64 / run.decode.as_secs_f64())
        .collect();
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    let mean = rates.iter().sum::<f64>() / rates.len() as f64;
    let ttft = runs
        .iter()
        .map(|r| r.first_token.as_secs_f64())
        .sum::<f64>()
        / runs.len() as f64;
    let tokens: Vec<u64> = runs.iter().map(|r| r.tokens).collect();
    println!(
        "{label:<26} median {median:>6.1} tokens/s (mean {mean:.1}, min {:.1}, max {:.1}); \
         first token {:.1} ms; tokens per run {tokens:?}",
        rates[0],
        rates[rates.len() - 1],
        ttft * 1000.0
    );
}

fn main() {
    let threads: u32 = env_or("SLUICE_BENCH_THREADS", 2);
    let runs: usize = env_or("SLUICE_BENCH_RUNS", 5);
    let model: PathBuf = env_or(
        "SLUICE_BENCH_MODEL",
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
    );
    let config = LlamaConfig {
        model,
        slots: 1,
        threads,
        ctx: 2048,
        ..LlamaConfig::default()
    };
    let backend = EmbeddedLlama::load("bench", &config).unwrap_or_else(|error| {
        eprintln!("{error}");
        std::process::exit(1);
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "embedded generation, {} with {threads} threads, {TOKENS} tokens, {runs} runs",
        backend.model_name()
    );
    runtime.block_on(async {
        run_once(&backend, r#""temperature":0"#).await;
        for (label, sampling) in [
            ("greedy (temperature 0)", r#""temperature":0"#),
            ("sampled (t 0.8, top-k 40)", r#""temperature":0.8,"seed":1"#),
        ] {
            let mut results = Vec::with_capacity(runs);
            for _ in 0..runs {
                results.push(run_once(&backend, sampling).await);
            }
            summarize(label, &results);
        }
    });
}
