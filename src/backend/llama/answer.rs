//! Dressing a slot's events as OpenAI answers: chunk objects for streams, one completion object
//! otherwise.
//!
//! A stream starts with a chunk carrying `role: assistant`, then one chunk per piece of text, a
//! chunk with an empty delta and the `finish_reason`, a usage chunk (empty `choices`) when the
//! client asked for it, and `[DONE]` — the sequence OpenAI sends. Token counts are always
//! reported to the [`UsageProbe`], asked for or not.
//!
//! When tools were offered, an answer that is a call (it starts with `{`; the grammar made it
//! well-formed) becomes `tool_calls` with `finish_reason: "tool_calls"`. A stream holds back
//! only leading whitespace until the first character shows which it is: text streams as it
//! comes, a call is sent whole once complete, as one tool-call delta.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;
use tokio::sync::mpsc;

use super::generate::GenEvent;
use super::logprobs::{content_json, TokenLogprob};
use super::tools::parse_call;
use crate::backend::{BackendError, ChunkStream, Completion, StreamEvent, UsageProbe};
use crate::openai::{
    ChatCompletionChunk, ChatCompletionResponse, ChatMessage, Choice, ChunkChoice, Delta, Extra,
    FunctionCallDelta, Role, ToolCallDelta, Usage,
};

/// The envelope shared by every object of one answer.
#[derive(Debug, Clone)]
pub struct AnswerEnvelope {
    pub id: String,
    pub created: i64,
    pub model: String,
    /// Whether the answer may be a tool call.
    pub tools: bool,
}

impl AnswerEnvelope {
    pub fn new(model: &str, tools: bool) -> Self {
        AnswerEnvelope {
            id: format!("chatcmpl-{}", uuid::Uuid::new_v4().simple()),
            created: chrono::Utc::now().timestamp(),
            model: model.to_owned(),
            tools,
        }
    }

    fn chunk(&self, choices: Vec<ChunkChoice>, usage: Option<Usage>) -> StreamEvent {
        StreamEvent::chunk(ChatCompletionChunk {
            id: self.id.clone(),
            object: "chat.completion.chunk".to_owned(),
            created: self.created,
            model: self.model.clone(),
            choices,
            usage,
            system_fingerprint: None,
            extra: Extra::new(),
        })
    }

    fn delta(&self, delta: Delta, finish_reason: Option<&str>) -> StreamEvent {
        self.scored_delta(delta, finish_reason, None)
    }

    fn scored_delta(
        &self,
        delta: Delta,
        finish_reason: Option<&str>,
        logprobs: Option<serde_json::Value>,
    ) -> StreamEvent {
        self.chunk(
            vec![ChunkChoice {
                index: 0,
                delta,
                finish_reason: finish_reason.map(str::to_owned),
                logprobs,
                extra: Extra::new(),
            }],
            None,
        )
    }
}

/// Collects a whole answer (non-streaming requests).
pub async fn collect(
    mut events: mpsc::Receiver<GenEvent>,
    envelope: AnswerEnvelope,
    prompt_tokens: usize,
) -> Result<Completion, BackendError> {
    let mut content = String::new();
    let mut scored: Option<Vec<TokenLogprob>> = None;
    loop {
        match events.recv().await {
            Some(GenEvent::Text(text)) => content.push_str(&text),
            Some(GenEvent::Logprobs(tokens)) => scored.get_or_insert_with(Vec::new).extend(tokens),
            Some(GenEvent::Finished {
                reason,
                completion_tokens,
            }) => {
                let call = envelope.tools.then(|| parse_call(&content)).flatten();
                let (message, finish_reason) = match call {
                    Some(call) => (
                        ChatMessage {
                            content: None,
                            tool_calls: Some(vec![call]),
                            ..ChatMessage::text(Role::Assistant, "")
                        },
                        TOOL_CALLS,
                    ),
                    None => (ChatMessage::text(Role::Assistant, content), reason.as_str()),
                };
                return Ok(Completion::new(ChatCompletionResponse {
                    id: envelope.id,
                    object: "chat.completion".to_owned(),
                    created: envelope.created,
                    model: envelope.model,
                    choices: vec![Choice {
                        index: 0,
                        message,
                        finish_reason: Some(finish_reason.to_owned()),
                        logprobs: scored.as_deref().map(content_json),
                        extra: Extra::new(),
                    }],
                    usage: Some(Usage::new(prompt_tokens as u64, completion_tokens as u64)),
                    system_fingerprint: None,
                    extra: Extra::new(),
                }));
            }
            Some(GenEvent::Failed(error)) => return Err(error),
            Some(GenEvent::Started { .. }) => {}
            None => return Err(worker_vanished()),
        }
    }
}

/// The finish reason of an answer that is a tool call.
const TOOL_CALLS: &str = "tool_calls";

