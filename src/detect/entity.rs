//! What a detector reports.
//!
//! Detectors work on byte offsets (what `regex`, `aho-corasick` and `tokenizers` give), and the
//! pipeline converts to Unicode code point offsets once, at the edge, so that results compare one
//! to one with Presidio and other Python tools.

use serde::{Deserialize, Serialize};

pub use super::normalize::Decoding;

/// Which family of detector produced a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DetectorKind {
    Regex,
    Dictionary,
    Ner,
}

impl DetectorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DetectorKind::Regex => "regex",
            DetectorKind::Dictionary => "dictionary",
            DetectorKind::Ner => "ner",
        }
    }
}

/// A detector's raw result, with byte offsets into the scanned text (`start < end`, both on char
/// boundaries).
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub entity_type: String,
    pub start: usize,
    pub end: usize,
    pub score: f32,
    pub detector: DetectorKind,
    /// The rule id (regex), dictionary name, or model label (NER) that produced it.
    pub rule_id: String,
    /// True when a checksum or structural validator accepted the value (Luhn, mod-97, ...).
    pub validated: bool,
    /// Context words found near the match that raised its score (for `--explain`).
    pub context: Vec<String>,
    /// How the value was written, when the detector saw it decoded (set by the pipeline).
    pub decoded: Option<Decoding>,
}

/// A merged, reportable entity with code point offsets (end exclusive).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    pub entity_type: String,
    pub start: usize,
    pub end: usize,
    pub score: f32,
    pub detector: DetectorKind,
    pub rule_id: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub validated: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context: Vec<String>,
    /// How the value is written in the text (base64, HTML entities, ...) when it was found in
    /// the normalised view rather than as written; its span covers the whole encoded form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoded: Option<Decoding>,
}
