//! The typed bodies of each record kind.
//!
//! The gateway submits an [`Event`] (decision, outcome, refused, policy loaded or rejected); the log writes
//! the other kinds itself. Reading code parses any body with [`Body::parse`]. Every string field is
//! something sluice or its operators authored (request ids it generated, client and backend names
//! from sluice.toml, rule ids and reasons from rule packs and policy files), never request text.

use serde::{Deserialize, Serialize};

use super::chain::ChainHash;
use super::checkpoint::Checkpoint;
use super::evidence::Evidence;
use super::record::Kind;

/// What the policy decided for a request: the policy engine's own type, so the two cannot drift.
pub use crate::policy::Action;

/// A policy that took part in a decision, with its version (sha256 of its file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRef {
    pub name: String,
    pub version: String,
}

/// A backend as configured, and whether it may serve sensitive traffic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendRef {
    pub name: String,
    pub on_premise: bool,
}

/// The decision for one request; written (durably) before any byte of it is forwarded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub request_id: String,
    pub client: String,
    pub policies: Vec<PolicyRef>,
    pub action: Action,
    pub rule_ids: Vec<String>,
    pub reasons: Vec<String>,
    /// The detectors that scanned the request (`Pipeline::detector_names`).
    pub detectors: Vec<String>,
    /// Detectors of the pipeline that did not run because the decision was settled without
    /// them, and why (absent when every detector ran).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped_detectors: Vec<SkippedDetector>,
    pub entities: Evidence,
    /// The backend the request is sent to; `None` when blocked.
    pub backend: Option<BackendRef>,
    /// The `[[routing.rules]]` rule that chose the backend (cleared traffic only; absent when
    /// the model's or the default route applied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_rule: Option<String>,
}

/// A detector left out of a request's scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedDetector {
    pub detector: String,
    pub reason: String,
}

/// How a request ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeRecord {
    pub request_id: String,
    /// The HTTP status sluice answered with.
    pub status: u16,
    pub latency_ms: f64,
    pub tokens_in: Option<u64>,
    pub tokens_out: Option<u64>,
    /// The backend that served it (it may differ from the decision's after a fallback).
    pub backend: Option<BackendRef>,
    /// The model name the request was served under when sluice.toml lists it (`[routing.models]`
    /// or a backend's model), else `unlisted`: an upstream may echo any name a client sent.
    pub model: Option<String>,
    pub streamed: bool,
    /// Set on both attempts of a local-first route (`escalate`): the local answer's check, and
    /// whether the request went on to another backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<EscalationNote>,
}

impl OutcomeRecord {
    /// Whether a later outcome of the same request supersedes this one: the local attempt of a
    /// local-first route whose answer was not returned (the request went on to another backend).
    pub fn is_superseded(&self) -> bool {
        self.escalation
            .as_ref()
            .is_some_and(|e| e.attempt == Attempt::LocalFirst && e.escalated_to.is_some())
    }
}

/// Which attempt of a local-first route an outcome records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attempt {
    /// The on-premise backend's answer, checked.
    LocalFirst,
    /// The backend the request went on to when the local answer was unsure.
    Escalated,
}

/// One attempt of a local-first route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EscalationNote {
    pub attempt: Attempt,
    /// The route rule that asked for it.
    pub rule: String,
    /// The local answer's mean token log-probability, when it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_logprob: Option<f64>,
    /// Why the local answer was judged unsure (`low_logprob`, `not_json`, ...); empty when it
    /// was returned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsure: Vec<String>,
    /// The backend the request went on to; `None` when the local answer was returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalated_to: Option<String>,
}

/// The fingerprint type under which an unknown API key (or console admin key) is recorded.
pub const API_KEY_FINGERPRINT_TYPE: &str = "API_KEY";

