//! The one request pipeline behind every generating route: `POST /v1/chat/completions`, and
//! the front ends that translate into it (`/v1/messages`, `/v1/responses`, `/v1/completions`,
//! `/v1/embeddings`; `super::front`).
//!
//! The answer carries `x-sluice-action`, `x-sluice-backend` and `x-sluice-request-id` (the id of
//! the request's decision and outcome records in the audit log). A `redact` request sent to a
//! cloud backend is rewritten with placeholders, and its answer restored, complete or streamed,
//! before it is translated back into the client's API and sent.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use crate::audit::{Attempt, BackendRef, EscalationNote, OutcomeRecord};
use crate::backend::{Backend, BackendError, BackendReply, ChunkStream, StreamItem, UsageProbe};
use crate::dialect::StreamEncoder;
use crate::openai::{ChatCompletionRequest, ErrorBody};
use crate::policy::Action;
use crate::quota::{Refusal, Spent};
use crate::redact::{restore_completion, restore_stream, RestoreError, Restorer};

use super::auth::{presented_key, Client};
use super::body::read_body;
use super::error::ApiError;
use super::events::{CloudFellBack, RequestAnswered};
use super::front::{Echo, Front};
use super::gateway::{authenticate, new_request_id, Gateway, Judged, Refused};
use super::local_first;
use super::routing::{Route, SharedBackend};

/// Every generating route, end to end. The cross-cutting parts live here once, for every front
/// end: authentication, the `x-sluice-*` headers (and the front end's own request-id header),
/// the error shape, and the `RequestAnswered` event (log line and metric together).
/// The handler of every generating route; its resource carries the [`Front`] it speaks.
pub async fn serve(
    front: web::Data<Front>,
    req: HttpRequest,
    payload: web::Payload,
    gateway: web::Data<Gateway>,
) -> HttpResponse {
    let front = **front;
    let request_id = new_request_id();
    let started = Instant::now();
    let (client, result) = match authenticate(&gateway.clients, &req) {
        Ok(client) => (
            Some(client.name.as_str()),
            handle(
                front,
                client,
                &req,
                payload,
                gateway.clone(),
                &request_id,
                started,
            )
            .await,
        ),
        Err(error) => (None, Err(Failure::from(error))),
    };
    let (mut response, action, backend) = match result {
        Ok((response, served)) => (response, Some(served.action), Some(served.backend)),
        Err(failure) => {
            gateway.quotas.forget(&request_id);
            if failure.action.is_none() {
                let refused = Refused {
                    request_id: &request_id,
                    route: front.path(),
                    client,
                    unknown_key: client
                        .is_none()
                        .then(|| presented_key(req.headers()))
                        .flatten(),
                    peer: req.peer_addr().map(|a| a.ip()),
                };
                gateway.record_refused(refused, &failure.error).await;
            }
            (
                front.error_response(&failure.error),
                failure.action,
                failure.backend,
            )
        }
    };
    RequestAnswered {
        route: front.as_str(),
        client,
        action,
        backend: backend.as_deref(),
        status: response.status().as_u16(),
    }
    .emit(&gateway.metrics);
    let headers = response.headers_mut();
    insert(headers, "x-sluice-request-id", &request_id);
    if let Some(name) = front.request_id_header() {
        insert(headers, name, &request_id);
    }
    if let Some(action) = action {
        insert(headers, "x-sluice-action", action.as_str());
    }
    if let Some(backend) = &backend {
        insert(headers, "x-sluice-backend", backend);
    }
    response
}

/// Who answered a request that got an answer.
pub(super) struct Served {
    action: Action,
    backend: String,
}

impl Served {
    fn new(action: Action, backend: &SharedBackend) -> Self {
        Served {
            action,
            backend: backend.name().to_owned(),
        }
    }
}

/// An error answer and what was known when it happened (for headers and metrics).
pub(super) struct Failure {
    error: ApiError,
    action: Option<Action>,
    backend: Option<String>,
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure {
            error,
            action: None,
            backend: None,
        }
    }
}

