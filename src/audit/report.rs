//! `sluice audit report`: the plain summary a reviewer attaches to evidence: how many requests,
//! how many carried PHI and where each of those went, and up to which signed checkpoint the chain
//! verified.
//!
//! A request is counted as "with PHI" when its detected entities include a health identifier
//! ([`HEALTH_IDENTIFIERS`]), or health context ([`HEALTH_CONTEXT`]) together with any identifier
//! of a person (every other entity type except secrets and deny-list terms).
//! This follows HIPAA's notion of PHI (health information tied to an identifier) and depends only
//! on what was detected, not on what the policy decided, so "all PHI stayed on-premise" is a
//! finding, not a tautology. Where a request went is the backend of its outcome record, or of its
//! decision when no outcome was recorded.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use chrono::{DateTime, Utc};

use super::body::{Action, BackendRef, Body, DecisionRecord};
use super::record::format_ts;
use super::stats::ActionCounts;
use super::verify::{verify_log_with, Failure, Summary, VerifyOptions};
use crate::detect::catalog::SECRETS;

/// Entity types that are health information by themselves but identify no one.
pub use crate::detect::catalog::HEALTH_CONTEXT;
/// Identifiers that exist only in health care, so they are PHI on their own.
pub const HEALTH_IDENTIFIERS: &[&str] = &["MEDICAL_RECORD_NUMBER", "HEALTH_PLAN_ID"];
/// Types that do not identify a person (health context, secrets, deny-list terms).
fn is_not_identifier(entity_type: &str) -> bool {
    HEALTH_CONTEXT.contains(&entity_type)
        || SECRETS.contains(&entity_type)
        || entity_type == "CUSTOM"
}

/// Whether a decision's request carried PHI (see the module documentation).
pub fn is_phi(d: &DecisionRecord) -> bool {
    is_phi_types(d.entities.types().iter().map(|t| t.entity_type()))
}

/// Whether a request holding these entity types carried PHI.
pub fn is_phi_types<'a>(types: impl Iterator<Item = &'a str>) -> bool {
    let (mut health_identifier, mut context, mut identifier) = (false, false, false);
    for t in types {
        health_identifier |= HEALTH_IDENTIFIERS.contains(&t);
        context |= HEALTH_CONTEXT.contains(&t);
        identifier |= !is_not_identifier(t);
    }
    health_identifier || (context && identifier)
}

/// Where the PHI requests went.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PhiCounts {
    pub total: u64,
    pub on_premise: u64,
    pub blocked: u64,
    pub redacted_to_cloud: u64,
    pub unredacted_to_cloud: u64,
    /// Neither blocked nor with a backend recorded (e.g. refused with 503 before dispatch).
    pub not_served: u64,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub decisions: ActionCounts,
    pub phi: PhiCounts,
    pub outcomes: u64,
    pub server_errors: u64,
    /// Requests neither blocked nor answered by an outcome record.
    pub without_outcome: u64,
    pub policies_loaded: u64,
    pub policies_rejected: u64,
    pub recoveries: u64,
    pub refused: RefusedCounts,
    pub verification: Result<Summary, Failure>,
    /// Spend and break-even for the period, when prices are configured ([`Report::with_costs`]).
    pub costs: Option<super::costs::CostReport>,
}

/// Requests refused before any decision (`refused` records).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RefusedCounts {
    pub total: u64,
    /// 401: no key, or a key no client holds.
    pub unauthenticated: u64,
    /// Distinct unknown keys among them (by fingerprint).
    pub unknown_keys: u64,
}

struct Request {
    phi: bool,
    action: Action,
    decision_backend: Option<BackendRef>,
    outcome_backend: Option<Option<BackendRef>>,
}

