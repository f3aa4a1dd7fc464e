//! The OpenAI-compatible HTTP backend against a scripted upstream on 127.0.0.1.
//!
//! The mock is a raw TCP server so each test controls exactly when bytes are written: that is
//! what makes "the first chunk arrives before the upstream finishes" and "no retry after the
//! first byte" observable.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use serde_json::{json, Value};
use sluice::backend::{Backend, BackendError, BackendReply, HttpBackend, HttpConfig, StreamItem};
use sluice::openai::parse_request;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// One request as the upstream received it.
#[derive(Debug, Clone)]
struct Received {
    head: String,
    body: Vec<u8>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the upstream receives JSON")
    }

    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }
}

type Script = Arc<dyn Fn(usize, TcpStream) -> BoxFuture<'static, ()> + Send + Sync>;

/// A scripted upstream: `script(n, socket)` answers the n-th request (0-based).
struct Upstream {
    base_url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Upstream {
    async fn start(script: Script) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        tokio::spawn(async move {
            let count = AtomicUsize::new(0);
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let Some(request) = read_request(&mut socket).await else {
                    continue;
                };
                log.lock().unwrap().push(request);
                let index = count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(script(index, socket));
            }
        });
        Upstream { base_url, received }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    fn backend(&self, adjust: impl FnOnce(&mut HttpConfig)) -> HttpBackend {
        let mut config = HttpConfig {
            base_url: self.base_url.clone(),
            connect_timeout_secs: 2.0,
            read_timeout_secs: 5.0,
            retry_backoff_ms: 10,
            ..HttpConfig::default()
        };
        adjust(&mut config);
        HttpBackend::new("cloud", &config).unwrap()
    }
}

async fn read_request(socket: &mut TcpStream) -> Option<Received> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let read = socket.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        let read = socket.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    Some(Received {
        head,
        body: buffer[head_end..head_end + length].to_vec(),
    })
}

async fn respond_json(mut socket: TcpStream, status: &str, body: &str) {
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = socket.write_all(response.as_bytes()).await;
    let _ = socket.shutdown().await;
}

async fn start_stream(socket: &mut TcpStream) {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
    socket.write_all(head.as_bytes()).await.unwrap();
}

async fn send_chunk(socket: &mut TcpStream, data: &str) {
    let framed = format!("{:x}\r\n{data}\r\n", data.len());
    socket.write_all(framed.as_bytes()).await.unwrap();
    socket.flush().await.unwrap();
}

async fn end_stream(mut socket: TcpStream) {
    let _ = socket.write_all(b"0\r\n\r\n").await;
    let _ = socket.shutdown().await;
}

const COMPLETION: &str = r#"{"id":"chatcmpl-up","object":"chat.completion","created":7,"model":"gpt-test","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from upstream"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12},"service_tier":"default"}"#;

fn chunk_event(content: &str) -> String {
    format!(
        "data: {}\n\n",
        json!({"id":"chatcmpl-up","object":"chat.completion.chunk","created":7,"model":"gpt-test",
               "choices":[{"index":0,"delta":{"content":content},"finish_reason":null}]})
    )
}