/// A request refused before any decision was made: a missing or unknown API key (401), or a
/// request that could not be read or understood (400, 408, 413, 415, ...). Refused attempts are
/// evidence too (who knocked, how often); the record holds the error's type and code but never
/// its message, which may quote a field name the client sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedRecord {
    pub request_id: String,
    /// The route the request was sent to, e.g. `/v1/chat/completions`.
    pub route: String,
    /// The HTTP status sluice answered with.
    pub status: u16,
    /// OpenAI's error `type`, e.g. `authentication_error`, `invalid_request_error`.
    pub error_type: String,
    /// OpenAI's error `code`, e.g. `invalid_api_key`, when the error has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The client, when its key was valid and the request was refused for its content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// For an unknown key: its keyed fingerprint (entity type `API_KEY`), so repeated attempts
    /// with one key can be followed and a leaked key recognised; never the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_fingerprint: Option<String>,
    /// The connection's peer IP address (not a forwarded-for header, which the client writes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
}

/// A policy file passed validation and is now in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyLoaded {
    pub name: String,
    pub version: String,
    pub path: String,
    pub rules: u32,
    /// What this version loosens relative to the one it replaced, as its
    /// `acknowledge_loosening` allows (rule ids, `default`, `on_detector_error`, `test:<name>`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acknowledged_loosening: Vec<String>,
}

/// A policy file failed validation, or would have loosened the loaded version without saying so,
/// and was not loaded (the previous version stays in force).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRejected {
    pub path: String,
    /// The validation error (file:line:column and message), at most [`MAX_ERROR_CHARS`] chars.
    pub error: String,
    /// When refused for loosening: what it would have loosened unacknowledged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub loosened: Vec<String>,
}

/// Validation errors longer than this are cut, keeping records small.
pub const MAX_ERROR_CHARS: usize = 2000;

impl PolicyRejected {
    pub fn new(path: impl Into<String>, error: &str) -> Self {
        PolicyRejected {
            path: path.into(),
            error: error.chars().take(MAX_ERROR_CHARS).collect(),
            loosened: Vec::new(),
        }
    }
}

/// The first record of a log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    pub log_id: String,
    /// The on-disk format version (audit/README.md); this is 1.
    pub format: u32,
    pub created_by: String,
}

/// Why a new file was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RotateReason {
    Size,
    Day,
}

/// The first record of every file after the first: names the file before it and its last hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotated {
    pub log_id: String,
    pub previous_file: String,
    pub previous_hash: ChainHash,
    pub reason: RotateReason,
}

/// A writer opened the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Startup {
    pub log_id: String,
    pub sluice_version: String,
    pub pid: u32,
    pub signing_key_id: String,
    /// The raw ed25519 public key, hex. Verifiers should trust a key they hold (`--pubkey`), not
    /// this self-declared one; it lets a log be checked for internal consistency without one.
    pub signing_public_key: String,
    pub fingerprint_key_id: String,
    pub checkpoint_every_records: u64,
    pub checkpoint_every_secs: u64,
    /// This writer signs a checkpoint right after this record, after every
    /// `checkpoint_every_records`-th submitted record, and right after its shutdown record, so that
    /// `verify` can tell where a checkpoint is missing. Absent (false) in logs written before.
    #[serde(default)]
    pub strict_checkpoints: bool,
}

/// A writer closed the log cleanly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shutdown {
    pub reason: String,
    /// Records this writer appended since its startup record (the shutdown record excluded).
    pub records_this_run: u64,
}

/// What made the log cut bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecoveryCause {
    /// The last line of the last file was incomplete at start-up (a crash mid-write).
    TornTail,
    /// A write or fsync failed; the bytes of the failed batch were cut before writing resumed.
    WriteFailed,
}

/// The log cut bytes that were never acknowledged, and continues from the last good record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recovered {
    pub cause: RecoveryCause,
    pub file: String,
    pub cut_bytes: u64,
    /// SHA-256 of the bytes cut, hex (lets an investigator match a saved copy).
    pub cut_sha256: String,
    /// The last record kept before the cut.
    pub last_good_seq: u64,
    /// A file that held no complete record and was removed (a crash during rotation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed_file: Option<String>,
}

