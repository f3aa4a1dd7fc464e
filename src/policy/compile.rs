//! Validation: from the file as written ([`RawPolicy`]) to a compiled [`Policy`], or every problem
//! found, each at its line and column.
//!
//! Everything that can be checked without running detection is checked here, so that a policy that
//! loads cannot surprise anyone at request time: names resolve, conditions can match, parameters
//! have the right kind of value, and the entity-list test cases pass ([`load`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use toml::Spanned;

use super::cases;
use super::decide::Observed;
use super::diagnostic::{Diagnostics, PolicyError};
use super::file::{Names, RawCase, RawPolicy, RawRule};
use super::model::{CaseInput, Category, Param, Policy, Rule, TestCase};
use super::typeset::{TypeIndex, TypeSet};
use super::Action;
use crate::detect::catalog;

/// Reads, validates and compiles the policy file at `path`, and runs its entity-list test cases.
pub fn load_file(path: &Path) -> Result<Policy, PolicyError> {
    let bytes = std::fs::read(path)
        .map_err(|e| PolicyError::whole_file(path, format!("cannot read: {e}")))?;
    load(path, &bytes)
}

/// [`compile`]s `bytes` (the contents of `path`) and runs the entity-list test cases: a policy whose
/// own cases fail is not loaded.
pub fn load(path: &Path, bytes: &[u8]) -> Result<Policy, PolicyError> {
    let policy = compile(path, bytes)?;
    let failures: Vec<_> = policy
        .cases
        .iter()
        .filter_map(|c| {
            let outcome = cases::run_without_detection(&policy, c)?;
            (!outcome.passed()).then(|| cases::failure_diagnostic(&policy, c, &outcome))
        })
        .collect();
    if failures.is_empty() {
        Ok(policy)
    } else {
        Err(PolicyError {
            diagnostics: failures,
        })
    }
}

/// Validates and compiles `bytes` (the contents of `path`); test cases are parsed, not run.
pub fn compile(path: &Path, bytes: &[u8]) -> Result<Policy, PolicyError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        PolicyError::whole_file(
            path,
            format!("not valid UTF-8 (at byte {})", e.valid_up_to()),
        )
    })?;
    let version: Arc<str> = Arc::from(hex::encode(Sha256::digest(bytes)));
    let mut diags = Diagnostics::new(path, text);
    let raw: RawPolicy = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            diags.error(&e.span().unwrap_or(0..0), e.message().trim_end());
            return Err(PolicyError {
                diagnostics: diags.into_sorted(),
            });
        }
    };
    let mut c = Compiler::new(diags, &raw);
    let policy = c.policy(&raw, path, version);
    let diagnostics = c.diags.into_sorted();
    match policy {
        Some(mut p) if !diagnostics.iter().any(|d| d.is_error()) => {
            p.warnings = diagnostics;
            Ok(p)
        }
        _ => Err(PolicyError { diagnostics }),
    }
}

struct ParamSlot<'r> {
    value: &'r Spanned<toml::Value>,
    used: bool,
}

enum CategoryState {
    Resolving,
    Resolved(TypeSet),
    Invalid,
}

struct Compiler<'a, 'r> {
    diags: Diagnostics<'a>,
    params: BTreeMap<&'r str, ParamSlot<'r>>,
    raw_categories: BTreeMap<&'r str, (Range<usize>, &'r Names)>,
    categories: HashMap<&'r str, CategoryState>,
    /// The categories being resolved, outermost first (to name a cycle).
    resolving: Vec<&'r str>,
    used_categories: HashSet<&'r str>,
}

impl<'a, 'r> Compiler<'a, 'r> {
    fn new(diags: Diagnostics<'a>, raw: &'r RawPolicy) -> Self {
        Compiler {
            diags,
            params: raw
                .params
                .iter()
                .map(|(k, v)| {
                    (
                        k.get_ref().as_str(),
                        ParamSlot {
                            value: v,
                            used: false,
                        },
                    )
                })
                .collect(),
            raw_categories: raw
                .categories
                .iter()
                .map(|(k, v)| (k.get_ref().as_str(), (k.span(), v)))
                .collect(),
            categories: HashMap::new(),
            resolving: Vec::new(),
            used_categories: HashSet::new(),
        }
    }