fn request(extra: &str) -> sluice::openai::ChatCompletionRequest {
    let body =
        format!(r#"{{"model":"gpt-test","messages":[{{"role":"user","content":"hi"}}]{extra}}}"#);
    parse_request(body.as_bytes()).unwrap()
}

#[tokio::test]
async fn non_streaming_answers_pass_through_byte_for_byte() {
    let upstream = Upstream::start(Arc::new(|_, socket| {
        Box::pin(respond_json(socket, "200 OK", COMPLETION))
    }))
    .await;
    std::env::set_var("SLUICE_TEST_HTTP_KEY", "sk-test-secret");
    let backend = upstream.backend(|c| c.api_key_env = Some("SLUICE_TEST_HTTP_KEY".to_owned()));
    let reply = backend.chat(request("")).await.unwrap();
    let BackendReply::Complete(completion) = reply else {
        panic!("expected a complete answer")
    };
    assert!(completion.is_verbatim());
    assert_eq!(&completion.to_bytes()[..], COMPLETION.as_bytes());
    assert_eq!(completion.usage().unwrap().total_tokens, 12);
    let received = upstream.received();
    assert_eq!(received.len(), 1);
    assert!(received[0].head.starts_with("POST /v1/chat/completions "));
    assert_eq!(
        received[0].header("authorization").as_deref(),
        Some("Bearer sk-test-secret")
    );
    assert!(
        !format!("{backend:?}").contains("sk-test-secret"),
        "Debug must not show the key"
    );
}

#[tokio::test]
async fn unknown_request_fields_reach_the_upstream_untouched() {
    let upstream = Upstream::start(Arc::new(|_, socket| {
        Box::pin(respond_json(socket, "200 OK", COMPLETION))
    }))
    .await;
    let sent = json!({
        "model": "gpt-test",
        "messages": [
            {"role": "system", "content": "s", "x_message_field": {"keep": [1, 2.5, null]}},
            {"role": "user", "content": [{"type": "text", "text": "t", "cache_control": {"type": "ephemeral"}}]}
        ],
        "temperature": 0.7,
        "top_p": 0.9,
        "stop": ["\n\n"],
        "seed": -3,
        "user": "user-1",
        "metadata": {"team": "blue"},
        "logit_bias": {"50256": -100},
        "parallel_tool_calls": false,
        "reasoning_effort": "low",
        "vendor_extension": [1, {"nested": true}]
    });
    let backend = upstream.backend(|_| {});
    backend
        .chat(parse_request(sent.to_string().as_bytes()).unwrap())
        .await
        .unwrap();
    assert_eq!(upstream.received()[0].json(), sent);
}

#[tokio::test]
async fn the_model_map_renames_the_model() {
    let upstream = Upstream::start(Arc::new(|_, socket| {
        Box::pin(respond_json(socket, "200 OK", COMPLETION))
    }))
    .await;
    let backend = upstream.backend(|c| {
        c.model_map
            .insert("gpt-test".to_owned(), "deployment-7".to_owned());
    });
    backend.chat(request("")).await.unwrap();
    assert_eq!(upstream.received()[0].json()["model"], "deployment-7");
}

#[tokio::test]
async fn streaming_passes_events_through_as_they_arrive() {
    let release = Arc::new(Notify::new());
    let gate = Arc::clone(&release);
    let upstream = Upstream::start(Arc::new(move |_, mut socket| {
        let gate = Arc::clone(&gate);
        Box::pin(async move {
            start_stream(&mut socket).await;
            send_chunk(&mut socket, &chunk_event("Hel")).await;
            // The rest is only written once the client has seen the first event.
            gate.notified().await;
            let second = chunk_event("lo");
            let (a, b) = second.split_at(17);
            send_chunk(&mut socket, a).await;
            send_chunk(&mut socket, b).await;
            send_chunk(&mut socket, "data: [DONE]\n\n").await;
            end_stream(socket).await;
        })
    }))
    .await;
    let backend = upstream.backend(|_| {});
    let reply = backend.chat(request(r#","stream":true"#)).await.unwrap();
    let BackendReply::Stream(mut stream) = reply else {
        panic!("expected a stream")
    };

    let first = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("the first event arrives while the upstream is still waiting")
        .unwrap()
        .unwrap();
    assert_eq!(&first.to_bytes()[..], chunk_event("Hel").as_bytes());
    release.notify_one();

    let mut rest = Vec::new();
    while let Some(event) = stream.next().await {
        rest.push(event.unwrap());
    }
    assert_eq!(rest.len(), 2);
    assert_eq!(
        &rest[0].to_bytes()[..],
        chunk_event("lo").as_bytes(),
        "split event rejoined"
    );
    assert_eq!(rest[1].item(), &StreamItem::Done);
    assert!(rest.iter().all(|e| e.is_verbatim()));
}

#[tokio::test]
async fn retries_on_503_before_the_first_byte_then_succeeds() {
    let upstream = Upstream::start(Arc::new(|index, socket| {
        Box::pin(async move {
            if index < 2 {
                respond_json(
                    socket,
                    "503 Service Unavailable",
                    r#"{"error":{"message":"warming up"}}"#,
                )
                .await;
            } else {
                respond_json(socket, "200 OK", COMPLETION).await;
            }
        })
    }))
    .await;
    let backend = upstream.backend(|c| c.max_retries = 2);
    let reply = backend.chat(request("")).await.unwrap();
    assert!(matches!(reply, BackendReply::Complete(_)));
    let received = upstream.received();
    assert_eq!(received.len(), 3);
    assert_eq!(
        received[0].body, received[2].body,
        "the same body is re-sent"
    );
}

#[tokio::test]
async fn retries_are_bounded_and_the_last_status_is_kept() {
    let upstream = Upstream::start(Arc::new(|_, socket| {
        Box::pin(respond_json(
            socket,
            "502 Bad Gateway",
            r#"{"error":{"message":"down"}}"#,
        ))
    }))
    .await;
    let backend = upstream.backend(|c| c.max_retries = 1);
    match backend.chat(request("")).await {
        Err(BackendError::Upstream { status, body }) => {
            assert_eq!(status, 502);
            assert_eq!(&body[..], br#"{"error":{"message":"down"}}"#);
        }
        other => panic!("expected Upstream, got {other:?}"),
    }
    assert_eq!(upstream.received().len(), 2);
}

#[tokio::test]
async fn client_errors_are_not_retried_and_keep_status_and_body() {
    let body = r#"{"error":{"message":"bad model","type":"invalid_request_error","param":"model","code":null}}"#;
    let upstream = Upstream::start(Arc::new(move |_, socket| {
        Box::pin(respond_json(socket, "404 Not Found", body))
    }))
    .await;
    let backend = upstream.backend(|_| {});
    match backend.chat(request("")).await {
        Err(error @ BackendError::Upstream { .. }) => {
            assert_eq!(error.http_status(), 404);
            let BackendError::Upstream { body: got, .. } = error else {
                unreachable!()
            };
            assert_eq!(&got[..], body.as_bytes());
        }
        other => panic!("expected Upstream, got {other:?}"),
    }
    assert_eq!(upstream.received().len(), 1);
}

#[tokio::test]
async fn no_retry_once_the_stream_has_started() {
    let upstream = Upstream::start(Arc::new(|_, mut socket| {
        Box::pin(async move {
            start_stream(&mut socket).await;
            send_chunk(&mut socket, &chunk_event("partial")).await;
            // Break the connection in the middle of a chunk.
            socket.write_all(b"40\r\ndata: {\"trunc").await.unwrap();
            drop(socket);
        })
    }))
    .await;
    let backend = upstream.backend(|c| c.max_retries = 3);
    let BackendReply::Stream(mut stream) =
        backend.chat(request(r#","stream":true"#)).await.unwrap()
    else {
        panic!("expected a stream")
    };
    let first = stream.next().await.unwrap().unwrap();
    assert!(first.as_chunk().is_some());
    let failure = stream.next().await.expect("the break is reported");
    assert!(
        matches!(failure, Err(BackendError::Unavailable { .. })),
        "{failure:?}"
    );
    assert!(stream.next().await.is_none());
    assert_eq!(
        upstream.received().len(),
        1,
        "a started stream is never retried"
    );
}

#[tokio::test]
async fn a_silent_upstream_times_out() {
    let upstream = Upstream::start(Arc::new(|_, socket| {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_secs(10)).await;
            drop(socket);
        })
    }))
    .await;
    let backend = upstream.backend(|c| c.read_timeout_secs = 0.3);
    let started = std::time::Instant::now();
    let result = backend.chat(request("")).await;
    assert!(matches!(result, Err(BackendError::Timeout)), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(result.unwrap_err().http_status(), 504);
}

#[tokio::test]
async fn a_stream_that_stalls_times_out() {
    let upstream = Upstream::start(Arc::new(|_, mut socket| {
        Box::pin(async move {
            start_stream(&mut socket).await;
            send_chunk(&mut socket, &chunk_event("a")).await;
            tokio::time::sleep(Duration::from_secs(10)).await;
            drop(socket);
        })
    }))
    .await;
    let backend = upstream.backend(|c| c.read_timeout_secs = 0.3);
    let BackendReply::Stream(mut stream) =
        backend.chat(request(r#","stream":true"#)).await.unwrap()
    else {
        panic!("expected a stream")
    };
    assert!(stream.next().await.unwrap().is_ok());
    let stalled = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("the idle timeout fires");
    assert!(
        matches!(stalled, Some(Err(BackendError::Timeout))),
        "{stalled:?}"
    );
}

#[tokio::test]
async fn an_unreachable_upstream_is_unavailable_after_retries() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let config = HttpConfig {
        base_url: format!("http://127.0.0.1:{port}/v1"),
        retry_backoff_ms: 10,
        max_retries: 2,
        ..HttpConfig::default()
    };
    let backend = HttpBackend::new("cloud", &config).unwrap();
    let result = backend.chat(request("")).await;
    assert!(
        matches!(result, Err(BackendError::Unavailable { .. })),
        "{result:?}"
    );
}

/// An upstream that streams one chunk, then a usage chunk (5 tokens) and `[DONE]`.
async fn streams_with_usage() -> Upstream {
    Upstream::start(Arc::new(|_, mut socket| {
        Box::pin(async move {
            start_stream(&mut socket).await;
            send_chunk(&mut socket, &chunk_event("x")).await;
            let usage = json!({"id":"u","object":"chat.completion.chunk","created":7,"model":"gpt-test",
                "choices":[],"usage":{"prompt_tokens":4,"completion_tokens":1,"total_tokens":5}});
            send_chunk(&mut socket, &format!("data: {usage}\n\ndata: [DONE]\n\n")).await;
            end_stream(socket).await;
        })
    }))
    .await
}

#[tokio::test]
async fn usage_in_a_stream_reaches_the_probe() {
    let upstream = streams_with_usage().await;
    let backend = upstream.backend(|_| {});
    let BackendReply::Stream(mut stream) = backend
        .chat(request(
            r#","stream":true,"stream_options":{"include_usage":true}"#,
        ))
        .await
        .unwrap()
    else {
        panic!("expected a stream")
    };
    let probe = stream.usage_probe();
    while stream.next().await.is_some() {}
    assert_eq!(probe.get().unwrap().total_tokens, 5);
}

#[tokio::test]
async fn every_stream_asks_for_usage_which_reaches_the_client_only_if_it_asked() {
    let upstream = streams_with_usage().await;
    let backend = upstream.backend(|_| {});
    let BackendReply::Stream(mut stream) =
        backend.chat(request(r#","stream":true"#)).await.unwrap()
    else {
        panic!("expected a stream")
    };
    let probe = stream.usage_probe();
    let mut usage_chunks = 0;
    while let Some(event) = stream.next().await {
        if event.unwrap().as_chunk().is_some_and(|c| c.usage.is_some()) {
            usage_chunks += 1;
        }
    }
    assert_eq!(
        usage_chunks, 0,
        "the client did not ask for the usage chunk"
    );
    assert_eq!(
        probe.get().unwrap().total_tokens,
        5,
        "but sluice counted it"
    );
    assert_eq!(
        upstream.received()[0].json()["stream_options"],
        json!({"include_usage": true})
    );
}
