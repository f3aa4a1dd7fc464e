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
//! - Whole words only (see `words`): "ALS" is not found inside "totals".
//! - Within one dictionary, leftmost-longest: "type 2 diabetes" is one finding, not also
//!   "diabetes". Different dictionaries report independently and the merge step resolves
//!   overlaps between them, exactly as if each had its own automaton.
//! - A term with an ASCII apostrophe also matches with a typographic one ("Crohn’s").
//! - A list headed `# case: capitalised` (names of people and places) matches only where the
//!   term's capital initials are capitals: "Jordan" and "JORDAN", never "jordan".
//!
//! How the search runs, and why:
//! - All dictionaries share one automaton: one pass over the text instead of one per list.
//! - Terms can only start where a word starts, so the automaton is walked anchored from a word
//!   start (or a punctuation character, for terms that begin with one) and never from inside a
//!   word. Word starts and ends come from a bit mask of each 64-byte block (see `wordbits`), and
//!   filters of the terms' first words and what follows them (see `first_word`) rule out every
//!   word no term starts with there, so walks start almost only where a term does. An unanchored
//!   scan, even with aho-corasick's DFA (47 MiB for these lists), reads every byte through the
//!   automaton; this reads it at about one word in sixty on entity-dense text.
//! - Each walk reports every term that starts there (`MatchKind::Standard`), and the
//!   leftmost-longest choice is made here among the ones that pass the whole-word and case
//!   checks. Letting the automaton choose leftmost-longest first would be wrong: a longer term
//!   that fails the whole-word check ("heart failure x" in "heart failure xyz") would hide a
//!   shorter one that passes.

mod file;
mod first_word;
mod words;

use std::path::{Path, PathBuf};

use aho_corasick::automaton::Automaton;
use aho_corasick::nfa::contiguous::NFA;
use aho_corasick::{Anchored, MatchKind};

pub use file::{Case, DictionaryFile, ListKind, Term, MAX_TERM_BYTES};
pub use words::is_word_char;

use super::wordbits::{word_bits, WordBytes, ASCII_WORD_BYTE as WORD_BYTE, BLOCK};
use super::{DetectError, Detector, DetectorKind, Finding};
use first_word::FirstWords;
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
    /// The term of a `# case: capitalised` list: where one of its words starts with a capital,
    /// the match's must too.
    capitalised: Option<Box<str>>,
}

