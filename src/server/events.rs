//! The gateway's internal events. Each is a type whose `emit` writes its log line and updates
//! its metric together (Vector's pattern), so that what the logs say and what `/metrics` counts
//! cannot drift apart, and so that every field an event may carry is visible in one place: ids,
//! names from the config and closed vocabularies, never request text.

use super::metrics::Metrics;
use crate::backend::BackendError;
use crate::policy::Action;
use crate::route::escalate::Verdict;

/// A generating request got its answer (or its error).
pub struct RequestAnswered<'a> {
    /// The front end (`Front::as_str`).
    pub route: &'static str,
    /// The configured client name; `None` before authentication.
    pub client: Option<&'a str>,
    pub action: Option<Action>,
    /// The configured backend name, once one was chosen.
    pub backend: Option<&'a str>,
    pub status: u16,
}

impl RequestAnswered<'_> {
    pub fn emit(self, metrics: &Metrics) {
        let action = self.action.map_or("none", Action::as_str);
        let client = self.client.unwrap_or("unauthenticated");
        let backend = self.backend.unwrap_or("none");
        tracing::debug!(target: "sluice::gateway", route = self.route, client, action, backend,
            status = self.status, "request answered");
        metrics.request(self.route, client, action, backend, self.status);
    }
}

/// A cloud backend failed before answering and the local model serves the request instead.
pub struct CloudFellBack<'a> {
    pub request_id: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    /// Backend errors never carry request text.
    pub error: &'a BackendError,
}

impl CloudFellBack<'_> {
    pub fn emit(self, metrics: &Metrics) {
        tracing::warn!(target: "sluice::gateway", request_id = self.request_id, backend = self.from,
            fallback = self.to, error = %self.error, "cloud backend failed before answering; serving locally");
        metrics.fallback(self.from, self.to);
    }
}

/// A local-first route checked its local answer: returned it, or sent the request on.
pub struct LocalAnswerJudged<'a> {
    pub request_id: &'a str,
    /// The route rule (a name from the config).
    pub rule: &'a str,
    pub verdict: &'a Verdict,
    /// Where the request went on to; `None` when the local answer was kept.
    pub escalated_to: Option<&'a str>,
}

impl LocalAnswerJudged<'_> {
    pub fn emit(self, metrics: &Metrics) {
        let reasons: Vec<&str> = self.verdict.unsure.iter().map(|u| u.as_str()).collect();
        let verdict = if self.escalated_to.is_some() {
            "escalated"
        } else {
            "kept"
        };
        tracing::info!(target: "sluice::gateway", request_id = self.request_id, rule = self.rule,
            verdict, mean_logprob = ?self.verdict.mean_logprob, unsure = ?reasons,
            escalated_to = self.escalated_to, "local-first answer judged");
        metrics.local_first(self.rule, verdict, &reasons);
    }
}

/// A policy file was (re)loaded, or a reload was refused.
pub struct PolicyReloaded<'a> {
    pub loaded: bool,
    /// The event's own description (policy name, file, version; errors name lines, not text).
    pub description: &'a str,
}

impl PolicyReloaded<'_> {
    pub fn emit(self, metrics: &Metrics) {
        if self.loaded {
            tracing::info!(target: "sluice::policy", "{}", self.description);
        } else {
            tracing::error!(target: "sluice::policy", "{}", self.description);
        }
        metrics.policy_reload(if self.loaded { "loaded" } else { "rejected" });
    }
}
