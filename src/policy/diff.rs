//! `sluice policy diff`: what an edit to a policy file really does, measured on a corpus.
//!
//! Each text is scanned once and judged by both versions, so a difference in outcome is the
//! policy's doing, never the detectors'. A change to a looser action (e.g. `local` -> `allow`) is
//! flagged: that is the edit a reviewer must look at twice. The gateway's reload makes the same
//! comparison ([`compare`]) on probe entity lists before it swaps a version in
//! ([`super::loosening`]).

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::decide::{decide, decide_observed, Decision, Observations};
use super::model::Policy;
use crate::detect::Entity;

/// One text of a corpus.
#[derive(Debug, Clone)]
pub struct CorpusText {
    pub id: String,
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not valid UTF-8", path.display())]
    NotUtf8 { path: PathBuf },
    #[error("{}:{line}: {message}", path.display())]
    Jsonl {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

type Texts = Box<dyn Iterator<Item = Result<CorpusText, CorpusError>>>;

/// Opens a corpus: a directory of `.txt` files (id = file name, sorted) or a JSONL file with one
/// `{"id": ..., "text": ...}` object per line. Texts are read one at a time.
pub fn read_corpus(path: &Path) -> Result<Texts, CorpusError> {
    let io = |source| CorpusError::Io {
        path: path.to_path_buf(),
        source,
    };
    if path.is_dir() {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(path).map_err(io)? {
            let p = entry.map_err(io)?.path();
            if p.extension().is_some_and(|e| e == "txt") && p.is_file() {
                files.push(p);
            }
        }
        files.sort();
        Ok(Box::new(files.into_iter().map(|p| {
            let bytes = std::fs::read(&p).map_err(|source| CorpusError::Io {
                path: p.clone(),
                source,
            })?;
            let text =
                String::from_utf8(bytes).map_err(|_| CorpusError::NotUtf8 { path: p.clone() })?;
            let id = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok(CorpusText { id, text })
        })))
    } else {
        let reader = BufReader::new(File::open(path).map_err(io)?);
        let path = path.to_path_buf();
        Ok(Box::new(reader.lines().enumerate().filter_map(
            move |(i, line)| jsonl_line(&path, i + 1, line).transpose(),
        )))
    }
}

fn jsonl_line(
    path: &Path,
    line: usize,
    read: std::io::Result<String>,
) -> Result<Option<CorpusText>, CorpusError> {
    let err = |message: String| CorpusError::Jsonl {
        path: path.to_path_buf(),
        line,
        message,
    };
    let text = read.map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidData => err("not valid UTF-8".into()),
        _ => err(e.to_string()),
    })?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    // serde_json's messages give a position, never the offending text.
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| err(format!("invalid JSON: {e}")))?;
    let id = match value.get("id") {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => {
            return Err(err(
                "expected an object with a string or number \"id\"".into()
            ))
        }
    };
    match value.get("text") {
        Some(serde_json::Value::String(t)) => Ok(Some(CorpusText {
            id,
            text: t.clone(),
        })),
        _ => Err(err("expected an object with a string \"text\"".into())),
    }
}

/// A text whose action differs between the two versions.
#[derive(Debug, Clone)]
pub struct Change {
    pub id: String,
    pub old: Decision,
    pub new: Decision,
}

impl Change {
    /// True if the new version protects this text less (a looser action).
    pub fn loosens(&self) -> bool {
        self.new.action < self.old.action
    }
}

#[derive(Debug, Clone, Default)]
pub struct DiffReport {
    pub texts: usize,
    /// Texts that could not be scanned (both versions then fall back to `on_detector_error`).
    pub scan_failures: usize,
    pub changes: Vec<Change>,
}

impl DiffReport {
    pub fn loosened(&self) -> usize {
        self.changes.iter().filter(|c| c.loosens()).count()
    }
}

/// Judges every text of `corpus` under `old` and `new`, scanning each once with `scan`.
pub fn diff_policies<F, E>(
    old: &Policy,
    new: &Policy,
    corpus: impl Iterator<Item = Result<CorpusText, CorpusError>>,
    mut scan: F,
) -> Result<DiffReport, CorpusError>
where
    F: FnMut(&str) -> Result<Vec<Entity>, E>,
{
    let mut report = DiffReport::default();
    for item in corpus {
        let CorpusText { id, text } = item?;
        report.texts += 1;
        let change = match scan(&text) {
            Ok(entities) => compare(old, new, id, &Observations::from_entities(&entities)),
            Err(_) => {
                report.scan_failures += 1;
                compare_failed_detection(old, new, id)
            }
        };
        report.changes.extend(change);
    }
    Ok(report)
}

/// Judges the same entities under both versions: the change, if their actions differ.
pub fn compare(old: &Policy, new: &Policy, id: String, obs: &Observations) -> Option<Change> {
    changed(id, decide_observed([old], obs), decide_observed([new], obs))
}

/// Both versions' decision when detection failed: the change, if their actions differ.
pub fn compare_failed_detection(old: &Policy, new: &Policy, id: String) -> Option<Change> {
    let failed = || Err::<&[Entity], _>(());
    changed(id, decide([old], failed()), decide([new], failed()))
}

fn changed(id: String, old: Decision, new: Decision) -> Option<Change> {
    (old.action != new.action).then_some(Change { id, old, new })
}
