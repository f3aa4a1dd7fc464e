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
use super::diagnostic::{Diagnostics, PolicyError};
use super::file::{Names, RawPolicy};
use super::model::{Param, Policy};
use super::typeset::TypeSet;
use super::Action;

pub mod acknowledgements;
mod names;
mod rules;
mod test_cases;
mod values;

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
        let acknowledged = self.acknowledgements(raw.acknowledge_loosening.as_ref());
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
            acknowledged,
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

fn is_identifier(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
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
