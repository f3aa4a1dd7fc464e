//! Shared pieces of the gateway integration tests: a mock cloud upstream on loopback that records
//! every body it receives, a gateway configured against it with the real models, and canaries.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use futures_util::stream;
use sluice::config::Config;
use sluice::detect::{DetectConfig, Pipeline};

/// Fake PHI of a fake patient. None of these may reach the mock, a log or an audit record.
pub const CANARY_NAME: &str = "Margaret Thistlewood";
pub const CANARY_SSN: &str = "512-48-7391";
pub const CANARY_MRN: &str = "MRN 00482913";
pub const CANARY_MRN_DIGITS: &str = "00482913";
pub const CANARY_DIAGNOSIS: &str = "type 2 diabetes";

pub fn canary_prompt() -> String {
    format!(
        "Patient {CANARY_NAME}, SSN {CANARY_SSN}, {CANARY_MRN}, was diagnosed with {CANARY_DIAGNOSIS}. Draft a follow-up letter."
    )
}

pub const CLIENT_KEY: &str = "sk-test-client-key";
pub const CLOUD_KEY_ENV: &str = "SLUICE_TEST_CLOUD_KEY";
pub const MOCK_ANSWER: &str = "Unit tests catch regressions early.";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fake OpenAI-compatible upstream that records what it receives.
pub struct MockUpstream {
    pub addr: SocketAddr,
    pub bodies: Arc<Mutex<Vec<String>>>,
    handle: actix_web::dev::ServerHandle,
}

impl MockUpstream {
    pub async fn start() -> MockUpstream {
        let bodies: Arc<Mutex<Vec<String>>> = Arc::default();
        let recorded = bodies.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(recorded.clone()))
                .route("/v1/chat/completions", web::post().to(mock_chat))
                .route("/v1/embeddings", web::post().to(mock_embeddings))
        })
        .workers(1)
        .disable_signals()
        .bind("127.0.0.1:0")
        .expect("bind mock");
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        MockUpstream {
            addr,
            bodies,
            handle,
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn received(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

async fn mock_chat(body: web::Bytes, recorded: web::Data<Arc<Mutex<Vec<String>>>>) -> HttpResponse {
    let text = String::from_utf8_lossy(&body).into_owned();
    recorded.lock().unwrap().push(text.clone());
    let request: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let model = request["model"].as_str().unwrap_or("mock").to_owned();
    if request["stream"].as_bool() == Some(true) {
        let words: Vec<String> = MOCK_ANSWER
            .split_inclusive(' ')
            .map(str::to_owned)
            .collect();
        let mut events: Vec<String> = words
            .iter()
            .map(|w| {
                format!(
                    "data: {}\n\n",
                    serde_json::json!({"id": "mock-1", "object": "chat.completion.chunk", "created": 1, "model": model,
                        "choices": [{"index": 0, "delta": {"content": w}, "finish_reason": null}]})
                )
            })
            .collect();
        events.push("data: [DONE]\n\n".into());
        let body = stream::unfold(events.into_iter(), |mut it| async move {
            let next = it.next()?;
            tokio::time::sleep(Duration::from_millis(20)).await;
            Some((Ok::<_, actix_web::Error>(web::Bytes::from(next)), it))
        });
        return HttpResponse::Ok()
            .content_type("text/event-stream")
            .streaming(body);
    }
    HttpResponse::Ok().json(serde_json::json!({
        "id": "mock-1", "object": "chat.completion", "created": 1, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": MOCK_ANSWER}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 6, "total_tokens": 15},
        "mock_extra_field": "kept"
    }))
}

/// The vector the mock answers for every input.
pub const MOCK_VECTOR: [f32; 3] = [0.6, 0.8, 0.0];

async fn mock_embeddings(
    body: web::Bytes,
    recorded: web::Data<Arc<Mutex<Vec<String>>>>,
) -> HttpResponse {
    let text = String::from_utf8_lossy(&body).into_owned();
    recorded.lock().unwrap().push(text.clone());
    let request: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let inputs = request["input"].as_array().map_or(1, Vec::len);
    let data: Vec<serde_json::Value> = (0..inputs)
        .map(|i| serde_json::json!({"object": "embedding", "index": i, "embedding": MOCK_VECTOR}))
        .collect();
    HttpResponse::Ok().json(serde_json::json!({
        "object": "list", "data": data, "model": request["model"],
        "usage": {"prompt_tokens": 4, "total_tokens": 4}
    }))
}

/// A temporary directory with audit keys and an audit log directory.
pub struct AuditDirs {
    pub root: tempfile::TempDir,
}

impl AuditDirs {
    pub fn new() -> AuditDirs {
        let root = tempfile::tempdir().unwrap();
        let keys = root.path().join("keys");
        std::fs::create_dir_all(&keys).unwrap();
        sluice::audit::keys::generate_signing_key(
            &keys.join("signing.pem"),
            &keys.join("signing.pub.pem"),
        )
        .unwrap();
        sluice::audit::keys::generate_fingerprint_key(&keys.join("fingerprint.key")).unwrap();
        AuditDirs { root }
    }

    pub fn log_dir(&self) -> PathBuf {
        self.root.path().join("log")
    }

    pub fn keys(&self) -> PathBuf {
        self.root.path().join("keys")
    }

    /// Every line of every log file.
    pub fn all_records(&self) -> String {
        let mut out = String::new();
        if let Ok(entries) = std::fs::read_dir(self.log_dir()) {
            let mut paths: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
            paths.sort();
            for p in paths {
                if p.is_file() {
                    out.push_str(&String::from_utf8_lossy(&std::fs::read(&p).unwrap()));
                }
            }
        }
        out
    }

    /// The bodies of every record of `kind` (`decision`, `outcome`, `refused`, ...), in order.
    #[allow(dead_code)] // not every test binary reads records
    pub fn bodies(&self, kind: &str) -> Vec<serde_json::Value> {
        self.all_records()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|r| r["kind"] == kind)
            .map(|r| serde_json::from_str(r["body"].as_str().unwrap()).unwrap())
            .collect()
    }
}

/// Options for [`gateway_config`].
pub struct Setup<'a> {
    pub upstream: Option<&'a MockUpstream>,
    pub audit: &'a AuditDirs,
    pub local_slots: usize,
    pub local_queue: usize,
    pub policies: Option<&'a Path>,
}

