//! Where the patterns without a longest match can first match, found in one pass for all of them.
//!
//! A PEM block, a URL or a JWT has no longest match, so it cannot join the multi-pattern DFA and
//! each runs on its own over the whole text. Each already skips ahead with its own literal
//! prefilter, but that is still one pass over the text per pattern, and most texts contain none of
//! them. Every match of such a pattern starts with one of a few literals ("http://", "www.",
//! "eyJ", "-----BEGIN"), so a single Aho-Corasick pass over all their literals tells where each
//! pattern can first match: a pattern none of whose literals occur is not run at all, and one
//! that can match is run from its first candidate on (no match can start before it).

use aho_corasick::{AhoCorasick, Input, MatchKind};
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::Hir;

use crate::detect::DetectError;

/// Leading literals are cut to this many bytes.
const LITERAL_BYTES: usize = 3;

pub(super) struct Gate {
    literals: AhoCorasick,
    /// Per literal: the gated patterns (indices into the list given to `build`) that it, or a
    /// literal that is a prefix of it, starts.
    owners: Vec<Vec<usize>>,
    /// Per pattern: whether its matches are known to start with one of the literals.
    gated: Vec<bool>,
}

impl Gate {
    /// A gate for `patterns`; those whose matches cannot be pinned to a finite set of leading
    /// literals stay ungated (they always run from the start of the text).
    pub(super) fn build(patterns: &[&Hir]) -> Result<Gate, DetectError> {
        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut owners: Vec<Vec<usize>> = Vec::new();
        let mut gated = vec![false; patterns.len()];
        for (i, hir) in patterns.iter().enumerate() {
            let seq = Extractor::new().kind(ExtractKind::Prefix).extract(hir);
            let Some(lits) = seq.literals() else { continue };
            if lits.is_empty() || lits.iter().any(|l| l.as_bytes().is_empty()) {
                continue;
            }
            gated[i] = true;
            // A prefix of a leading literal leads every match too. Short ones keep the list
            // small (case variants of "https://" and "httpſ://" are all "htt", "HTt", ...) and
            // within what the searcher's SIMD prefilter takes.
            for lit in lits {
                let short = &lit.as_bytes()[..lit.as_bytes().len().min(LITERAL_BYTES)];
                let at = match literals.iter().position(|l| l == short) {
                    Some(at) => at,
                    None => {
                        literals.push(short.to_vec());
                        owners.push(Vec::new());
                        literals.len() - 1
                    }
                };
                if !owners[at].contains(&i) {
                    owners[at].push(i);
                }
            }
        }
        // Where one literal occurs, every literal that is a prefix of it occurs too, and the
        // search below reports only the longest literal starting at each position.
        let owners = (0..literals.len())
            .map(|l| {
                let mut all: Vec<usize> = (0..literals.len())
                    .filter(|&k| literals[l].starts_with(&literals[k]))
                    .flat_map(|k| owners[k].iter().copied())
                    .collect();
                all.sort_unstable();
                all.dedup();
                all
            })
            .collect();
        let literals = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&literals)
            .map_err(|e| {
                DetectError::Config(format!(
                    "regex rule packs: literal gate cannot be built: {e}"
                ))
            })?;
        Ok(Gate {
            literals,
            owners,
            gated,
        })
    }

    /// Per pattern: where in `text` its first match can start at the earliest, or `None` if it
    /// cannot match at all.
    pub(super) fn first_starts(&self, text: &str) -> Vec<Option<usize>> {
        let mut first: Vec<Option<usize>> = self
            .gated
            .iter()
            .map(|&gated| (!gated).then_some(0))
            .collect();
        let mut waiting = self.gated.iter().filter(|&&gated| gated).count();
        if waiting == 0 {
            return first;
        }
        // Each search resumes one byte after the last literal's start, not after its end, so a
        // literal starting inside another is found too.
        let mut at = 0;
        while let Some(m) = self.literals.find(Input::new(text).span(at..text.len())) {
            for &i in &self.owners[m.pattern().as_usize()] {
                if first[i].is_none() {
                    first[i] = Some(m.start());
                    waiting -= 1;
                }
            }
            if waiting == 0 {
                break;
            }
            at = m.start() + 1;
        }
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(patterns: &[&str]) -> Gate {
        let hirs: Vec<Hir> = patterns
            .iter()
            .map(|p| regex_syntax::parse(p).unwrap())
            .collect();
        Gate::build(&hirs.iter().collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn first_candidates_per_pattern_in_one_pass() {
        let g = gate(&[
            r"(?i)(?-u:\b)(?:https?|wss?)://\S+",
            r"(?-u:\b)eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*",
            r"[a-z]+@\S*",
        ]);
        let text = "see WSS://x and http://y, then eyJhb.x";
        assert_eq!(g.first_starts(text), vec![Some(4), Some(31), Some(0)]);
        assert_eq!(
            g.first_starts("nothing here"),
            vec![None, None, Some(0)],
            "the last pattern starts with a class: never gated"
        );
        assert_eq!(g.first_starts(""), vec![None, None, Some(0)]);
    }

    #[test]
    fn case_variants_and_shared_literals() {
        let g = gate(&[r"(?i)ab+", r"AB[0-9]"]);
        // "AB[0-9]" starts with one of "AB0" to "AB9", in that case only; "(?i)ab+" with "ab",
        // "aB", "Ab" or "AB".
        assert_eq!(g.first_starts("xx aB ab AB1"), vec![Some(3), Some(9)]);
        assert_eq!(g.first_starts("xx ab ab2 AB"), vec![Some(3), None]);
    }

    #[test]
    fn literals_inside_or_at_the_start_of_others_are_not_hidden() {
        let g = gate(&[r"xyz\d", r"xy", r"yz"]);
        assert_eq!(g.first_starts("..xyz"), vec![Some(2), Some(2), Some(3)]);
    }
}
