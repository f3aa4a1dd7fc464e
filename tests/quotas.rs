//! Per-client limits on a real gateway: over a request rate or a token budget a client gets 429
//! with `Retry-After` in OpenAI's error shape, before anything is read or scanned, and the
//! refusal is recorded; other clients are not affected.

mod support;

use serde_json::Value;
use sluice::quota::ClientLimits;
use support::*;

async fn start(setup: &Setup<'_>, limits: ClientLimits) -> sluice::server::Running {
    let mut config = gateway_config(setup);
    config.clients[0].limits = Some(limits);
    sluice::server::start(config, real_pipeline())
        .await
        .expect("gateway starts")
}

fn refused(audit: &AuditDirs) -> Vec<Value> {
    audit
        .all_records()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["kind"] == "refused")
        .map(|r| serde_json::from_str(r["body"].as_str().unwrap()).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_its_request_rate_a_client_gets_429_with_retry_after() {
    let upstream = MockUpstream::start().await;
    let audit = AuditDirs::new();
    let setup = Setup::with_cloud(&upstream, &audit);
    let gw = start(
        &setup,
        ClientLimits {
            requests_per_minute: Some(2),
            ..ClientLimits::default()
        },
    )
    .await;
    // Two a minute: a third within five requests is refused even if a minute boundary falls
    // between them (bounded: at most 2 + 2 can pass).
    let mut limited = None;
    for _ in 0..5 {
        let r = post_chat(gw.addr, &chat_body("Why test?", false)).await;
        if r.status() == 429 {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status(), 200);
    }
    let r = limited.expect("the fifth request at the latest is over the limit");
    let retry: u64 = header(&r, "retry-after").parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["type"], "rate_limit_error");
    assert_eq!(e["error"]["code"], "rate_limit_exceeded");
    assert!(upstream.received().len() <= 4);
    gw.stop().await.unwrap();
    upstream.stop().await;

    let records = refused(&audit);
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["status"], 429);
    assert_eq!(records[0]["client"], "tester");
    assert_eq!(records[0]["code"], "rate_limit_exceeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_token_budget_counts_what_the_backends_report() {
    let upstream = MockUpstream::start().await;
    let audit = AuditDirs::new();
    let setup = Setup::with_cloud(&upstream, &audit);
    // The mock reports 15 tokens an answer: the second answer reaches the budget.
    let gw = start(
        &setup,
        ClientLimits {
            tokens_per_day: Some(30),
            ..ClientLimits::default()
        },
    )
    .await;
    for _ in 0..2 {
        let r = post_chat(gw.addr, &chat_body("Why test?", false)).await;
        assert_eq!(r.status(), 200);
    }
    // The outcome (and so the charge) is recorded as the answer goes out.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let r = post_chat(gw.addr, &chat_body("Why test?", false)).await;
    assert_eq!(r.status(), 429);
    let retry: u64 = header(&r, "retry-after").parse().unwrap();
    assert!((1..=86_400).contains(&retry));
    assert!(r.text().await.unwrap().contains("tokens_per_day"));
    assert_eq!(upstream.received().len(), 2);
    gw.stop().await.unwrap();
    upstream.stop().await;
}
