//! The regex detector: runs the rule packs in `rules/` over a text.
//!
//! Speed comes from not running most patterns at all. The text is cut into chunks of whole lines
//! (patterns that cannot match a line break never straddle two chunks), and one multi-pattern
//! lazy DFA, the prefilter, tells which patterns match somewhere in each chunk; only those are run
//! to find where, and only on that chunk. Patterns that can match a line break (a PEM key block)
//! run over the whole text. Each match then goes through its rule: invalidation patterns, the
//! validator, and context words, in that order (cheapest first); allocation happens only for
//! findings that are reported.

mod context;

use std::ops::Range;
use std::path::Path;

use regex_automata::meta;
use regex_automata::util::captures::Captures;
use regex_automata::{Input, MatchKind, PatternSet};

use self::context::ContextMatcher;
use super::rules::{self, Rule};
use super::validators::Validator;
use super::{DetectError, Detector, DetectorKind, Finding};

/// Chunks end at the first line break after this many bytes: small enough that the few patterns a
/// chunk triggers scan little text, large enough that the per-chunk prefilter call is amortised.
const CHUNK_BYTES: usize = 1024;

/// The prefilter DFA's cache (per thread). The default (2 MB) is cleared too often with every
/// pattern of every pack in one automaton; 16 MB keeps it warm.
const PREFILTER_CACHE_BYTES: usize = 16 << 20;

/// Finds PII, PHI and secrets with the regex rules of the packs in a directory.
pub struct RegexDetector {
    rules: Vec<CompiledRule>,
    /// Patterns that match within a line, indexed by their pattern id in `prefilter`.
    line_patterns: Vec<PatternRun>,
    /// Patterns that can match a line break; run over the whole text.
    text_patterns: Vec<PatternRun>,
    prefilter: Option<meta::Regex>,
}

struct CompiledRule {
    id: String,
    entity_type: String,
    validator: Option<Validator>,
    invalidate: Option<meta::Regex>,
    context: Option<ContextMatcher>,
}

/// One distinct regex and every (rule, base score) that uses it.
struct PatternRun {
    regex: meta::Regex,
    value_group: Option<usize>,
    uses: Vec<(usize, f32)>,
}

/// A match that passed its rule, before it becomes a [`Finding`].
struct Hit {
    rule: usize,
    start: usize,
    end: usize,
    score: f32,
    validated: bool,
    context: Vec<String>,
}

impl RegexDetector {
    /// Loads every `*.toml` pack in `dir` (not its subdirectories).
    pub fn load(dir: &Path) -> Result<Self, DetectError> {
        Self::from_rules(rules::load_dir(dir)?)
    }

    /// Builds the detector from checked rules (see [`rules::load_sources`]).
    pub fn from_rules(rules: Vec<Rule>) -> Result<Self, DetectError> {
        let mut line_patterns: Vec<PatternRun> = Vec::new();
        let mut text_patterns: Vec<PatternRun> = Vec::new();
        let mut line_hirs = Vec::new();
        let mut seen: std::collections::HashMap<String, (bool, usize)> =
            std::collections::HashMap::new();
        let mut compiled_rules = Vec::with_capacity(rules.len());
        for (ri, rule) in rules.into_iter().enumerate() {
            for p in rule.patterns {
                let crosses = p.compiled.crosses_lines;
                if let Some(&(is_text, at)) = seen.get(&p.source) {
                    let run = if is_text {
                        &mut text_patterns[at]
                    } else {
                        &mut line_patterns[at]
                    };
                    run.uses.push((ri, p.score));
                    continue;
                }
                let run = PatternRun {
                    regex: p.compiled.regex,
                    value_group: p.compiled.value_group,
                    uses: vec![(ri, p.score)],
                };
                if crosses {
                    seen.insert(p.source, (true, text_patterns.len()));
                    text_patterns.push(run);
                } else {
                    seen.insert(p.source, (false, line_patterns.len()));
                    line_patterns.push(run);
                    line_hirs.push(p.compiled.hir);
                }
            }
            compiled_rules.push(CompiledRule {
                context: rule.context.as_ref().map(ContextMatcher::new),
                id: rule.id,
                entity_type: rule.entity_type,
                validator: rule.validator,
                invalidate: rule.invalidate,
            });
        }
        let prefilter = if line_hirs.is_empty() {
            None
        } else {
            let config = meta::Config::new()
                .match_kind(MatchKind::All)
                .which_captures(regex_automata::nfa::thompson::WhichCaptures::None)
                .hybrid_cache_capacity(PREFILTER_CACHE_BYTES);
            Some(
                meta::Builder::new()
                    .configure(config)
                    .build_many_from_hir(&line_hirs)
                    .map_err(|e| {
                        DetectError::Config(format!(
                            "regex rule packs: the combined prefilter cannot be built: {e}"
                        ))
                    })?,
            )
        };
        Ok(RegexDetector {
            rules: compiled_rules,
            line_patterns,
            text_patterns,
            prefilter,
        })
    }

