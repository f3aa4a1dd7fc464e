//! The gateway's shared state and the pipeline every chat request goes through:
//! parse -> extract text -> detect -> decide -> audit the decision (durable) -> dispatch.
//!
//! Each step fails closed: a request that cannot be parsed is refused, one that cannot be scanned is
//! treated as sensitive, one whose decision cannot be recorded is refused with 503, and nothing is
//! forwarded before its decision record is durable.

use std::sync::Arc;
use std::time::Instant;

use crate::audit::{
    body::API_KEY_FINGERPRINT_TYPE, AuditLog, BackendRef, DecisionRecord, EntityEvidence,
    PolicyRef, RefusedRecord, SkippedDetector,
};
use crate::detect::{Entity, Reading};
use crate::openai::{parse_request, ChatCompletionRequest};
use crate::policy::settled::Settled;
use crate::policy::typeset::TypeSet;
use crate::policy::{Action, Decision, FiredRule, PolicySnapshot, PolicyStore};
use crate::redact::{RedactError, RedactedRequest};

use super::auth::{Client, ClientRegistry};
use super::detection::{DetectionService, FirstScan};
use super::error::ApiError;
use super::metrics::Metrics;
use super::routing::{Route, Router};
use super::seams::{add_fragments, seams};
use crate::openai::extract::{extract, Extracted};

/// Everything a request handler needs, shared by all workers.
pub struct Gateway {
    pub detection: DetectionService,
    pub policies: Arc<PolicyStore>,
    pub audit: AuditLog,
    pub clients: ClientRegistry,
    pub default_policies: Vec<String>,
    pub router: Router,
    pub metrics: Metrics,
    pub limits: super::limits::RequestLimits,
    pub detector_names: Vec<String>,
    /// The detectors that read prose (the NER model): the ones a settled decision skips.
    pub prose_detector_names: Vec<String>,
    /// Skip the prose detectors when the first pass settles the decision (`[detect] ner_always`
    /// unset).
    pub skip_settled: bool,
    /// How `redact` decisions rewrite requests for cloud models.
    pub redact: crate::redact::RedactConfig,
    /// The model names records, logs and metrics may carry.
    pub models: super::model_names::ModelNames,
    /// Per-client rate limits and budgets.
    pub quotas: crate::quota::Quotas,
    /// `[costs]` prices, for spend budgets.
    pub prices: Option<crate::audit::costs::CostConfig>,
}

/// A request that has been scanned and decided.
pub struct Judged {
    pub request: ChatCompletionRequest,
    pub extracted: Extracted,
    /// Entities per scan unit (offsets into that unit's text); `Err` if detection failed.
    pub entities: Result<Vec<Arc<Vec<Entity>>>, String>,
    pub decision: Decision,
    /// For a `redact` decision: the request as a cloud model may receive it (or why it cannot
    /// be rewritten; nothing is then forwarded off premise).
    pub redacted: Option<Result<RedactedRequest, RedactError>>,
    /// Set when the decision was settled without the NER model, which then did not run.
    pub skipped_ner: Option<Settled>,
}

/// A request refused before any decision, as [`Gateway::record_refused`] records it.
pub struct Refused<'a> {
    pub request_id: &'a str,
    pub route: &'a str,
    /// The client, when its key was valid.
    pub client: Option<&'a str>,
    /// The key presented when no client holds it.
    pub unknown_key: Option<&'a str>,
    pub peer: Option<std::net::IpAddr>,
}

/// Reason recorded when content that text detectors cannot judge forces a request on premise.
pub const UNSCANNABLE_RULE: &str = "unscannable_content";

/// Reason recorded when a value to mask sits where no placeholder can go.
pub const UNMASKABLE_RULE: &str = "unmaskable_field";

impl Gateway {
    /// The client's policy set.
    pub fn policy_set<'a>(&'a self, client: &'a Client) -> &'a [String] {
        if client.policies.is_empty() {
            &self.default_policies
        } else {
            &client.policies
        }
    }