    fn policy(&mut self, raw: &'r RawPolicy, path: &Path, version: Arc<str>) -> Option<Policy> {
        self.check_name(&raw.name);
        if raw.description.get_ref().trim().is_empty() {
            self.diags.error(
                &raw.description.span(),
                "`description` is empty: say what the policy is for",
            );
        }
        for k in raw.params.keys() {
            if !is_identifier(k.get_ref()) {
                self.diags.error(
                    &k.span(),
                    format!("parameter name `{}` must be lowercase letters, digits and `_`, starting with a letter", k.get_ref()),
                );
            }
        }
        let default = self.action(&raw.default, "default");
        let on_detector_error = match &raw.on_detector_error {
            None => Some(Action::Local),
            Some(v) => match self.action(v, "on_detector_error") {
                Some(a @ (Action::Local | Action::Block)) => Some(a),
                Some(a) => {
                    self.diags.error(
                        &v.span(),
                        format!("`on_detector_error = \"{a}\"` would send unscanned text to the cloud: use `local` or `block`"),
                    );
                    None
                }
                None => None,
            },
        };
        let categories = self.categories();
        let rules = self.rules(&raw.rules, default);
        let cases = self.cases(&raw.tests, &rules);
        self.unused_names(raw);
        Some(Policy {
            name: Arc::from(raw.name.get_ref().as_str()),
            description: raw.description.get_ref().trim().to_string(),
            version,
            source: path.to_path_buf(),
            default: default?,
            on_detector_error: on_detector_error?,
            params: raw
                .params
                .iter()
                .map(|(k, v)| Param {
                    name: k.get_ref().clone(),
                    value: v.get_ref().to_string(),
                })
                .collect(),
            categories,
            rules: rules?,
            cases: cases?,
            warnings: Vec::new(),
        })
    }

    fn check_name(&mut self, name: &Spanned<String>) {
        let n = name.get_ref();
        let ok = !n.is_empty()
            && n.len() <= 64
            && n.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !ok {
            self.diags.error(
                &name.span(),
                "policy `name` must be 1-64 lowercase letters, digits, `-` or `_` (clients name it in sluice.toml)",
            );
        }
    }

    // ---- parameters and values -------------------------------------------------------------

