//! Limits shared by several replicas through a real Redis on loopback: two gateways count one
//! client's requests and spend together; with Redis gone they refuse (fail closed, 503 with
//! `Retry-After`, recorded) unless configured to admit, and they count again once it is back.

mod support;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sluice::quota::{ClientLimits, LimitsConfig};
use support::*;

/// A throwaway redis-server (no persistence) on a free loopback port.
struct Redis {
    port: u16,
    child: Option<Child>,
}

impl Redis {
    fn start() -> Redis {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = Redis { port, child: None };
        redis.restart();
        redis
    }

    fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs (`make test` installs it: apt-get install redis-server)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Limits counted in `redis` under a prefix of their own (replicas given the same config share
/// counters).
fn shared_limits(redis: &Redis, on_error: &str) -> LimitsConfig {
    toml::from_str(&format!(
        "store = \"redis\"\nredis_url = \"{}\"\ntimeout_ms = 300\non_store_error = \"{on_error}\"\n\
         key_prefix = \"sluice-test-{}:\"",
        redis.url(),
        uuid::Uuid::new_v4().simple()
    ))
    .unwrap()
}

async fn replica(
    setup: &Setup<'_>,
    limits: ClientLimits,
    store: &LimitsConfig,
) -> sluice::server::Running {
    let mut config = gateway_config(setup);
    config.clients[0].limits = Some(limits);
    config.limits = store.clone();
    config.costs = Some(
        toml::from_str(
            "models = { \"gpt-4o-mini\" = { input_per_million = 1000.0, output_per_million = 1000.0 } }",
        )
        .unwrap(),
    );
    sluice::server::start(config, real_pipeline())
        .await
        .expect("gateway starts")
}

/// Waits, if needed, so that `n` quick requests fall in one clock minute.
async fn start_of_a_minute_with_room() {
    let second = chrono::Utc::now().timestamp() % 60;
    if second > 45 {
        tokio::time::sleep(Duration::from_secs((61 - second) as u64)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_one_clients_limits_and_fail_closed_without_redis() {
    let mut redis = Redis::start();
    let upstream = MockUpstream::start().await;
    let (audit_a, audit_b) = (AuditDirs::new(), AuditDirs::new());
    let limits = ClientLimits {
        requests_per_minute: Some(4),
        ..ClientLimits::default()
    };
    // Two replicas, each with its own audit log, sharing the store.
    let store = shared_limits(&redis, "refuse");
    let a = replica(&Setup::with_cloud(&upstream, &audit_a), limits, &store).await;
    let b = replica(&Setup::with_cloud(&upstream, &audit_b), limits, &store).await;

    start_of_a_minute_with_room().await;
    let mut statuses = Vec::new();
    for i in 0..5 {
        let addr = if i % 2 == 0 { a.addr } else { b.addr };
        statuses.push(
            post_chat(addr, &chat_body("Why test?", false))
                .await
                .status()
                .as_u16(),
        );
    }
    // Four a minute across both replicas: the fifth is refused whichever replica takes it.
    assert_eq!(statuses, [200, 200, 200, 200, 429], "{statuses:?}");

    // Redis gone: both replicas refuse rather than admit uncounted traffic.
    redis.stop();
    let r = post_chat(b.addr, &chat_body("Why test?", false)).await;
    assert_eq!(r.status(), 503);
    assert!(header(&r, "retry-after").parse::<u64>().unwrap() >= 1);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "rate_limit_store_unavailable");
    assert_eq!(upstream.received().len(), 4, "nothing was forwarded");

    // Back: counting resumes (a new Redis is empty; a new minute may have started too).
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut status = 0;
    while Instant::now() < deadline {
        status = post_chat(a.addr, &chat_body("Why test?", false))
            .await
            .status()
            .as_u16();
        if status != 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status, 200, "the replicas reconnect to Redis");
    a.stop().await.unwrap();
    b.stop().await.unwrap();
    upstream.stop().await;

    let refused = audit_b.bodies("refused");
    assert!(
        refused
            .iter()
            .any(|r| r["status"] == 503 && r["code"] == "rate_limit_store_unavailable"),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spend_budget_counts_cloud_prices_across_replicas_and_may_fail_open() {
    let mut redis = Redis::start();
    let upstream = MockUpstream::start().await;
    let audit = AuditDirs::new();
    // The mock reports 15 tokens an answer: 0.015 at 1000 per million; two answers reach 0.03.
    let limits = ClientLimits {
        spend_per_day: Some(0.03),
        ..ClientLimits::default()
    };
    let store = shared_limits(&redis, "admit");
    let gw = replica(&Setup::with_cloud(&upstream, &audit), limits, &store).await;
    for _ in 0..2 {
        let r = post_chat(gw.addr, &chat_body("Why test?", false)).await;
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "x-sluice-backend"), "cloud");
    }
    // Spend is charged in the background once the answer is out: wait for it (bounded).
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut r = post_chat(gw.addr, &chat_body("Why test?", false)).await;
    while r.status() == 200 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        r = post_chat(gw.addr, &chat_body("Why test?", false)).await;
    }
    assert_eq!(r.status(), 429);
    let e: Value = r.json().await.unwrap();
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("spend_per_day"),
        "{e}"
    );
    // With Redis gone and on_store_error = "admit", the client is served, uncounted.
    redis.stop();
    let r = post_chat(gw.addr, &chat_body("Why test?", false)).await;
    assert_eq!(r.status(), 200);
    gw.stop().await.unwrap();
    upstream.stop().await;
}
