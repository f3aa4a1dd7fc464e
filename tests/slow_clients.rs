//! Slow and huge clients cannot starve the gateway: bodies that trickle in or never end are cut
//! off with 408 and free their connections, health checks answer during such an attack, and
//! requests too large for the local model are refused before they cost minutes of a core.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn start_gateway(audit: &AuditDirs, upstream: &MockUpstream) -> sluice::server::Running {
    let mut config = gateway_config(&Setup::with_cloud(upstream, audit));
    config.server.header_timeout_ms = 1_000;
    config.server.body_timeout_ms = 1_000;
    config.server.max_messages = 500;
    sluice::server::start(config, real_pipeline())
        .await
        .unwrap()
}

/// Opens a connection that sends its headers and part of a body, then goes quiet.
async fn stalled_upload(addr: std::net::SocketAddr, chunked: bool) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let framing = if chunked {
        "Transfer-Encoding: chunked\r\n\r\n10\r\n{\"model\": \"gpt-4\r\n".to_owned()
    } else {
        "Content-Length: 100000\r\n\r\n{\"model\": \"gpt-4o\", \"messages\": [".to_owned()
    };
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: sluice\r\nAuthorization: Bearer {CLIENT_KEY}\r\n\
         Content-Type: application/json\r\n{framing}"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_uploads_get_408_and_health_checks_answer_meanwhile() {
    let upstream = MockUpstream::start().await;
    let audit = AuditDirs::new();
    let running = start_gateway(&audit, &upstream).await;
    let addr = running.addr;
    let mut stalled = Vec::new();
    for i in 0..400 {
        stalled.push(stalled_upload(addr, i % 2 == 0).await);
    }
    // Connections that never even finish their headers.
    for _ in 0..100 {
        let mut idle = TcpStream::connect(addr).await.unwrap();
        idle.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: slu")
            .await
            .unwrap();
        stalled.push(idle);
    }
    let health = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    for _ in 0..3 {
        let r = health
            .get(format!("http://{addr}/healthz"))
            .send()
            .await
            .expect("healthz answers while 500 uploads stall");
        assert_eq!(r.status(), 200);
    }
    // Each stalled upload is answered 408 (or closed) once its body deadline passes.
    let mut answered_408 = 0;
    for (i, stream) in stalled.iter_mut().enumerate().take(400) {
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("upload {i} is still held open"))
            .unwrap_or(0);
        let answer = String::from_utf8_lossy(&buf[..n]);
        if answer.starts_with("HTTP/1.1 408") {
            assert!(answer.contains("request_timeout"), "{answer}");
            answered_408 += 1;
        }
    }
    assert!(answered_408 >= 390, "{answered_408} of 400 got 408");
    // Nothing was forwarded.
    assert!(upstream.received().is_empty());
    running.stop().await.unwrap();
    upstream.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_messages_or_too_long_a_prompt_is_refused_up_front() {
    let upstream = MockUpstream::start().await;
    let audit = AuditDirs::new();
    let running = start_gateway(&audit, &upstream).await;
    let messages: Vec<Value> = (0..100_000)
        .map(|_| json!({"role": "user", "content": "hi"}))
        .collect();
    let r = post_chat(
        running.addr,
        &json!({"model": "gpt-4o-mini", "messages": messages}),
    )
    .await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_messages", "{body}");
    assert_eq!(body["error"]["param"], "messages");

    // A sensitive prompt far larger than the local context: refused before it is tokenized.
    let huge = format!(
        "Patient {CANARY_NAME}, SSN {CANARY_SSN}.\n{}",
        "\n".repeat(3_000_000)
    );
    let r = post_chat(running.addr, &chat_body(&huge, false)).await;
    assert_eq!(header(&r, "x-sluice-action"), "local");
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("at least"), "{message}");
    assert!(upstream.received().is_empty());
    running.stop().await.unwrap();
    upstream.stop().await;
}
