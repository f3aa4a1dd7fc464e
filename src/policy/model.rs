//! A validated policy, compiled for fast decisions: categories resolved to type sets, `$parameters`
//! substituted, test cases parsed. Built only by [`super::compile`], so every `Policy` in memory
//! passed validation.

use std::path::PathBuf;
use std::sync::Arc;

use super::decide::Observed;
use super::diagnostic::{Diagnostic, Position};
use super::typeset::TypeSet;
use super::Action;

#[derive(Debug)]
pub struct Policy {
    pub name: Arc<str>,
    pub description: String,
    /// Hex sha256 of the file's bytes: what the audit log records as the policy's version.
    pub version: Arc<str>,
    pub source: PathBuf,
    /// The action when no rule fires.
    pub default: Action,
    /// The action when detection failed: `local` or `block`, never looser.
    pub on_detector_error: Action,
    pub params: Vec<Param>,
    pub categories: Vec<Category>,
    /// In file order.
    pub rules: Vec<Rule>,
    pub cases: Vec<TestCase>,
    /// What a reload of this version may drop or loosen relative to the loaded one
    /// (`acknowledge_loosening`; see [`super::loosening`]).
    pub acknowledged: Vec<Acknowledgement>,
    /// Non-fatal findings of validation (unused names, rules that never change an outcome).
    pub warnings: Vec<Diagnostic>,
}

impl Policy {
    /// The first 12 hex digits of the version, for people.
    pub fn short_version(&self) -> &str {
        &self.version[..12]
    }
}

/// A deployment-tunable value and what it is set to in this file.
#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone)]
pub struct Category {
    pub name: String,
    pub types: TypeSet,
}

/// One rule. It fires when, counting only entities scoring at least `min_score`:
/// at least `min_count` entities of a `matches` type are present (only checksum-validated ones if
/// `validated`), at least one entity of a `with` type is present (when `with` is not empty), and
/// no entity of an `unless` type is present.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: Arc<str>,
    pub matches: TypeSet,
    pub with: TypeSet,
    pub unless: TypeSet,
    pub min_score: f32,
    pub min_count: u32,
    pub validated: bool,
    pub action: Action,
    pub reason: Arc<str>,
    pub position: Position,
}

/// One entry of `acknowledge_loosening`: a rule id, `default`, `on_detector_error` or
/// `test:<test name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledgement {
    pub name: String,
    pub position: Position,
}

/// An inline test case of a policy file.
#[derive(Debug, Clone)]
pub struct TestCase {
    /// Its `name`, or `line N` for a case without one.
    pub name: String,
    /// True if the file gave it a name (a reload may not drop a named case unacknowledged).
    pub named: bool,
    pub position: Position,
    pub input: CaseInput,
    pub expect: Action,
    /// Rule ids that must be among those fired.
    pub expect_rules: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum CaseInput {
    /// Scanned by the real detection pipeline (only `sluice policy test` runs these).
    Text(String),
    /// Entities given by type: pure policy logic, checked every time the policy is loaded.
    Entities(Vec<Observed>),
}
