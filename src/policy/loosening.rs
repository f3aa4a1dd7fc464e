//! What a reload would loosen: the check that keeps a torn or careless write of a policy file from
//! loading as a weaker policy.
//!
//! The first part of a policy file is often a valid policy by itself (name, description, default:
//! zero rules), so a reload must not trust a file just because it validates. The replacement is
//! compared with the loaded version the way `sluice policy diff` compares two versions
//! ([`diff::compare`]): the same entities judged by both, a looser action flagged. Instead of a
//! corpus, the entities are probes derived from both versions:
//!
//! - for each rule, the weakest entities that make it fire: each matched type, `min_count` times
//!   (at most [`MAX_PROBE_COUNT`]), at exactly `min_score`, unvalidated unless the rule counts only
//!   validated ones, with each `with` type;
//! - the loaded version's rule probes again, with each type that the replacement names in some
//!   `unless` (an exemption added to a rule);
//! - no entities (the `default`), a failed detection (`on_detector_error`), and every entity-list
//!   test case of both versions.
//!
//! Removing a rule or a named test case counts as well, whatever it does to decisions. Each of
//! these must be named in the replacement's `acknowledge_loosening`, or the reload is refused and
//! the loaded version stays in force.

use std::collections::{BTreeMap, BTreeSet};

use super::compile::acknowledgements::TEST_PREFIX;
use super::decide::{Decision, Observations, Observed};
use super::diagnostic::{Diagnostic, Position, Severity};
use super::diff::{compare, compare_failed_detection, Change};
use super::model::{CaseInput, Policy, Rule};
use super::typeset::{TypeIndex, TypeSet};

/// Rules that need more entities than this are not probed (a probe is a list of entities).
pub const MAX_PROBE_COUNT: u32 = 10_000;

/// One thing the replacement drops or loosens, under the name `acknowledge_loosening` must give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loosening {
    /// A rule id, `default`, `on_detector_error`, or `test:<test name>`.
    pub name: String,
    /// What happens, for people: "rule `phi` (line 51 of the loaded version) is removed".
    pub what: String,
    /// Where the replacement defines the rule, if it still does.
    pub position: Option<Position>,
}

/// The outcome of comparing a replacement with the loaded version.
#[derive(Debug, Clone, Default)]
pub struct Review {
    /// Loosenings the replacement does not acknowledge: the reload is refused if any.
    pub unacknowledged: Vec<Loosening>,
    /// Loosenings the replacement acknowledges.
    pub acknowledged: Vec<Loosening>,
    /// Acknowledgements that name nothing this reload drops or loosens.
    pub stale: Vec<Diagnostic>,
}

impl Review {
    /// The refusal, one error per unacknowledged loosening (file:line:column where the
    /// replacement still has the rule), then what to do.
    pub fn errors(&self, new: &Policy, old: &Policy) -> Vec<Diagnostic> {
        let error = |position, message| Diagnostic {
            file: new.source.clone(),
            position,
            severity: Severity::Error,
            message,
        };
        let mut out: Vec<Diagnostic> = self
            .unacknowledged
            .iter()
            .map(|l| error(l.position, l.what.clone()))
            .collect();
        let names: Vec<String> = self
            .unacknowledged
            .iter()
            .map(|l| format!("\"{}\"", l.name))
            .collect();
        out.push(error(
            None,
            format!(
                "reload refused: this version is looser than the loaded one (sha256 {}), which stays in force; if that is intended, list {} in `acknowledge_loosening` (a top-level list, before any [table])",
                old.short_version(),
                names.join(", ")
            ),
        ));
        out
    }
}

