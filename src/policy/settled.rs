//! Whether a decision taken before every detector has run is already final.
//!
//! The NER model costs nearly all of a request's detection time, yet a request whose SSN and
//! diagnosis the rule packs found is `local` whatever names the model would add. The gateway
//! decides first on what the cheap detectors found and asks here whether anything the remaining
//! detectors could report can still change the action; only if nothing can does it skip them.
//!
//! The answer must never be "settled" when the full scan could decide differently, so it is
//! worked out over every outcome the remaining detectors could produce, coarsened until it is
//! cheap and never narrowed:
//! - *firm* entities are certain to be in the full scan as they are now (the caller vouches: they
//!   outrank anything the remaining detectors find and are of types those detectors do not
//!   report, so nothing joins them);
//! - any type in `addable` may appear any number of times, with any score, validated or not, and
//!   every entity that is not firm may disappear (its type is in `addable` too, so it may also
//!   stay or multiply).
//!
//! Scores are taken to be finite, also of the entities that are not firm (the caller checks): a
//! NaN score, a detector bug, satisfies `with` without exempting under `unless`, a split this
//! reasoning does not follow. The NER model refuses non-finite logits.
//!
//! A skipped detector cannot fail, so `on_detector_error` does not enter: it stands for text that
//! could not be scanned, and here everything a policy can use has been.
//!
//! A rule's `with` and `unless` conditions are what make outcomes depend on each other (HIPAA's
//! "identifier with health context" and "identifier without health context" are both `local`, so
//! an SSN is `local` whether or not a diagnosis turns up). Each condition whose truth the
//! remaining detectors can change is an unknown; every assignment of the unknowns is tried, with
//! each rule's count taken at its least and its most. A `redact` decision is never settled: every
//! value of a masked type must be found, not just enough of them to decide.

use super::decide::{Decision, Observed};
use super::model::{Policy, Rule};
use super::typeset::TypeSet;
use super::Action;

/// More unknowns than this and the question is not worth answering (2^N assignments): the
/// remaining detectors run. The shipped policies have two or three.
const MAX_UNKNOWNS: usize = 10;

/// Why the decision stands without the remaining detectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    pub reason: String,
}

/// What may still change once the remaining detectors have run.
#[derive(Debug, Clone, Copy)]
pub struct Pending<'a> {
    /// Entities certain to be in the full scan, unchanged.
    pub firm: &'a [Observed],
    /// Types that may appear (or disappear) in the full scan.
    pub addable: TypeSet,
}

/// `Some` if every outcome of the remaining detectors leaves `decision.action` as it is under
/// `policies` (`missing` counts the names in the client's set that are not loaded: each is a
/// fixed `local`). `decision` must be the decision on the entities found so far.
pub fn settled(
    policies: &[&Policy],
    missing: usize,
    decision: &Decision,
    pending: Pending<'_>,
) -> Option<Settled> {
    if decision.action == Action::Redact
        || decision.detection_failed
        || pending.firm.iter().any(|o| !o.score.is_finite())
    {
        return None;
    }
    let conditions = Conditions::of(policies, pending)?;
    let fixed = if missing > 0 {
        Action::Local
    } else {
        Action::Allow
    };
    let (mut lowest, mut highest) = (Action::Block, Action::Allow);
    for assignment in 0u32..(1 << conditions.unknowns.len()) {
        let (mut lo, mut hi) = (fixed, fixed);
        for (p, policy) in policies.iter().enumerate() {
            let (p_lo, p_hi) = conditions.verdicts(p, policy, assignment);
            lo = lo.max(p_lo);
            hi = hi.max(p_hi);
        }
        lowest = lowest.min(lo);
        highest = highest.max(hi);
        if lowest < decision.action || highest > decision.action {
            return None;
        }
    }
    let names: Vec<&str> = policies.iter().map(|p| &*p.name).collect();
    Some(Settled {
        reason: format!(
            "the decision {} is settled without the NER model: no entity it can report changes it under {}",
            decision.action,
            names.join(", ")
        ),
    })
}

