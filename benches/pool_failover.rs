//! Failover of the on-premise pool: two real llama-server processes (SmolLM2, one slot and one
//! thread each; `make llama-server` builds them) behind a `pool` backend, under a closed loop of
//! 2 clients on loopback. Phases: both members up; member a killed (SIGKILL) while the load runs;
//! a restarted and readmitted. Reports each phase's requests, failures, throughput and latency,
//! how long the pool took to eject the dead member, and how long a restarted member took to be
//! healthy and back in rotation.
//!
//! `cargo bench --bench pool_failover` (needs `make models llama-server`). POOL_BENCH_SECS sets
//! each phase's length (default 10 s). Every loop is bounded in time.

#[path = "../tests/llama_server/mod.rs"]
mod llama_server;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use llama_server::LlamaServer;

const CLIENT_KEY: &str = "sk-bench-client-key";
const CLIENTS: usize = 2;

fn main() -> anyhow::Result<()> {
    let secs: u64 = std::env::var("POOL_BENCH_SECS").map_or(Ok(10), |s| s.parse())?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(bench(Duration::from_secs(secs)))
}

/// Per-phase figures.
#[derive(Default)]
struct Phase {
    latencies_ms: Vec<f64>,
    failed: usize,
    elapsed: Duration,
}

impl Phase {
    fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.latencies_ms.clone();
        sorted.sort_by(f64::total_cmp);
        if sorted.is_empty() {
            return f64::NAN;
        }
        sorted[((sorted.len() - 1) as f64 * p).round() as usize]
    }
}

async fn bench(length: Duration) -> anyhow::Result<()> {
    let mut a = LlamaServer::start();
    let b = LlamaServer::start();
    a.wait_healthy().await;
    b.wait_healthy().await;
    let scratch = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))?;
    let config = gateway_config(scratch.path(), &a.base_url(), &b.base_url())?;
    let mut detect = sluice::detect::DetectConfig::default();
    detect.resolve_paths(std::path::Path::new(env!("CARGO_MANIFEST_DIR")));
    detect.ner = false;
    let pipeline = Arc::new(sluice::detect::Pipeline::from_config(&detect)?);
    let gateway = sluice::server::start(config, pipeline).await?;
    let addr = gateway.addr;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;

    // Warm both members and the gateway.
    run(&client, addr, Duration::from_secs(2)).await;
    let steady = run(&client, addr, length).await;

    let killed_at = Instant::now();
    a.kill();
    let a_url = a.base_url();
    let ejection = {
        let (client, url) = (client.clone(), a_url.clone());
        tokio::spawn(async move { wait_for_member(&client, addr, &url, false).await })
    };
    let degraded = run(&client, addr, length).await;
    let ejected_after = ejection.await?.map(|at| at.duration_since(killed_at));

    let restarted_at = Instant::now();
    a.restart();
    a.wait_healthy().await;
    let healthy_after = restarted_at.elapsed();
    let readmitted = wait_for_member(&client, addr, &a_url, true)
        .await
        .map(|at| at.duration_since(restarted_at));
    let recovered = run(&client, addr, length).await;
    gateway.stop().await?;

    println!();
    println!(
        "pool_failover: 2 llama-server members (SmolLM2 Q4_1, -np 1 -t 1), {CLIENTS} clients in a closed loop, \
         {} s per phase, health checks every 200 ms, {} cores",
        length.as_secs(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| phase | requests | failed | req/s | p50 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|---|---|");
    for (name, phase) in [
        ("both members up", &steady),
        ("member a killed during the phase", &degraded),
        ("a restarted and readmitted", &recovered),
    ] {
        println!(
            "| {name} | {} | {} | {:.1} | {:.0} | {:.0} | {:.0} |",
            phase.latencies_ms.len() + phase.failed,
            phase.failed,
            phase.latencies_ms.len() as f64 / phase.elapsed.as_secs_f64(),
            phase.percentile(0.5),
            phase.percentile(0.99),
            phase.percentile(1.0),
        );
    }
    let ms =
        |d: Option<Duration>| d.map_or("never".to_owned(), |d| format!("{} ms", d.as_millis()));
    println!(
        "dead member ejected {} after the kill; restarted member healthy after {} ms, back in rotation {} after the restart",
        ms(ejected_after),
        healthy_after.as_millis(),
        ms(readmitted)
    );
    Ok(())
}

/// `CLIENTS` clients sending chat requests back to back for `length`.
async fn run(client: &reqwest::Client, addr: std::net::SocketAddr, length: Duration) -> Phase {
    let phase = Arc::new(Mutex::new(Phase::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut workers = Vec::new();
    for i in 0..CLIENTS {
        let (client, phase, stop) = (client.clone(), phase.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let body = serde_json::json!({
                    "model": "gpt-4o-mini",
                    "messages": [{"role": "user", "content": format!("Name a colour. ({i}-{n})")}],
                    "max_tokens": 8,
                    "temperature": 0,
                });
                let sent = Instant::now();
                let answer = client
                    .post(format!("http://{addr}/v1/chat/completions"))
                    .bearer_auth(CLIENT_KEY)
                    .json(&body)
                    .send()
                    .await;
                let ok = match answer {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                let mut phase = phase.lock().unwrap();
                if ok {
                    phase
                        .latencies_ms
                        .push(sent.elapsed().as_secs_f64() * 1000.0);
                } else {
                    phase.failed += 1;
                }
            }
        }));
    }
    tokio::time::sleep(length).await;
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        let _ = worker.await;
    }
    let mut phase = std::mem::take(&mut *phase.lock().unwrap());
    phase.elapsed = started.elapsed();
    phase
}

/// When the pool reports `member` in rotation (or out of it), polled every 10 ms for at most
/// 60 s.
async fn wait_for_member(
    client: &reqwest::Client,
    addr: std::net::SocketAddr,
    member: &str,
    healthy: bool,
) -> Option<Instant> {
    let line = format!("sluice_pool_member_healthy{{backend=\"gpus\",member=\"{member}\"}} ");
    let want = if healthy { "1" } else { "0" };
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(r) = client.get(format!("http://{addr}/metrics")).send().await {
            if let Ok(text) = r.text().await {
                if text.lines().any(|l| l.strip_prefix(&line) == Some(want)) {
                    return Some(Instant::now());
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

fn gateway_config(
    scratch: &std::path::Path,
    a: &str,
    b: &str,
) -> anyhow::Result<sluice::config::Config> {
    std::fs::create_dir_all(scratch.join("keys"))?;
    sluice::audit::keys::generate_signing_key(
        &scratch.join("keys/signing.pem"),
        &scratch.join("keys/signing.pub.pem"),
    )?;
    sluice::audit::keys::generate_fingerprint_key(&scratch.join("keys/fingerprint.key"))?;
    let toml = format!(
        r#"
[server]
listen = "127.0.0.1:0"
workers = 2

[policies]
dir = "{repo}/policies"
default_set = ["hipaa", "soc2"]
watch = false

[audit]
dir = "{root}/log"
signing_key = "{root}/keys/signing.pem"
fingerprint_key = "{root}/keys/fingerprint.key"

[[clients]]
name = "bench"
key_sha256 = "{key_sha}"

[backends.gpus]
kind = "pool"
members = ["{a}", "{b}"]
health_interval_ms = 200
connect_timeout_secs = 1
read_timeout_secs = 30

[routing]
local = "gpus"
"#,
        repo = env!("CARGO_MANIFEST_DIR"),
        root = scratch.display(),
        key_sha = hex::encode(sluice::server::auth::sha256_of(CLIENT_KEY)),
    );
    Ok(sluice::config::Config::parse(&toml)?)
}