async fn handle(
    front: Front,
    client: &Client,
    req: &HttpRequest,
    payload: web::Payload,
    gateway: web::Data<Gateway>,
    request_id: &str,
    started: Instant,
) -> Result<(HttpResponse, Served), Failure> {
    gateway
        .quotas
        .admit(&client.name, request_id, chrono::Utc::now())
        .await
        .map_err(|refusal| match refusal {
            Refusal::Over { limit, retry_after } => ApiError::rate_limited(limit, retry_after),
            Refusal::StoreUnavailable { retry_after } => ApiError::limits_unavailable(retry_after),
        })?;
    let body = read_body(req, payload, &gateway.limits).await?;
    let (body, echo) = front.translate(body)?;
    let judged = gateway.judge(client, body).await?;
    let action = judged.decision.action;
    let task = req
        .headers()
        .get(crate::route::TASK_HEADER)
        .and_then(|v| v.to_str().ok());
    let (route, route_rule) = gateway.router.route_request(action, &judged.request, task);
    if let Some(route) = &route {
        // Defence in depth: the config check already guarantees this.
        if !matches!(action, Action::Allow | Action::Redact) && !route.primary.on_premise() {
            return Err(Failure {
                error: ApiError::new(
                    500,
                    "server_error",
                    "routing error: sensitive request routed off premise; refused",
                ),
                action: Some(action),
                backend: None,
            });
        }
    }
    let route_rule_name = route_rule.clone();
    gateway
        .record_decision(request_id, client, &judged, route.as_ref(), route_rule)
        .await
        .map_err(|error| Failure {
            error,
            action: Some(action),
            backend: None,
        })?;
    let Some(route) = route else {
        return Err(Failure {
            error: blocked(&judged),
            action: Some(action),
            backend: None,
        });
    };
    if front == Front::Embeddings {
        return dispatch_embeddings(&gateway, request_id, judged, route, started).await;
    }
    if let Some(escalation) = local_first::applies(&route, &judged.request) {
        let rule = route_rule_name.unwrap_or_default();
        return local_first::dispatch(
            &gateway, echo, request_id, judged, route, escalation, rule, started,
        )
        .await;
    }
    dispatch(&gateway, echo, request_id, judged, route, started, None).await
}

/// Embeds the (possibly redacted) inputs on the routed backend; a cloud that fails before
/// answering, or has no embeddings API, hands the original inputs to the local model. Vectors
/// carry no placeholders, so nothing is restored.
async fn dispatch_embeddings(
    gateway: &web::Data<Gateway>,
    request_id: &str,
    judged: Judged,
    route: Route,
    started: Instant,
) -> Result<(HttpResponse, Served), Failure> {
    let action = judged.decision.action;
    let failure = |error: ApiError, backend: &SharedBackend| Failure {
        error,
        action: Some(action),
        backend: Some(backend.name().to_owned()),
    };
    let request = match outbound(&judged, &route.primary) {
        Ok((request, _)) => crate::dialect::embeddings::from_chat(&request),
        Err(error) => {
            OutcomeTracker::new(gateway, request_id, &route.primary, started, false).record(
                error.status_u16(),
                None,
                None,
            );
            return Err(failure(error, &route.primary));
        }
    };
    let (backend, answer) = match route.primary.embed(request).await {
        Ok(answer) => (route.primary.clone(), answer),
        Err(e) if route.fallback.is_some() && is_fallback_worthy(&e) => {
            let local = route.fallback.clone().expect("checked");
            CloudFellBack {
                request_id,
                from: route.primary.name(),
                to: local.name(),
                error: &e,
            }
            .emit(&gateway.metrics);
            let original = crate::dialect::embeddings::from_chat(&judged.request);
            match local.embed(original).await {
                Ok(answer) => (local, answer),
                Err(e) => {
                    let outcome = OutcomeTracker::new(gateway, request_id, &local, started, false);
                    return Err(backend_failure(outcome, &local, e, action));
                }
            }
        }
        Err(e) => {
            let outcome = OutcomeTracker::new(gateway, request_id, &route.primary, started, false);
            return Err(backend_failure(outcome, &route.primary, e, action));
        }
    };
    OutcomeTracker::new(gateway, request_id, &backend, started, false).record(
        200,
        answer.prompt_tokens.map(|t| (t, 0)),
        Some(judged.request.model.clone()),
    );
    let response = HttpResponse::Ok()
        .content_type("application/json")
        .body(answer.body);
    Ok((response, Served::new(action, &backend)))
}

