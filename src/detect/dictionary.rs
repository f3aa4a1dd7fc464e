//! Dictionary detector: term lists (health context, deny lists) found with Aho-Corasick.
//!
//! Regexes cannot carry thousands of drug and disease names; an Aho-Corasick automaton finds
//! them all in one linear pass whatever the list size, so a hostile input cannot slow it down.
//! The directory layout and file format are documented in `rules/dictionaries/README.md`:
//! `*.txt` are term lists, `deny/*.txt` are deny lists (always an entity), and `allow/` belongs
//! to [`crate::detect::allow`], not to this detector.
//!
//! Matching rules:
//! - ASCII case-insensitive, except that a term written with capitals and no lower-case letter
//!   ("ALS", "COPD") matches only in exactly that case, so acronyms do not fire on ordinary
//!   words ("als", "Als").
//! - Whole words only (see [`words`]): "ALS" is not found inside "totals".
//! - Within one dictionary, leftmost-longest: "type 2 diabetes" is one finding, not also
//!   "diabetes". Different dictionaries report independently and the merge step resolves
//!   overlaps between them, exactly as if each had its own automaton.
//! - A term with an ASCII apostrophe also matches with a typographic one ("Crohn’s").
//!
//! All dictionaries share one automaton: one pass over the text instead of one per list.
//! The automaton reports every occurrence (overlapping, `MatchKind::Standard`) and the
//! leftmost-longest choice is made here among the occurrences that pass the whole-word and
//! case checks. Letting the automaton choose leftmost-longest first would be wrong: a longer
//! occurrence that fails the whole-word check would hide a shorter one that passes.

mod file;
mod words;

use std::path::{Path, PathBuf};

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

pub use file::{DictionaryFile, ListKind, Term, MAX_TERM_BYTES};
pub use words::is_word_char;

use super::{DetectError, Detector, DetectorKind, Finding};
use words::Edges;

/// A loaded dictionary, for `--explain`, logs and the audit record.
#[derive(Debug, Clone, PartialEq)]
pub struct DictionaryInfo {
    /// The rule id of its findings (file stem; `deny/<stem>` for deny lists).
    pub name: String,
    pub entity_type: String,
    pub score: f32,
    /// Terms as listed in the file (before apostrophe variants are added).
    pub terms: usize,
    pub path: PathBuf,
}

/// What the automaton's pattern `i` stands for.
struct Pattern {
    dictionary: u32,
    edges: Edges,
    /// The exact bytes required for case-sensitive terms (acronyms).
    exact: Option<Box<str>>,
}

/// Finds dictionary terms; cheap to share across threads.
pub struct DictionaryDetector {
    automaton: AhoCorasick,
    patterns: Vec<Pattern>,
    dictionaries: Vec<DictionaryInfo>,
}

impl DictionaryDetector {
    /// Loads every `*.txt` in `dir` as a term list and every `dir/deny/*.txt` as a deny list.
    ///
    /// A missing directory, or one with no lists at all, is an error: health-context detection
    /// must not silently switch off because a path is wrong (allow lists are the opposite case).
    pub fn load(dir: &Path) -> Result<Self, DetectError> {
        let mut files = Vec::new();
        for path in txt_files(dir, true)? {
            files.push(file::load(&path, ListKind::Dictionary)?);
        }
        for path in txt_files(&dir.join("deny"), false)? {
            files.push(file::load(&path, ListKind::Deny)?);
        }
        if files.is_empty() {
            return Err(DetectError::Config(format!(
                "{}: no dictionary files (*.txt) found; detection fails closed without them \
                 (expected the rules/dictionaries directory)",
                dir.display()
            )));
        }
        Self::from_files(files)
    }

