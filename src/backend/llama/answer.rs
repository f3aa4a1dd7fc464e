//! Dressing a slot's events as OpenAI answers: chunk objects for streams, one completion object
//! otherwise.
//!
//! A stream starts with a chunk carrying `role: assistant`, then one chunk per piece of text, a
//! chunk with an empty delta and the `finish_reason`, a usage chunk (empty `choices`) when the
//! client asked for it, and `[DONE]` — the sequence OpenAI sends. Token counts are always
//! reported to the [`UsageProbe`], asked for or not.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;
use tokio::sync::mpsc;

use super::generate::GenEvent;
use crate::backend::{BackendError, ChunkStream, Completion, StreamEvent, UsageProbe};
use crate::openai::{
    ChatCompletionChunk, ChatCompletionResponse, ChatMessage, Choice, ChunkChoice, Delta, Extra,
    Role, Usage,
};

/// The envelope shared by every object of one answer.
#[derive(Debug, Clone)]
pub struct AnswerEnvelope {
    pub id: String,
    pub created: i64,
    pub model: String,
}

impl AnswerEnvelope {
    pub fn new(model: &str) -> Self {
        AnswerEnvelope {
            id: format!("chatcmpl-{}", uuid::Uuid::new_v4().simple()),
            created: chrono::Utc::now().timestamp(),
            model: model.to_owned(),
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
        self.chunk(
            vec![ChunkChoice {
                index: 0,
                delta,
                finish_reason: finish_reason.map(str::to_owned),
                logprobs: None,
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
    loop {
        match events.recv().await {
            Some(GenEvent::Text(text)) => content.push_str(&text),
            Some(GenEvent::Finished {
                reason,
                completion_tokens,
            }) => {
                return Ok(Completion::new(ChatCompletionResponse {
                    id: envelope.id,
                    object: "chat.completion".to_owned(),
                    created: envelope.created,
                    model: envelope.model,
                    choices: vec![Choice {
                        index: 0,
                        message: ChatMessage::text(Role::Assistant, content),
                        finish_reason: Some(reason.as_str().to_owned()),
                        logprobs: None,
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
    let local = LocalStream {
        events,
        envelope,
        prompt_tokens,
        include_usage,
        usage: usage.clone(),
        pending,
        ended: false,
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
}

impl LocalStream {
    fn absorb(&mut self, event: Option<GenEvent>) {
        match event {
            Some(GenEvent::Text(text)) => {
                let delta = Delta {
                    content: Some(text),
                    ..Delta::default()
                };
                self.pending.push_back(Ok(self.envelope.delta(delta, None)));
            }
            Some(GenEvent::Finished {
                reason,
                completion_tokens,
            }) => {
                let usage = Usage::new(self.prompt_tokens as u64, completion_tokens as u64);
                self.usage.set(usage.clone());
                self.pending.push_back(Ok(self
                    .envelope
                    .delta(Delta::default(), Some(reason.as_str()))));
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
