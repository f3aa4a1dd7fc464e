//! Finding PII, PHI and secrets in text.
//!
//! Each [`Detector`] (regex rule packs, dictionaries, the NER model) reports [`Finding`]s with byte
//! offsets; the [`Pipeline`] runs all enabled detectors, merges overlapping findings, applies allow
//! lists and per-type thresholds, and reports [`Entity`]s with code point offsets.
//!
//! A detector that fails returns an error, never an empty list: callers must treat an error as
//! "sensitive" (fail closed).

pub mod allow;
mod anchor;
pub mod catalog;
mod corroborate;
pub mod dictionary;
pub mod entity;
mod fuse;
pub mod merge;
mod name_case;
pub mod ner;
pub mod normalize;
pub mod offsets;
pub mod regex;
pub mod rules;
pub mod validators;
mod wordbits;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Deserialize;

pub use entity::{Decoding, DetectorKind, Entity, Finding};

/// Why detection failed. Every variant means "treat this text as sensitive".
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error("{}: model file is missing; {}", path.display(), missing_model_hint(path))]
    ModelMissing { path: PathBuf },
    #[error("NER model error: {0}")]
    Model(String),
    #[error("{0}")]
    Config(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("detection did not finish before its deadline")]
    Deadline,
}

/// What to do about a missing model file. A relative path is looked up from the working
/// directory, so from anywhere but the repository root the file may exist and still be "missing":
/// say where it was looked for and how to point at the configuration instead.
fn missing_model_hint(path: &std::path::Path) -> String {
    let fetch = "run `make models` to fetch and derive the pinned model artifacts";
    if path.is_absolute() {
        return fetch.to_owned();
    }
    let cwd = std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_else(|_| "the working directory".to_owned());
    format!(
        "the relative path was looked up from {cwd}; pass --config path/to/sluice.toml (whose relative paths are relative to the file), or {fetch}"
    )
}

/// A source of findings. Implementations must be cheap to share across threads: the gateway calls
/// `detect` concurrently from many requests.
pub trait Detector: Send + Sync {
    /// A short name for logs and `--explain` (e.g. "regex", "dictionary", "ner").
    fn name(&self) -> &str;
    /// Findings in `text`, byte offsets, in any order; overlapping findings are allowed.
    fn detect(&self, text: &str) -> Result<Vec<Finding>, DetectError>;
    /// Like `detect`, but gives up with [`DetectError::Deadline`] once `deadline` has passed, so
    /// that a caller that stopped waiting does not leave the work running. Detectors that are a
    /// single linear pass (tens of MB/s) keep this default; slow ones (NER, ~4,000 tokens/s)
    /// check the deadline between units of work.
    fn detect_until(&self, text: &str, deadline: Instant) -> Result<Vec<Finding>, DetectError> {
        let _ = deadline;
        self.detect(text)
    }
    /// Whether this detector judges words by the prose around them (a language model). On a lone
    /// number or a model name such a detector only guesses (`8` as a building number), so
    /// [`Reading::Verbatim`] texts are scanned without it.
    fn reads_prose(&self) -> bool {
        false
    }
    /// The entity types this detector can report, when it knows them; `None` means any type.
    fn reported_types(&self) -> Option<Vec<&'static str>> {
        None
    }
}

/// The result of a scan's first pass: the detectors that are cheap (rule packs, dictionaries) have
/// run on a prose text and those that read prose (the NER model) have not yet.
///
/// The NER model costs nearly all of a request's detection time, and a decision the cheap
/// detectors already settle (see `policy::settled`) does not need it. The findings are kept so
/// that a second pass adds the model's findings without running the first detectors again.
#[derive(Debug, Clone)]
pub struct FirstPass {
    /// Findings of the detectors that ran, unmerged, in the normalised view's byte offsets.
    findings: Vec<Finding>,
    /// The findings merged: what the scan reports if the prose detectors find nothing.
    entities: Vec<Entity>,
}

impl FirstPass {
    /// The entities found so far.
    pub fn entities(&self) -> &[Entity] {
        &self.entities
    }

    /// The types of every finding so far, also those the merge dropped: finishing the scan can
    /// bring back a dropped finding (when the finding that covered it loses to a NER finding).
    pub fn finding_types(&self) -> impl Iterator<Item = &str> {
        self.findings.iter().map(|f| f.entity_type.as_str())
    }
}

/// What the first pass over one text gives.
#[derive(Debug, Clone)]
pub enum Scanned {
    /// Every detector that reads this text has run.
    Complete(Vec<Entity>),
    /// The prose detectors have yet to run (`Pipeline::second_pass_until`).
    Partial(FirstPass),
}

/// What kind of text is scanned, which decides the detectors that see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reading {
    /// Text people wrote: every detector.
    Prose,
    /// Numbers and names a protocol carries verbatim: the rule packs and dictionaries only.
    Verbatim,
}

