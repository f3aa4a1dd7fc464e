//! Turning detected entities into a [`Decision`] under one or more policies.
//!
//! Deciding is a pure function of the entity list, so it is tested with hand-built entities. The
//! entry points take the scan as a `Result`: a detection error cannot be passed as "no entities",
//! and it always yields each policy's `on_detector_error` action (`local` or `block`), never
//! `allow`.

use std::sync::Arc;

use serde::{Serialize, Serializer};

use super::model::{Policy, Rule};
use super::typeset::{TypeIndex, TypeSet};
use super::Action;
use crate::detect::Entity;

/// The rule id reported when detection failed.
pub const DETECTOR_ERROR_RULE: &str = "detector_error";
/// The rule id reported when a client's policy set names a policy that is not loaded.
pub const POLICY_NOT_LOADED_RULE: &str = "policy_not_loaded";
/// The rule id reported when a detector produced an entity type outside the catalog.
pub const UNKNOWN_TYPE_RULE: &str = "unknown_entity_type";
/// The rule id reported when a decision was asked of no policy at all.
pub const EMPTY_SET_RULE: &str = "empty_policy_set";
/// The pseudo-policy that reports engine-level findings (unknown entity types, empty sets).
pub const ENGINE: &str = "sluice";

/// What a policy needs to know about one entity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observed {
    pub entity_type: TypeIndex,
    pub score: f32,
    pub validated: bool,
}

/// The entities of one request, prepared once and shared by every policy that judges them.
#[derive(Debug, Clone, Default)]
pub struct Observations {
    items: Vec<Observed>,
    /// Entities whose type is not in the catalog (a detector bug): they make the request sensitive.
    unknown_types: u32,
}

impl Observations {
    pub fn from_entities(entities: &[Entity]) -> Self {
        let mut items = Vec::with_capacity(entities.len());
        let mut unknown_types = 0;
        for e in entities {
            match TypeIndex::of(&e.entity_type) {
                Some(t) => items.push(Observed {
                    entity_type: t,
                    score: e.score,
                    validated: e.validated,
                }),
                None => unknown_types += 1,
            }
        }
        Observations {
            items,
            unknown_types,
        }
    }

    /// The entities of catalog types.
    pub fn items(&self) -> &[Observed] {
        &self.items
    }

    /// How many entities had a type outside the catalog.
    pub fn unknown_types(&self) -> u32 {
        self.unknown_types
    }

    pub fn from_observed(items: Vec<Observed>) -> Self {
        Observations {
            items,
            unknown_types: 0,
        }
    }
}

/// The outcome for one request: what to do and why.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    /// The strictest action of all policies.
    pub action: Action,
    /// True when detection failed and the policies' `on_detector_error` actions applied.
    pub detection_failed: bool,
    /// One entry per policy consulted, in the order asked for.
    pub policies: Vec<PolicyVerdict>,
    /// Every rule that fired, policy by policy in file order.
    pub fired: Vec<FiredRule>,
    /// When `action` is `redact`: the entity types to replace (those of the rules that asked for
    /// redaction). Empty otherwise.
    pub redact_types: Vec<&'static str>,
}

/// One policy's part of a decision.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyVerdict {
    #[serde(serialize_with = "arc_str")]
    pub name: Arc<str>,
    /// Hex sha256 of the policy file (empty if the policy was not loaded).
    #[serde(serialize_with = "arc_str")]
    pub version: Arc<str>,
    pub action: Action,
    /// True when no rule fired and the policy's default applied.
    pub by_default: bool,
}

/// A rule that fired, with what triggered it.
#[derive(Debug, Clone, Serialize)]
pub struct FiredRule {
    #[serde(serialize_with = "arc_str")]
    pub policy: Arc<str>,
    #[serde(serialize_with = "arc_str")]
    pub rule: Arc<str>,
    pub action: Action,
    #[serde(serialize_with = "arc_str")]
    pub reason: Arc<str>,
    /// Entity types and how many of each made the rule fire (matched and co-occurring types).
    pub triggers: Vec<TypeCount>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TypeCount {
    pub entity_type: &'static str,
    pub count: u32,
}

fn arc_str<S: Serializer>(s: &Arc<str>, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s)
}

