//! One pass over the text for every pattern with a longest match.
//!
//! Running eighty patterns one after another means eighty passes; a set that only says which
//! patterns match somewhere still leaves each of them to be run over the text. Instead, one lazy
//! DFA compiled from all of them (match kind "all", overlapping search) reports each
//! `(pattern, end offset)` where a match ends, in one pass. At each reported end the pattern is run
//! on a window as long as its longest match, which finds the exact span (leftmost-first, as a plain
//! search would). Reports inside a match already found are skipped, so every byte is examined a
//! bounded number of times: linear in the text, whatever it contains.
//!
//! The DFA also reports where context words of by-context rules end ("triggers"). A pattern whose
//! every rule needs context to reach its threshold is verified only if a trigger of one of its rules
//! lies within reach of the match; the decision waits until the scan has passed far enough to have
//! seen triggers after the match too.

use std::collections::VecDeque;

use regex_automata::hybrid::dfa::{Cache, OverlappingState, DFA};
use regex_automata::nfa::thompson;
use regex_automata::util::pool::Pool;
use regex_automata::{Input, MatchKind};
use regex_syntax::hir::Hir;

use super::{Engine, Hit, PatternRun, RuleRun};
use crate::detect::rules::Rule;
use crate::detect::DetectError;

/// The DFA's transition cache, per thread. With every shared pattern in one automaton the default
/// (2 MB) would be cleared often on varied text.
const CACHE_BYTES: usize = 16 << 20;

/// The longest context word, in bytes, counted when deciding how far a trigger may end from a match.
const MAX_CONTEXT_WORD_BYTES: usize = 64;

type CacheFactory =
    Box<dyn Fn() -> Cache + Send + Sync + std::panic::UnwindSafe + std::panic::RefUnwindSafe>;

pub(super) struct Scanner {
    dfa: DFA,
    caches: Pool<Cache, CacheFactory>,
    /// What each DFA pattern id stands for.
    targets: Vec<Target>,
    /// Per engine pattern: verified only near a trigger (every use needs context).
    gated: Vec<bool>,
    /// Per engine pattern and gated rule: how far before a match end, and after it, a trigger of
    /// that rule can lie and still be in the rule's context window.
    reach: Vec<Vec<(usize, usize, usize)>>,
    /// How long a gated report waits for triggers after it (the largest "after" reach).
    horizon: usize,
    /// How long triggers are kept (the largest "before" reach plus the horizon).
    memory: usize,
    /// Rules (by index) whose context words are triggers.
    trigger_rules: usize,
}

#[derive(Clone, Copy)]
enum Target {
    /// An engine pattern index.
    Pattern(usize),
    /// The context words of a rule, by index into the trigger lists.
    Trigger(usize),
}

impl Scanner {
    /// Compiles the DFA from `scanned` (engine pattern index and syntax) and the context words of
    /// every rule some gated pattern needs.
    pub(super) fn build(
        scanned: &[(usize, &Hir)],
        patterns: &[PatternRun],
        runs: &[RuleRun],
        rules: &[Rule],
    ) -> Result<Scanner, DetectError> {
        let mut hirs: Vec<Hir> = Vec::new();
        let mut targets = Vec::new();
        let mut gated = vec![false; patterns.len()];
        let mut reach = vec![Vec::new(); patterns.len()];
        let mut trigger_of_rule: Vec<Option<usize>> = vec![None; runs.len()];
        let mut horizon = 0;
        let mut memory = 0;
        for &(pi, hir) in scanned {
            hirs.push(hir.clone());
            targets.push(Target::Pattern(pi));
            let p = &patterns[pi];
            if !p.uses.iter().all(|u| u.needs_context) {
                continue;
            }
            gated[pi] = true;
            let max_len = p.max_len.expect("scanned patterns are bounded");
            for u in &p.uses {
                let cm = runs[u.rule]
                    .context
                    .as_ref()
                    .expect("a use that needs context has context words");
                let (before, after) = cm.reach_bytes();
                let trigger = match trigger_of_rule[u.rule] {
                    Some(t) => t,
                    None => {
                        let words = &rules[u.rule]
                            .context
                            .as_ref()
                            .expect("rule with context")
                            .words;
                        hirs.push(trigger_hir(words)?);
                        let t = targets
                            .iter()
                            .filter(|t| matches!(t, Target::Trigger(_)))
                            .count();
                        targets.push(Target::Trigger(t));
                        trigger_of_rule[u.rule] = Some(t);
                        t
                    }
                };
                let back = max_len + before;
                let ahead = max_len + after + MAX_CONTEXT_WORD_BYTES;
                reach[pi].push((trigger, back, ahead));
                horizon = horizon.max(ahead);
                memory = memory.max(back);
            }
        }
        let nfa = thompson::Compiler::new()
            .configure(thompson::Config::new().which_captures(thompson::WhichCaptures::None))
            .build_many_from_hir(&hirs)
            .map_err(|e| {
                DetectError::Config(format!(
                    "regex rule packs: the combined automaton cannot be built: {e}"
                ))
            })?;
        let dfa = DFA::builder()
            .configure(
                DFA::config()
                    .match_kind(MatchKind::All)
                    .cache_capacity(CACHE_BYTES)
                    .minimum_cache_clear_count(None),
            )
            .build_from_nfa(nfa)
            .map_err(|e| {
                DetectError::Config(format!(
                    "regex rule packs: the combined automaton cannot be built: {e}"
                ))
            })?;
        let factory_dfa = dfa.clone();
        let factory: CacheFactory = Box::new(move || factory_dfa.create_cache());
        let trigger_rules = trigger_of_rule.iter().flatten().count();
        Ok(Scanner {
            dfa,
            caches: Pool::new(factory),
            targets,
            gated,
            reach,
            horizon,
            memory: memory + horizon,
            trigger_rules,
        })
    }

