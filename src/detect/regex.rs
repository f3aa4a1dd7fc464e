//! Regex rule-pack detector (placeholder; being written).
use std::path::Path;

use super::{DetectError, Detector, Finding};

pub struct RegexDetector;

impl RegexDetector {
    pub fn load(_dir: &Path) -> Result<Self, DetectError> {
        Ok(RegexDetector)
    }
}

impl Detector for RegexDetector {
    fn name(&self) -> &str {
        "regex"
    }
    fn detect(&self, _text: &str) -> Result<Vec<Finding>, DetectError> {
        Err(DetectError::Config("regex detector not built yet".into()))
    }
}
