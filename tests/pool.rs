//! The on-premise pool against real servers: two llama.cpp `llama-server` processes (built by
//! `make llama-server` from the llama.cpp in the pinned llama-cpp-python sdist) serving SmolLM2
//! on loopback, killed and
//! restarted during a bounded load of sensitive requests. Every request is answered or refused
//! cleanly (503 with `Retry-After`), nothing sensitive reaches the mock cloud, a dead member is
//! ejected and a restarted one readmitted.

mod llama_server;
mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use llama_server::LlamaServer;
use serde_json::{json, Value};
use support::*;

/// A pool member's state as `/metrics` shows it: in rotation or ejected (`None`: not listed).
async fn member_healthy(addr: std::net::SocketAddr, member: &str) -> Option<bool> {
    let metrics = client()
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = format!("sluice_pool_member_healthy{{backend=\"gpus\",member=\"{member}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&line))
        .map(|value| value == "1")
}

/// Waits (at most 30 s) until the pool has `member` in rotation, or out of it.
async fn wait_for_member(addr: std::net::SocketAddr, member: &str, healthy: bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while member_healthy(addr, member).await != Some(healthy) {
        assert!(
            Instant::now() < deadline,
            "{member} never became healthy = {healthy}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn sensitive_body() -> Value {
    json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": canary_prompt()}],
        "max_tokens": 6,
        "temperature": 0,
    })
}

/// The status a request got and the backend that served it.
type Fate = (u16, Option<String>);

/// A request's fate: answered (200 with a choice) or refused cleanly (503, `Retry-After`, an
/// OpenAI error object). Anything else fails the test.
async fn outcome_of(r: reqwest::Response) -> Fate {
    let status = r.status().as_u16();
    let retry_after = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let backend = r
        .headers()
        .get("x-sluice-backend")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = r.json().await.expect("a JSON answer");
    match status {
        200 => assert!(body["choices"][0]["message"].is_object(), "{body}"),
        503 => {
            assert!(retry_after.is_some(), "503 without Retry-After: {body}");
            assert!(body["error"]["message"].is_string(), "{body}");
        }
        other => panic!("neither answered nor refused cleanly: {other} {body}"),
    }
    (status, backend)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_killed_and_restarted_under_load_never_leak_or_break_a_request() {
    let mut a = LlamaServer::start();
    let mut b = LlamaServer::start();
    a.wait_healthy().await;
    b.wait_healthy().await;

    let upstream = MockUpstream::start().await;
    let audit = AuditDirs::new();
    let mut config = gateway_config(&Setup::with_cloud(&upstream, &audit));
    let pool = format!(
        "kind = \"pool\"\nmembers = [{:?}, {:?}]\nhealth_interval_ms = 200\n\
         eject_after_failures = 2\nreadmit_after_successes = 2\nretry_after_secs = 3\n\
         read_timeout_secs = 30\nconnect_timeout_secs = 1\n",
        a.base_url(),
        b.base_url()
    );
    config
        .backends
        .insert("gpus".into(), toml::from_str(&pool).unwrap());
    config.routing.local = "gpus".into();
    let gw = sluice::server::start(config, real_pipeline())
        .await
        .expect("gateway starts");
    let addr = gw.addr;

    // A rolling restart under a bounded load (3 workers, at most 600 requests and 4 minutes):
    // a is killed, restarted and readmitted, then b. One member is in rotation throughout, so
    // every request must be answered; a request in flight on a killed member is retried on the
    // other one.
    const MAX_REQUESTS: usize = 600;
    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let fates: Arc<Mutex<Vec<Fate>>> = Arc::default();
    let mut workers = Vec::new();
    for _ in 0..3 {
        let (stop, sent, fates) = (stop.clone(), sent.clone(), fates.clone());
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst)
                && sent.fetch_add(1, Ordering::SeqCst) < MAX_REQUESTS
                && started.elapsed() < Duration::from_secs(240)
            {
                let fate = outcome_of(post_chat(addr, &sensitive_body()).await).await;
                fates.lock().unwrap().push(fate);
            }
        }));
    }
    let answered = || fates.lock().unwrap().len();
    let settle = || tokio::time::sleep(Duration::from_millis(500));
    settle().await;
    for server in [&mut a, &mut b] {
        server.kill();
        let at_kill = answered();
        let deadline = Instant::now() + Duration::from_secs(30);
        while answered() <= at_kill + 3 {
            assert!(
                Instant::now() < deadline,
                "requests are still answered with one member down"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        wait_for_member(addr, &server.base_url(), false).await;
        server.restart();
        server.wait_healthy().await;
        wait_for_member(addr, &server.base_url(), true).await;
        settle().await;
    }
    stop.store(true, Ordering::SeqCst);
    for worker in workers {
        worker.await.unwrap();
    }
    let fates = fates.lock().unwrap().clone();
    assert!(
        started.elapsed() < Duration::from_secs(240),
        "the load ended in time"
    );
    assert!(fates.len() >= 20, "{fates:?}");
    assert!(
        fates
            .iter()
            .all(|(status, backend)| *status == 200 && backend.as_deref() == Some("gpus")),
        "{fates:?}"
    );

    // Both down: sensitive traffic is refused with Retry-After, never sent to the cloud.
    a.kill();
    b.kill();
    let r = post_chat(addr, &sensitive_body()).await;
    assert_eq!(r.status(), 503);
    assert_eq!(header(&r, "retry-after"), "3");
    assert_eq!(header(&r, "x-sluice-action"), "local");
    let ready = client()
        .get(format!("http://{addr}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503, "no member healthy: not ready");

    // One restarted: readmitted by its health checks, and serving again.
    a.restart();
    a.wait_healthy().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut status = 0;
    while Instant::now() < deadline {
        status = post_chat(addr, &sensitive_body()).await.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status, 200, "a restarted member is readmitted");

    gw.stop().await.unwrap();
    assert!(
        upstream.received().is_empty(),
        "sensitive text reached the cloud"
    );
    upstream.stop().await;
    // Every request has its decision and its outcome on record.
    let records = audit.all_records();
    let count = |kind: &str| audit.bodies(kind).len();
    assert!(count("decision") >= fates.len() + 2);
    assert_eq!(count("decision"), count("outcome"));
    assert_no_canary("audit log", &records);
}
