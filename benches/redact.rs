//! Redaction costs: the figures issue 6 asks for (see BENCHMARKS.md).
//!
//! In process (criterion): rewriting a 1 KB prompt with 10 entities, restoring the echoed answer
//! complete, and restoring it streamed in 16-byte chunks.
//!
//! End to end (bounded loops, printed at the end): the gateway in process against an echoing
//! upstream on loopback, one client under a policy that allows everything (plain forwarding) and
//! one under gdpr (redact), requests interleaved: median added latency of redact + restore over
//! plain forwarding on the same prompt, and time to first byte of a streamed answer through
//! sluice vs directly from the upstream (which sleeps 2 ms before each event). One HTTP client
//! with keep-alive connections makes every call, as SDKs do. Detection results are cached by
//! message hash after the first request, so the figures isolate forwarding and redaction.

#[path = "../tests/redact_support/mod.rs"]
mod redact_support;
#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use futures_util::StreamExt;
use serde_json::{json, Value};
use sluice::backend::{ChunkStream, Completion, StreamEvent, UsageProbe};
use sluice::detect::Pipeline;
use sluice::openai::extract::extract;
use sluice::redact::{redact_request, restore_completion, restore_stream, PlaceholderFormat};

use redact_support::*;
use support::*;

/// About 1 KB of prose with 10 entities: 3 names, 3 email addresses, 2 phone numbers, a URL and
/// an IP address.
const PROMPT: &str = "Hello team, please prepare the quarterly account review for our partners. \
The main contact is Maria Gonzalez (maria.gonzalez@example.com, +1 (415) 555-0142). She asked that \
Thomas Becker be copied at thomas.becker@example.org; his direct line is (212) 555-0187. Legal wants \
Priya Raman (priya.raman@example.net) to approve the final draft. The shared workspace lives at \
https://intranet.example.com/reviews/q3 and the staging server is 10.20.30.40. Summarize the open \
items below in a friendly tone, keep each bullet under twenty words, and propose three slots for a \
follow-up call. Open items: renewal pricing for the enterprise tier, the migration of legacy \
reports, onboarding material for new analysts, and the backlog of support tickets from the last \
release. Mention that the dashboard redesign is on track and that the retention settings were \
reviewed. Close with a short thank-you note to everyone involved in the review this quarter.";

const BASELINE_KEY: &str = "sk-bench-baseline";

fn body(stream: bool) -> Value {
    json!({"model": "gpt-4o-mini", "stream": stream,
        "messages": [{"role": "user", "content": PROMPT}]})
}