/// Compares `new` (a valid replacement) with `old` (the loaded version of the same policy).
pub fn review(old: &Policy, new: &Policy) -> Review {
    let mut found: BTreeMap<String, Loosening> = BTreeMap::new();
    let mut add = |l: Loosening| {
        found.entry(l.name.clone()).or_insert(l);
    };
    for rule in old.rules.iter().filter(|r| rule(new, &r.id).is_none()) {
        add(Loosening {
            name: rule.id.to_string(),
            what: format!(
                "rule `{}` (line {} of the loaded version) is removed",
                rule.id, rule.position.line
            ),
            position: None,
        });
    }
    for case in old.cases.iter().filter(|c| c.named) {
        if !new.cases.iter().any(|c| c.named && c.name == case.name) {
            add(Loosening {
                name: format!("{TEST_PREFIX}{}", case.name),
                what: format!(
                    "test `{}` (line {} of the loaded version) is removed",
                    case.name, case.position.line
                ),
                position: None,
            });
        }
    }
    if let Some(change) = compare_failed_detection(old, new, String::new()) {
        if change.loosens() {
            add(Loosening {
                name: "on_detector_error".into(),
                what: format!(
                    "`on_detector_error` is looser: a request that cannot be scanned gets {} instead of {}",
                    change.new.action, change.old.action
                ),
                position: None,
            });
        }
    }
    for probe in probes(old, new) {
        let Some(change) = compare(old, new, String::new(), &probe.observations()) else {
            continue;
        };
        if change.loosens() {
            for l in blame(old, new, &change, &probe) {
                add(l);
            }
        }
    }
    let mut review = Review::default();
    for (name, loosening) in found {
        if new.acknowledged.iter().any(|a| a.name == name) {
            review.acknowledged.push(loosening);
        } else {
            review.unacknowledged.push(loosening);
        }
    }
    for a in &new.acknowledged {
        if !review.acknowledged.iter().any(|l| l.name == a.name) {
            review.stale.push(Diagnostic {
                file: new.source.clone(),
                position: Some(a.position),
                severity: Severity::Warning,
                message: format!(
                    "`acknowledge_loosening` names `{}`, which this reload neither removes nor loosens: remove it, or it will let a later reload loosen it unnoticed",
                    a.name
                ),
            });
        }
    }
    review
}

fn rule<'p>(policy: &'p Policy, id: &str) -> Option<&'p Rule> {
    policy.rules.iter().find(|r| *r.id == *id)
}

/// Who made `change` (a loosened probe) looser: the loaded version's rules whose stricter action
/// was lost or, where the loaded version decided by its default, the replacement's rules that now
/// fire below that default, or the default itself.
fn blame(old: &Policy, new: &Policy, change: &Change, probe: &Probe) -> Vec<Loosening> {
    let (from, to) = (change.old.action, change.new.action);
    let example = format!("{}: {from} -> {to}", probe.describe());
    let by_default = change.old.policies.iter().any(|v| v.by_default);
    let rules: Vec<&str> = if by_default {
        fired(&change.new).collect()
    } else {
        change
            .old
            .fired
            .iter()
            .filter(|f| f.action > to)
            .map(|f| &*f.rule)
            .collect()
    };
    if rules.is_empty() {
        return vec![Loosening {
            name: "default".into(),
            what: format!("`default` is looser (e.g. {example})"),
            position: None,
        }];
    }
    rules
        .into_iter()
        .map(|id| {
            let position = rule(new, id).map(|r| r.position);
            let what = match (by_default, position.is_some()) {
                (true, _) => format!(
                    "rule `{id}` decides below the loaded version's default (e.g. {example})"
                ),
                (false, true) => format!("rule `{id}` is looser (e.g. {example})"),
                (false, false) => {
                    let line = rule(old, id).map_or(0, |r| r.position.line);
                    format!("rule `{id}` (line {line} of the loaded version) is removed (e.g. {example})")
                }
            };
            Loosening {
                name: id.to_string(),
                what,
                position,
            }
        })
        .collect()
}

fn fired(decision: &Decision) -> impl Iterator<Item = &str> {
    decision.fired.iter().map(|f| &*f.rule)
}

/// `count` entities of one type, all with the same score and validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Group {
    entity_type: TypeIndex,
    score_bits: u32,
    validated: bool,
    count: u32,
}

/// A list of entities to judge, kept sorted so that equal probes are judged once.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Probe(Vec<Group>);

impl Probe {
    fn new(mut groups: Vec<Group>) -> Probe {
        groups.sort();
        Probe(groups)
    }

    fn observations(&self) -> Observations {
        let mut items = Vec::new();
        for g in &self.0 {
            let o = Observed {
                entity_type: g.entity_type,
                score: f32::from_bits(g.score_bits),
                validated: g.validated,
            };
            items.extend(std::iter::repeat_n(o, g.count as usize));
        }
        Observations::from_observed(items)
    }