impl Decision {
    /// `policy/rule` for every fired rule.
    pub fn rule_ids(&self) -> Vec<String> {
        self.fired
            .iter()
            .map(|f| format!("{}/{}", f.policy, f.rule))
            .collect()
    }

    /// True if `rule` of `policy` fired.
    pub fn fired(&self, policy: &str, rule: &str) -> bool {
        self.fired
            .iter()
            .any(|f| &*f.policy == policy && &*f.rule == rule)
    }
}

/// Decides under `policies` (strictest wins). `scan` is the detection result: on `Err`, each
/// policy's `on_detector_error` applies with the reason "detector error".
pub fn decide<'p, E>(
    policies: impl IntoIterator<Item = &'p Policy>,
    scan: Result<&[Entity], E>,
) -> Decision {
    match scan {
        Ok(entities) => decide_observed(policies, &Observations::from_entities(entities)),
        Err(_) => {
            let mut builder = DecisionBuilder::new(true);
            for p in policies {
                builder.detection_failed(p);
            }
            builder.finish()
        }
    }
}

/// Decides on entities already prepared (test cases, or one scan judged by several policy versions).
pub fn decide_observed<'p>(
    policies: impl IntoIterator<Item = &'p Policy>,
    obs: &Observations,
) -> Decision {
    let mut builder = DecisionBuilder::new(false);
    for p in policies {
        builder.judge(p, obs);
    }
    builder.unknown_types(obs.unknown_types());
    builder.finish()
}

/// Assembles a decision policy by policy; [`decide`] and the policy store use it.
pub(crate) struct DecisionBuilder {
    decision: Decision,
}

impl DecisionBuilder {
    pub fn new(detection_failed: bool) -> Self {
        DecisionBuilder {
            decision: Decision {
                action: Action::Allow,
                detection_failed,
                policies: Vec::with_capacity(2),
                fired: Vec::new(),
                redact_types: Vec::new(),
            },
        }
    }

    /// Applies `policy`'s rules to `obs`.
    pub fn judge(&mut self, policy: &Policy, obs: &Observations) {
        let mut fired_action = None;
        for rule in &policy.rules {
            if let Some(triggers) = fire(rule, &obs.items) {
                fired_action = fired_action.max(Some(rule.action));
                self.decision.fired.push(FiredRule {
                    policy: policy.name.clone(),
                    rule: rule.id.clone(),
                    action: rule.action,
                    reason: rule.reason.clone(),
                    triggers,
                });
            }
        }
        self.verdict(
            policy.name.clone(),
            policy.version.clone(),
            fired_action.unwrap_or(policy.default),
            fired_action.is_none(),
        );
    }

    /// Records `policy`'s `on_detector_error` action.
    pub fn detection_failed(&mut self, policy: &Policy) {
        self.engine_rule(
            policy.name.clone(),
            DETECTOR_ERROR_RULE,
            policy.on_detector_error,
            "detector error: the text could not be scanned, so it is treated as sensitive",
        );
        self.verdict(
            policy.name.clone(),
            policy.version.clone(),
            policy.on_detector_error,
            false,
        );
    }

    /// Records a policy named in a client's set that is not loaded: fail closed (`local`).
    pub fn missing(&mut self, name: &str) {
        let name: Arc<str> = Arc::from(name);
        self.engine_rule(
            name.clone(),
            POLICY_NOT_LOADED_RULE,
            Action::Local,
            "policy is not loaded, so the request is treated as sensitive",
        );
        self.verdict(name, Arc::from(""), Action::Local, false);
    }

    pub fn unknown_types(&mut self, count: u32) {
        if count > 0 {
            self.engine_rule(
                Arc::from(ENGINE),
                UNKNOWN_TYPE_RULE,
                Action::Local,
                "a detector reported an entity type outside the catalog; treated as sensitive",
            );
        }
    }

    fn engine_rule(&mut self, policy: Arc<str>, rule: &str, action: Action, reason: &str) {
        self.decision.fired.push(FiredRule {
            policy,
            rule: Arc::from(rule),
            action,
            reason: Arc::from(reason),
            triggers: Vec::new(),
        });
        self.raise(action);
    }