    /// Finds every match of the scanned patterns in `text`, judging each with `engine`.
    pub(super) fn scan(
        &self,
        engine: &Engine,
        text: &str,
        hits: &mut Vec<Hit>,
    ) -> Result<(), DetectError> {
        let mut cache = self.caches.get();
        let input = Input::new(text);
        let mut state = OverlappingState::start();
        let mut pass = Pass {
            engine,
            text,
            resume: vec![0; engine.patterns.len()],
            caps: engine.patterns.iter().map(|_| None).collect(),
        };
        let mut triggers: Vec<VecDeque<usize>> = vec![VecDeque::new(); self.trigger_rules];
        let mut waiting: VecDeque<(usize, usize)> = VecDeque::new();
        loop {
            self.dfa
                .try_search_overlapping_fwd(&mut cache, &input, &mut state)
                .map_err(|e| DetectError::Config(format!("regex scan could not complete: {e}")))?;
            let Some(found) = state.get_match() else {
                break;
            };
            let end = found.offset();
            while let Some(&(pi, at)) = waiting.front() {
                if at + self.horizon >= end {
                    break;
                }
                waiting.pop_front();
                self.decide(&mut pass, &triggers, pi, at, hits);
            }
            match self.targets[found.pattern().as_usize()] {
                Target::Trigger(t) => {
                    let list = &mut triggers[t];
                    if list.back() != Some(&end) {
                        list.push_back(end);
                    }
                    while list.front().is_some_and(|&old| old + self.memory < end) {
                        list.pop_front();
                    }
                }
                Target::Pattern(pi) => {
                    if end <= pass.resume[pi] {
                        continue;
                    }
                    if self.gated[pi] {
                        waiting.push_back((pi, end));
                    } else {
                        pass.verify(pi, end, hits);
                    }
                }
            }
        }
        while let Some((pi, at)) = waiting.pop_front() {
            self.decide(&mut pass, &triggers, pi, at, hits);
        }
        Ok(())
    }

    /// Verifies a gated report if a trigger of one of its rules is within reach.
    fn decide(
        &self,
        pass: &mut Pass<'_>,
        triggers: &[VecDeque<usize>],
        pi: usize,
        end: usize,
        hits: &mut Vec<Hit>,
    ) {
        if end <= pass.resume[pi] {
            return;
        }
        let near = self.reach[pi].iter().any(|&(t, back, ahead)| {
            let list = &triggers[t];
            let lo = end.saturating_sub(back);
            let first = list.partition_point(|&x| x < lo);
            list.get(first).is_some_and(|&x| x <= end + ahead)
        });
        if near {
            pass.verify(pi, end, hits);
        }
    }
}

/// Per-scan state: where each pattern's next match may start, and reusable capture slots.
struct Pass<'a> {
    engine: &'a Engine,
    text: &'a str,
    resume: Vec<usize>,
    caps: Vec<Option<regex_automata::util::captures::Captures>>,
}

impl Pass<'_> {
    /// Runs pattern `pi` on the window where a match ending at `end` can start and extend. Matches
    /// found first that end earlier (ones whose own report was not verified, because no trigger
    /// was near them) are judged too, and the search goes on to the one reported here.
    fn verify(&mut self, pi: usize, end: usize, hits: &mut Vec<Hit>) {
        let p = &self.engine.patterns[pi];
        let max_len = p.max_len.expect("scanned patterns are bounded");
        let mut from = self.resume[pi].max(end.saturating_sub(max_len));
        let to = (end + max_len).min(self.text.len());
        let mut caps = p
            .value_group
            .map(|_| self.caps[pi].get_or_insert_with(|| p.regex.create_captures()));
        while from < end {
            match self
                .engine
                .find(pi, self.text, from, to, caps.as_deref_mut(), hits)
            {
                Some(next) => from = next,
                None => break,
            }
        }
        self.resume[pi] = from.max(end);
    }
}

/// A pattern matching any of a rule's context words, ASCII case-insensitively, with an ASCII word
/// boundary at each end that is a word character. It matches wherever the exact (whole-word)
/// context check could succeed, and possibly more: it only decides whether that check is worth
/// running.
fn trigger_hir(words: &[String]) -> Result<Hir, DetectError> {
    let is_word = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
    let alternatives: Vec<String> = words
        .iter()
        .map(|w| {
            let lead = if is_word(w.bytes().next()) {
                r"(?-u:\b)"
            } else {
                ""
            };
            let trail = if is_word(w.bytes().last()) {
                r"(?-u:\b)"
            } else {
                ""
            };
            format!("{lead}{}{trail}", regex_syntax::escape(w))
        })
        .collect();
    let source = format!("(?i:{})", alternatives.join("|"));
    regex_syntax::Parser::new()
        .parse(&source)
        .map_err(|e| DetectError::Config(format!("context words cannot be compiled: {e}")))
}