/// Finds dictionary terms; cheap to share across threads.
pub struct DictionaryDetector {
    automaton: NFA,
    patterns: Vec<Pattern>,
    /// The first words of the terms that start with a word byte, hashed: rules out almost every
    /// other word start with one load.
    first_words: FirstWords,
    /// Non-word bytes that some term starts with (punctuation, non-ASCII): walks start at each.
    other_starts: [bool; 256],
    /// Whether `other_starts` has any byte at all, so text without such terms skips the check.
    any_other_start: bool,
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
                    let key = if exact {
                        variant.clone()
                    } else {
                        variant.to_ascii_lowercase()
                    };
                    if !seen.insert(key) {
                        continue;
                    }
                    patterns.push(Pattern {
                        dictionary,
                        edges: Edges::of(&variant),
                        exact: exact.then(|| variant.clone().into_boxed_str()),
                        capitalised: (file.case == Case::Capitalised)
                            .then(|| variant.clone().into_boxed_str()),
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
        let automaton = NFA::builder()
            .match_kind(MatchKind::Standard)
            .ascii_case_insensitive(true)
            .build(&texts)
            .map_err(|e| DetectError::Config(format!("building the dictionary automaton: {e}")))?;
        let mut other_starts = [false; 256];
        let mut word_starts = Vec::new();
        for text in &texts {
            let bytes = text.as_bytes();
            if WORD_BYTE[usize::from(bytes[0])] {
                word_starts.push(bytes);
            } else {
                other_starts[usize::from(bytes[0])] = true;
            }
        }
        Ok(DictionaryDetector {
            automaton,
            patterns,
            first_words: FirstWords::new(word_starts),
            any_other_start: other_starts.contains(&true),
            other_starts,
            dictionaries,
        })
    }

    /// The loaded dictionaries, in load order.
    pub fn dictionaries(&self) -> &[DictionaryInfo] {
        &self.dictionaries
    }

    /// Follows the automaton from `start` (a word start or a punctuation character) and
    /// records every term that begins exactly there and passes the whole-word and case checks.
    /// Kept out of line so the scanning loop in `detect` stays in registers.
    #[inline(never)]
    fn walk(
        &self,
        text: &str,
        start_state: aho_corasick::automaton::StateID,
        start: usize,
        selection: &mut Selection<'_>,
    ) {
        let aut = &self.automaton;
        let mut state = start_state;
        for (offset, &byte) in text.as_bytes()[start..].iter().enumerate() {
            state = aut.next_state(Anchored::Yes, state, byte);
            if !aut.is_special(state) {
                continue;
            }
            if aut.is_dead(state) {
                return;
            }
            let end = start + offset + 1;
            for i in 0..aut.match_len(state) {
                let id = aut.match_pattern(state, i);
                // Match states also carry the terms that are suffixes of this one ("diabetes"
                // in "type 2 diabetes"); only terms starting at `start` belong to this walk.
                if aut.pattern_len(id) != end - start {
                    continue;
                }
                let pattern = &self.patterns[id.as_usize()];
                if !words::is_whole_word(text, start, end, pattern.edges) {
                    continue;
                }
                if let Some(exact) = &pattern.exact {
                    if &text.as_bytes()[start..end] != exact.as_bytes() {
                        continue;
                    }
                }
                if let Some(term) = &pattern.capitalised {
                    if !keeps_capitals(&text.as_bytes()[start..end], term.as_bytes()) {
                        continue;
                    }
                }
                selection.offer(pattern.dictionary, start, end);
            }
        }
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
        let start_state = self
            .automaton
            .start_state(Anchored::Yes)
            .map_err(|e| DetectError::Config(format!("dictionary search: {e}")))?;
        let mut selection = Selection::new(&self.dictionaries);
        let bytes = text.as_bytes();
        // Per block: the word bytes as bits, so each word's start and end is a bit operation.
        // A walk starts at a word start whose word some term starts with, or (only if some term
        // starts with one) at a non-word byte that a term starts with.
        let mut after_word = 0u64;
        for (index, block) in bytes.chunks(BLOCK).enumerate() {
            let base = index * BLOCK;
            let word = word_bits(block, WordBytes::Ascii);
            let starts = word & !(word << 1 | after_word);
            after_word = word >> (BLOCK - 1);
            let mut candidates = starts;
            if self.any_other_start {
                candidates |= !word & (u64::MAX >> (BLOCK - block.len()));
            }
            while candidates != 0 {
                let i = candidates.trailing_zeros() as usize;
                candidates &= candidates - 1;
                let at = base + i;
                let walk = if starts & (1 << i) != 0 {
                    let end = word_end(bytes, word, base, i);
                    self.first_words.may_start(bytes, at, end)
                } else {
                    self.other_starts[usize::from(bytes[at])]
                };
                if walk {
                    self.walk(text, start_state, at, &mut selection);
                }
            }
        }
        Ok(selection.finish())
    }
}

/// Where the word starting at bit `i` of the block at `base` (with word bits `word`) ends.
#[inline]
fn word_end(bytes: &[u8], word: u64, base: usize, i: usize) -> usize {
    let rest = !word >> i;
    if rest != 0 {
        return base + i + rest.trailing_zeros() as usize;
    }
    // The word runs on into the next block.
    let mut end = base + BLOCK;
    while end < bytes.len() && WORD_BYTE[usize::from(bytes[end])] {
        end += 1;
    }
    end
}

/// The leftmost-longest choice per dictionary, made as candidates arrive. Walks run in order
/// of start and each walk reports ends in increasing order, so no sorting is needed: the best
/// candidate for the latest start is held back until a later start proves it complete.
struct Selection<'d> {
    dictionaries: &'d [DictionaryInfo],
    /// Per dictionary: the longest (start, end) found so far for its latest start.
    pending: Vec<Option<(usize, usize)>>,
    /// Per dictionary: the end of its last reported finding; later ones may not overlap it.
    reported_until: Vec<usize>,
    findings: Vec<Finding>,
}

impl<'d> Selection<'d> {
    fn new(dictionaries: &'d [DictionaryInfo]) -> Self {
        Selection {
            dictionaries,
            pending: vec![None; dictionaries.len()],
            reported_until: vec![0; dictionaries.len()],
            findings: Vec::new(),
        }
    }

    fn offer(&mut self, dictionary: u32, start: usize, end: usize) {
        let d = dictionary as usize;
        match self.pending[d] {
            Some((pending_start, pending_end)) if pending_start == start => {
                self.pending[d] = Some((start, end.max(pending_end)));
            }
            pending => {
                if let Some((s, e)) = pending {
                    self.report(d, s, e);
                }
                self.pending[d] = (start >= self.reported_until[d]).then_some((start, end));
            }
        }
    }

    fn report(&mut self, d: usize, start: usize, end: usize) {
        self.reported_until[d] = end;
        let info = &self.dictionaries[d];
        self.findings.push(Finding {
            decoded: None,
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

    fn finish(mut self) -> Vec<Finding> {
        for d in 0..self.pending.len() {
            if let Some((start, end)) = self.pending[d].take() {
                self.report(d, start, end);
            }
        }
        self.findings
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

/// Whether `matched` (the bytes the automaton matched for `term`, so of the same length: only
/// ASCII case differs) keeps the term's capital initials: "New York", "NEW YORK" and "Trinidad
/// and Tobago" for those terms, never "new York".
fn keeps_capitals(matched: &[u8], term: &[u8]) -> bool {
    let mut at_word_start = true;
    for (&m, &t) in matched.iter().zip(term) {
        if at_word_start && t.is_ascii_uppercase() && !m.is_ascii_uppercase() {
            return false;
        }
        at_word_start = !WORD_BYTE[usize::from(t)] && t.is_ascii();
    }
    true
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
