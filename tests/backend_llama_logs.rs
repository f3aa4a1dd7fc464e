//! llama.cpp's own log lines go to `tracing`, never straight to stderr (where they would bypass
//! the gateway's log format and filters), and no log line at any level carries prompt text. A test binary of its own: the log hook is installed
//! once per process, when the first model loads.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use sluice::backend::{Backend, BackendReply, EmbeddedLlama, LlamaConfig};
use sluice::openai::parse_request;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// Records the target and message of every event.
struct Recorder(Arc<Mutex<Vec<(String, String)>>>);

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Recorder {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut message = Message(String::new());
        event.record(&mut message);
        self.0
            .lock()
            .unwrap()
            .push((event.metadata().target().to_owned(), message.0));
    }
}

const CANARY: &str = "Zanzibar-Canary-4417";

#[test]
fn llama_cpp_logs_reach_tracing_and_not_stderr() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let subscriber = tracing_subscriber::registry().with(Recorder(Arc::clone(&events)));
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let captured = tempfile::tempfile().unwrap();
    let saved_stderr = unsafe { libc::dup(2) };
    assert!(saved_stderr >= 0);
    assert!(unsafe { libc::dup2(captured.as_raw_fd(), 2) } >= 0);

    let config = LlamaConfig {
        model: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
        ..LlamaConfig::default()
    };
    let backend = EmbeddedLlama::load("local", &config).expect("model loads");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let body = format!(
        r#"{{"model":"m","max_tokens":4,"messages":[{{"role":"user","content":"My name is {CANARY}"}}]}}"#
    );
    let reply = runtime.block_on(backend.chat(parse_request(body.as_bytes()).unwrap()));

    unsafe {
        libc::dup2(saved_stderr, 2);
        libc::close(saved_stderr);
    }
    assert!(matches!(reply, Ok(BackendReply::Complete(_))), "{reply:?}");
    let mut stderr = String::new();
    let mut captured = captured;
    std::io::Seek::rewind(&mut captured).unwrap();
    captured.read_to_string(&mut stderr).unwrap();
    assert!(stderr.is_empty(), "llama.cpp wrote to stderr:\n{stderr}");

    let events = events.lock().unwrap();
    let llama_lines = events
        .iter()
        .filter(|(target, _)| target == "llama-cpp-2")
        .count();
    assert!(
        llama_lines > 10,
        "model loading logs many lines through tracing, saw {llama_lines}"
    );
    assert!(
        events.iter().all(|(_, message)| !message.contains(CANARY)),
        "no log line, at any level, carries prompt text"
    );
}
