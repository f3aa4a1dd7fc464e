//! The regex detector: runs the rule packs in `rules/` over a text.
//!
//! Speed comes from touching each byte of the text about once. Every pattern with a longest match is
//! compiled, with the context words of by-context rules, into one multi-pattern lazy DFA ([`scan`])
//! that reports where each pattern's matches end in a single pass; only there is the pattern itself
//! run, on a window as long as its longest match. A by-context rule that cannot reach the reporting
//! threshold without context is not even verified unless one of its context words appears near the
//! match. The few patterns without a longest match (a PEM block, a URL, a JWT) run on their own,
//! from where one pass over all their leading literals (`-----BEGIN`, `http`, `eyJ`) says each
//! can first match ([`gate`]), and not at all in text without those literals.
//!
//! Each match then goes through its rule: invalidation patterns, the validator, and context words,
//! cheapest first; only findings at or above the threshold are allocated and reported.

mod context;
mod gate;
mod scan;
mod walk;
mod wordmap;

use std::cell::OnceCell;
use std::collections::HashMap;
use std::path::Path;

use regex_automata::meta;
use regex_automata::util::captures::Captures;
use regex_automata::Input;

use self::context::ContextMatcher;
use self::gate::Gate;
use self::scan::Scanner;
use self::wordmap::WordMap;
use super::rules::{self, Rule};
use super::validators::{Validator, Verdict};
use super::{DetectError, Detector, DetectorKind, Finding};

/// Finds PII, PHI and secrets with the regex rules of the packs in a directory.
pub struct RegexDetector {
    rules: Vec<Rule>,
    engine: Engine,
}

impl RegexDetector {
    /// Loads every `*.toml` pack in `dir` (not its subdirectories). Every finding is reported,
    /// whatever its score; call [`RegexDetector::with_thresholds`] with the pipeline's thresholds
    /// to skip work on findings the pipeline would drop.
    pub fn load(dir: &Path) -> Result<Self, DetectError> {
        Self::from_rules(rules::load_dir(dir)?)
    }

    /// Builds the detector from checked rules (see [`rules::load_sources`]).
    pub fn from_rules(rules: Vec<Rule>) -> Result<Self, DetectError> {
        let engine = Engine::build(&rules, &|_| 0.0)?;
        Ok(RegexDetector { rules, engine })
    }

    /// Reports only findings scoring at least the threshold of their entity type (`thresholds`,
    /// else `min_score`), the same filter the pipeline's merge step applies. Knowing it lets the
    /// detector skip by-context rules wherever none of their context words is near.
    pub fn with_thresholds(
        self,
        min_score: f32,
        thresholds: &HashMap<String, f32>,
    ) -> Result<Self, DetectError> {
        let floor = |entity: &str| thresholds.get(entity).copied().unwrap_or(min_score);
        let engine = Engine::build(&self.rules, &floor)?;
        Ok(RegexDetector {
            rules: self.rules,
            engine,
        })
    }

    /// The rules loaded.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }
}

impl Detector for RegexDetector {
    fn name(&self) -> &str {
        "regex"
    }

    fn detect(&self, text: &str) -> Result<Vec<Finding>, DetectError> {
        self.engine.detect(text)
    }
}

/// The compiled form of the rules for one set of thresholds.
struct Engine {
    rules: Vec<RuleRun>,
    patterns: Vec<PatternRun>,
    /// Patterns without a longest match, which run on their own over the whole text.
    direct: Vec<usize>,
    /// Where each of `direct` can first match (`None` when there are none).
    gate: Option<Gate>,
    /// The multi-pattern DFA over every other pattern; `None` when there are none.
    scanner: Option<Scanner>,
}

struct RuleRun {
    id: String,
    entity_type: String,
    validator: Option<Validator>,
    invalidate: Option<meta::Regex>,
    context: Option<ContextMatcher>,
    /// Findings under this score are not reported.
    floor: f32,
}

/// One distinct regex and every rule that uses it.
struct PatternRun {
    regex: meta::Regex,
    value_group: Option<usize>,
    /// The longest match in bytes, when bounded.
    max_len: Option<usize>,
    /// The shortest match in bytes (equal to `max_len` for fixed-length patterns).
    min_len: Option<usize>,
    uses: Vec<Use>,
}

#[derive(Clone, Copy)]
struct Use {
    rule: usize,
    score: f32,
    /// True if this use reaches its rule's floor only with a context word.
    needs_context: bool,
}

/// The text being scanned, and its word map for context windows: built on the first match that
/// a rule with context words judges, once per scan.
struct Subject<'t> {
    text: &'t str,
    words: OnceCell<WordMap>,
}

