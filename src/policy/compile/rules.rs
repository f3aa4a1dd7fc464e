//! Rules: ids, conditions that can match, and rules that never change a decision.

use std::collections::HashMap;
use std::sync::Arc;

use toml::Spanned;

use super::Compiler;
use crate::policy::file::RawRule;
use crate::policy::model::Rule;
use crate::policy::typeset::TypeSet;
use crate::policy::Action;

impl<'r> Compiler<'_, 'r> {
    pub(super) fn rules(
        &mut self,
        raw: &'r [Spanned<RawRule>],
        default: Option<Action>,
    ) -> Option<Vec<Rule>> {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        let mut rules = Vec::new();
        let mut ok = true;
        for r in raw {
            let id = r.get_ref().id.get_ref().as_str();
            let id_ok = is_rule_id(id);
            if !id_ok {
                self.diags.error(
                    &r.get_ref().id.span(),
                    "rule `id` must be letters, digits, `-`, `_` or `.`, starting with a letter or digit",
                );
            }
            if let Some(line) = seen.get(id) {
                self.diags.error(
                    &r.get_ref().id.span(),
                    format!("duplicate rule id `{id}` (first defined on line {line})"),
                );
                ok = false;
            } else {
                seen.insert(id, self.diags.position(&r.span()).line);
            }
            match self.rule(r) {
                Some(rule) if id_ok => rules.push((rule, r.get_ref())),
                _ => ok = false,
            }
        }
        if !ok {
            return None;
        }
        self.shadowed(&rules);
        if let Some(default) = default {
            for (r, raw) in rules.iter().filter(|(r, _)| r.action < default) {
                self.diags.warning(
                    &raw.action.span(),
                    format!(
                        "rule `{}` ({}) is looser than the default ({default}): what it matches gets {} unless a stricter rule also fires",
                        r.id, r.action, r.action
                    ),
                );
            }
        }
        Some(rules.into_iter().map(|(r, _)| r).collect())
    }

    pub(super) fn rule(&mut self, spanned: &'r Spanned<RawRule>) -> Option<Rule> {
        let r = spanned.get_ref();
        let matches = if r.matches.get_ref().is_empty() {
            self.diags.error(
                &r.matches.span(),
                "`match` is empty: the rule could never fire",
            );
            None
        } else {
            self.names(&r.matches)
        };
        let with = match &r.with {
            None => Some(TypeSet::EMPTY),
            Some(w) if w.get_ref().is_empty() => {
                self.diags.error(
                    &w.span(),
                    "`with = []` can never be satisfied: list the types that must co-occur, or remove it",
                );
                None
            }
            Some(w) => self.names(w),
        };
        let unless = match &r.unless {
            None => Some(TypeSet::EMPTY),
            Some(u) if u.get_ref().is_empty() => {
                self.diags.warning(&u.span(), "`unless = []` has no effect");
                Some(TypeSet::EMPTY)
            }
            Some(u) => self.names(u),
        };
        let min_score = match &r.min_score {
            None => Some(0.0),
            Some(v) => self.min_score(v),
        };
        let min_count = match &r.min_count {
            None => Some(1),
            Some(v) => self.min_count(v),
        };
        let action = self.action(&r.action, "action");
        if r.reason.get_ref().trim().is_empty() {
            self.diags.error(
                &r.reason.span(),
                "`reason` is empty: say why, for the person reading the audit log",
            );
        }
        let (matches, with, unless) = (matches?, with?, unless?);
        if matches.is_subset(unless) {
            let at = r.unless.as_ref().map_or(r.matches.span(), |u| u.span());
            self.diags.error(
                &at,
                "this rule can never fire: every type in `match` is also in `unless`",
            );
            return None;
        }
        if !with.is_empty() && with.is_subset(unless) {
            let at = r.unless.as_ref().map_or(r.matches.span(), |u| u.span());
            self.diags.error(
                &at,
                "this rule can never fire: every type in `with` is also in `unless`",
            );
            return None;
        }
        Some(Rule {
            id: Arc::from(r.id.get_ref().as_str()),
            matches,
            with,
            unless,
            min_score: min_score?,
            min_count: min_count?,
            validated: r.validated.as_ref().is_some_and(|v| *v.get_ref()),
            action: action?,
            reason: Arc::from(r.reason.get_ref().trim()),
            position: self.diags.position(&spanned.span()),
        })
    }

    /// Warns about rules that can never change a decision: another rule fires whenever they do,
    /// with an action at least as strict.
    pub(super) fn shadowed(&mut self, rules: &[(Rule, &RawRule)]) {
        for (j, (b, raw_b)) in rules.iter().enumerate() {
            let by = rules
                .iter()
                .enumerate()
                .find(|(i, (a, _))| *i != j && dominates(a, b) && !(dominates(b, a) && *i > j));
            if let Some((_, (a, _))) = by {
                self.diags.warning(
                    &raw_b.id.span(),
                    format!(
                        "rule `{}` never changes a decision: rule `{}` (line {}) fires whenever it does, with an action at least as strict",
                        b.id, a.id, a.position.line
                    ),
                );
            }
        }
    }
}

/// True if `a` fires on every entity list `b` fires on, with an action at least as strict, so `b`
/// never changes a decision.
fn dominates(a: &Rule, b: &Rule) -> bool {
    a.action >= b.action
        && b.matches.is_subset(a.matches)
        && a.min_score <= b.min_score
        && a.min_count <= b.min_count
        && (!a.validated || b.validated)
        && (a.with.is_empty() || (!b.with.is_empty() && b.with.is_subset(a.with)))
        // `a` sees entities scoring below `b`'s threshold, which could stop it through `unless`.
        && (a.unless.is_empty() || (a.unless.is_subset(b.unless) && a.min_score == b.min_score))
}

pub(super) fn is_rule_id(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}
