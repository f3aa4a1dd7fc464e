//! Local first, escalate when unsure: serving a cleared request on a route rule with `escalate`.
//!
//! The on-premise backend answers first, asked for token log-probabilities and never streamed,
//! so the whole answer is in hand before the client sees a byte. The rule's check
//! (`crate::route::escalate`) decides: a sure answer is returned (as a stream when the client
//! asked for one), an unsure one is dropped and the request goes on to the escalation target
//! exactly as if it had been routed there (redacted first when the decision says `redact`).
//! Both attempts get an outcome record with an `escalation` note, and the `LocalAnswerJudged`
//! event logs and counts the verdict.
//!
//! Only cleared traffic gets here: the router attaches an escalation to `allow` and `redact`
//! decisions' routes only, and [`applies`] checks it again.

use std::time::Instant;

use actix_web::{web, HttpResponse};
use serde_json::Value;

use super::chat::{self, Failure, OutcomeTracker, Served};
use super::events::LocalAnswerJudged;
use super::front::Echo;
use super::gateway::{Gateway, Judged};
use super::routing::{LocalFirst, Route};
use crate::audit::{Attempt, EscalationNote};
use crate::backend::{BackendReply, ChunkStream};
use crate::openai::ChatCompletionRequest;
use crate::policy::Action;
use crate::route::escalate::{StreamEscalation, Verdict};

/// The escalation to apply to this request, if its route has one that may serve it: not for a
/// streaming request on a route that never escalates streams.
pub(super) fn applies(route: &Route, request: &ChatCompletionRequest) -> Option<LocalFirst> {
    let escalation = route.escalation.as_ref()?;
    if request.is_stream() && escalation.check.stream == StreamEscalation::Never {
        return None;
    }
    route.primary.on_premise().then(|| escalation.clone())
}

/// Serves `judged` on its local-first `route`, chosen by route rule `rule`.
#[allow(clippy::too_many_arguments)]
pub(super) async fn dispatch(
    gateway: &web::Data<Gateway>,
    echo: Echo,
    request_id: &str,
    judged: Judged,
    route: Route,
    escalation: LocalFirst,
    rule: String,
    started: Instant,
) -> Result<(HttpResponse, Served), Failure> {
    let action = judged.decision.action;
    if !matches!(action, Action::Allow | Action::Redact) {
        // Defence in depth: the router never attaches an escalation to sensitive traffic.
        return chat::dispatch(gateway, echo, request_id, judged, route, started, None).await;
    }
    let local = route.primary.clone();
    let streamed = judged.request.is_stream();
    let client_logprobs = judged.request.extra.get("logprobs") == Some(&Value::Bool(true));
    let mut probe = judged.request.clone();
    probe.stream = None;
    probe.stream_options = None;
    probe.extra.insert("logprobs".to_owned(), Value::Bool(true));
    let attempt = chat::call(&local, probe).await;
    let (verdict, answer, status) = match attempt {
        Ok(BackendReply::Complete(completion)) => {
            let verdict = escalation
                .check
                .judge(completion.response(), wants_json(&judged.request));
            (verdict, Some(completion), 200)
        }
        Ok(BackendReply::Stream(_)) => (Verdict::failed(), None, 502),
        Err(e) => {
            tracing::warn!(target: "sluice::gateway", request_id, backend = local.name(), error = %e,
                "the local-first attempt failed");
            (Verdict::failed(), None, e.http_status())
        }
    };
    let escalated_to = (!verdict.confident()).then(|| escalation.to.name().to_owned());
    LocalAnswerJudged {
        request_id,
        rule: &rule,
        verdict: &verdict,
        escalated_to: escalated_to.as_deref(),
    }
    .emit(&gateway.metrics);
    let note = |attempt: Attempt| EscalationNote {
        attempt,
        rule: rule.clone(),
        mean_logprob: verdict.mean_logprob,
        unsure: verdict
            .unsure
            .iter()
            .map(|u| u.as_str().to_owned())
            .collect(),
        escalated_to: escalated_to.clone(),
    };
    let tokens = answer
        .as_ref()
        .and_then(|a| a.usage())
        .map(|u| (u.prompt_tokens, u.completion_tokens));
    let model = answer.as_ref().map(|a| a.response().model.clone());
    // The local answer reaches the client only when kept, as a stream if one was asked for.
    let local_outcome = |streamed: bool| {
        OutcomeTracker::new(gateway, request_id, &local, started, streamed)
            .with_escalation(Some(note(Attempt::LocalFirst)))
    };
    match answer {
        Some(mut completion) if verdict.confident() => {
            if !client_logprobs {
                for choice in &mut completion.response_mut().choices {
                    choice.logprobs = None;
                }
            }
            let reply = if streamed {
                BackendReply::Stream(ChunkStream::replay(
                    *completion,
                    judged.request.wants_stream_usage(),
                ))
            } else {
                BackendReply::Complete(completion)
            };
            let outcome = local_outcome(streamed);
            chat::respond(echo, action, local, reply, outcome)
        }
        _ => {
            local_outcome(false).record(status, tokens, model);
            let onward = Route {
                primary: escalation.to.clone(),
                fallback: None,
                escalation: None,
            };
            let note = Some(note(Attempt::Escalated));
            chat::dispatch(gateway, echo, request_id, judged, onward, started, note).await
        }
    }
}

/// Whether the request asks for a JSON answer (`response_format` `json_object` or
/// `json_schema`), which the local answer must then be.
fn wants_json(request: &ChatCompletionRequest) -> bool {
    request
        .response_format_type()
        .is_some_and(|kind| kind.starts_with("json"))
}
