//! The policy file exactly as written: the serde model of policies/*.toml, every value wrapped in
//! its source span so that validation can point at the line and column of a mistake.
//!
//! Fields whose value may be a `$parameter` reference (actions, scores, counts) are kept as raw
//! TOML values here and interpreted by [`super::compile`], which gives better messages than serde's.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

pub type Names = Spanned<Vec<Spanned<String>>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    pub name: Spanned<String>,
    pub description: Spanned<String>,
    /// The action when no rule fires.
    pub default: Spanned<String>,
    /// The action when detection failed (`local` unless the file says `block`).
    pub on_detector_error: Option<Spanned<String>>,
    /// What this version may drop or loosen relative to the loaded one, on a reload: rule ids,
    /// `default`, `on_detector_error`, `test:<test name>`.
    pub acknowledge_loosening: Option<Names>,
    /// Deployment-tunable values, referenced from rules as `"$name"`.
    #[serde(default)]
    pub params: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
    /// Named sets of entity types (and of other categories).
    #[serde(default)]
    pub categories: BTreeMap<Spanned<String>, Names>,
    #[serde(default, rename = "rule")]
    pub rules: Vec<Spanned<RawRule>>,
    #[serde(default, rename = "test")]
    pub tests: Vec<Spanned<RawCase>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub id: Spanned<String>,
    /// Entity types and categories the rule counts.
    #[serde(rename = "match")]
    pub matches: Names,
    /// Co-occurrence: at least one entity of these must also be present.
    pub with: Option<Names>,
    /// The rule does not fire if any entity of these is present.
    pub unless: Option<Names>,
    pub min_score: Option<Spanned<toml::Value>>,
    pub min_count: Option<Spanned<toml::Value>>,
    /// Count only matched entities whose checksum validator accepted them.
    pub validated: Option<Spanned<bool>>,
    pub action: Spanned<String>,
    pub reason: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCase {
    pub name: Option<Spanned<String>>,
    /// Run through the real detection pipeline (`sluice policy test`).
    pub text: Option<Spanned<String>>,
    /// Entities given directly: `"TYPE"` or `{ type = "TYPE", score = 0.4, count = 2, validated = true }`.
    pub entities: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    pub expect: Spanned<String>,
    /// Rule ids that must be among those fired.
    pub expect_rules: Option<Names>,
}