    /// Parses, scans and decides (taking the body, so that it is freed once parsed). Errors
    /// are 4xx answers (nothing was forwarded).
    pub async fn judge(&self, client: &Client, body: bytes::Bytes) -> Result<Judged, ApiError> {
        if std::str::from_utf8(&body).is_err() {
            return Err(ApiError::bad_request(
                "the request body is not valid UTF-8",
                None,
            ));
        }
        let request = parse_request(&body).map_err(|e| ApiError {
            body: e.to_error_body(),
            ..ApiError::bad_request("", None)
        })?;
        // A 10 MB prompt is held once as the parsed request, once as its scan units, and
        // briefly as the JSON value they are cut from: the raw body is not kept as well.
        drop(body);
        self.limits.check(&request)?;
        if request.n.is_some_and(|n| n != 1) {
            return Err(ApiError::bad_request("only n = 1 is supported", Some("n")));
        }
        // What is scanned is exactly what would be forwarded: the request as sluice re-serializes
        // it. The request is turned into that JSON and back (its strings move, not copy), so a
        // 10 MB prompt is held twice at most: as the request and as its scan units.
        let re_encoding = || ApiError::bad_request("the request cannot be re-encoded", None);
        let forwarded = serde_json::to_value(&request).map_err(|_| re_encoding())?;
        drop(request);
        let extracted = extract(&forwarded);
        let request: ChatCompletionRequest =
            serde_json::from_value(forwarded).map_err(|_| re_encoding())?;
        let started = Instant::now();
        let seams = seams(&extracted.units);
        let texts: Vec<(Arc<String>, Reading)> = extracted
            .units
            .iter()
            .map(|u| (u.text.clone(), u.reading))
            .chain(seams.iter().map(|s| (s.text.clone(), Reading::Verbatim)))
            .collect();
        let snapshot = self.policies.snapshot();
        let set = self.policy_set(client);
        let with_fragments = |mut per_unit: Vec<Arc<Vec<Entity>>>| {
            let per_seam = per_unit.split_off(extracted.units.len());
            add_fragments(&seams, &per_seam, &mut per_unit);
            per_unit
        };
        let decide_on = |per_unit: Vec<Arc<Vec<Entity>>>| {
            let per_unit = with_fragments(per_unit);
            let all = flatten(&per_unit);
            let decision = snapshot.decide(set, Ok::<_, ()>(all.as_slice()));
            (per_unit, all, decision)
        };
        // The rule packs and dictionaries first; the NER model only if what they found leaves
        // the decision open (see policy::settled).
        let mut skipped = None;
        let scanned = match self.detection.first_pass(&texts).await {
            Err(e) => Err(e),
            Ok(first) if !first.is_partial() => Ok(decide_on(first.entities())),
            Ok(first) => {
                // Deciding on the first pass only pays when its decision may stand.
                let stands = self.skip_settled.then(|| {
                    let found = decide_on(first.entities());
                    self.settled_without_prose(&snapshot, set, &first, &found)
                        .map(|settled| (settled, found))
                });
                if let Some((settled, found)) = stands.flatten() {
                    skipped = Some(settled);
                    Ok(found)
                } else {
                    self.detection
                        .second_pass(&texts, first)
                        .await
                        .map(decide_on)
                }
            }
        };
        self.metrics.detection(started.elapsed());
        if skipped.is_some() {
            self.metrics.ner_skipped();
        }
        let (entities, all, mut decision) = match scanned {
            Ok((per_unit, all, decision)) => (Ok(per_unit), all, decision),
            Err(e) => {
                tracing::warn!(target: "sluice::gateway", error = %e, "detection failed; treating the request as sensitive");
                let decision = snapshot.decide(set, Err(()));
                (Err(e.to_string()), Vec::new(), decision)
            }
        };
        if !extracted.unscannable.is_empty() && decision.action < Action::Local {
            keep_local(
                &mut decision,
                UNSCANNABLE_RULE,
                "the request carries media (image, audio or file) that text detectors cannot scan",
            );
        }
        let redacted = match (&entities, decision.action) {
            (Ok(units), Action::Redact) => {
                match self
                    .redact
                    .redact(&request, &extracted.units, units, &decision)
                {
                    Err(RedactError::Unmaskable) => {
                        keep_local(
                            &mut decision,
                            UNMASKABLE_RULE,
                            "a value to mask is in a field that cannot carry a placeholder (an object key, a number, a function name or the model name)",
                        );
                        None
                    }
                    result => Some(result),
                }
            }
            _ => None,
        };
        self.metrics
            .entities(count_types(&all).iter().map(|(t, n)| (t.as_str(), *n)));
        Ok(Judged {
            request,
            extracted,
            entities,
            decision,
            redacted,
            skipped_ner: skipped,
        })
    }

    /// Whether the decision on the first pass's findings (`found`: per unit, all, decision)
    /// stands whatever the prose detectors would add, so that they need not run.
    fn settled_without_prose(
        &self,
        snapshot: &PolicySnapshot,
        set: &[String],
        first: &FirstScan,
        (per_unit, all, decision): &(Vec<Arc<Vec<Entity>>>, Vec<Entity>, Decision),
    ) -> Option<Settled> {
        // A non-finite score is a detector bug the settling reasoning does not follow.
        if all.iter().any(|e| !e.score.is_finite()) {
            return None;
        }
        let prose = self.detection.prose_types();
        let firm = first.firm(per_unit, prose);
        let addable = match prose {
            Some(prose) => TypeSet::of_names_or_all(first.addable(prose)),
            None => TypeSet::all(),
        };
        snapshot.settled(set, decision, &firm, addable)
    }

    /// The client presenting the request's key; an unauthenticated request is recorded as
    /// refused (for the routes outside the generating pipeline, which records its own).
    pub async fn authenticate_or_record(
        &self,
        req: &actix_web::HttpRequest,
        route: &str,
    ) -> Result<&Client, ApiError> {
        match authenticate(&self.clients, req) {
            Ok(client) => Ok(client),
            Err(error) => {
                let refused = Refused {
                    request_id: &new_request_id(),
                    route,
                    client: None,
                    unknown_key: super::auth::presented_key(req.headers()),
                    peer: req.peer_addr().map(|a| a.ip()),
                };
                self.record_refused(refused, &error).await;
                Err(error)
            }
        }
    }