fn worker_vanished() -> BackendError {
    BackendError::unavailable("the generation stopped unexpectedly")
}

/// Streams an answer as chunk events.
pub fn stream(
    events: mpsc::Receiver<GenEvent>,
    envelope: AnswerEnvelope,
    prompt_tokens: usize,
    include_usage: bool,
) -> ChunkStream {
    let usage = UsageProbe::default();
    let mut pending = VecDeque::new();
    pending.push_back(Ok(envelope.delta(
        Delta {
            role: Some(Role::Assistant),
            content: Some(String::new()),
            ..Delta::default()
        },
        None,
    )));
    let held = envelope.tools.then(String::new);
    let local = LocalStream {
        events,
        envelope,
        prompt_tokens,
        include_usage,
        usage: usage.clone(),
        pending,
        ended: false,
        held,
        scored: Vec::new(),
    };
    ChunkStream::new(Box::pin(local), usage)
}

struct LocalStream {
    events: mpsc::Receiver<GenEvent>,
    envelope: AnswerEnvelope,
    prompt_tokens: usize,
    include_usage: bool,
    usage: UsageProbe,
    pending: VecDeque<Result<StreamEvent, BackendError>>,
    ended: bool,
    /// Text held back while it may still be a tool call (`None`: stream text as it comes).
    held: Option<String>,
    /// Log-probabilities of the tokens behind the next text chunk.
    scored: Vec<TokenLogprob>,
}

impl LocalStream {
    fn text(&mut self, text: String) {
        let delta = Delta {
            content: Some(text),
            ..Delta::default()
        };
        let scored = std::mem::take(&mut self.scored);
        let logprobs = (!scored.is_empty()).then(|| content_json(&scored));
        self.pending
            .push_back(Ok(self.envelope.scored_delta(delta, None, logprobs)));
    }

    /// Holds `text` while the answer may be a tool call; releases it once it is plain text.
    fn hold_or_send(&mut self, text: String) {
        let Some(held) = &mut self.held else {
            return self.text(text);
        };
        held.push_str(&text);
        match held.trim_start().chars().next() {
            None | Some('{') => {}
            Some(_) => {
                let released = std::mem::take(held);
                self.held = None;
                self.text(released);
            }
        }
    }

    /// The held answer, at its end: one tool-call delta if it is a call, else its text. The
    /// finish reason to report.
    fn release(&mut self, reason: &'static str) -> &'static str {
        let Some(held) = self.held.take() else {
            return reason;
        };
        match parse_call(&held) {
            Some(call) => {
                let delta = Delta {
                    tool_calls: Some(vec![ToolCallDelta {
                        index: 0,
                        id: Some(call.id),
                        kind: Some(call.kind),
                        function: Some(FunctionCallDelta {
                            name: Some(call.function.name),
                            arguments: Some(call.function.arguments),
                            extra: Extra::new(),
                        }),
                        extra: Extra::new(),
                    }]),
                    ..Delta::default()
                };
                self.pending.push_back(Ok(self.envelope.delta(delta, None)));
                TOOL_CALLS
            }
            None => {
                if !held.is_empty() {
                    self.text(held);
                }
                reason
            }
        }
    }

    fn absorb(&mut self, event: Option<GenEvent>) {
        match event {
            Some(GenEvent::Text(text)) => self.hold_or_send(text),
            Some(GenEvent::Logprobs(tokens)) => self.scored.extend(tokens),
            Some(GenEvent::Finished {
                reason,
                completion_tokens,
            }) => {
                let usage = Usage::new(self.prompt_tokens as u64, completion_tokens as u64);
                self.usage.set(usage.clone());
                let reason = self.release(reason.as_str());
                let scored = std::mem::take(&mut self.scored);
                let logprobs = (!scored.is_empty()).then(|| content_json(&scored));
                self.pending.push_back(Ok(self.envelope.scored_delta(
                    Delta::default(),
                    Some(reason),
                    logprobs,
                )));
                if self.include_usage {
                    self.pending
                        .push_back(Ok(self.envelope.chunk(Vec::new(), Some(usage))));
                }
                self.pending.push_back(Ok(StreamEvent::done()));
                self.ended = true;
            }
            Some(GenEvent::Failed(error)) => {
                self.pending.push_back(Err(error));
                self.ended = true;
            }
            Some(GenEvent::Started { .. }) => {}
            None => {
                self.pending.push_back(Err(worker_vanished()));
                self.ended = true;
            }
        }
    }
}

impl Stream for LocalStream {
    type Item = Result<StreamEvent, BackendError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(item) = this.pending.pop_front() {
                return Poll::Ready(Some(item));
            }
            if this.ended {
                return Poll::Ready(None);
            }
            match this.events.poll_recv(cx) {
                Poll::Ready(event) => this.absorb(event),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