/// 403 naming the rules and entity types that blocked the request, never the values.
fn blocked(judged: &Judged) -> ApiError {
    let mut reasons: Vec<String> = Vec::new();
    for f in &judged.decision.fired {
        if f.action != Action::Block {
            continue;
        }
        let types: Vec<String> = f
            .triggers
            .iter()
            .map(|t| format!("{} x{}", t.entity_type, t.count))
            .collect();
        reasons.push(format!(
            "{}/{}: {} [{}]",
            f.policy,
            f.rule,
            f.reason,
            types.join(", ")
        ));
    }
    if reasons.is_empty() {
        reasons.push("blocked by policy".into());
    }
    ApiError::new(
        403,
        "permission_denied",
        format!("request blocked by sluice policy: {}", reasons.join("; ")),
    )
    .with_code("blocked_by_policy")
}

/// Serves a decided request on its route (`escalation`: the note every outcome record of an
/// escalated local-first request carries).
pub(super) async fn dispatch(
    gateway: &web::Data<Gateway>,
    echo: Echo,
    request_id: &str,
    judged: Judged,
    route: Route,
    started: Instant,
    escalation: Option<EscalationNote>,
) -> Result<(HttpResponse, Served), Failure> {
    let tracker = |backend: &SharedBackend, streamed: bool| {
        OutcomeTracker::new(gateway, request_id, backend, started, streamed)
            .with_escalation(escalation.clone())
    };
    let action = judged.decision.action;
    let streamed = judged.request.is_stream();
    let (request, restorer) = match outbound(&judged, &route.primary) {
        Ok(prepared) => prepared,
        Err(error) => {
            tracker(&route.primary, streamed).record(error.status_u16(), None, None);
            return Err(Failure {
                error,
                action: Some(action),
                backend: Some(route.primary.name().to_owned()),
            });
        }
    };
    let (backend, reply, restorer) = match call(&route.primary, request).await {
        Ok(reply) => (route.primary.clone(), reply, restorer),
        Err(e) if route.fallback.is_some() && is_fallback_worthy(&e) => {
            let local = route.fallback.clone().expect("checked");
            CloudFellBack {
                request_id,
                from: route.primary.name(),
                to: local.name(),
                error: &e,
            }
            .emit(&gateway.metrics);
            // On premise the original request is served, so there is nothing to restore.
            match call(&local, judged.request).await {
                Ok(reply) => (local, reply, None),
                Err(e) => {
                    return Err(backend_failure(
                        tracker(&local, streamed),
                        &local,
                        e,
                        action,
                    ))
                }
            }
        }
        Err(e) => {
            return Err(backend_failure(
                tracker(&route.primary, streamed),
                &route.primary,
                e,
                action,
            ))
        }
    };
    let reply = match restorer {
        Some(restorer) => match restore(reply, restorer) {
            Ok(reply) => reply,
            Err(e) => {
                tracing::warn!(target: "sluice::gateway", request_id, backend = backend.name(), error = %e,
                    "restoring the answer failed");
                let error = ApiError::new(
                    502,
                    "server_error",
                    format!("the answer could not be restored: {e}"),
                )
                .with_code("restore_failed");
                tracker(&backend, streamed).record(502, None, None);
                return Err(Failure {
                    error,
                    action: Some(action),
                    backend: Some(backend.name().to_owned()),
                });
            }
        },
        None => reply,
    };
    let outcome = tracker(&backend, streamed);
    respond(echo, action, backend, reply, outcome)
}