/// Verifies the whole log and summarizes the window `[since, until)`.
pub fn build(
    dir: &Path,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    options: &VerifyOptions,
) -> Report {
    let mut requests: HashMap<String, Request> = HashMap::new();
    let mut unknown_keys = std::collections::HashSet::new();
    let mut report = Report {
        since,
        until,
        decisions: ActionCounts::default(),
        phi: PhiCounts::default(),
        outcomes: 0,
        server_errors: 0,
        without_outcome: 0,
        policies_loaded: 0,
        policies_rejected: 0,
        recoveries: 0,
        refused: RefusedCounts::default(),
        verification: Err(Failure {
            location: None,
            seq: None,
            message: String::new(),
        }),
        costs: None,
    };
    let verification = verify_log_with(dir, options, |_, record| {
        let in_window = record
            .time()
            .is_some_and(|t| since.is_none_or(|s| t >= s) && until.is_none_or(|u| t < u));
        let Ok(body) = Body::parse(record.kind, &record.body) else {
            return;
        };
        match body {
            // The local attempt of an escalated request: its final outcome follows.
            Body::Outcome(o) if o.is_superseded() => {}
            Body::Outcome(o) => {
                if let Some(request) = requests.get_mut(&o.request_id) {
                    report.outcomes += 1;
                    if o.status >= 500 {
                        report.server_errors += 1;
                    }
                    request.outcome_backend = Some(o.backend);
                }
            }
            _ if !in_window => {}
            Body::Decision(d) => {
                report.decisions.add(d.action);
                requests.insert(
                    d.request_id.clone(),
                    Request {
                        phi: is_phi(&d),
                        action: d.action,
                        decision_backend: d.backend,
                        outcome_backend: None,
                    },
                );
            }
            Body::Refused(r) => {
                report.refused.total += 1;
                if r.status == 401 {
                    report.refused.unauthenticated += 1;
                }
                if let Some(f) = r.key_fingerprint {
                    unknown_keys.insert(f);
                }
            }
            Body::PolicyLoaded(_) => report.policies_loaded += 1,
            Body::PolicyRejected(_) => report.policies_rejected += 1,
            Body::Recovered(_) => report.recoveries += 1,
            _ => {}
        }
    });
    report.refused.unknown_keys = unknown_keys.len() as u64;
    for request in requests.values() {
        if request.action != Action::Block && request.outcome_backend.is_none() {
            report.without_outcome += 1;
        }
        if !request.phi {
            continue;
        }
        report.phi.total += 1;
        let served_by = match &request.outcome_backend {
            Some(backend) => backend.as_ref(),
            None => request.decision_backend.as_ref(),
        };
        match (request.action, served_by) {
            (Action::Block, _) => report.phi.blocked += 1,
            (_, None) => report.phi.not_served += 1,
            (_, Some(b)) if b.on_premise => report.phi.on_premise += 1,
            (Action::Redact, Some(_)) => report.phi.redacted_to_cloud += 1,
            (_, Some(_)) => report.phi.unredacted_to_cloud += 1,
        }
    }
    report.verification = verification;
    report
}

impl Report {
    /// Adds the period's spend report (computed from the same log by `costs::compute`).
    pub fn with_costs(mut self, costs: super::costs::CostReport) -> Self {
        self.costs = Some(costs);
        self
    }

    /// Writes the chain's verification result (first in every format: figures from a log that
    /// failed verification are no evidence).
    fn write_chain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.verification {
            Ok(s) => {
                match &s.last_checkpoint {
                    Some(seen) => writeln!(
                        f,
                        "Chain: verified, {} records (seq 0..{}); signed up to seq {} at {} by {} ({})",
                        s.records,
                        s.last_seq,
                        seen.checkpoint.seq,
                        seen.checkpoint.time,
                        seen.checkpoint.key_id,
                        if s.keys_trusted { "trusted key" } else { "key declared in the log; pass --pubkey" }
                    )?,
                    None => writeln!(
                        f,
                        "Chain: verified, {} records (seq 0..{}); no signed checkpoint yet",
                        s.records, s.last_seq
                    )?,
                }
                writeln!(f, "Head: {} (log {})", s.head, s.log_id)
            }
            Err(e) => {
                writeln!(f, "Chain: VERIFICATION FAILED: {e}")?;
                writeln!(
                    f,
                    "The figures below are read from a log that failed verification: they are not evidence until the failure is explained."
                )
            }
        }
    }

    /// The report as pretty JSON text, verification first.
    pub fn to_json_text(&self) -> String {
        serde_json::to_string_pretty(&self.fields()).expect("report fields always serialize")
    }

    /// The report's fields in the order every format prints them.
    fn fields(&self) -> ReportFields {
        let verification = match &self.verification {
            Ok(s) => serde_json::json!({
                "status": "verified",
                "records": s.records,
                "last_seq": s.last_seq,
                "head": s.head.to_string(),
                "log_id": s.log_id,
                "signed_up_to_seq": s.last_checkpoint.as_ref().map(|c| c.checkpoint.seq),
                "keys_trusted": s.keys_trusted,
            }),
            Err(e) => serde_json::json!({"status": "failed", "failure": e.to_string()}),
        };
        let (d, p) = (&self.decisions, &self.phi);
        ReportFields {
            verification,
            since: self.since.map(format_ts),
            until: self.until.map(format_ts),
            requests: serde_json::json!({"total": d.total, "allow": d.allow, "redact": d.redact, "local": d.local, "block": d.block}),
            phi_requests: serde_json::json!({
                "total": p.total, "on_premise": p.on_premise, "blocked": p.blocked,
                "redacted_to_cloud": p.redacted_to_cloud, "unredacted_to_cloud": p.unredacted_to_cloud,
                "not_served": p.not_served,
            }),
            outcomes: self.outcomes,
            server_errors: self.server_errors,
            without_outcome: self.without_outcome,
            policies_loaded: self.policies_loaded,
            policies_rejected: self.policies_rejected,
            recoveries: self.recoveries,
            refused: serde_json::json!({
                "total": self.refused.total,
                "unauthenticated": self.refused.unauthenticated,
                "unknown_keys": self.refused.unknown_keys,
            }),
            costs: self.costs.as_ref().map(|c| {
                serde_json::to_value(c).expect("cost reports have string keys and numbers")
            }),
        }
    }

    /// The report as `field,value` CSV lines (plain ASCII), verification first.
    pub fn to_csv(&self) -> String {
        fn flatten(prefix: &str, value: &serde_json::Value, out: &mut String) {
            match value {
                serde_json::Value::Object(map) => {
                    for (k, v) in map {
                        let key = if prefix.is_empty() {
                            k.clone()
                        } else {
                            format!("{prefix}.{k}")
                        };
                        flatten(&key, v, out);
                    }
                }
                serde_json::Value::Null => out.push_str(&format!("{prefix},\n")),
                serde_json::Value::String(s) => {
                    let ascii: String = s
                        .chars()
                        .map(|c| if c.is_ascii() && c != '"' { c } else { '?' })
                        .collect();
                    out.push_str(&format!("{prefix},\"{ascii}\"\n"));
                }
                other => out.push_str(&format!("{prefix},{other}\n")),
            }
        }
        let mut out = String::from("field,value\n");
        // Field by field in declaration order (the serialized struct keeps it; a JSON map would
        // sort the keys and put verification last).
        let fields = serde_json::to_value(self.fields()).expect("report fields always serialize");
        for name in ReportFields::ORDER {
            if let Some(value) = fields.get(name) {
                flatten(name, value, &mut out);
            }
        }
        out
    }
}