    /// The parameter a `"$name"` reference names, marked used; an error at the reference if unknown.
    fn param(&mut self, name: &str, at: &Range<usize>) -> Option<&'r Spanned<toml::Value>> {
        match self.params.get_mut(name) {
            Some(slot) => {
                slot.used = true;
                Some(slot.value)
            }
            None => {
                let hint = did_you_mean(catalog::nearest(name, self.params.keys().copied()));
                self.diags.error(
                    at,
                    format!("unknown parameter `${name}`{hint}: define it under [params]"),
                );
                None
            }
        }
    }

    /// An action written literally or as a `"$param"` reference.
    fn action(&mut self, v: &Spanned<String>, field: &str) -> Option<Action> {
        let (text, at, from) = match v.get_ref().strip_prefix('$') {
            Some(name) => {
                let p = self.param(name, &v.span())?;
                match p.get_ref() {
                    toml::Value::String(s) => (s.as_str(), p.span(), Some(name)),
                    other => {
                        self.diags.error(
                            &p.span(),
                            format!("parameter `{name}` is used as an action (`{field}`) but is {}: use allow, redact, local or block", describe(other)),
                        );
                        return None;
                    }
                }
            }
            None => (v.get_ref().as_str(), v.span(), None),
        };
        let action = Action::parse(text);
        if action.is_none() {
            let hint = did_you_mean(catalog::nearest(
                text,
                Action::ALL.iter().map(|a| a.as_str()),
            ));
            let subject = match from {
                Some(name) => format!("parameter `{name}` (used as `{field}`)"),
                None => format!("`{field}`"),
            };
            self.diags.error(
                &at,
                format!("{subject}: unknown action `{text}`{hint}; the actions are allow, redact, local and block"),
            );
        }
        action
    }

    /// A number written literally or as a `"$param"` reference, with where to report its range.
    fn number(&mut self, v: &'r Spanned<toml::Value>, field: &str) -> Option<(f64, Range<usize>)> {
        let (value, at) = match v.get_ref() {
            toml::Value::String(s) if s.starts_with('$') => {
                let p = self.param(&s[1..], &v.span())?;
                (p.get_ref(), p.span())
            }
            other => (other, v.span()),
        };
        match value {
            toml::Value::Integer(i) => Some((*i as f64, at)),
            toml::Value::Float(f) => Some((*f, at)),
            other => {
                self.diags.error(
                    &at,
                    format!("`{field}` must be a number, not {}", describe(other)),
                );
                None
            }
        }
    }

    fn min_score(&mut self, v: &'r Spanned<toml::Value>) -> Option<f32> {
        let (score, at) = self.number(v, "min_score")?;
        if score.is_nan() || score < 0.0 {
            self.diags.error(&at, "`min_score` must be between 0 and 1");
            None
        } else if score > 1.0 {
            self.diags.error(
                &at,
                format!(
                    "`min_score = {score}` can never match: detector scores are between 0 and 1"
                ),
            );
            None
        } else {
            Some(score as f32)
        }
    }

    fn min_count(&mut self, v: &'r Spanned<toml::Value>) -> Option<u32> {
        let (count, at) = self.number(v, "min_count")?;
        if count.fract() != 0.0 || count < 0.0 || count > u32::MAX as f64 {
            self.diags
                .error(&at, "`min_count` must be a whole number, at least 1");
            None
        } else if count == 0.0 {
            self.diags.error(
                &at,
                "`min_count = 0` would fire on every request, even one with no entities: use `default` for that, or at least 1",
            );
            None
        } else {
            Some(count as u32)
        }
    }

    // ---- categories and entity type names ---------------------------------------------------

    fn categories(&mut self) -> Vec<Category> {
        let names: Vec<&'r str> = self.raw_categories.keys().copied().collect();
        let mut out = Vec::new();
        for name in names {
            let span = self.raw_categories[name].0.clone();
            if !is_identifier(name) {
                self.diags.error(
                    &span,
                    format!("category name `{name}` must be lowercase letters, digits and `_`, starting with a letter (UPPER_CASE names are entity types)"),
                );
                self.categories.insert(name, CategoryState::Invalid);
                continue;
            }
            if let Some(types) = self.category(name) {
                out.push(Category {
                    name: name.to_string(),
                    types,
                });
            }
        }
        out
    }

    /// Resolves category `name` (and the categories it names) to a type set.
    fn category(&mut self, name: &'r str) -> Option<TypeSet> {
        match self.categories.get(name) {
            Some(CategoryState::Resolved(t)) => return Some(*t),
            Some(CategoryState::Invalid) => return None,
            Some(CategoryState::Resolving) => {
                let span = self.raw_categories[name].0.clone();
                let start = self.resolving.iter().position(|c| *c == name).unwrap_or(0);
                let mut path = self.resolving[start..].to_vec();
                path.push(name);
                self.diags.error(
                    &span,
                    format!("category `{name}` includes itself: {}", path.join(" -> ")),
                );
                self.categories.insert(name, CategoryState::Invalid);
                return None;
            }
            None => {}
        }
        self.categories.insert(name, CategoryState::Resolving);
        self.resolving.push(name);
        let (span, members) = self.raw_categories[name].clone();
        let resolved = if members.get_ref().is_empty() {
            self.diags
                .error(&span, format!("category `{name}` is empty"));
            None
        } else {
            self.names(members)
        };
        self.resolving.pop();
        let state = match resolved {
            Some(t) => CategoryState::Resolved(t),
            None => CategoryState::Invalid,
        };
        // A cycle found deeper down has already marked this category invalid.
        if !matches!(self.categories.get(name), Some(CategoryState::Invalid)) {
            self.categories.insert(name, state);
        }
        match self.categories.get(name) {
            Some(CategoryState::Resolved(t)) => Some(*t),
            _ => None,
        }
    }

    /// The union of the entity types and categories listed in `names`.
    fn names(&mut self, names: &'r Names) -> Option<TypeSet> {
        let mut set = TypeSet::EMPTY;
        let mut ok = true;
        for n in names.get_ref() {
            match self.name(n) {
                Some(t) => set = set.union(t),
                None => ok = false,
            }
        }
        ok.then_some(set)
    }

    fn name(&mut self, n: &'r Spanned<String>) -> Option<TypeSet> {
        let name = n.get_ref().as_str();
        if let Some(t) = TypeIndex::of(name) {
            return Some(TypeSet::single(t));
        }
        if self.raw_categories.contains_key(name) {
            self.used_categories.insert(name);
            return self.category(name);
        }
        let candidates = catalog::ENTITY_TYPES
            .iter()
            .map(|(t, _)| *t)
            .chain(self.raw_categories.keys().copied());
        let hint = did_you_mean(catalog::nearest(name, candidates));
        let what = if name.chars().any(|c| c.is_ascii_uppercase()) {
            "entity type"
        } else {
            "entity type or category"
        };
        self.diags
            .error(&n.span(), format!("unknown {what} `{name}`{hint}"));
        None
    }

    // ---- rules --------------------------------------------------------------------------------

    fn rules(&mut self, raw: &'r [Spanned<RawRule>], default: Option<Action>) -> Option<Vec<Rule>> {
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

    fn rule(&mut self, spanned: &'r Spanned<RawRule>) -> Option<Rule> {
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
    fn shadowed(&mut self, rules: &[(Rule, &RawRule)]) {
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

    // ---- test cases ---------------------------------------------------------------------------

    fn cases(
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

    fn case(
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
            position,
            input: input?,
            expect: expect?,
            expect_rules,
        })
    }

    fn case_entities(
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
    fn case_entity(&mut self, item: &'r Spanned<toml::Value>) -> Option<(Observed, usize)> {
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

    // ---- unused names -------------------------------------------------------------------------

    fn unused_names(&mut self, raw: &'r RawPolicy) {
        let unused_params: Vec<_> = self
            .params
            .iter()
            .filter(|(_, s)| !s.used)
            .map(|(n, _)| *n)
            .collect();
        for k in raw.params.keys() {
            if unused_params.contains(&k.get_ref().as_str()) {
                self.diags.warning(
                    &k.span(),
                    format!("parameter `{}` is never used", k.get_ref()),
                );
            }
        }
        for k in raw.categories.keys() {
            let name = k.get_ref().as_str();
            let valid = matches!(self.categories.get(name), Some(CategoryState::Resolved(_)));
            if valid && !self.used_categories.contains(name) {
                self.diags.warning(
                    &k.span(),
                    format!("category `{}` is never used", k.get_ref()),
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

fn is_identifier(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn is_rule_id(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn did_you_mean(candidate: Option<&str>) -> String {
    candidate
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

fn describe(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("the string \"{s}\""),
        toml::Value::Integer(i) => format!("the number {i}"),
        toml::Value::Float(f) => format!("the number {f}"),
        toml::Value::Boolean(b) => format!("`{b}`"),
        toml::Value::Datetime(_) => "a date".to_string(),
        toml::Value::Array(_) => "a list".to_string(),
        toml::Value::Table(_) => "a table".to_string(),
    }
}
