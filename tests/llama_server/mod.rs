//! Real llama.cpp `llama-server` processes on loopback, for the pool's test and failover bench:
//! started on a free port (kept across restarts), killed with SIGKILL, waited for with a bound.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The llama-server binary: `SLUICE_LLAMA_SERVER`, else where `make llama-server` puts it.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("SLUICE_LLAMA_SERVER") {
        return PathBuf::from(path);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"));
    let path = target.join("llama-server/bin/llama-server");
    assert!(
        path.is_file(),
        "{} is missing: run `make llama-server` (or `make test`, which builds it)",
        path.display()
    );
    path
}

/// One llama-server process serving SmolLM2 with one slot and one thread.
pub struct LlamaServer {
    port: u16,
    child: Option<Child>,
}

impl LlamaServer {
    pub fn start() -> LlamaServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = LlamaServer { port, child: None };
        server.restart();
        server
    }

    pub fn restart(&mut self) {
        assert!(self.child.is_none());
        let model = repo().join("models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
        let child = Command::new(binary())
            .args(["-m", model.to_str().unwrap(), "--host", "127.0.0.1"])
            .args(["--port", &self.port.to_string()])
            .args(["-t", "1", "-c", "1024", "-np", "1", "--no-webui"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("llama-server starts");
        self.child = Some(child);
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// Waits (at most a minute) until the server answers its health check.
    pub async fn wait_healthy(&self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let health = client
                .get(format!("http://127.0.0.1:{}/health", self.port))
                .timeout(Duration::from_secs(1))
                .send()
                .await;
            if health.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("llama-server on port {} never became healthy", self.port);
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        self.kill();
    }
}
