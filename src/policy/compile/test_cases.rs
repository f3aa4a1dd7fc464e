//! Inline test cases: their input (text or entity list), expected action and expected rules.

use toml::Spanned;

use super::{describe, did_you_mean, Compiler};
use crate::detect::catalog;
use crate::policy::decide::Observed;
use crate::policy::file::RawCase;
use crate::policy::model::{CaseInput, Rule, TestCase};
use crate::policy::typeset::TypeIndex;

impl<'r> Compiler<'_, 'r> {
    pub(super) fn cases(
        &mut self,
        raw: &'r [Spanned<RawCase>],
        rules: &Option<Vec<Rule>>,
    ) -> Option<Vec<TestCase>> {
        let mut out = Vec::new();
        let mut ok = true;
        for c in raw {
            match self.case(c, rules) {
                Some(case) => out.push(case),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    pub(super) fn case(
        &mut self,
        spanned: &'r Spanned<RawCase>,
        rules: &Option<Vec<Rule>>,
    ) -> Option<TestCase> {
        let c = spanned.get_ref();
        let position = self.diags.position(&spanned.span());
        let name = match &c.name {
            Some(n) => n.get_ref().clone(),
            None => format!("line {}", position.line),
        };
        let input = match (&c.text, &c.entities) {
            (Some(t), None) => Some(CaseInput::Text(t.get_ref().clone())),
            (None, Some(e)) => self.case_entities(e).map(CaseInput::Entities),
            (Some(_), Some(e)) => {
                self.diags.error(
                    &e.span(),
                    format!("test `{name}` has both `text` and `entities`: give one"),
                );
                None
            }
            (None, None) => {
                self.diags.error(
                    &spanned.span(),
                    format!("test `{name}` needs `text` (scanned by the detectors) or `entities` (a list of entity types)"),
                );
                None
            }
        };
        let expect = self.action(&c.expect, "expect");
        let mut expect_rules = Vec::new();
        if let Some(ids) = &c.expect_rules {
            for id in ids.get_ref() {
                let known = rules
                    .as_ref()
                    .is_none_or(|rs| rs.iter().any(|r| *r.id == **id.get_ref()));
                if !known {
                    let candidates = rules.iter().flatten().map(|r| &*r.id);
                    let hint = did_you_mean(catalog::nearest(id.get_ref(), candidates));
                    self.diags.error(
                        &id.span(),
                        format!(
                            "test `{name}` expects unknown rule `{}`{hint}",
                            id.get_ref()
                        ),
                    );
                }
                expect_rules.push(id.get_ref().clone());
            }
        }
        Some(TestCase {
            name,
            named: c.name.is_some(),
            position,
            input: input?,
            expect: expect?,
            expect_rules,
        })
    }

    pub(super) fn case_entities(
        &mut self,
        list: &'r Spanned<Vec<Spanned<toml::Value>>>,
    ) -> Option<Vec<Observed>> {
        let mut out = Vec::new();
        let mut ok = true;
        for item in list.get_ref() {
            match self.case_entity(item) {
                Some((o, count)) => out.extend(std::iter::repeat_n(o, count)),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// `"TYPE"` or `{ type = "TYPE", score = 0.9, count = 2, validated = true }`.
    pub(super) fn case_entity(
        &mut self,
        item: &'r Spanned<toml::Value>,
    ) -> Option<(Observed, usize)> {
        let at = item.span();
        let (ty, table) = match item.get_ref() {
            toml::Value::String(s) => (s.as_str(), None),
            toml::Value::Table(t) => match t.get("type") {
                Some(toml::Value::String(s)) => (s.as_str(), Some(t)),
                _ => {
                    self.diags
                        .error(&at, "a test entity table needs `type = \"ENTITY_TYPE\"`");
                    return None;
                }
            },
            other => {
                self.diags.error(
                    &at,
                    format!(
                        "a test entity is an entity type or a table, not {}",
                        describe(other)
                    ),
                );
                return None;
            }
        };
        let Some(entity_type) = TypeIndex::of(ty) else {
            let hint = did_you_mean(catalog::nearest_entity_type(ty));
            self.diags
                .error(&at, format!("unknown entity type `{ty}`{hint}"));
            return None;
        };
        let mut observed = Observed {
            entity_type,
            score: 1.0,
            validated: false,
        };
        let mut count = 1;
        for (k, v) in table.into_iter().flatten() {
            match (k.as_str(), v) {
                ("type", _) => {}
                ("score", toml::Value::Float(f)) if (0.0..=1.0).contains(f) => {
                    observed.score = *f as f32
                }
                ("score", toml::Value::Integer(i)) if (0..=1).contains(i) => {
                    observed.score = *i as f32
                }
                ("count", toml::Value::Integer(n)) if (1..=10_000).contains(n) => {
                    count = *n as usize
                }
                ("validated", toml::Value::Boolean(b)) => observed.validated = *b,
                ("score", _) => {
                    self.diags
                        .error(&at, "test entity `score` must be a number between 0 and 1");
                    return None;
                }
                ("count", _) => {
                    self.diags.error(
                        &at,
                        "test entity `count` must be a whole number from 1 to 10000",
                    );
                    return None;
                }
                ("validated", _) => {
                    self.diags
                        .error(&at, "test entity `validated` must be true or false");
                    return None;
                }
                (other, _) => {
                    self.diags.error(
                        &at,
                        format!("unknown key `{other}` in a test entity (expected type, score, count, validated)"),
                    );
                    return None;
                }
            }
        }
        Some((observed, count))
    }
}