fn micro(c: &mut Criterion, pipeline: &Pipeline) {
    let request =
        sluice::openai::parse_request(&serde_json::to_vec(&body(false)).unwrap()).unwrap();
    let units = extract(&serde_json::to_value(&request).unwrap()).units;
    let entities: Vec<Arc<Vec<sluice::detect::Entity>>> = units
        .iter()
        .map(|u| Arc::new(pipeline.scan(&u.text).unwrap()))
        .collect();
    let found: usize = entities.iter().map(|e| e.len()).sum();
    println!("prompt: {} bytes, {found} entities", PROMPT.len());
    let format = PlaceholderFormat::default();
    let mut g = c.benchmark_group("redact");
    g.sample_size(50).measurement_time(Duration::from_secs(5));
    g.bench_function("rewrite 1KB prompt, 10 entities", |b| {
        b.iter(|| redact_request(&request, &units, &entities, |_| true, &format).unwrap())
    });
    let redacted = redact_request(&request, &units, &entities, |_| true, &format).unwrap();
    let sent = serde_json::to_value(&redacted.request).unwrap();
    let echoed = json!({"id": "e", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": echo_text(&sent)}, "finish_reason": "stop"}]});
    let raw = bytes::Bytes::from(serde_json::to_vec(&echoed).unwrap());
    g.bench_function("restore complete answer", |b| {
        b.iter(|| {
            let mut completion = Completion::from_upstream(raw.clone()).unwrap();
            restore_completion(&mut completion, &redacted.restorer).unwrap();
            completion.to_bytes()
        })
    });
    let text = echo_text(&sent);
    let chunks: Vec<StreamEvent> = text
        .as_bytes()
        .chunks(16)
        .map(|piece| {
            let piece = String::from_utf8_lossy(piece).into_owned();
            StreamEvent::chunk(
                serde_json::from_value(json!({"id": "e", "choices": [
                    {"index": 0, "delta": {"content": piece}, "finish_reason": null}]}))
                .unwrap(),
            )
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    g.bench_function("restore streamed answer, 16-byte chunks", |b| {
        b.iter(|| {
            let events: Vec<Result<StreamEvent, sluice::backend::BackendError>> =
                chunks.iter().cloned().map(Ok).collect();
            let inner = ChunkStream::new(
                Box::pin(futures_util::stream::iter(events)),
                UsageProbe::default(),
            );
            let restored = restore_stream(inner, redacted.restorer.clone());
            runtime.block_on(
                restored
                    .map(|e| e.unwrap().to_bytes().len())
                    .collect::<Vec<_>>(),
            )
        })
    });
    g.finish();
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn percentile(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

async fn complete(http: &reqwest::Client, url: &str, key: &str, body: &Value) -> Duration {
    let started = Instant::now();
    let r = http
        .post(url)
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.bytes().await.unwrap();
    started.elapsed()
}

async fn first_byte(http: &reqwest::Client, url: &str, key: &str, body: &Value) -> Duration {
    let started = Instant::now();
    let r = http
        .post(url)
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut stream = r.bytes_stream();
    stream.next().await.unwrap().unwrap();
    let elapsed = started.elapsed();
    while stream.next().await.is_some() {}
    elapsed
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn end_to_end(pipeline: Arc<Pipeline>) {
    const ROUNDS: usize = 300;
    const TTFB_ROUNDS: usize = 100;
    let echo = EchoUpstream::start().await;
    let audit = AuditDirs::new();
    let policies = policy_dir(&["gdpr"]);
    std::fs::write(
        policies.path().join("openall.toml"),
        "name = \"openall\"\ndescription = \"benchmark baseline: everything goes to the cloud as is\"\ndefault = \"allow\"\n",
    )
    .unwrap();
    let mut config = echo_config(&echo, &audit, policies.path(), &["gdpr"]);
    config.clients.push(sluice::config::ClientConfig {
        name: "baseline".into(),
        key_sha256: Some(hex::encode(sluice::server::auth::sha256_of(BASELINE_KEY))),
        key_env: None,
        policies: Some(vec!["openall".into()]),
        limits: None,
    });
    let gw = sluice::server::start(config, pipeline)
        .await
        .expect("gateway starts");
    let via = format!("http://{}/v1/chat/completions", gw.addr);
    // One client with keep-alive connections, as SDKs use.
    let http = client();
    let direct = format!("{}/chat/completions", echo.base_url());

    let r = client()
        .post(&via)
        .bearer_auth(CLIENT_KEY)
        .json(&body(false))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "x-sluice-action"), "redact");
    let r = client()
        .post(&via)
        .bearer_auth(BASELINE_KEY)
        .json(&body(false))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "x-sluice-action"), "allow");

    echo.set(EchoBehaviour {
        cuts: Cuts::Every(16),
        ..Default::default()
    });
    let mut plain = Vec::with_capacity(ROUNDS);
    let mut redacted = Vec::with_capacity(ROUNDS);
    let mut upstream = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        // Rotate the order so that no path always follows another one's background work.
        for k in 0..3 {
            match (round + k) % 3 {
                0 => {
                    upstream.push(complete(&http, &direct, "sk-upstream-test", &body(false)).await)
                }
                1 => redacted.push(complete(&http, &via, CLIENT_KEY, &body(false)).await),
                _ => plain.push(complete(&http, &via, BASELINE_KEY, &body(false)).await),
            }
        }
    }
    let (p, r, u) = (
        median(plain.clone()),
        median(redacted.clone()),
        median(upstream),
    );
    println!("\nend to end, non-streaming, {ROUNDS} interleaved requests each (1 KB prompt, 10 entities, echoed answer):");
    println!("  direct to upstream       median {:7.3} ms", ms(u));
    println!(
        "  via sluice, allow        median {:7.3} ms  p99 {:7.3} ms",
        ms(p),
        ms(percentile(plain, 0.99))
    );
    println!(
        "  via sluice, redact       median {:7.3} ms  p99 {:7.3} ms",
        ms(r),
        ms(percentile(redacted, 0.99))
    );
    println!("  added by redact+restore  median {:7.3} ms", ms(r) - ms(p));

    echo.set(EchoBehaviour {
        cuts: Cuts::Every(16),
        delay: Duration::from_millis(2),
        odd_event: false,
    });
    let mut direct_ttfb = Vec::with_capacity(TTFB_ROUNDS);
    let mut redact_ttfb = Vec::with_capacity(TTFB_ROUNDS);
    let mut allow_ttfb = Vec::with_capacity(TTFB_ROUNDS);
    for round in 0..TTFB_ROUNDS {
        for k in 0..3 {
            match (round + k) % 3 {
                0 => direct_ttfb
                    .push(first_byte(&http, &direct, "sk-upstream-test", &body(true)).await),
                1 => redact_ttfb.push(first_byte(&http, &via, CLIENT_KEY, &body(true)).await),
                _ => allow_ttfb.push(first_byte(&http, &via, BASELINE_KEY, &body(true)).await),
            }
        }
    }
    let (d, r, a) = (median(direct_ttfb), median(redact_ttfb), median(allow_ttfb));
    println!("\ntime to first byte, streaming, {TTFB_ROUNDS} interleaved requests each (upstream sleeps 2 ms per event):");
    println!("  direct to upstream       median {:7.3} ms", ms(d));
    println!(
        "  via sluice, allow        median {:7.3} ms  ({:.2}x direct)",
        ms(a),
        ms(a) / ms(d)
    );
    println!(
        "  via sluice, redact       median {:7.3} ms  ({:.2}x direct, {:+.3} ms vs allow)",
        ms(r),
        ms(r) / ms(d),
        ms(r) - ms(a)
    );
    gw.stop().await.unwrap();
    echo.stop().await;
}

fn main() {
    let pipeline = real_pipeline();
    let mut c = Criterion::default().configure_from_args();
    micro(&mut c, &pipeline);
    c.final_summary();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(end_to_end(pipeline));
}
