//! One pass over the text for every pattern with a longest match.
//!
//! Running eighty patterns one after another means eighty passes; a set that only says which
//! patterns match somewhere still leaves each of them to be run over the text. Instead, one lazy
//! DFA compiled from all of them (match kind "all", overlapping search) reports each
//! `(pattern, end offset)` where a match ends, in one pass. From a reported end, a reverse DFA
//! anchored there finds where the leftmost match ending there starts, and the pattern itself runs
//! forward from that start (anchored, leftmost-first, as a plain search would) for the exact span
//! and its `value` group. Reports inside a match already found are skipped, and both verification
//! searches are bounded by the pattern's longest match, so the work is linear in the text whatever
//! it contains.
//!
//! The DFA also reports where context words of by-context rules end ("triggers": word-bounded, a
//! superset of what the exact context check accepts). A pattern whose every rule needs context to
//! reach its threshold ("gated": an 8-17 digit account number, a 5-digit ZIP code) is verified
//! only if a trigger of one of its rules lies within reach of the reported match; the decision
//! waits until the scan has passed far enough to have seen triggers after the match too. Numbers
//! are everywhere in text; this keeps the cost of those rules to a lookup per number.

use std::collections::VecDeque;

use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::nfa::thompson;
use regex_automata::util::captures::Captures;
use regex_automata::util::pool::{Pool, PoolGuard};
use regex_automata::{Anchored, Input, MatchError, MatchKind, PatternID};
use regex_syntax::hir::Hir;

use super::{Engine, Hit, PatternRun, RuleRun, Subject};
use crate::detect::rules::Rule;
use crate::detect::DetectError;

/// Each DFA's transition cache, per thread. With every pattern in one automaton the default (2 MB)
/// would be cleared often on varied text.
const CACHE_BYTES: usize = 8 << 20;

/// The longest context word, in bytes, counted when deciding how far a trigger may end from a match.
const MAX_CONTEXT_WORD_BYTES: usize = 64;

type CacheFactory =
    Box<dyn Fn() -> Cache + Send + Sync + std::panic::UnwindSafe + std::panic::RefUnwindSafe>;

pub(super) struct Scanner {
    /// The longest match of any forward DFA pattern, in bytes.
    longest: usize,
    /// Every scanned pattern and every trigger, forward.
    forward: Automaton,
    /// Every scanned pattern, reversed, searchable anchored per pattern.
    reverse: Automaton,
    /// What each forward DFA pattern id stands for.
    targets: Vec<Target>,
    /// Per engine pattern: its pattern id in the reverse DFA (scanned patterns only).
    reverse_id: Vec<Option<PatternID>>,
    /// Per engine pattern: verified only near a trigger (every use needs context).
    gated: Vec<bool>,
    /// Per engine pattern, for each gating rule: its trigger list, and how far before and after a
    /// reported match end a trigger of that rule can lie and still be in the rule's context window.
    reach: Vec<Vec<(usize, usize, usize)>>,
    /// How long a gated report waits for triggers after it (the largest "after" reach).
    horizon: usize,
    /// How long triggers are kept (the largest "before" reach plus the horizon).
    memory: usize,
    /// The number of trigger lists (one per rule whose context words gate a pattern).
    trigger_rules: usize,
}

#[derive(Clone, Copy)]
enum Target {
    /// An engine pattern index.
    Pattern(usize),
    /// The context words of a rule, by trigger list.
    Trigger(usize),
}

/// A lazy DFA and a pool of its caches.
struct Automaton {
    dfa: DFA,
    caches: Pool<Cache, CacheFactory>,
}

impl Automaton {
    /// Forward: match kind "all", for overlapping search. Reverse: anchored per pattern, match kind
    /// "all", so a reverse search runs to the leftmost start.
    fn build(hirs: &[Hir], reverse: bool) -> Result<Automaton, DetectError> {
        let nfa = thompson::Compiler::new()
            .configure(
                thompson::Config::new()
                    .which_captures(thompson::WhichCaptures::None)
                    .reverse(reverse),
            )
            .build_many_from_hir(hirs)
            .map_err(|e| build_error(&e))?;
        let dfa = DFA::builder()
            .configure(
                DFA::config()
                    .match_kind(MatchKind::All)
                    .starts_for_each_pattern(reverse)
                    .cache_capacity(CACHE_BYTES)
                    .minimum_cache_clear_count(None),
            )
            .build_from_nfa(nfa)
            .map_err(|e| build_error(&e))?;
        let factory_dfa = dfa.clone();
        let factory: CacheFactory = Box::new(move || factory_dfa.create_cache());
        Ok(Automaton {
            dfa,
            caches: Pool::new(factory),
        })
    }
}