    /// Types, counts and qualifiers, never values (there are none).
    fn describe(&self) -> String {
        if self.0.is_empty() {
            return "no entities".into();
        }
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|g| {
                let mut s = g.entity_type.name().to_string();
                if g.count > 1 {
                    s.push_str(&format!(" x{}", g.count));
                }
                // A probe at score 0 stands for any score.
                let score = f32::from_bits(g.score_bits);
                if score > 0.0 && score < 1.0 {
                    s.push_str(&format!(" (score {score})"));
                }
                if g.validated {
                    s.push_str(" (validated)");
                }
                s
            })
            .collect();
        parts.join(" + ")
    }
}

fn group(entity_type: TypeIndex, score: f32, validated: bool, count: u32) -> Group {
    Group {
        entity_type,
        score_bits: score.to_bits(),
        validated,
        count,
    }
}

/// The weakest entity lists that make `rule` fire, one per matched type and `with` type.
fn witnesses(rule: &Rule) -> Vec<Vec<Group>> {
    if rule.min_count > MAX_PROBE_COUNT {
        return Vec::new();
    }
    let withs: Vec<Option<TypeIndex>> = if rule.with.is_empty() {
        vec![None]
    } else {
        rule.with.iter().map(Some).collect()
    };
    let mut out = Vec::new();
    for t in rule.matches.iter() {
        for w in &withs {
            let mut groups = vec![group(t, rule.min_score, rule.validated, rule.min_count)];
            groups.extend(w.map(|w| group(w, rule.min_score, false, 1)));
            out.push(groups);
        }
    }
    out
}