/// Settings of the `[detect]` section of sluice.toml (and the `sluice scan` flags).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// Directory of regex rule packs (`*.toml`); dictionaries live in its `dictionaries/` subdir.
    pub rules: PathBuf,
    /// Run the NER model.
    pub ner: bool,
    /// Directory of the NER model's `tokenizer.json` and `config.json`.
    pub ner_model_dir: PathBuf,
    /// The NER model's ONNX graph; unset: `model_int8.onnx` (derived by `make models`) in
    /// `ner_model_dir`.
    pub ner_model: Option<PathBuf>,
    pub onnxruntime: PathBuf,
    /// Run NER on every request, also when what the rule packs and dictionaries found already
    /// settles the decision (the audit record then lists every entity, at NER's cost).
    pub ner_always: bool,
    /// Intra-op threads per NER session.
    pub ner_threads: usize,
    /// Sessions in the pool (concurrent NER inferences).
    pub ner_sessions: usize,
    /// Findings below this score are dropped (unless a per-type threshold says otherwise).
    pub min_score: f32,
    pub thresholds: HashMap<String, f32>,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            rules: PathBuf::from("rules"),
            ner: true,
            ner_model_dir: PathBuf::from("models/rampart"),
            ner_model: None,
            onnxruntime: PathBuf::from("models/onnxruntime/libonnxruntime.so.1.31.1"),
            ner_always: false,
            ner_threads: 2,
            ner_sessions: 2,
            min_score: 0.5,
            thresholds: HashMap::new(),
        }
    }
}

impl DetectConfig {
    /// Resolves relative paths against `base` (the directory of the config file).
    pub fn resolve_paths(&mut self, base: &Path) {
        for p in [
            &mut self.rules,
            &mut self.ner_model_dir,
            &mut self.onnxruntime,
        ] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        if let Some(p) = self.ner_model.as_mut().filter(|p| p.is_relative()) {
            *p = base.join(&*p);
        }
    }
}

/// All enabled detectors plus the merge step.
pub struct Pipeline {
    detectors: Vec<Box<dyn Detector>>,
    merge: merge::MergeOptions,
}

impl Pipeline {
    pub fn new(detectors: Vec<Box<dyn Detector>>, merge: merge::MergeOptions) -> Self {
        Pipeline { detectors, merge }
    }

    /// Loads the rule packs, dictionaries and (if enabled) the NER model named by `cfg`.
    pub fn from_config(cfg: &DetectConfig) -> Result<Self, DetectError> {
        for (ty, _) in cfg.thresholds.iter() {
            if !catalog::is_entity_type(ty) {
                let hint = catalog::nearest_entity_type(ty)
                    .map(|n| format!(" (did you mean {n}?)"))
                    .unwrap_or_default();
                return Err(DetectError::Config(format!(
                    "[detect.thresholds]: unknown entity type {ty}{hint}"
                )));
            }
        }
        let regex = regex::RegexDetector::load(&cfg.rules)?
            .with_thresholds(cfg.min_score, &cfg.thresholds)?;
        let mut detectors: Vec<Box<dyn Detector>> = vec![Box::new(regex)];
        let dict_dir = cfg.rules.join("dictionaries");
        detectors.push(Box::new(dictionary::DictionaryDetector::load(&dict_dir)?));
        if cfg.ner {
            detectors.push(Box::new(ner::NerDetector::load(&ner::NerConfig::from(
                cfg,
            ))?));
        }
        let allow = allow::AllowList::load(&dict_dir.join("allow"))?;
        Ok(Pipeline::new(
            detectors,
            merge::MergeOptions {
                min_score: cfg.min_score,
                thresholds: cfg.thresholds.clone(),
                allow,
            },
        ))
    }

    /// This pipeline with one more detector (a custom recognizer, or a wrapped model), run
    /// after the others.
    pub fn with_detector(mut self, detector: Box<dyn Detector>) -> Self {
        self.detectors.push(detector);
        self
    }

    /// The names of the detectors in this pipeline (for the audit record).
    pub fn detector_names(&self) -> Vec<&str> {
        self.detectors.iter().map(|d| d.name()).collect()
    }

    /// Scans `text`: all detectors, merged, with code point offsets, sorted by start.
    pub fn scan(&self, text: &str) -> Result<Vec<Entity>, DetectError> {
        self.scan_within(text, None, Reading::Prose)
    }

    /// [`Pipeline::scan`] that gives up with [`DetectError::Deadline`] once `deadline` has passed
    /// (checked between detectors and inside slow ones), which the gateway treats as sensitive.
    pub fn scan_until(&self, text: &str, deadline: Instant) -> Result<Vec<Entity>, DetectError> {
        self.scan_within(text, Some(deadline), Reading::Prose)
    }