fn build_error(e: &dyn std::fmt::Display) -> DetectError {
    DetectError::Config(format!(
        "regex rule packs: the combined automaton cannot be built: {e}"
    ))
}

fn scan_error(e: MatchError) -> DetectError {
    DetectError::Config(format!("regex scan could not complete: {e}"))
}

impl Scanner {
    /// Compiles the automata from `scanned` (engine pattern index and syntax) and the context
    /// words of every rule some gated pattern needs.
    pub(super) fn build(
        scanned: &[(usize, &Hir)],
        patterns: &[PatternRun],
        runs: &[RuleRun],
        rules: &[Rule],
    ) -> Result<Scanner, DetectError> {
        let mut forward_hirs: Vec<Hir> = Vec::new();
        let mut reverse_hirs: Vec<Hir> = Vec::new();
        let mut targets = Vec::new();
        let mut reverse_id = vec![None; patterns.len()];
        let mut gated = vec![false; patterns.len()];
        let mut reach = vec![Vec::new(); patterns.len()];
        let mut trigger_of_rule: Vec<Option<usize>> = vec![None; runs.len()];
        let mut trigger_rules = 0;
        let mut horizon = 0;
        let mut back = 0;
        for &(pi, hir) in scanned {
            reverse_id[pi] = Some(PatternID::new(reverse_hirs.len()).map_err(|e| build_error(&e))?);
            reverse_hirs.push(hir.clone());
            forward_hirs.push(hir.clone());
            targets.push(Target::Pattern(pi));
            let p = &patterns[pi];
            if !p.uses.iter().all(|u| u.needs_context) {
                continue;
            }
            gated[pi] = true;
            let max_len = p.max_len.expect("scanned patterns are bounded");
            for u in &p.uses {
                let trigger = match trigger_of_rule[u.rule] {
                    Some(t) => t,
                    None => {
                        let words = &rules[u.rule]
                            .context
                            .as_ref()
                            .expect("a gated rule has context")
                            .words;
                        forward_hirs.push(trigger_hir(words)?);
                        targets.push(Target::Trigger(trigger_rules));
                        trigger_of_rule[u.rule] = Some(trigger_rules);
                        trigger_rules += 1;
                        trigger_rules - 1
                    }
                };
                let (before, after) = runs[u.rule]
                    .context
                    .as_ref()
                    .expect("a gated rule has context")
                    .reach_bytes();
                // A word before the match ends at most `before` bytes before its start, which is
                // at most `max_len` before the reported end; a word after it ends at most `after`
                // bytes (plus its own length) after the match's end, which is at most `max_len`
                // after the reported end (the forward search may extend the match).
                let behind = max_len + before;
                let ahead = max_len + after + MAX_CONTEXT_WORD_BYTES;
                reach[pi].push((trigger, behind, ahead));
                horizon = horizon.max(ahead);
                back = back.max(behind);
            }
        }
        Ok(Scanner {
            longest: forward_hirs
                .iter()
                .map(|h| {
                    h.properties()
                        .maximum_len()
                        .expect("scanned patterns are bounded")
                })
                .max()
                .unwrap_or(0),
            forward: Automaton::build(&forward_hirs, false)?,
            reverse: Automaton::build(&reverse_hirs, true)?,
            targets,
            reverse_id,
            gated,
            reach,
            horizon,
            memory: back + horizon,
            trigger_rules,
        })
    }

    /// Finds every match of the scanned patterns in the text, judging each with `engine`.
    pub(super) fn scan(
        &self,
        engine: &Engine,
        subject: &Subject<'_>,
        hits: &mut Vec<Hit>,
    ) -> Result<(), DetectError> {
        let text = subject.text;
        let mut guard = self.forward.caches.get();
        // Dereferenced once: the guard's deref checks which kind of slot it holds, every time.
        let cache: &mut Cache = &mut guard;
        let dfa = &self.forward.dfa;
        let mut pass = Pass {
            engine,
            scanner: self,
            subject,
            reverse_cache: self.reverse.caches.get(),
            next_start: vec![0; engine.patterns.len()],
            seen_end: vec![0; engine.patterns.len()],
            found_end: vec![0; engine.patterns.len()],
            caps: engine.patterns.iter().map(|_| None).collect(),
            triggers: vec![VecDeque::new(); self.trigger_rules],
            waiting: VecDeque::new(),
        };
        // The library's overlapping search returns to the caller after every match and walks one
        // stretch of text at a time; `walk` keeps its state in locals and walks four at once.
        super::walk::match_ends(dfa, cache, text, self.longest, |end, target| {
            self.report(target.as_usize(), end, &mut pass, hits)
        })?;
        while let Some((pi, at)) = pass.waiting.pop_front() {
            self.decide(&mut pass, pi, at, hits)?;
        }
        Ok(())
    }