    /// The number of rules loaded.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Runs one pattern over `range` of `text`, pushing the hits its rules accept.
    fn run(&self, p: &PatternRun, text: &str, range: Range<usize>, hits: &mut Vec<Hit>) {
        let mut input = Input::new(text).range(range);
        match p.value_group {
            None => {
                while let Some(m) = p.regex.search(&input) {
                    self.judge(p, text, m.start(), m.end(), hits);
                    input.set_start(m.end());
                }
            }
            Some(group) => {
                let mut caps: Captures = p.regex.create_captures();
                loop {
                    p.regex.search_captures(&input, &mut caps);
                    let Some(m) = caps.get_match() else { break };
                    let mut next = m.end();
                    if let Some(v) = caps.get_group(group).filter(|v| !v.is_empty()) {
                        self.judge(p, text, v.start, v.end, hits);
                        // Resume right after the value, so trailing context that a pattern consumed
                        // (a delimiter) can lead the next match.
                        next = v.end.max(m.start() + 1);
                    }
                    if next >= input.end() {
                        break;
                    }
                    input.set_start(next);
                }
            }
        }
    }

    /// Applies each rule using this pattern to the value at `start..end`.
    fn judge(&self, p: &PatternRun, text: &str, start: usize, end: usize, hits: &mut Vec<Hit>) {
        let value = &text[start..end];
        for &(ri, base) in &p.uses {
            let rule = &self.rules[ri];
            if rule
                .invalidate
                .as_ref()
                .is_some_and(|inv| inv.is_match(value))
            {
                continue;
            }
            let validated = match rule.validator {
                Some(v) if !v.accepts(value) => continue,
                Some(_) => true,
                None => false,
            };
            let (score, context) = match &rule.context {
                Some(cm) => {
                    let found = cm.find(text, start, end);
                    let score = if found.is_empty() {
                        base
                    } else {
                        (base + cm.boost).min(1.0)
                    };
                    (score, found)
                }
                None => (base, Vec::new()),
            };
            hits.push(Hit {
                rule: ri,
                start,
                end,
                score,
                validated,
                context,
            });
        }
    }
}

impl Detector for RegexDetector {
    fn name(&self) -> &str {
        "regex"
    }

    fn detect(&self, text: &str) -> Result<Vec<Finding>, DetectError> {
        let mut hits = Vec::new();
        if let Some(prefilter) = &self.prefilter {
            let mut triggered = PatternSet::new(prefilter.pattern_len());
            for chunk in LineChunks::new(text, CHUNK_BYTES) {
                triggered.clear();
                prefilter.which_overlapping_matches(
                    &Input::new(text).range(chunk.clone()),
                    &mut triggered,
                );
                for pid in triggered.iter() {
                    self.run(
                        &self.line_patterns[pid.as_usize()],
                        text,
                        chunk.clone(),
                        &mut hits,
                    );
                }
            }
        }
        for p in &self.text_patterns {
            self.run(p, text, 0..text.len(), &mut hits);
        }
        // Two patterns of one rule can find the same span (e.g. "01/02/2020" is both a US and a
        // European numeric date): report it once, with the better score.
        hits.sort_unstable_by(|a, b| {
            (a.rule, a.start, a.end)
                .cmp(&(b.rule, b.start, b.end))
                .then(b.score.total_cmp(&a.score))
        });
        hits.dedup_by(|later, kept| {
            (later.rule, later.start, later.end) == (kept.rule, kept.start, kept.end)
        });
        Ok(hits
            .into_iter()
            .map(|h| {
                let rule = &self.rules[h.rule];
                Finding {
                    entity_type: rule.entity_type.clone(),
                    start: h.start,
                    end: h.end,
                    score: h.score,
                    detector: DetectorKind::Regex,
                    rule_id: rule.id.clone(),
                    validated: h.validated,
                    context: h.context,
                }
            })
            .collect())
    }
}

/// Byte ranges of `text` made of whole lines, each at least `min` bytes unless it is the last.
struct LineChunks<'a> {
    text: &'a str,
    pos: usize,
    min: usize,
}

impl<'a> LineChunks<'a> {
    fn new(text: &'a str, min: usize) -> Self {
        LineChunks { text, pos: 0, min }
    }
}