    fn verdict(&mut self, name: Arc<str>, version: Arc<str>, action: Action, by_default: bool) {
        self.raise(action);
        self.decision.policies.push(PolicyVerdict {
            name,
            version,
            action,
            by_default,
        });
    }

    fn raise(&mut self, action: Action) {
        self.decision.action = self.decision.action.max(action);
    }

    pub fn finish(mut self) -> Decision {
        if self.decision.policies.is_empty() {
            self.engine_rule(
                Arc::from(ENGINE),
                EMPTY_SET_RULE,
                Action::Local,
                "no policy applies to this request, so it is treated as sensitive",
            );
        }
        if self.decision.detection_failed {
            // Policies can only say `local` or `block` here (validation), but never rely on it.
            self.raise(Action::Local);
        }
        if self.decision.action == Action::Redact {
            let mut types = TypeSet::EMPTY;
            for f in self
                .decision
                .fired
                .iter()
                .filter(|f| f.action == Action::Redact)
            {
                for t in &f.triggers {
                    if let Some(i) = TypeIndex::of(t.entity_type) {
                        types.insert(i);
                    }
                }
            }
            self.decision.redact_types = types.names().collect();
        }
        self.decision
    }
}

/// If `rule` fires on `items`, the types and counts that triggered it.
fn fire(rule: &Rule, items: &[Observed]) -> Option<Vec<TypeCount>> {
    let mut count = 0u32;
    let mut visible = TypeSet::EMPTY;
    // Types that can stop the rule via `unless`: a NaN score may only make a decision stricter.
    let mut exempting = TypeSet::EMPTY;
    for o in items.iter().filter(|o| is_visible(rule, o)) {
        visible.insert(o.entity_type);
        if !o.score.is_nan() {
            exempting.insert(o.entity_type);
        }
        if counts(rule, o) {
            count += 1;
        }
    }
    let fires = count >= rule.min_count
        && (rule.with.is_empty() || visible.intersects(rule.with))
        && !exempting.intersects(rule.unless);
    if !fires {
        return None;
    }
    let mut triggers: Vec<TypeCount> = Vec::new();
    for o in items.iter().filter(|o| is_visible(rule, o)) {
        if counts(rule, o) || rule.with.contains(o.entity_type) {
            let name = o.entity_type.name();
            match triggers.iter_mut().find(|t| t.entity_type == name) {
                Some(t) => t.count += 1,
                None => triggers.push(TypeCount {
                    entity_type: name,
                    count: 1,
                }),
            }
        }
    }
    Some(triggers)
}

/// True if the rule sees `o` at all: it scores at least `min_score`. A NaN score (a detector bug)
/// is seen as matching, so that it can only make a decision stricter.
fn is_visible(rule: &Rule, o: &Observed) -> bool {
    o.score >= rule.min_score || o.score.is_nan()
}