/// [`Report`] as JSON and CSV print it, verification first.
#[derive(serde::Serialize)]
struct ReportFields {
    verification: serde_json::Value,
    since: Option<String>,
    until: Option<String>,
    requests: serde_json::Value,
    phi_requests: serde_json::Value,
    outcomes: u64,
    server_errors: u64,
    without_outcome: u64,
    policies_loaded: u64,
    policies_rejected: u64,
    recoveries: u64,
    refused: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    costs: Option<serde_json::Value>,
}

impl ReportFields {
    const ORDER: [&'static str; 13] = [
        "verification",
        "since",
        "until",
        "requests",
        "phi_requests",
        "outcomes",
        "server_errors",
        "without_outcome",
        "policies_loaded",
        "policies_rejected",
        "recoveries",
        "refused",
        "costs",
    ];
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bound = |t: Option<DateTime<Utc>>, open: &str| {
            t.map(format_ts).unwrap_or_else(|| open.to_string())
        };
        writeln!(f, "sluice audit report")?;
        self.write_chain(f)?;
        writeln!(
            f,
            "Period: {} to {} (UTC; start inclusive, end exclusive)",
            bound(self.since, "the start of the log"),
            bound(self.until, "the end of the log")
        )?;
        let d = &self.decisions;
        writeln!(
            f,
            "Requests: {} (allow {}, redact {}, local {}, block {})",
            d.total, d.allow, d.redact, d.local, d.block
        )?;
        let p = &self.phi;
        writeln!(f, "Requests with PHI: {}", p.total)?;
        writeln!(f, "  served on-premise: {}", p.on_premise)?;
        writeln!(f, "  blocked: {}", p.blocked)?;
        writeln!(
            f,
            "  redacted, then sent to a cloud model: {}",
            p.redacted_to_cloud
        )?;
        writeln!(
            f,
            "  sent to a cloud model unredacted: {}",
            p.unredacted_to_cloud
        )?;
        writeln!(f, "  refused before reaching any model: {}", p.not_served)?;
        if self.verification.is_err() {
            writeln!(
                f,
                "  => no conclusion: the log failed verification (see the Chain line above)."
            )?;
        } else if p.unredacted_to_cloud == 0 {
            writeln!(
                f,
                "  => 0 PHI requests reached a cloud model unredacted ({} on-premise, {} blocked, {} redacted, {} refused).",
                p.on_premise, p.blocked, p.redacted_to_cloud, p.not_served
            )?;
        } else {
            writeln!(
                f,
                "  => ATTENTION: {} PHI request(s) reached a cloud model unredacted; find them with `sluice audit show --action allow`.",
                p.unredacted_to_cloud
            )?;
        }
        writeln!(
            f,
            "Outcomes: {} recorded ({} with a 5xx status); {} served request(s) without an outcome record",
            self.outcomes, self.server_errors, self.without_outcome
        )?;
        writeln!(
            f,
            "Policies: {} loaded, {} rejected; log recoveries: {}",
            self.policies_loaded, self.policies_rejected, self.recoveries
        )?;
        writeln!(
            f,
            "Refused before any decision: {} ({} unauthenticated, {} distinct unknown key(s))",
            self.refused.total, self.refused.unauthenticated, self.refused.unknown_keys
        )?;
        writeln!(
            f,
            "\"With PHI\": the request's detected entities include a health identifier ({}), or health context ({}) together with an identifier of a person (any other type but secrets and deny-list terms).",
            HEALTH_IDENTIFIERS.join(", "),
            HEALTH_CONTEXT.join(", ")
        )?;
        if let Some(costs) = &self.costs {
            writeln!(f)?;
            write!(f, "{costs}")?;
        }
        Ok(())
    }
}