/// A `with` or `unless` condition of one rule as the remaining detectors leave it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Truth {
    True,
    False,
    /// The index of an unknown: true in the assignments with that bit set.
    Unknown(usize),
}

impl Truth {
    fn under(self, assignment: u32) -> bool {
        match self {
            Truth::True => true,
            Truth::False => false,
            Truth::Unknown(bit) => assignment & (1 << bit) != 0,
        }
    }
}

/// What the firm entities say of one rule: its two conditions, and its count at least and at most.
#[derive(Debug, Clone, Copy)]
struct RuleState {
    with: Truth,
    unless: Truth,
    surely_counts: bool,
    may_count: bool,
}

struct Conditions {
    /// Per policy, per rule.
    rules: Vec<Vec<RuleState>>,
    /// The distinct unknown conditions: a type set seen at a score. `with` and `unless` over the
    /// same set and score are one unknown, so that their truths move together.
    unknowns: Vec<(TypeSet, u32)>,
}

impl Conditions {
    fn of(policies: &[&Policy], pending: Pending<'_>) -> Option<Conditions> {
        let mut unknowns: Vec<(TypeSet, u32)> = Vec::new();
        let mut rules = Vec::with_capacity(policies.len());
        for policy in policies {
            let mut states = Vec::with_capacity(policy.rules.len());
            for rule in &policy.rules {
                let mut truth = |set: TypeSet| -> Option<Truth> {
                    if pending
                        .firm
                        .iter()
                        .any(|o| set.contains(o.entity_type) && visible(rule, o))
                    {
                        return Some(Truth::True);
                    }
                    if !set.intersects(pending.addable) {
                        return Some(Truth::False);
                    }
                    let key = (set, rule.min_score.to_bits());
                    let bit = match unknowns.iter().position(|k| *k == key) {
                        Some(bit) => bit,
                        None => {
                            unknowns.push(key);
                            unknowns.len() - 1
                        }
                    };
                    (bit < MAX_UNKNOWNS).then_some(Truth::Unknown(bit))
                };
                let with = if rule.with.is_empty() {
                    Truth::True
                } else {
                    truth(rule.with)?
                };
                let unless = if rule.unless.is_empty() {
                    Truth::False
                } else {
                    truth(rule.unless)?
                };
                let least = pending.firm.iter().filter(|o| counts(rule, o)).count() as u64;
                states.push(RuleState {
                    with,
                    unless,
                    surely_counts: least >= u64::from(rule.min_count),
                    may_count: least >= u64::from(rule.min_count)
                        || rule.matches.intersects(pending.addable),
                });
            }
            rules.push(states);
        }
        Some(Conditions { rules, unknowns })
    }

    /// The least and the most strict verdict `policy` (the `p`th) can reach under `assignment`.
    fn verdicts(&self, p: usize, policy: &Policy, assignment: u32) -> (Action, Action) {
        let mut surely: Option<Action> = None;
        let mut possible: Vec<Action> = Vec::new();
        for (rule, state) in policy.rules.iter().zip(&self.rules[p]) {
            let conditions = state.with.under(assignment) && !state.unless.under(assignment);
            if conditions && state.surely_counts {
                surely = surely.max(Some(rule.action));
            }
            if conditions && state.may_count {
                possible.push(rule.action);
            }
        }
        let most = possible.iter().copied().max();
        match surely {
            // A rule that surely fires rules out the default; the verdict is the strictest fired.
            Some(least) => (least, most.unwrap_or(least).max(least)),
            // Any subset of the possible rules may fire, none included.
            None => (
                possible.iter().copied().fold(policy.default, Action::min),
                most.map_or(policy.default, |m| m.max(policy.default)),
            ),
        }
    }
}

/// The rule sees `o` (scores are finite here).
fn visible(rule: &Rule, o: &Observed) -> bool {
    o.score >= rule.min_score
}