/// Every probe for `old` -> `new` (see the module documentation), each once.
fn probes(old: &Policy, new: &Policy) -> BTreeSet<Probe> {
    let exemptions = new
        .rules
        .iter()
        .fold(TypeSet::EMPTY, |set, r| set.union(r.unless));
    let mut probes = BTreeSet::new();
    probes.insert(Probe::new(Vec::new()));
    for w in old.rules.iter().flat_map(witnesses) {
        for u in exemptions.iter() {
            let mut with_exemption = w.clone();
            with_exemption.push(group(u, 1.0, false, 1));
            probes.insert(Probe::new(with_exemption));
        }
        probes.insert(Probe::new(w));
    }
    for w in new.rules.iter().flat_map(witnesses) {
        probes.insert(Probe::new(w));
    }
    for case in old.cases.iter().chain(&new.cases) {
        if let CaseInput::Entities(items) = &case.input {
            let groups = items
                .iter()
                .map(|o| group(o.entity_type, o.score, o.validated, 1))
                .collect();
            probes.insert(Probe::new(groups));
        }
    }
    probes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::compile;
    use std::path::Path;

    fn policy(body: &str) -> Policy {
        let src = format!("name = \"p\"\ndescription = \"unit\"\n{body}");
        compile(Path::new("p.toml"), src.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
    }

    const BASE: &str = "default = \"allow\"\n\
        [[rule]]\nid = \"ssn\"\nmatch = [\"US_SSN\"]\naction = \"local\"\nreason = \"r\"\n\
        [[rule]]\nid = \"phi\"\nmatch = [\"PERSON\", \"EMAIL_ADDRESS\"]\nwith = [\"MEDICAL_CONDITION\"]\nmin_score = 0.5\naction = \"local\"\nreason = \"r\"\n\
        [[test]]\nname = \"ssn stays\"\nentities = [\"US_SSN\"]\nexpect = \"local\"\n";

    fn names(review: &Review) -> Vec<&str> {
        review
            .unacknowledged
            .iter()
            .map(|l| l.name.as_str())
            .collect()
    }

    fn loosened(edit: &str) -> Vec<String> {
        let old = policy(BASE);
        let new = policy(edit);
        names(&review(&old, &new))
            .into_iter()
            .map(String::from)
            .collect()
    }

    #[test]
    fn the_same_policy_and_a_tighter_one_loosen_nothing() {
        assert!(loosened(BASE).is_empty());
        assert!(loosened(&BASE.replace("action = \"local\"", "action = \"block\"")).is_empty());
        assert!(loosened(&BASE.replace("min_score = 0.5", "min_score = 0.4")).is_empty());
        assert!(loosened(&format!(
            "{BASE}[[test]]\nname = \"new\"\nentities = []\nexpect = \"allow\"\n"
        ))
        .is_empty());
    }

    #[test]
    fn every_way_of_weakening_a_rule_is_named() {
        let cases = [
            (
                "action = \"local\"\nreason = \"r\"\n[[rule]]\nid = \"phi\"",
                "action = \"redact\"\nreason = \"r\"\n[[rule]]\nid = \"phi\"",
            ),
            (
                "match = [\"US_SSN\"]",
                "match = [\"US_SSN\"]\nmin_count = 2",
            ),
            (
                "match = [\"US_SSN\"]",
                "match = [\"US_SSN\"]\nvalidated = true",
            ),
            (
                "match = [\"US_SSN\"]",
                "match = [\"US_SSN\"]\nunless = [\"DATE_TIME\"]",
            ),
            (
                "match = [\"US_SSN\"]",
                "match = [\"US_SSN\"]\nmin_score = 0.6",
            ),
        ];
        for (from, to) in cases {
            let edit = BASE.replacen(from, to, 1);
            assert_ne!(edit, BASE, "{to}");
            assert_eq!(loosened(&edit), ["ssn"], "{to}");
        }
        let narrower = BASE.replace("[\"PERSON\", \"EMAIL_ADDRESS\"]", "[\"PERSON\"]");
        assert_eq!(loosened(&narrower), ["phi"]);
        let more_sure = BASE.replace("min_score = 0.5", "min_score = 0.7");
        assert_eq!(loosened(&more_sure), ["phi"]);
        let without_with =
            BASE.replace("with = [\"MEDICAL_CONDITION\"]", "with = [\"MEDICATION\"]");
        assert_eq!(loosened(&without_with), ["phi"]);
    }

    #[test]
    fn removed_rules_tests_and_settings_are_named() {
        let no_ssn = BASE.replacen(
            "[[rule]]\nid = \"ssn\"\nmatch = [\"US_SSN\"]\naction = \"local\"\nreason = \"r\"\n",
            "",
            1,
        );
        let no_ssn = no_ssn.replace(
            "[[test]]\nname = \"ssn stays\"\nentities = [\"US_SSN\"]\nexpect = \"local\"\n",
            "",
        );
        assert_eq!(loosened(&no_ssn), ["ssn", "test:ssn stays"]);
        let old = policy(&BASE.replace(
            "default = \"allow\"",
            "default = \"redact\"\non_detector_error = \"block\"",
        ));
        let new = policy(BASE);
        assert_eq!(names(&review(&old, &new)), ["default", "on_detector_error"]);
    }

    #[test]
    fn a_new_rule_below_the_old_default_is_named() {
        let strict = "default = \"local\"\n";
        let old = policy(strict);
        let new = policy(&format!("{strict}[[rule]]\nid = \"mail-ok\"\nmatch = [\"EMAIL_ADDRESS\"]\naction = \"allow\"\nreason = \"r\"\n"));
        let r = review(&old, &new);
        assert_eq!(names(&r), ["mail-ok"]);
        assert!(
            r.unacknowledged[0]
                .what
                .contains("EMAIL_ADDRESS: local -> allow"),
            "{:?}",
            r.unacknowledged
        );
        assert_eq!(r.unacknowledged[0].position.map(|p| p.line), Some(4));
    }

    #[test]
    fn acknowledged_loosenings_pass_and_stale_ones_are_warned_about() {
        let old = policy(BASE);
        let edit = BASE.replacen("action = \"local\"", "action = \"allow\"", 1);
        let new = policy(&format!(
            "acknowledge_loosening = [\"ssn\", \"phi\"]\n{edit}"
        ));
        let r = review(&old, &new);
        assert!(r.unacknowledged.is_empty(), "{:?}", r.unacknowledged);
        assert_eq!(r.acknowledged.len(), 1);
        assert_eq!(r.stale.len(), 1);
        assert!(
            r.stale[0].to_string().starts_with("p.toml:3:"),
            "{}",
            r.stale[0]
        );
        assert!(r.stale[0].message.contains("`phi`"), "{}", r.stale[0]);
    }
}
