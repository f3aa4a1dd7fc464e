//! NER detector (placeholder; being written).
use std::path::PathBuf;

use super::{DetectConfig, DetectError, Detector, Finding};

#[derive(Debug, Clone)]
pub struct NerConfig {
    pub model_dir: PathBuf,
    pub onnxruntime: PathBuf,
    pub threads: usize,
    pub sessions: usize,
}

impl From<&DetectConfig> for NerConfig {
    fn from(c: &DetectConfig) -> Self {
        NerConfig {
            model_dir: c.ner_model_dir.clone(),
            onnxruntime: c.onnxruntime.clone(),
            threads: c.ner_threads,
            sessions: c.ner_sessions,
        }
    }
}

pub struct NerDetector;

impl NerDetector {
    pub fn load(_cfg: &NerConfig) -> Result<Self, DetectError> {
        Ok(NerDetector)
    }
}

impl Detector for NerDetector {
    fn name(&self) -> &str {
        "ner"
    }
    fn detect(&self, _text: &str) -> Result<Vec<Finding>, DetectError> {
        Err(DetectError::Config("ner detector not built yet".into()))
    }
}