fn counts(rule: &Rule, o: &Observed) -> bool {
    visible(rule, o) && rule.matches.contains(o.entity_type) && (o.validated || !rule.validated)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::policy::decide::{decide_observed, Observations};
    use crate::policy::typeset::TypeIndex;
    use crate::policy::{compile, load_file};

    fn shipped(name: &str) -> Policy {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("policies")
            .join(format!("{name}.toml"));
        load_file(&path).unwrap_or_else(|e| panic!("{e}"))
    }

    fn policy(body: &str) -> Policy {
        try_policy(body).unwrap_or_else(|e| panic!("{e}"))
    }

    fn try_policy(body: &str) -> Result<Policy, crate::policy::PolicyError> {
        let src = format!("name = \"t\"\ndescription = \"unit\"\n{body}");
        compile(Path::new("t.toml"), src.as_bytes())
    }

    fn types(names: &[&str]) -> TypeSet {
        let mut s = TypeSet::EMPTY;
        for n in names {
            s.insert(TypeIndex::of(n).unwrap());
        }
        s
    }

    /// The NER model's types, as the gateway passes them.
    fn ner() -> TypeSet {
        types(&[
            "PERSON",
            "STREET_ADDRESS",
            "EMAIL_ADDRESS",
            "PHONE_NUMBER",
            "URL",
            "TAX_ID",
            "US_BANK_NUMBER",
            "ABA_ROUTING_NUMBER",
            "GOVERNMENT_ID",
            "US_PASSPORT",
            "US_DRIVER_LICENSE",
            "LOCATION",
            "ZIP_CODE",
        ])
    }

    fn firm(t: &str) -> Observed {
        Observed {
            entity_type: TypeIndex::of(t).unwrap(),
            score: 0.95,
            validated: true,
        }
    }

    /// Decides on `firm` plus `loose` (entities that may vanish) and asks whether that settles.
    fn check(policies: &[&Policy], firm: &[Observed], loose: &[&str]) -> (Action, bool) {
        let mut all = firm.to_vec();
        all.extend(loose.iter().map(|t| Observed {
            entity_type: TypeIndex::of(t).unwrap(),
            score: 0.7,
            validated: false,
        }));
        let decision = decide_observed(policies.iter().copied(), &Observations::from_observed(all));
        let addable = ner().union(types(loose));
        let pending = Pending { firm, addable };
        let s = settled(policies, 0, &decision, pending);
        (decision.action, s.is_some())
    }

    #[test]
    fn shipped_policies_settle_an_ssn_with_a_diagnosis_as_local() {
        let (hipaa, soc2) = (shipped("hipaa"), shipped("soc2"));
        let set = [&hipaa, &soc2];
        // The diagnosis comes from a dictionary (not firm): with or without it the SSN is local.
        assert_eq!(
            check(&set, &[firm("US_SSN")], &["MEDICAL_CONDITION"]),
            (Action::Local, true)
        );
        assert_eq!(
            check(&set, &[firm("MEDICAL_RECORD_NUMBER")], &[]),
            (Action::Local, true)
        );
    }

    #[test]
    fn shipped_policies_do_not_settle_what_ner_could_raise_or_mask() {
        let (hipaa, soc2) = (shipped("hipaa"), shipped("soc2"));
        let set = [&hipaa, &soc2];
        // Nothing found yet: a name from NER could make it local.
        assert_eq!(check(&set, &[], &[]), (Action::Allow, false));
        // Health context alone is allowed, unless NER finds a name next to it.
        assert_eq!(
            check(&set, &[], &["MEDICAL_CONDITION"]),
            (Action::Allow, false)
        );
        // A secret blocks whatever else turns up.
        assert_eq!(
            check(&set, &[firm("AWS_ACCESS_KEY")], &[]),
            (Action::Block, true)
        );
    }

    #[test]
    fn a_redact_decision_is_never_settled() {
        let p = policy(
            "default = \"allow\"\n[[rule]]\nid = \"r\"\nmatch = [\"US_SSN\"]\naction = \"redact\"\nreason = \"x\"\n",
        );
        assert_eq!(
            check(&[&p], &[firm("US_SSN")], &[]),
            (Action::Redact, false)
        );
    }

    #[test]
    fn a_rule_the_model_can_trigger_with_a_stricter_action_unsettles() {
        let p = policy(
            "default = \"allow\"\n\
             [[rule]]\nid = \"ssn\"\nmatch = [\"US_SSN\"]\naction = \"local\"\nreason = \"x\"\n\
             [[rule]]\nid = \"names\"\nmatch = [\"PERSON\"]\nmin_count = 3\naction = \"block\"\nreason = \"x\"\n",
        );
        assert_eq!(check(&[&p], &[firm("US_SSN")], &[]), (Action::Local, false));
    }

    #[test]
    fn an_unless_the_model_can_satisfy_unsettles_when_nothing_else_holds() {
        // Local unless a PERSON is present; a PERSON drops it to the allow default.
        let p = policy(
            "default = \"allow\"\n[[rule]]\nid = \"r\"\nmatch = [\"US_SSN\"]\nunless = [\"PERSON\"]\naction = \"local\"\nreason = \"x\"\n",
        );
        assert_eq!(check(&[&p], &[firm("US_SSN")], &[]), (Action::Local, false));
        // The same with a second rule that keeps it local when a PERSON appears settles.
        let q = policy(
            "default = \"allow\"\n\
             [[rule]]\nid = \"r\"\nmatch = [\"US_SSN\"]\nunless = [\"PERSON\"]\naction = \"local\"\nreason = \"x\"\n\
             [[rule]]\nid = \"s\"\nmatch = [\"US_SSN\"]\nwith = [\"PERSON\"]\naction = \"local\"\nreason = \"x\"\n",
        );
        assert_eq!(check(&[&q], &[firm("US_SSN")], &[]), (Action::Local, true));
    }

    #[test]
    fn an_entity_that_may_vanish_does_not_hold_a_decision() {
        let p = policy(
            "default = \"allow\"\n[[rule]]\nid = \"r\"\nmatch = [\"US_SSN\"]\naction = \"local\"\nreason = \"x\"\n",
        );
        // The same SSN, not firm (the full scan could drop it): not settled.
        assert_eq!(check(&[&p], &[], &["US_SSN"]), (Action::Local, false));
        assert_eq!(check(&[&p], &[firm("US_SSN")], &[]), (Action::Local, true));
    }

    #[test]
    fn policies_blind_to_every_addable_type_settle_even_allow() {
        let p = policy(
            "default = \"allow\"\n[[rule]]\nid = \"r\"\nmatch = [\"AWS_ACCESS_KEY\"]\naction = \"block\"\nreason = \"x\"\n",
        );
        let decision = decide_observed([&p], &Observations::default());
        let pending = Pending {
            firm: &[],
            addable: ner(),
        };
        assert!(settled(&[&p], 0, &decision, pending).is_some());
    }

    #[test]
    fn validated_only_rules_count_only_validated_firm_entities() {
        let p = policy(
            "default = \"allow\"\n[[rule]]\nid = \"r\"\nmatch = [\"CREDIT_CARD\"]\nvalidated = true\naction = \"block\"\nreason = \"x\"\n",
        );
        let card = Observed {
            entity_type: TypeIndex::of("CREDIT_CARD").unwrap(),
            score: 0.9,
            validated: true,
        };
        assert_eq!(check(&[&p], &[card], &[]), (Action::Block, true));
    }

    mod soundness {
        use proptest::prelude::*;

        use super::*;

        const POOL: [&str; 6] = [
            "US_SSN",
            "PERSON",
            "MEDICAL_CONDITION",
            "EMAIL_ADDRESS",
            "AWS_ACCESS_KEY",
            "LOCATION",
        ];
        /// The pool's types the stand-in for NER can report.
        const REPORTED: [&str; 3] = ["PERSON", "EMAIL_ADDRESS", "LOCATION"];

        fn names(mask: u8) -> String {
            let picked: Vec<String> = POOL
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, t)| format!("\"{t}\""))
                .collect();
            format!("[{}]", picked.join(", "))
        }

        fn rule(i: usize, (m, w, u, action, count, score): (u8, u8, u8, u8, u8, u8)) -> String {
            let action = Action::ALL[action as usize % 4];
            let mut r = format!(
                "[[rule]]\nid = \"r{i}\"\nmatch = {}\naction = \"{action}\"\nreason = \"x\"\nmin_count = {}\nmin_score = {}\n",
                names(m.max(1)),
                1 + count % 3,
                [0.5, 0.8][score as usize % 2],
            );
            if w != 0 {
                r.push_str(&format!("with = {}\n", names(w)));
            }
            // A type both required and excluded makes a rule validation refuses.
            let u = u & !w & !m.max(1);
            if u != 0 {
                r.push_str(&format!("unless = {}\n", names(u)));
            }
            r
        }

        fn observed((t, score, validated): (usize, u8, bool)) -> Observed {
            Observed {
                entity_type: TypeIndex::of(POOL[t % POOL.len()]).unwrap(),
                score: [0.6, 0.9][score as usize % 2],
                validated,
            }
        }

        fn spec() -> impl Strategy<Value = (u8, u8, u8, u8, u8, u8)> {
            (1u8..64, 0u8..64, 0u8..64, 0u8..4, 0u8..3, 0u8..2)
        }

        fn entity() -> impl Strategy<Value = (usize, u8, bool)> {
            (0usize..6, 0u8..2, any::<bool>())
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 2000, max_global_rejects: 4000, ..ProptestConfig::default() })]

            /// Whenever a decision is called settled, the full scan (the firm entities, any subset
            /// of the others, any entities of the reported types) decides the same.
            #[test]
            fn a_settled_decision_is_the_full_scans_decision(
                rules in proptest::collection::vec(spec(), 1..4),
                default in 0u8..4,
                firm in proptest::collection::vec(entity(), 0..4),
                loose in proptest::collection::vec(entity(), 0..3),
                kept in any::<u8>(),
                added in proptest::collection::vec((0usize..3, 0u8..2), 0..4),
            ) {
                let body: String = rules.iter().copied().enumerate().map(|(i, r)| rule(i, r)).collect();
                let p = try_policy(&format!("default = \"{}\"\n{body}", Action::ALL[default as usize]));
                // Validation refuses some combinations (a rule that can never fire).
                prop_assume!(p.is_ok());
                let p = p.unwrap();
                let firm: Vec<Observed> = firm.into_iter().map(observed).collect();
                let loose: Vec<Observed> = loose.into_iter().map(observed).collect();
                let mut first = firm.clone();
                first.extend(loose.iter().copied());
                let decision = decide_observed([&p], &Observations::from_observed(first));
                let mut addable = types(&REPORTED);
                for o in &loose {
                    addable.insert(o.entity_type);
                }
                let pending = Pending { firm: &firm, addable };
                if settled(&[&p], 0, &decision, pending).is_some() {
                    let mut full = firm.clone();
                    full.extend(loose.iter().enumerate().filter(|(i, _)| kept & (1 << i) != 0).map(|(_, o)| *o));
                    full.extend(added.into_iter().map(|(t, score)| Observed {
                        entity_type: TypeIndex::of(REPORTED[t]).unwrap(),
                        score: [0.6, 0.9][score as usize],
                        validated: false,
                    }));
                    let after = decide_observed([&p], &Observations::from_observed(full));
                    prop_assert_eq!(after.action, decision.action);
                }
            }
        }
    }
}