/// True if a visible `o` counts toward `rule`'s `min_count`.
fn counts(rule: &Rule, o: &Observed) -> bool {
    rule.matches.contains(o.entity_type) && (o.validated || !rule.validated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::compile;
    use std::path::Path;

    fn policy(rules: &str) -> Policy {
        let src = format!("name = \"t\"\ndescription = \"unit\"\ndefault = \"allow\"\n{rules}");
        compile(Path::new("t.toml"), src.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn obs(items: &[(&str, f32, bool)]) -> Observations {
        Observations::from_observed(
            items
                .iter()
                .map(|(t, s, v)| Observed {
                    entity_type: TypeIndex::of(t).unwrap(),
                    score: *s,
                    validated: *v,
                })
                .collect(),
        )
    }

    fn action(p: &Policy, items: &[(&str, f32, bool)]) -> Action {
        decide_observed([p], &obs(items)).action
    }

    const RULE: &str = "[[rule]]\nid = \"r\"\naction = \"block\"\nreason = \"x\"\n";

    #[test]
    fn min_score_hides_weak_entities_from_every_condition() {
        let p = policy(&format!(
            "{RULE}match = [\"PERSON\"]\nwith = [\"MEDICATION\"]\nmin_score = 0.6\n"
        ));
        assert_eq!(
            action(&p, &[("PERSON", 0.7, false), ("MEDICATION", 0.9, false)]),
            Action::Block
        );
        assert_eq!(
            action(&p, &[("PERSON", 0.5, false), ("MEDICATION", 0.9, false)]),
            Action::Allow
        );
        assert_eq!(
            action(&p, &[("PERSON", 0.7, false), ("MEDICATION", 0.5, false)]),
            Action::Allow
        );
        // Exactly at the threshold counts.
        assert_eq!(
            action(&p, &[("PERSON", 0.6, false), ("MEDICATION", 0.6, false)]),
            Action::Block
        );
    }

    #[test]
    fn min_count_counts_matched_entities_across_types() {
        let p = policy(&format!(
            "{RULE}match = [\"PERSON\", \"EMAIL_ADDRESS\"]\nmin_count = 3\n"
        ));
        assert_eq!(
            action(&p, &[("PERSON", 1.0, false), ("EMAIL_ADDRESS", 1.0, false)]),
            Action::Allow
        );
        let three = [
            ("PERSON", 1.0, false),
            ("EMAIL_ADDRESS", 1.0, false),
            ("PERSON", 1.0, false),
        ];
        let d = decide_observed([&p], &obs(&three));
        assert_eq!(d.action, Action::Block);
        let t: Vec<_> = d.fired[0]
            .triggers
            .iter()
            .map(|t| (t.entity_type, t.count))
            .collect();
        assert_eq!(t, vec![("PERSON", 2), ("EMAIL_ADDRESS", 1)]);
    }

    #[test]
    fn unless_stops_the_rule_with_at_its_threshold() {
        let p = policy(&format!(
            "{RULE}match = [\"PERSON\"]\nunless = [\"MEDICATION\"]\nmin_score = 0.5\n"
        ));
        assert_eq!(action(&p, &[("PERSON", 1.0, false)]), Action::Block);
        assert_eq!(
            action(&p, &[("PERSON", 1.0, false), ("MEDICATION", 0.9, false)]),
            Action::Allow
        );
        // A health term below the threshold does not count as present.
        assert_eq!(
            action(&p, &[("PERSON", 1.0, false), ("MEDICATION", 0.4, false)]),
            Action::Block
        );
    }

    #[test]
    fn validated_counts_only_checksum_valid_entities() {
        let p = policy(&format!(
            "{RULE}match = [\"CREDIT_CARD\"]\nvalidated = true\n"
        ));
        assert_eq!(action(&p, &[("CREDIT_CARD", 1.0, false)]), Action::Allow);
        assert_eq!(action(&p, &[("CREDIT_CARD", 1.0, true)]), Action::Block);
    }

    #[test]
    fn default_applies_only_when_no_rule_fires() {
        let src = format!("{RULE}match = [\"PERSON\"]\n").replace("block", "redact");
        let p = compile(
            Path::new("t.toml"),
            format!("name = \"t\"\ndescription = \"d\"\ndefault = \"local\"\n{src}").as_bytes(),
        )
        .unwrap();
        let d = decide_observed([&p], &obs(&[]));
        assert_eq!((d.action, d.policies[0].by_default), (Action::Local, true));
        let d = decide_observed([&p], &obs(&[("PERSON", 1.0, false)]));
        assert_eq!(
            (d.action, d.policies[0].by_default),
            (Action::Redact, false)
        );
        assert_eq!(d.redact_types, vec!["PERSON"]);
    }

    #[test]
    fn detection_failure_uses_on_detector_error() {
        let p = policy(&format!("{RULE}match = [\"PERSON\"]\n").replace("block", "allow"));
        let d = decide([&p], Err::<&[Entity], _>("boom"));
        assert_eq!(d.action, Action::Local);
        assert!(d.detection_failed);
        assert_eq!(&*d.fired[0].rule, DETECTOR_ERROR_RULE);
        assert!(d.fired[0].reason.starts_with("detector error"));
        // No policy at all, with or without a failed scan, is local too.
        assert_eq!(
            decide(std::iter::empty::<&Policy>(), Err::<&[Entity], _>("boom")).action,
            Action::Local
        );
        assert_eq!(
            decide(std::iter::empty::<&Policy>(), Ok::<_, ()>(&[][..])).action,
            Action::Local
        );
        // A policy that is not loaded counts as local too.
        let mut b = DecisionBuilder::new(false);
        b.missing("gone");
        assert_eq!(b.finish().action, Action::Local);
    }
}