/// Sends an answer to the client in its API, and records the outcome once it is complete.
// A failure is built at most once per request and turned into a response at once; boxing it
// would only move the bytes.
#[allow(clippy::result_large_err)]
pub(super) fn respond(
    echo: Echo,
    action: Action,
    backend: SharedBackend,
    reply: BackendReply,
    outcome: OutcomeTracker,
) -> Result<(HttpResponse, Served), Failure> {
    let served = Served::new(action, &backend);
    let mut response = HttpResponse::Ok();
    match reply {
        BackendReply::Complete(completion) => {
            let usage = completion.usage().cloned();
            let model = completion.response().model.clone();
            let tokens = usage.map(|u| (u.prompt_tokens, u.completion_tokens));
            let body = match echo.answer(&completion) {
                Ok(body) => body,
                Err(error) => {
                    tracing::warn!(target: "sluice::gateway", request_id = %outcome.request_id, backend = backend.name(),
                        "the answer cannot be given in the client's API");
                    outcome.record(error.status_u16(), tokens, Some(model));
                    return Err(Failure {
                        error,
                        action: Some(action),
                        backend: Some(backend.name().to_owned()),
                    });
                }
            };
            outcome.record(200, tokens, Some(model));
            Ok((response.content_type("application/json").body(body), served))
        }
        BackendReply::Stream(stream) => {
            let body = AuditedStream::new(stream, outcome, echo.encoder());
            let response = response
                .content_type("text/event-stream")
                .insert_header(("cache-control", "no-cache"))
                .streaming(body);
            Ok((response, served))
        }
    }
}

/// The request `backend` may receive, and what restores the answer if it was rewritten. An
/// on-premise backend, or a cleared (`allow`) request, gets the original. A `redact` request
/// leaves the premises only with its entities replaced by placeholders; any other action never
/// leaves them.
fn outbound(
    judged: &Judged,
    backend: &SharedBackend,
) -> Result<(ChatCompletionRequest, Option<Arc<Restorer>>), ApiError> {
    let action = judged.decision.action;
    if backend.on_premise() || action == Action::Allow {
        return Ok((judged.request.clone(), None));
    }
    let refused =
        |why: &str| ApiError::new(500, "server_error", format!("{why}; nothing was forwarded"));
    if action != Action::Redact {
        return Err(refused(
            "routing error: sensitive request routed off premise",
        ));
    }
    let redacted = match &judged.redacted {
        None => return Err(refused("redaction needs a scan and detection failed")),
        Some(Err(e)) => {
            tracing::error!(target: "sluice::gateway", error = %e, "redaction failed");
            return Err(refused(&format!("the request could not be redacted ({e})")));
        }
        Some(Ok(redacted)) => redacted,
    };
    let restorer = (!redacted.restorer.is_empty()).then(|| redacted.restorer.clone());
    Ok((redacted.request.clone(), restorer))
}

/// The answer with placeholders restored: a complete one now, a stream as it flows.
fn restore(reply: BackendReply, restorer: Arc<Restorer>) -> Result<BackendReply, RestoreError> {
    match reply {
        BackendReply::Complete(mut completion) => {
            restore_completion(&mut completion, &restorer)?;
            Ok(BackendReply::Complete(completion))
        }
        BackendReply::Stream(stream) => Ok(BackendReply::Stream(restore_stream(stream, restorer))),
    }
}

pub(super) async fn call(
    backend: &SharedBackend,
    request: ChatCompletionRequest,
) -> Result<BackendReply, BackendError> {
    backend.chat(request).await
}

/// Failures where the cloud never answered, so serving locally changes nothing for the client
/// but where the text went: only ever tighter.
fn is_fallback_worthy(e: &BackendError) -> bool {
    match e {
        BackendError::Unavailable { .. }
        | BackendError::Timeout
        | BackendError::Protocol { .. } => true,
        BackendError::Upstream { status, .. } => *status >= 500 || *status == 429,
        BackendError::Busy { .. } | BackendError::BadRequest { .. } | BackendError::Cancelled => {
            false
        }
    }
}

