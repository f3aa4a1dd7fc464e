//! Running a policy's inline test cases.
//!
//! Entity-list cases are pure policy logic: they run every time a policy is loaded, and a policy
//! whose own cases fail is not loaded. Text cases need the detection pipeline, so only
//! `sluice policy test` (and CI) runs them, through the scanner it is given.

use std::fmt::Display;

use super::decide::{decide, decide_observed, Decision, Observations};
use super::diagnostic::{Diagnostic, Severity};
use super::model::{CaseInput, Policy, TestCase};
use crate::detect::Entity;

/// The result of one case: the decision it produced and every way it differs from the expectation.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// `None` when the text could not be scanned.
    pub decision: Option<Decision>,
    pub problems: Vec<String>,
    /// For text cases: what the detectors found, as `TYPE start..end` (never the values).
    pub found: Vec<String>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Runs `case` under `policy`; text cases are scanned with `scan`.
pub fn run<F, E>(policy: &Policy, case: &TestCase, scan: F) -> Outcome
where
    F: FnOnce(&str) -> Result<Vec<Entity>, E>,
    E: Display,
{
    match &case.input {
        CaseInput::Entities(items) => judge(
            case,
            decide_observed([policy], &Observations::from_observed(items.clone())),
        ),
        CaseInput::Text(text) => match scan(text) {
            Ok(entities) => {
                let mut outcome = judge(case, decide([policy], Ok::<_, E>(&entities[..])));
                outcome.found = entities
                    .iter()
                    .map(|e| format!("{} {}..{}", e.entity_type, e.start, e.end))
                    .collect();
                outcome
            }
            // A case must not pass because detection failed and the fallback happened to match.
            Err(e) => Outcome {
                decision: None,
                problems: vec![format!("detection failed: {e}")],
                found: Vec::new(),
            },
        },
    }
}

/// Runs `case` if it needs no detection (an entity-list case); `None` for text cases.
pub fn run_without_detection(policy: &Policy, case: &TestCase) -> Option<Outcome> {
    match &case.input {
        CaseInput::Entities(items) => Some(judge(
            case,
            decide_observed([policy], &Observations::from_observed(items.clone())),
        )),
        CaseInput::Text(_) => None,
    }
}

fn judge(case: &TestCase, decision: Decision) -> Outcome {
    let mut problems = Vec::new();
    if decision.action != case.expect {
        problems.push(format!("expected {}, got {}", case.expect, decision.action));
    }
    for id in &case.expect_rules {
        if !decision.fired.iter().any(|f| &*f.rule == id) {
            problems.push(format!("expected rule `{id}` to fire, it did not"));
        }
    }
    Outcome {
        decision: Some(decision),
        problems,
        found: Vec::new(),
    }
}

/// A failed case as a load error at the case's line (no text is quoted: it may hold sample PII).
pub fn failure_diagnostic(policy: &Policy, case: &TestCase, outcome: &Outcome) -> Diagnostic {
    let fired = outcome
        .decision
        .as_ref()
        .map(|d| {
            let ids: Vec<&str> = d.fired.iter().map(|f| &*f.rule).collect();
            if ids.is_empty() {
                "no rule fired".to_string()
            } else {
                format!("fired: {}", ids.join(", "))
            }
        })
        .unwrap_or_default();
    Diagnostic {
        file: policy.source.clone(),
        position: Some(case.position),
        severity: Severity::Error,
        message: format!(
            "test `{}` fails: {} ({fired})",
            case.name,
            outcome.problems.join("; ")
        ),
    }
}
