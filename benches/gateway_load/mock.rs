//! The fast upstream: a minimal OpenAI-compatible chat endpoint in its own process, so its CPU
//! and memory are not the gateway's. It reads each body, counts it, and answers a canned
//! completion. The bench starts it by re-running its own executable with [`MOCK_ENV`] set; the
//! mock prints its address on stdout and exits when its stdin closes (the bench ended or died).

use std::io::{BufRead, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};

/// Set in the child's environment: run as the mock instead of the bench.
pub const MOCK_ENV: &str = "SLUICE_BENCH_MOCK";

const EMBEDDINGS: &str = r#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.6,0.8,0.0]}],"model":"gpt-4o-mini","usage":{"prompt_tokens":12,"total_tokens":12}}"#;
const ANSWER: &str = r#"{"id":"mock-1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Unit tests catch regressions early."},"finish_reason":"stop"}],"usage":{"prompt_tokens":24,"completion_tokens":6,"total_tokens":30}}"#;

/// The mock process, seen from the bench.
pub struct MockProcess {
    pub addr: SocketAddr,
    child: Child,
    stdin: Option<ChildStdin>,
}

impl MockProcess {
    pub fn spawn() -> anyhow::Result<MockProcess> {
        let exe = std::env::current_exe()?;
        let mut child = Command::new(exe)
            .env(MOCK_ENV, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = child.stdin.take();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("piped stdout")).read_line(&mut line)?;
        let addr = line
            .trim()
            .parse()
            .map_err(|e| anyhow::anyhow!("mock announced {line:?}: {e}"))?;
        Ok(MockProcess { addr, child, stdin })
    }

    pub fn chat_url(&self) -> String {
        format!("http://{}/v1/chat/completions", self.addr)
    }

    /// Chat requests the mock has answered so far.
    pub async fn served(&self) -> anyhow::Result<u64> {
        let text = reqwest::get(format!("http://{}/count", self.addr))
            .await?
            .text()
            .await?;
        Ok(text.trim().parse()?)
    }
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        drop(self.stdin.take());
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The child's main: serve until stdin closes.
pub fn serve() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let served = Arc::new(AtomicU64::new(0));
        let counter = served.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(counter.clone()))
                .route("/v1/chat/completions", web::post().to(chat))
                .route("/v1/embeddings", web::post().to(embeddings))
                .route("/count", web::get().to(count))
        })
        .workers(1)
        .disable_signals()
        .bind("127.0.0.1:0")?;
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        println!("{addr}");
        std::io::stdout().flush()?;
        tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        })
        .await?;
        handle.stop(false).await;
        Ok(())
    })
}

async fn chat(body: web::Bytes, served: web::Data<Arc<AtomicU64>>) -> HttpResponse {
    // An empty body would mean the client sent nothing to forward: answer like a real API would.
    if body.is_empty() {
        return HttpResponse::BadRequest().finish();
    }
    served.fetch_add(1, Ordering::Relaxed);
    HttpResponse::Ok()
        .content_type("application/json")
        .body(ANSWER)
}

async fn embeddings(body: web::Bytes, served: web::Data<Arc<AtomicU64>>) -> HttpResponse {
    if body.is_empty() {
        return HttpResponse::BadRequest().finish();
    }
    served.fetch_add(1, Ordering::Relaxed);
    HttpResponse::Ok()
        .content_type("application/json")
        .body(EMBEDDINGS)
}

async fn count(served: web::Data<Arc<AtomicU64>>) -> HttpResponse {
    HttpResponse::Ok().body(served.load(Ordering::Relaxed).to_string())
}
