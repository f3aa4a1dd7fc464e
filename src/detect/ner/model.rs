//! The token classifier: a batch of windows in, a tag and its probability per owned token out.
//!
//! Errors from ONNX Runtime are passed on as they describe shapes and kernels, never tensor
//! contents; input text never reaches this module, only token ids.

use std::borrow::Cow;
use std::path::Path;
use std::time::Instant;

use ort::environment::Environment;
use ort::session::builder::PrepackedWeights;
use ort::session::{Session, SessionInputValue};
use ort::value::TensorRef;

use super::labels::{LabelMap, Tag};
use super::pool::Pool;
use super::windows::{Vocab, Window, MAX_WINDOW_TOKENS};
use crate::detect::DetectError;

const INPUT_IDS: &str = "input_ids";
const ATTENTION_MASK: &str = "attention_mask";
const TOKEN_TYPE_IDS: &str = "token_type_ids";

/// The model's verdict on one token.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    pub tag: Tag,
    /// Softmax probability of `tag`.
    pub score: f32,
}

pub struct Model {
    sessions: Pool<Session>,
    labels: LabelMap,
    wants_token_type_ids: bool,
    logits: String,
}

fn model_error(what: &str, e: impl std::fmt::Display) -> DetectError {
    DetectError::Model(format!("{what}: {e}"))
}

impl Model {
    /// `sessions` sessions of the model at `path`, each running on `threads` intra-op threads.
    /// The sessions share one copy of the prepacked weights.
    pub fn load(
        environment: &Environment,
        path: &Path,
        labels: LabelMap,
        threads: usize,
        sessions: usize,
    ) -> Result<Model, DetectError> {
        let invalid = |e: String| {
            DetectError::Model(format!(
                "{}: cannot load the NER model ({e}); run `make models` to restore the pinned model files",
                path.display()
            ))
        };
        let weights = PrepackedWeights::new();
        let mut pool = Vec::with_capacity(sessions);
        for _ in 0..sessions {
            pool.push(build_session(environment, path, threads, &weights).map_err(invalid)?);
        }
        let first = &pool[0];
        let names: Vec<&str> = first.inputs().iter().map(|i| i.name()).collect();
        if let Some(other) = names
            .iter()
            .find(|n| ![INPUT_IDS, ATTENTION_MASK, TOKEN_TYPE_IDS].contains(n))
        {
            return Err(invalid(format!("unexpected model input {other:?}")));
        }
        if !names.contains(&INPUT_IDS) || !names.contains(&ATTENTION_MASK) {
            return Err(invalid(format!(
                "model inputs {names:?} lack {INPUT_IDS} or {ATTENTION_MASK}"
            )));
        }
        let wants_token_type_ids = names.contains(&TOKEN_TYPE_IDS);
        let logits = first
            .outputs()
            .first()
            .map(|o| o.name().to_string())
            .ok_or_else(|| invalid("the model has no output".into()))?;
        Ok(Model {
            sessions: Pool::new(pool),
            labels,
            wants_token_type_ids,
            logits,
        })
    }

