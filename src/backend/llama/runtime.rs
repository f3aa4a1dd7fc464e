//! Process-wide llama.cpp state.
//!
//! llama.cpp must be initialised exactly once per process, and its log output (model loading
//! prints dozens of lines) belongs in `tracing` (target `llama-cpp-2`), not on stderr. Creating a
//! context mutates the model internally, so model loading and context creation are serialised
//! by one lock, even across several embedded backends in one process.

use std::sync::{Mutex, MutexGuard, OnceLock};

use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::{send_logs_to_tracing, LogOptions};

use crate::backend::BackendInitError;

static RUNTIME: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
static MODEL_SETUP: Mutex<()> = Mutex::new(());

/// The initialised llama.cpp backend.
pub fn llama_runtime() -> Result<&'static LlamaBackend, BackendInitError> {
    RUNTIME
        .get_or_init(|| {
            send_logs_to_tracing(LogOptions::default());
            LlamaBackend::init().map_err(|error| error.to_string())
        })
        .as_ref()
        .map_err(|error| BackendInitError::Context(error.clone()))
}

/// Held while loading a model or creating a context.
pub fn model_setup_lock() -> MutexGuard<'static, ()> {
    MODEL_SETUP
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