    /// Deals with DFA pattern `target` reported to end at `end`: records a trigger, or verifies a
    /// pattern's match (now, or once the triggers after it have been seen, if it is gated).
    fn report(
        &self,
        target: usize,
        end: usize,
        pass: &mut Pass<'_>,
        hits: &mut Vec<Hit>,
    ) -> Result<(), DetectError> {
        while let Some(&(pi, at)) = pass.waiting.front() {
            if at + self.horizon >= end {
                break;
            }
            pass.waiting.pop_front();
            self.decide(pass, pi, at, hits)?;
        }
        match self.targets[target] {
            Target::Trigger(t) => {
                let list = &mut pass.triggers[t];
                if list.back() != Some(&end) {
                    list.push_back(end);
                }
                while list.front().is_some_and(|&old| old + self.memory < end) {
                    list.pop_front();
                }
            }
            Target::Pattern(pi) => {
                if end <= pass.seen_end[pi] {
                    return Ok(());
                }
                if self.gated[pi] {
                    // Later reports of the same match wait behind this one.
                    pass.seen_end[pi] = end;
                    pass.waiting.push_back((pi, end));
                } else {
                    pass.verify(pi, end, hits)?;
                }
            }
        }
        Ok(())
    }

    /// Verifies a gated report if a trigger of one of its rules is within reach.
    fn decide(
        &self,
        pass: &mut Pass<'_>,
        pi: usize,
        end: usize,
        hits: &mut Vec<Hit>,
    ) -> Result<(), DetectError> {
        if end <= pass.found_end[pi] {
            return Ok(());
        }
        let near = self.reach[pi].iter().any(|&(t, behind, ahead)| {
            let list = &pass.triggers[t];
            let first = list.partition_point(|&x| x < end.saturating_sub(behind));
            list.get(first).is_some_and(|&x| x <= end + ahead)
        });
        if near {
            pass.verify(pi, end, hits)?;
        }
        Ok(())
    }
}

/// Per-scan state of each pattern, and the reverse DFA's cache.
struct Pass<'a> {
    engine: &'a Engine,
    scanner: &'a Scanner,
    subject: &'a Subject<'a>,
    reverse_cache: PoolGuard<'a, Cache, CacheFactory>,
    /// Where the pattern's next match may start (after the last one found).
    next_start: Vec<usize>,
    /// Reports ending at or before this offset are already dealt with (or waiting).
    seen_end: Vec<usize>,
    /// The end of the last match found.
    found_end: Vec<usize>,
    /// Capture slots, created on first use, for patterns with a `value` group.
    caps: Vec<Option<Captures>>,
    /// Per trigger list, where recent context words end (ascending).
    triggers: Vec<VecDeque<usize>>,
    /// Reports of gated patterns waiting for the triggers after them: (pattern, end).
    waiting: VecDeque<(usize, usize)>,
}

impl Pass<'_> {
    /// Finds and judges the match of pattern `pi` reported to end at `end`.
    fn verify(&mut self, pi: usize, end: usize, hits: &mut Vec<Hit>) -> Result<(), DetectError> {
        let (engine, text) = (self.engine, self.subject.text);
        let p = &engine.patterns[pi];
        let max_len = p.max_len.expect("scanned patterns are bounded");
        let rid = self.scanner.reverse_id[pi].expect("scanned patterns have a reverse id");
        let lo = self.next_start[pi].max(end.saturating_sub(max_len));
        if lo >= end {
            return Ok(());
        }
        let start = if p.min_len == Some(max_len) {
            // A fixed-length match ending here can only start at one place.
            self.seen_end[pi] = self.seen_end[pi].max(end);
            match end.checked_sub(max_len).filter(|&s| s >= lo) {
                Some(start) => start,
                None => return Ok(()),
            }
        } else {
            let back = Input::new(text)
                .range(lo..end)
                .anchored(Anchored::Pattern(rid));
            let start = self
                .scanner
                .reverse
                .dfa
                .try_search_rev(&mut self.reverse_cache, &back)
                .map_err(scan_error)?;
            self.seen_end[pi] = self.seen_end[pi].max(end);
            // None: the match ending here starts before the previous match of this pattern ended.
            let Some(start) = start else { return Ok(()) };
            start.offset()
        };
        let ahead = Input::new(text)
            .range(start..(start + max_len).min(text.len()))
            .anchored(Anchored::Yes);
        let caps = p
            .value_group
            .map(|_| self.caps[pi].get_or_insert_with(|| p.regex.create_captures()));
        if let Some(found) = engine.find(pi, self.subject, &ahead, caps, hits) {
            self.next_start[pi] = found.resume;
            self.seen_end[pi] = self.seen_end[pi].max(found.end);
            self.found_end[pi] = found.end;
        }
        Ok(())
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
