//! Dictionary detector (placeholder; being written).
use std::path::Path;

use super::{DetectError, Detector, Finding};

pub struct DictionaryDetector;

impl DictionaryDetector {
    pub fn load(_dir: &Path) -> Result<Self, DetectError> {
        Ok(DictionaryDetector)
    }
}

impl Detector for DictionaryDetector {
    fn name(&self) -> &str {
        "dictionary"
    }
    fn detect(&self, _text: &str) -> Result<Vec<Finding>, DetectError> {
        Err(DetectError::Config("dictionary detector not built yet".into()))
    }
}