/// Where a match found by [`Engine::find`] ends, and where the next match may start.
struct Found {
    end: usize,
    resume: usize,
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

impl Engine {
    fn build(rules: &[Rule], floor: &dyn Fn(&str) -> f32) -> Result<Engine, DetectError> {
        let mut runs = Vec::with_capacity(rules.len());
        let mut patterns: Vec<PatternRun> = Vec::new();
        let mut hirs = Vec::new();
        let mut by_source: HashMap<&str, usize> = HashMap::new();
        for (ri, rule) in rules.iter().enumerate() {
            let context = rule.context.as_ref().map(ContextMatcher::new);
            let rule_floor = floor(&rule.entity_type);
            let boost = context.as_ref().map_or(0.0, |c| c.boost);
            for p in &rule.patterns {
                // A use that cannot reach the floor even with context can never be reported.
                if (p.score + boost).min(1.0) < rule_floor {
                    continue;
                }
                let u = Use {
                    rule: ri,
                    score: p.score,
                    needs_context: p.score < rule_floor,
                };
                let at = *by_source.entry(p.source.as_str()).or_insert_with(|| {
                    patterns.push(PatternRun {
                        regex: p.compiled.regex.clone(),
                        value_group: p.compiled.value_group,
                        max_len: p.compiled.hir.properties().maximum_len(),
                        min_len: p.compiled.hir.properties().minimum_len(),
                        uses: Vec::new(),
                    });
                    hirs.push(p.compiled.hir.clone());
                    patterns.len() - 1
                });
                patterns[at].uses.push(u);
            }
            runs.push(RuleRun {
                id: rule.id.clone(),
                entity_type: rule.entity_type.clone(),
                validator: rule.validator,
                invalidate: rule.invalidate.clone(),
                context,
                floor: rule_floor,
            });
        }
        let mut direct = Vec::new();
        let mut scanned = Vec::new();
        for (pi, hir) in hirs.iter().enumerate() {
            if patterns[pi].max_len.is_none() {
                direct.push(pi);
            } else {
                scanned.push((pi, hir));
            }
        }
        let scanner = if scanned.is_empty() {
            None
        } else {
            Some(Scanner::build(&scanned, &patterns, &runs, rules)?)
        };
        let gate = if direct.is_empty() {
            None
        } else {
            Some(Gate::build(
                &direct.iter().map(|&pi| &hirs[pi]).collect::<Vec<_>>(),
            )?)
        };
        Ok(Engine {
            rules: runs,
            patterns,
            direct,
            gate,
            scanner,
        })
    }