impl Iterator for LineChunks<'_> {
    type Item = Range<usize>;

    fn next(&mut self) -> Option<Range<usize>> {
        let len = self.text.len();
        if self.pos >= len {
            return None;
        }
        let start = self.pos;
        let probe = start + self.min;
        let end = if probe >= len {
            len
        } else {
            // `probe` may fall inside a multi-byte character; '\n' is ASCII, so search bytes.
            self.text.as_bytes()[probe..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(len, |i| probe + i + 1)
        };
        self.pos = end;
        Some(start..end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detector(pack: &str) -> RegexDetector {
        RegexDetector::from_rules(rules::load_sources([(Path::new("t.toml"), pack)]).unwrap())
            .unwrap()
    }

    fn found(d: &RegexDetector, text: &str) -> Vec<(String, String, f32, bool)> {
        let mut v: Vec<_> = d
            .detect(text)
            .unwrap()
            .into_iter()
            .map(|f| {
                (
                    f.rule_id,
                    text[f.start..f.end].to_string(),
                    f.score,
                    f.validated,
                )
            })
            .collect();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v
    }

    const PACK: &str = r#"
[[rule]]
id = "card"
entity = "CREDIT_CARD"
validator = "luhn"
[[rule.pattern]]
regex = '(?-u:\b)4[0-9]{15}(?-u:\b)'
score = 0.9

[[rule]]
id = "acct"
entity = "ACCOUNT_NUMBER"
invalidate = ['^0+$']
[[rule.pattern]]
regex = '(?-u:\b)[0-9]{8,17}(?-u:\b)'
score = 0.1
[rule.context]
words = ["acct", "account number"]
boost = 0.5
before = 2
after = 0

[[rule]]
id = "pwd"
entity = "PASSWORD"
[[rule.pattern]]
regex = '(?i)password=(?P<value>[^\s;]{3,64})'
score = 0.8

[[rule]]
id = "pem"
entity = "PRIVATE_KEY"
[[rule.pattern]]
regex = '-----BEGIN PRIVATE KEY-----(?s:.)*?-----END PRIVATE KEY-----'
score = 1.0
"#;

    #[test]
    fn validators_context_and_invalidation() {
        let d = detector(PACK);
        let out = found(
            &d,
            "card 4111111111111111, bad 4111111111111112, acct 12345678, n 87654321, acct 00000000",
        );
        assert_eq!(
            out,
            vec![
                ("acct".into(), "12345678".into(), 0.6, false),
                ("acct".into(), "4111111111111111".into(), 0.1, false),
                ("acct".into(), "4111111111111112".into(), 0.1, false),
                ("acct".into(), "87654321".into(), 0.1, false),
                ("card".into(), "4111111111111111".into(), 0.9, true),
            ]
        );
        let f = d.detect("acct 12345678").unwrap();
        assert_eq!(f[0].context, vec!["acct"]);
        assert_eq!(f[0].detector, DetectorKind::Regex);
    }

    #[test]
    fn value_groups_and_adjacent_values() {
        let d = detector(PACK);
        let out = found(&d, "PASSWORD=hunter2;password=s3cret");
        assert_eq!(
            out,
            vec![
                ("pwd".into(), "hunter2".into(), 0.8, false),
                ("pwd".into(), "s3cret".into(), 0.8, false)
            ]
        );
    }

    #[test]
    fn multiline_patterns_run_over_the_whole_text() {
        let d = detector(PACK);
        let key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----";
        let text = format!("{}\nhere:\n{key}\n", "filler line\n".repeat(200));
        let out = found(&d, &text);
        assert_eq!(out, vec![("pem".into(), key.into(), 1.0, false)]);
    }

    #[test]
    fn matches_near_chunk_boundaries_are_found_once() {
        let d = detector(PACK);
        for pad in [
            CHUNK_BYTES - 10,
            CHUNK_BYTES - 1,
            CHUNK_BYTES,
            CHUNK_BYTES + 3,
        ] {
            let text = format!("{}\nacct 12345678\nacct 23456789", "x".repeat(pad));
            let out = found(&d, &text);
            assert_eq!(out.len(), 2, "pad {pad}: {out:?}");
            assert!(out.iter().all(|o| o.2 == 0.6));
        }
    }

    #[test]
    fn line_chunks_cover_the_text_at_line_ends() {
        let text = "a\nbb\nccc\n\nddddd";
        let chunks: Vec<_> = LineChunks::new(text, 2).collect();
        assert_eq!(chunks, vec![0..5, 5..9, 9..15]);
        assert_eq!(LineChunks::new("", 4).count(), 0);
        let text = "é".repeat(10);
        let chunks: Vec<_> = LineChunks::new(&text, 3).collect();
        assert_eq!(chunks, vec![0..20]);
    }
}