    /// Builds the detector from parsed dictionary files.
    pub fn from_files(files: Vec<DictionaryFile>) -> Result<Self, DetectError> {
        let mut texts: Vec<String> = Vec::new();
        let mut patterns = Vec::new();
        let mut dictionaries = Vec::with_capacity(files.len());
        for (index, file) in files.into_iter().enumerate() {
            let dictionary = u32::try_from(index)
                .map_err(|_| DetectError::Config("too many dictionary files".into()))?;
            let mut seen = std::collections::HashSet::new();
            for term in &file.terms {
                for variant in apostrophe_variants(&term.text) {
                    let exact = is_exact_case(&variant);
                    let key = if exact { variant.clone() } else { variant.to_ascii_lowercase() };
                    if !seen.insert(key) {
                        continue;
                    }
                    patterns.push(Pattern {
                        dictionary,
                        edges: Edges::of(&variant),
                        exact: exact.then(|| variant.clone().into_boxed_str()),
                    });
                    texts.push(variant);
                }
            }
            dictionaries.push(DictionaryInfo {
                name: file.name,
                entity_type: file.entity_type,
                score: file.score,
                terms: file.terms.len(),
                path: file.path,
            });
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .ascii_case_insensitive(true)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&texts)
            .map_err(|e| DetectError::Config(format!("building the dictionary automaton: {e}")))?;
        Ok(DictionaryDetector {
            automaton,
            patterns,
            dictionaries,
        })
    }

    /// The loaded dictionaries, in load order.
    pub fn dictionaries(&self) -> &[DictionaryInfo] {
        &self.dictionaries
    }

    /// Heap bytes held by the automaton (for the benchmark notes and metrics).
    pub fn memory_usage(&self) -> usize {
        self.automaton.memory_usage()
    }
}

impl Detector for DictionaryDetector {
    fn name(&self) -> &str {
        "dictionary"
    }

    fn detect(&self, text: &str) -> Result<Vec<Finding>, DetectError> {
        // (dictionary, start, end) of every whole-word, right-case occurrence.
        let mut candidates: Vec<(u32, usize, usize)> = Vec::new();
        let matches = self
            .automaton
            .try_find_overlapping_iter(text)
            .map_err(|e| DetectError::Config(format!("dictionary search: {e}")))?;
        for m in matches {
            let pattern = &self.patterns[m.pattern().as_usize()];
            if !words::is_whole_word(text, m.start(), m.end(), pattern.edges) {
                continue;
            }
            if let Some(exact) = &pattern.exact {
                if &text.as_bytes()[m.start()..m.end()] != exact.as_bytes() {
                    continue;
                }
            }
            candidates.push((pattern.dictionary, m.start(), m.end()));
        }
        // Leftmost-longest per dictionary: by start, longest first, skipping overlaps.
        candidates.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)).then(b.2.cmp(&a.2)));
        let mut findings = Vec::with_capacity(candidates.len());
        let mut covered: Option<(u32, usize)> = None;
        for (dictionary, start, end) in candidates {
            if covered.is_some_and(|(d, until)| d == dictionary && start < until) {
                continue;
            }
            covered = Some((dictionary, end));
            let info = &self.dictionaries[dictionary as usize];
            findings.push(Finding {
                entity_type: info.entity_type.clone(),
                start,
                end,
                score: info.score,
                detector: DetectorKind::Dictionary,
                rule_id: info.name.clone(),
                validated: false,
                context: Vec::new(),
            });
        }
        Ok(findings)
    }
}

/// `*.txt` files directly in `dir`, sorted. A missing `dir` is an error if `required`.
fn txt_files(dir: &Path, required: bool) -> Result<Vec<PathBuf>, DetectError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => return Ok(Vec::new()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(DetectError::Config(format!(
                "{}: dictionary directory not found; detection fails closed without it \
                 (expected the rules/dictionaries directory)",
                dir.display()
            )))
        }
        Err(source) => {
            return Err(DetectError::Io {
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| DetectError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        if path.extension().is_some_and(|x| x == "txt") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

/// A term written with capitals and no lower-case letter is matched in exactly that case.
fn is_exact_case(term: &str) -> bool {
    term.chars().any(char::is_uppercase) && !term.chars().any(char::is_lowercase)
}

/// The term, plus the same term with typographic apostrophes when it has ASCII ones (and the
/// reverse), because word processors and chat clients substitute them.
fn apostrophe_variants(term: &str) -> Vec<String> {
    let mut variants = vec![term.to_owned()];
    if term.contains('\'') {
        variants.push(term.replace('\'', "\u{2019}"));
    } else if term.contains('\u{2019}') {
        variants.push(term.replace('\u{2019}', "'"));
    }
    variants
}

#[cfg(test)]
mod tests;