    /// The entity types the model can report.
    pub fn entity_types(&self) -> Vec<&'static str> {
        self.labels.entity_types()
    }

    /// Predictions for the owned tokens of each window, in order; all windows run as one batch.
    pub fn predict(
        &self,
        vocab: &Vocab,
        windows: &[Window],
        deadline: Option<Instant>,
    ) -> Result<Vec<Vec<Prediction>>, DetectError> {
        let batch = windows.len();
        let seq = windows
            .iter()
            .map(|w| w.tokens.len() + 2)
            .max()
            .unwrap_or(2);
        if seq > MAX_WINDOW_TOKENS {
            return Err(DetectError::Model(format!(
                "a window of {seq} tokens exceeds the model's {MAX_WINDOW_TOKENS}"
            )));
        }
        let mut ids = vec![i64::from(vocab.pad); batch * seq];
        let mut mask = vec![0i64; batch * seq];
        for (row, window) in windows.iter().enumerate() {
            let ids = &mut ids[row * seq..(row + 1) * seq];
            let used = window.tokens.len() + 2;
            ids[0] = i64::from(vocab.cls);
            for (slot, token) in ids[1..].iter_mut().zip(&window.tokens) {
                *slot = i64::from(token.id);
            }
            ids[used - 1] = i64::from(vocab.sep);
            mask[row * seq..row * seq + used].fill(1);
        }
        let type_ids = vec![0i64; batch * seq];
        let shape = [batch, seq];
        let mut inputs: Vec<(Cow<str>, SessionInputValue)> = vec![
            (INPUT_IDS.into(), input_tensor(shape, &ids)?),
            (ATTENTION_MASK.into(), input_tensor(shape, &mask)?),
        ];
        if self.wants_token_type_ids {
            inputs.push((TOKEN_TYPE_IDS.into(), input_tensor(shape, &type_ids)?));
        }

        let mut session = self
            .sessions
            .checkout_until(deadline)
            .ok_or(DetectError::Deadline)?;
        let outputs = session
            .run(inputs)
            .map_err(|e| model_error("inference failed", e))?;
        let output = outputs.get(&self.logits).ok_or_else(|| {
            DetectError::Model(format!("the model gave no {:?} output", self.logits))
        })?;
        let (dims, logits) = output
            .try_extract_tensor::<f32>()
            .map_err(|e| model_error("unexpected model output", e))?;
        let classes = self.labels.len();
        let expected = [batch as i64, seq as i64, classes as i64];
        if dims[..] != expected[..] {
            return Err(DetectError::Model(format!(
                "model output has shape {:?}, expected {expected:?}",
                &dims[..]
            )));
        }

        windows
            .iter()
            .enumerate()
            .map(|(row, window)| {
                window
                    .owned
                    .clone()
                    .map(|i| {
                        let at = (row * seq + 1 + i) * classes;
                        self.classify(&logits[at..at + classes])
                    })
                    .collect()
            })
            .collect()
    }

    /// The most likely tag for one token's logits, with its softmax probability.
    fn classify(&self, logits: &[f32]) -> Result<Prediction, DetectError> {
        let (best, max) =
            logits
                .iter()
                .copied()
                .enumerate()
                .fold(
                    (0, f32::NEG_INFINITY),
                    |acc, (i, x)| if x > acc.1 { (i, x) } else { acc },
                );
        // p(best) = exp(max - max) / sum(exp(x - max)).
        let score = 1.0 / logits.iter().map(|x| (x - max).exp()).sum::<f32>();
        if !score.is_finite() {
            return Err(DetectError::Model(
                "the model produced non-finite logits".into(),
            ));
        }
        Ok(Prediction {
            tag: self.labels.tag(best),
            score,
        })
    }
}

fn input_tensor(shape: [usize; 2], data: &[i64]) -> Result<SessionInputValue<'_>, DetectError> {
    TensorRef::from_array_view((shape, data))
        .map(SessionInputValue::from)
        .map_err(|e| model_error("cannot build the input tensor", e))
}

fn build_session(
    environment: &Environment,
    path: &Path,
    threads: usize,
    weights: &PrepackedWeights,
) -> Result<Session, String> {
    Session::builder(environment)
        .map_err(|e| e.to_string())?
        .with_intra_threads(threads)
        .map_err(|e| e.to_string())?
        .with_inter_threads(1)
        .map_err(|e| e.to_string())?
        .with_prepacked_weights(weights)
        .map_err(|e| e.to_string())?
        // Spinning workers burn cores between inferences. On 2 cores, a 128-token window took the
        // same 19 ms either way when idle, but 33 ms without spinning vs 47 ms with it while other
        // work ran, as it will next to the server and the local LLM.
        .with_config_entry("session.intra_op.allow_spinning", "0")
        .map_err(|e| e.to_string())?
        .commit_from_file(path)
        .map_err(|e| e.to_string())
}