impl<'a> Setup<'a> {
    /// The mock as the cloud, one local slot with a short queue, the shipped policies.
    pub fn with_cloud(upstream: &'a MockUpstream, audit: &'a AuditDirs) -> Setup<'a> {
        Setup {
            upstream: Some(upstream),
            audit,
            local_slots: 1,
            local_queue: 4,
            policies: None,
        }
    }
}

pub fn gateway_config(s: &Setup) -> Config {
    // One value for the whole test process: tests run concurrently.
    std::env::set_var(CLOUD_KEY_ENV, "sk-upstream-test");
    let repo = repo();
    let cloud = match s.upstream {
        Some(u) => format!(
            "[backends.cloud]\nkind = \"openai\"\nbase_url = \"{}\"\napi_key_env = \"{CLOUD_KEY_ENV}\"\nmax_retries = 0\n",
            u.base_url()
        ),
        None => String::new(),
    };
    let routing_cloud = if s.upstream.is_some() {
        "cloud = \"cloud\"\n"
    } else {
        ""
    };
    let toml = format!(
        r#"
[server]
listen = "127.0.0.1:0"
workers = 2

[policies]
dir = "{policies}"
default_set = ["hipaa", "soc2"]
watch = false

[audit]
dir = "{log}"
signing_key = "{keys}/signing.pem"
fingerprint_key = "{keys}/fingerprint.key"

[[clients]]
name = "tester"
key_sha256 = "{key_sha}"

[backends.local]
kind = "llama"
model = "{repo}/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
slots = {slots}
queue = {queue}
ctx = 1024
threads = 2
temperature = 0.0

{cloud}
[routing]
local = "local"
{routing_cloud}
[routing.models."gpt-4o-mini"]
"#,
        policies = s
            .policies
            .map_or(repo.join("policies"), Path::to_path_buf)
            .display(),
        log = s.audit.log_dir().display(),
        keys = s.audit.keys().display(),
        key_sha = hex::encode(sluice::server::auth::sha256_of(CLIENT_KEY)),
        repo = repo.display(),
        slots = s.local_slots,
        queue = s.local_queue,
    );
    Config::parse(&toml).expect("test config parses")
}

/// The real detection pipeline (regex, dictionaries, NER) of the repository.
pub fn real_pipeline() -> Arc<Pipeline> {
    let mut cfg = DetectConfig::default();
    cfg.resolve_paths(&repo());
    Arc::new(Pipeline::from_config(&cfg).expect("run `make models` first"))
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

pub fn chat_body(content: &str, stream: bool) -> serde_json::Value {
    serde_json::json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": content}],
        "max_tokens": 24,
        "stream": stream,
    })
}

pub async fn post_chat(addr: SocketAddr, body: &serde_json::Value) -> reqwest::Response {
    client()
        .post(format!("http://{addr}/v1/chat/completions"))
        .bearer_auth(CLIENT_KEY)
        .json(body)
        .send()
        .await
        .unwrap()
}

pub fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Asserts that none of the canary values appears in `haystack`.
pub fn assert_no_canary(what: &str, haystack: &str) {
    for canary in [
        CANARY_NAME,
        CANARY_SSN,
        CANARY_MRN_DIGITS,
        CANARY_DIAGNOSIS,
        "Thistlewood",
    ] {
        assert!(
            !haystack.contains(canary),
            "{what} contains the canary {canary:?}"
        );
    }
}