    /// Records a request refused before any decision (see [`RefusedRecord`]). The refusal is
    /// answered whether or not the record could be written: nothing was forwarded either way.
    pub async fn record_refused(&self, refused: Refused<'_>, error: &ApiError) {
        let record = RefusedRecord {
            request_id: refused.request_id.to_owned(),
            route: refused.route.to_owned(),
            status: error.status_u16(),
            error_type: error.body.error.kind.clone(),
            code: error.body.error.code.clone(),
            client: refused.client.map(str::to_owned),
            key_fingerprint: refused.unknown_key.map(|key| {
                self.audit
                    .fingerprinter()
                    .fingerprint(API_KEY_FINGERPRINT_TYPE, key.trim())
                    .as_str()
                    .to_owned()
            }),
            peer: refused.peer.map(|ip| ip.to_string()),
        };
        if let Err(e) = self.audit.append(record).await {
            tracing::error!(target: "sluice::gateway", error = %e, "refused record could not be written");
        }
    }

    /// Writes the decision record and waits until it is durable. An error means 503: the request
    /// must not go anywhere.
    pub async fn record_decision(
        &self,
        request_id: &str,
        client: &Client,
        judged: &Judged,
        route: Option<&Route>,
        route_rule: Option<String>,
    ) -> Result<(), ApiError> {
        let mut evidence = EntityEvidence::new(self.audit.fingerprinter());
        if let Ok(units) = &judged.entities {
            for (unit, entities) in judged.extracted.units.iter().zip(units) {
                evidence.add_all_in_text(entities, &unit.text).map_err(|e| {
                    tracing::error!(target: "sluice::gateway", error = %e, "building audit evidence failed");
                    ApiError::unavailable("the audit record could not be built; nothing was forwarded", None)
                })?;
            }
        }
        let d = &judged.decision;
        let record = DecisionRecord {
            request_id: request_id.to_owned(),
            client: client.name.clone(),
            policies: d
                .policies
                .iter()
                .map(|p| PolicyRef {
                    name: p.name.to_string(),
                    version: p.version.to_string(),
                })
                .collect(),
            action: d.action,
            detectors: match &judged.skipped_ner {
                None => self.detector_names.clone(),
                Some(_) => self
                    .detector_names
                    .iter()
                    .filter(|d| !self.prose_detector_names.contains(d))
                    .cloned()
                    .collect(),
            },
            skipped_detectors: judged
                .skipped_ner
                .iter()
                .flat_map(|settled| {
                    self.prose_detector_names.iter().map(|d| SkippedDetector {
                        detector: d.clone(),
                        reason: settled.reason.clone(),
                    })
                })
                .collect(),
            rule_ids: d.rule_ids(),
            reasons: d.fired.iter().map(|f| f.reason.to_string()).collect(),
            entities: evidence.finish(),
            backend: route.map(|r| BackendRef {
                name: r.primary.name().to_owned(),
                on_premise: r.primary.on_premise(),
            }),
            route_rule,
        };
        let started = Instant::now();
        let result = self.audit.append(record).await;
        self.metrics.audit(started.elapsed());
        result.map(|_| ()).map_err(|e| {
            tracing::error!(target: "sluice::gateway", error = %e, "audit write failed; refusing the request");
            ApiError::unavailable("the audit log cannot be written; the request was not forwarded", Some(std::time::Duration::from_secs(5)))
                .with_code("audit_unavailable")
        })
    }
}

/// Raises `decision` to `local` for a reason of sluice's own (not a policy's), recorded as a
/// fired rule of the pseudo-policy `sluice` so the audit record explains it.
fn keep_local(decision: &mut Decision, rule: &str, reason: &str) {
    decision.action = Action::Local;
    decision.fired.push(FiredRule {
        policy: Arc::from("sluice"),
        rule: Arc::from(rule),
        action: Action::Local,
        reason: Arc::from(reason),
        triggers: Vec::new(),
    });
}

/// Every unit's entities in one list.
fn flatten(per_unit: &[Arc<Vec<Entity>>]) -> Vec<Entity> {
    per_unit.iter().flat_map(|u| u.iter().cloned()).collect()
}

/// Entity counts by type, sorted by type.
pub fn count_types(entities: &[Entity]) -> Vec<(String, usize)> {
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for e in entities {
        *counts.entry(e.entity_type.as_str()).or_default() += 1;
    }
    counts.into_iter().map(|(t, n)| (t.to_owned(), n)).collect()
}

/// A new request id: the key that joins the decision and outcome records with the response.
pub fn new_request_id() -> String {
    format!("req_{}", uuid::Uuid::new_v4().simple())
}

/// Authenticates a request by the API key it presents (`super::auth::presented_key`).
pub fn authenticate<'a>(
    clients: &'a ClientRegistry,
    req: &actix_web::HttpRequest,
) -> Result<&'a Client, ApiError> {
    super::auth::presented_key(req.headers())
        .and_then(|key| clients.authenticate_key(key))
        .ok_or_else(ApiError::unauthorized)
}