pub(super) fn backend_failure(
    outcome: OutcomeTracker,
    backend: &Arc<dyn Backend>,
    e: BackendError,
    action: Action,
) -> Failure {
    tracing::warn!(target: "sluice::gateway", request_id = %outcome.request_id, backend = backend.name(), error = %e, "backend failed");
    let status = e.http_status();
    let body = match &e {
        // An upstream's own error body is relayed when it is OpenAI-shaped: it is the cloud's
        // answer to text that was cleared to go there.
        BackendError::Upstream { body, .. } => {
            serde_json::from_slice::<ErrorBody>(body).unwrap_or_else(|_| e.to_error_body())
        }
        _ => e.to_error_body(),
    };
    outcome.record(status, None, None);
    Failure {
        error: ApiError {
            status: actix_web::http::StatusCode::from_u16(status)
                .unwrap_or(actix_web::http::StatusCode::BAD_GATEWAY),
            body,
            retry_after: e.retry_after(),
        },
        action: Some(action),
        backend: Some(backend.name().to_owned()),
    }
}

/// Writes the outcome record of a request once its answer is complete (or abandoned).
pub(super) struct OutcomeTracker {
    gateway: web::Data<Gateway>,
    request_id: String,
    backend: BackendRef,
    started: Instant,
    streamed: bool,
    escalation: Option<EscalationNote>,
}

impl OutcomeTracker {
    pub(super) fn new(
        gateway: &web::Data<Gateway>,
        request_id: &str,
        backend: &SharedBackend,
        started: Instant,
        streamed: bool,
    ) -> Self {
        OutcomeTracker {
            gateway: gateway.clone(),
            request_id: request_id.to_owned(),
            backend: BackendRef {
                name: backend.name().to_owned(),
                on_premise: backend.on_premise(),
            },
            started,
            streamed,
            escalation: None,
        }
    }

    /// Marks the record as one attempt of a local-first route.
    pub(super) fn with_escalation(mut self, note: Option<EscalationNote>) -> Self {
        self.escalation = note;
        self
    }

    /// The outcome is recorded in the background: the answer is already on its way, and a failed
    /// outcome write is logged (the decision record, written before forwarding, stands).
    pub(super) fn record(self, status: u16, tokens: Option<(u64, u64)>, model: Option<String>) {
        self.gateway
            .metrics
            .backend(&self.backend.name, self.started.elapsed());
        if let Some((input, output)) = tokens {
            self.gateway
                .metrics
                .tokens(&self.backend.name, input, output);
        }
        let model = model.map(|m| self.gateway.models.label(&m));
        let cost = match (tokens, &self.gateway.prices) {
            (Some((input, output)), Some(prices)) if !self.backend.on_premise => prices
                .price(model.as_deref())
                .map_or(0.0, |price| price.of(input, output)),
            _ => 0.0,
        };
        let spent = Spent {
            tokens: tokens.map_or(0, |(input, output)| input + output),
            cost,
        };
        let last = !self
            .escalation
            .as_ref()
            .is_some_and(|e| e.attempt == Attempt::LocalFirst && e.escalated_to.is_some());
        self.gateway
            .quotas
            .spend(&self.request_id, spent, chrono::Utc::now(), last);
        let record = OutcomeRecord {
            request_id: self.request_id,
            status,
            latency_ms: self.started.elapsed().as_secs_f64() * 1000.0,
            tokens_in: tokens.map(|t| t.0),
            tokens_out: tokens.map(|t| t.1),
            backend: Some(self.backend),
            // The upstream may echo the client's model name: only configured names are recorded.
            model,
            streamed: self.streamed,
            escalation: self.escalation,
        };
        let audit = self.gateway.audit.clone();
        tokio::spawn(async move {
            if let Err(e) = audit.append(record).await {
                tracing::error!(target: "sluice::gateway", error = %e, "outcome record could not be written");
            }
        });
    }
}