    fn detect(&self, text: &str) -> Result<Vec<Finding>, DetectError> {
        let subject = Subject {
            text,
            words: OnceCell::new(),
        };
        let mut hits = Vec::new();
        if let Some(gate) = &self.gate {
            for (&pi, from) in self.direct.iter().zip(gate.first_starts(text)) {
                if let Some(from) = from {
                    self.run_whole_text(pi, &subject, from, &mut hits);
                }
            }
        }
        if let Some(scanner) = &self.scanner {
            scanner.scan(self, &subject, &mut hits)?;
        }
        // Two patterns of one rule can find the same span (e.g. "01/02/2020" is both a US and a
        // day-first date): report it once, with the better score. Sorted in the order the merge
        // step sorts in (by start, longest first), so that it finds this detector's findings as
        // one ordered run; stably, so that equal spans keep their order as before.
        hits.sort_by(|a, b| {
            (a.start, std::cmp::Reverse(a.end), a.rule)
                .cmp(&(b.start, std::cmp::Reverse(b.end), b.rule))
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
                    decoded: None,
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

    /// Runs pattern `pi` over the text from `from` on (no match of it starts earlier).
    fn run_whole_text(&self, pi: usize, subject: &Subject<'_>, from: usize, hits: &mut Vec<Hit>) {
        let text = subject.text;
        let p = &self.patterns[pi];
        let mut caps = p.value_group.map(|_| p.regex.create_captures());
        let mut at = from;
        while at < text.len() {
            let input = Input::new(text).range(at..);
            let Some(found) = self.find(pi, subject, &input, caps.as_mut(), hits) else {
                break;
            };
            at = found.resume;
        }
    }

    /// Finds the leftmost-first match of pattern `pi` in `input` (whose look-around sees the whole
    /// text) and judges its value.
    fn find(
        &self,
        pi: usize,
        subject: &Subject<'_>,
        input: &Input<'_>,
        caps: Option<&mut Captures>,
        hits: &mut Vec<Hit>,
    ) -> Option<Found> {
        let p = &self.patterns[pi];
        match (p.value_group, caps) {
            (Some(group), Some(caps)) => {
                p.regex.search_captures(input, caps);
                let m = caps.get_match()?;
                let resume = match caps.get_group(group).filter(|v| !v.is_empty()) {
                    Some(v) => {
                        self.judge(p, subject, v.start, v.end, hits);
                        // Resume right after the value, so trailing context that the pattern
                        // consumed (a delimiter) can lead the next match.
                        v.end.max(m.start() + 1)
                    }
                    None => m.end(),
                };
                Some(Found {
                    end: m.end(),
                    resume,
                })
            }
            _ => {
                let m = p.regex.search(input)?;
                self.judge(p, subject, m.start(), m.end(), hits);
                Some(Found {
                    end: m.end(),
                    resume: m.end(),
                })
            }
        }
    }

    /// Applies each rule using pattern `p` to the value at `start..end`.
    fn judge(
        &self,
        p: &PatternRun,
        subject: &Subject<'_>,
        start: usize,
        end: usize,
        hits: &mut Vec<Hit>,
    ) {
        let text = subject.text;
        let value = &text[start..end];
        for u in &p.uses {
            let rule = &self.rules[u.rule];
            if rule
                .invalidate
                .as_ref()
                .is_some_and(|inv| inv.is_match(value))
            {
                continue;
            }
            let validated = match rule.validator.map(|v| v.check(value)) {
                Some(Verdict::Invalid) => continue,
                Some(Verdict::Valid) => true,
                Some(Verdict::Doubtful) | None => false,
            };
            let (score, context) = match &rule.context {
                Some(cm) => {
                    let words = subject.words.get_or_init(|| WordMap::new(text.as_bytes()));
                    let found = cm.find(text, words, start, end);
                    let score = if found.is_empty() {
                        u.score
                    } else {
                        (u.score + cm.boost).min(1.0)
                    };
                    (score, found)
                }
                None => (u.score, Vec::new()),
            };
            if score < rule.floor {
                continue;
            }
            hits.push(Hit {
                rule: u.rule,
                start,
                end,
                score,
                validated,
                context,
            });
        }
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
    fn thresholds_drop_low_scores_and_gate_by_context() {
        let d = detector(PACK)
            .with_thresholds(0.5, &HashMap::new())
            .unwrap();
        let text = format!(
            "acct 12345678, {} 87654321 and 4111111111111111",
            "word ".repeat(300)
        );
        let out = found(&d, &text);
        assert_eq!(
            out,
            vec![
                ("acct".into(), "12345678".into(), 0.6, false),
                ("card".into(), "4111111111111111".into(), 0.9, true)
            ]
        );
        // A per-type threshold under the base score reports context-free matches again.
        let low = [("ACCOUNT_NUMBER".to_string(), 0.05)].into_iter().collect();
        let d = detector(PACK).with_thresholds(0.5, &low).unwrap();
        assert_eq!(found(&d, &text).len(), 4);
        // A threshold nothing can reach disables the rule.
        let high = [("CREDIT_CARD".to_string(), 0.95)].into_iter().collect();
        let d = detector(PACK).with_thresholds(0.5, &high).unwrap();
        assert!(found(&d, &text).iter().all(|f| f.0 != "card"));
    }

    #[test]
    fn context_after_the_match_counts_across_long_gaps_of_events() {
        let pack = PACK.replace("before = 2\nafter = 0", "before = 0\nafter = 2");
        let d = detector(&pack)
            .with_thresholds(0.5, &HashMap::new())
            .unwrap();
        let text = format!(
            "{} 12345678 (acct) {}",
            "1 ".repeat(2000),
            "2 ".repeat(2000)
        );
        assert_eq!(
            found(&d, &text),
            vec![("acct".into(), "12345678".into(), 0.6, false)]
        );
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
    fn unbounded_patterns_are_found_in_any_case_and_anywhere() {
        let d = detector(
            r#"
[[rule]]
id = "url"
entity = "URL"
[[rule.pattern]]
regex = '(?i)(?-u:\b)https?://\S+'
score = 0.6
"#,
        );
        let text = format!(
            "{} HTTPS://a.b/c, then httpſ://d.e",
            "wss http ".repeat(5000)
        );
        let urls: Vec<_> = found(&d, &text).into_iter().map(|f| f.1).collect();
        assert_eq!(urls, vec!["HTTPS://a.b/c,", "httpſ://d.e"]);
        assert!(found(&d, &"no links here ".repeat(100)).is_empty());
    }

    #[test]
    fn repeated_and_overlapping_candidates_are_found_once_each() {
        let d = detector(PACK);
        let text = "acct 12345678 acct 23456789\nacct 34567890";
        let out = found(&d, text);
        assert_eq!(out.len(), 3, "{out:?}");
        assert!(out.iter().all(|o| o.2 == 0.6));
    }
}