    /// [`Pipeline::scan_until`] for a text of the given kind.
    pub fn scan_reading_until(
        &self,
        text: &str,
        reading: Reading,
        deadline: Instant,
    ) -> Result<Vec<Entity>, DetectError> {
        self.scan_within(text, Some(deadline), reading)
    }

    /// The names of the detectors that read prose (the ones a second pass runs).
    pub fn prose_detector_names(&self) -> Vec<&str> {
        self.detectors
            .iter()
            .filter(|d| d.reads_prose())
            .map(|d| d.name())
            .collect()
    }

    /// Whether any detector of this pipeline reads prose (would run in a second pass).
    pub fn has_prose_detectors(&self) -> bool {
        self.detectors.iter().any(|d| d.reads_prose())
    }

    /// The entity types the prose detectors can report; `None` if one of them cannot say.
    pub fn prose_types(&self) -> Option<Vec<&'static str>> {
        let mut types = Vec::new();
        for d in self.detectors.iter().filter(|d| d.reads_prose()) {
            types.extend(d.reported_types()?);
        }
        types.sort_unstable();
        types.dedup();
        Some(types)
    }

    /// The first pass of a two-pass scan: every detector that does not read prose. A text no
    /// prose detector reads (a verbatim one, or a pipeline without NER) comes back complete.
    pub fn first_pass_until(
        &self,
        text: &str,
        reading: Reading,
        deadline: Instant,
    ) -> Result<Scanned, DetectError> {
        if reading == Reading::Verbatim || !self.has_prose_detectors() {
            return self
                .scan_within(text, Some(deadline), reading)
                .map(Scanned::Complete);
        }
        let view = normalize::NormalizedText::new(text);
        let findings = self.run_detectors(&view, Some(deadline), |d| !d.reads_prose())?;
        let entities = self.finish(text, &view, findings.clone());
        Ok(Scanned::Partial(FirstPass { findings, entities }))
    }

    /// The second pass over the text `first` came from: the prose detectors, merged with the
    /// first pass's findings. The result equals a one-pass scan of `text`.
    pub fn second_pass_until(
        &self,
        text: &str,
        first: &FirstPass,
        deadline: Instant,
    ) -> Result<Vec<Entity>, DetectError> {
        let view = normalize::NormalizedText::new(text);
        // In pipeline order (the prose detectors come last), so that merging breaks ties as a
        // one-pass scan does.
        let mut findings = first.findings.clone();
        findings.extend(self.run_detectors(&view, Some(deadline), |d| d.reads_prose())?);
        Ok(self.finish(text, &view, findings))
    }

    fn scan_within(
        &self,
        text: &str,
        deadline: Option<Instant>,
        reading: Reading,
    ) -> Result<Vec<Entity>, DetectError> {
        let view = normalize::NormalizedText::new(text);
        let findings = self.run_detectors(&view, deadline, |d| {
            reading == Reading::Prose || !d.reads_prose()
        })?;
        Ok(self.finish(text, &view, findings))
    }

    /// The findings of the detectors `runs` selects, in the normalised view's byte offsets.
    fn run_detectors(
        &self,
        view: &normalize::NormalizedText,
        deadline: Option<Instant>,
        runs: impl Fn(&dyn Detector) -> bool,
    ) -> Result<Vec<Finding>, DetectError> {
        let mut findings: Vec<Finding> = Vec::new();
        for d in self.detectors.iter().filter(|d| runs(d.as_ref())) {
            let found = match deadline {
                None => d.detect(view.text())?,
                Some(deadline) if Instant::now() >= deadline => return Err(DetectError::Deadline),
                Some(deadline) => d.detect_until(view.text(), deadline)?,
            };
            // Dense text has findings by the ten thousand: the first list is kept, not copied.
            if findings.is_empty() {
                findings = found;
            } else {
                findings.extend(found);
            }
        }
        Ok(findings)
    }

    /// Merges `findings` and maps them back from the normalised view onto `text`.
    fn finish(
        &self,
        text: &str,
        view: &normalize::NormalizedText,
        findings: Vec<Finding>,
    ) -> Vec<Entity> {
        let mut merged = merge::merge(view.text(), findings, &self.merge);
        if !view.is_identity() {
            for f in &mut merged {
                let (start, end, decoded) = view.to_original(f.start, f.end);
                (f.start, f.end, f.decoded) = (start, end, decoded);
            }
            // A value in decoded base64 maps onto its run, which may sit before findings that
            // precede it in the view; the same value found twice (as written and decoded) once.
            merged.sort_by_key(|f| (f.start, f.end));
            merged.dedup_by(|b, a| {
                (a.start, a.end, &a.entity_type) == (b.start, b.end, &b.entity_type)
            });
        }
        offsets::to_entities(text, merged)
    }
}