/// Status recorded when the client went away before the stream ended (nginx's convention).
const CLIENT_CLOSED: u16 = 499;

/// The response body of a streamed answer: forwards events as they come (translated by the
/// front end's encoder, if it has one), and records the outcome when the stream ends, fails, or
/// is dropped because the client disconnected (which also drops the backend stream and so stops
/// generation).
struct AuditedStream {
    inner: ChunkStream,
    usage: UsageProbe,
    model: Option<String>,
    outcome: Option<OutcomeTracker>,
    finished: Option<u16>,
    encoder: Option<Box<dyn StreamEncoder>>,
}

impl AuditedStream {
    fn new(
        inner: ChunkStream,
        outcome: OutcomeTracker,
        encoder: Option<Box<dyn StreamEncoder>>,
    ) -> Self {
        let usage = inner.usage_probe();
        AuditedStream {
            inner,
            usage,
            model: None,
            outcome: Some(outcome),
            finished: None,
            encoder,
        }
    }

    fn finish(&mut self, status: u16) {
        if let Some(outcome) = self.outcome.take() {
            let tokens = self
                .usage
                .get()
                .map(|u| (u.prompt_tokens, u.completion_tokens));
            outcome.record(status, tokens, self.model.take());
        }
    }

    /// The bytes for one backend event: as received for chat clients, else the encoder's
    /// events (none for keep-alives and events it has no use for).
    fn translate(&mut self, event: &crate::backend::StreamEvent) -> Option<Bytes> {
        let Some(encoder) = self.encoder.as_mut() else {
            return Some(event.to_bytes());
        };
        let events = match event.item() {
            StreamItem::Chunk(chunk) => encoder.chunk(chunk),
            StreamItem::Done => {
                self.finished = Some(200);
                encoder.finish()
            }
            // An upstream's in-band error object: the answer is over, and the client hears so
            // in its own API's shape.
            StreamItem::Other { data: Some(_) } => {
                self.finished = Some(502);
                encoder.error(502, "the upstream failed mid-answer")
            }
            StreamItem::Other { data: None } => Vec::new(),
        };
        (!events.is_empty()).then(|| Bytes::from(events.concat()))
    }
}

impl Stream for AuditedStream {
    type Item = Result<Bytes, actix_web::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(status) = this.finished {
                this.finish(status);
                return Poll::Ready(None);
            }
            match this.inner.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(event))) => {
                    if this.model.is_none() {
                        if let Some(chunk) = event.as_chunk() {
                            this.model = Some(chunk.model.clone());
                        }
                    }
                    if let Some(bytes) = this.translate(&event) {
                        return Poll::Ready(Some(Ok(bytes)));
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    // Headers are gone; tell the client in-band, in its API's error shape, then
                    // end.
                    tracing::warn!(target: "sluice::gateway", error = %e, "stream failed mid-answer");
                    let status = e.http_status();
                    this.finished = Some(status);
                    let bytes = match this.encoder.as_mut() {
                        None => crate::openai::sse::encode_event(&e.to_error_body()),
                        Some(encoder) => Bytes::from(
                            encoder
                                .error(status, &e.to_error_body().error.message)
                                .concat(),
                        ),
                    };
                    return Poll::Ready(Some(Ok(bytes)));
                }
                Poll::Ready(None) => {
                    // A stream that ended without `[DONE]` still ends the client's answer.
                    let tail = this
                        .encoder
                        .as_mut()
                        .map(|encoder| encoder.finish().concat())
                        .filter(|tail| !tail.is_empty());
                    this.finished = Some(200);
                    if let Some(tail) = tail {
                        return Poll::Ready(Some(Ok(Bytes::from(tail))));
                    }
                }
            }
        }
    }
}

impl Drop for AuditedStream {
    fn drop(&mut self) {
        self.finish(CLIENT_CLOSED);
    }
}

fn insert(headers: &mut actix_web::http::header::HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(value) {
        headers.insert(actix_web::http::header::HeaderName::from_static(name), v);
    }
}