/// What the gateway submits.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Decision(DecisionRecord),
    Outcome(OutcomeRecord),
    Refused(RefusedRecord),
    PolicyLoaded(PolicyLoaded),
    PolicyRejected(PolicyRejected),
}

impl Event {
    pub fn kind(&self) -> Kind {
        match self {
            Event::Decision(_) => Kind::Decision,
            Event::Outcome(_) => Kind::Outcome,
            Event::Refused(_) => Kind::Refused,
            Event::PolicyLoaded(_) => Kind::PolicyLoaded,
            Event::PolicyRejected(_) => Kind::PolicyRejected,
        }
    }

    /// The body string that is stored and hashed. A non-finite latency (JSON has no NaN) is stored
    /// as 0 so that the record always reads back.
    pub fn to_body_json(&self) -> String {
        let result = match self {
            Event::Decision(b) => serde_json::to_string(b),
            Event::Outcome(b) if !b.latency_ms.is_finite() => {
                serde_json::to_string(&OutcomeRecord {
                    latency_ms: 0.0,
                    ..b.clone()
                })
            }
            Event::Outcome(b) => serde_json::to_string(b),
            Event::Refused(b) => serde_json::to_string(b),
            Event::PolicyLoaded(b) => serde_json::to_string(b),
            Event::PolicyRejected(b) => serde_json::to_string(b),
        };
        result.expect("audit bodies have string keys and finite numbers")
    }
}

impl From<DecisionRecord> for Event {
    fn from(b: DecisionRecord) -> Self {
        Event::Decision(b)
    }
}
impl From<OutcomeRecord> for Event {
    fn from(b: OutcomeRecord) -> Self {
        Event::Outcome(b)
    }
}
impl From<RefusedRecord> for Event {
    fn from(b: RefusedRecord) -> Self {
        Event::Refused(b)
    }
}
impl From<PolicyLoaded> for Event {
    fn from(b: PolicyLoaded) -> Self {
        Event::PolicyLoaded(b)
    }
}
impl From<PolicyRejected> for Event {
    fn from(b: PolicyRejected) -> Self {
        Event::PolicyRejected(b)
    }
}

/// Any record's body, as read back.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Genesis(Genesis),
    Rotated(Rotated),
    Startup(Startup),
    Shutdown(Shutdown),
    Decision(DecisionRecord),
    Outcome(OutcomeRecord),
    Refused(RefusedRecord),
    PolicyLoaded(PolicyLoaded),
    PolicyRejected(PolicyRejected),
    Checkpoint(Checkpoint),
    Recovered(Recovered),
}

impl Body {
    pub fn parse(kind: Kind, json: &str) -> Result<Body, serde_json::Error> {
        Ok(match kind {
            Kind::Genesis => Body::Genesis(serde_json::from_str(json)?),
            Kind::Rotated => Body::Rotated(serde_json::from_str(json)?),
            Kind::Startup => Body::Startup(serde_json::from_str(json)?),
            Kind::Shutdown => Body::Shutdown(serde_json::from_str(json)?),
            Kind::Decision => Body::Decision(serde_json::from_str(json)?),
            Kind::Outcome => Body::Outcome(serde_json::from_str(json)?),
            Kind::Refused => Body::Refused(serde_json::from_str(json)?),
            Kind::PolicyLoaded => Body::PolicyLoaded(serde_json::from_str(json)?),
            Kind::PolicyRejected => Body::PolicyRejected(serde_json::from_str(json)?),
            Kind::Checkpoint => Body::Checkpoint(serde_json::from_str(json)?),
            Kind::Recovered => Body::Recovered(serde_json::from_str(json)?),
        })
    }
}

/// Serializes a body the log writes itself.
pub(crate) fn to_json<T: Serialize>(body: &T) -> String {
    serde_json::to_string(body).expect("audit bodies have string keys and finite numbers")
}
