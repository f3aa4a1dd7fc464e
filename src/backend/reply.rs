//! The shape of a backend's answer, designed around what the server does with it.
//!
//! * Pass-through: an upstream's bytes are kept next to the parsed value ([`Completion::to_bytes`],
//!   [`StreamEvent::to_bytes`]) and forwarded as received while nobody changed the value.
//! * Rewriting (restoring redaction placeholders): the `*_mut` accessors hand out the parsed
//!   value and drop the raw bytes, so the rewritten value is what gets serialized.
//! * Accounting: [`UsageProbe`] reports the token counts once known, even when the client did
//!   not ask for a usage chunk (the embedded model always reports them).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::Stream;

use super::BackendError;
use crate::openai::sse::{self, SseEvent};
use crate::openai::{
    ChatCompletionChunk, ChatCompletionResponse, ChunkChoice, Delta, FunctionCallDelta,
    ToolCallDelta, Usage,
};

/// A backend's answer.
pub enum BackendReply {
    /// The answer to a non-streaming request.
    Complete(Box<Completion>),
    /// The answer to a streaming request. Events come as the backend produces them; an `Err`
    /// ends the stream (the first bytes may already be with the client).
    Stream(ChunkStream),
}

impl std::fmt::Debug for BackendReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BackendReply::Complete(_) => f.write_str("BackendReply::Complete"),
            BackendReply::Stream(_) => f.write_str("BackendReply::Stream"),
        }
    }
}

/// A complete answer, with the upstream's exact bytes while it is unchanged.
#[derive(Debug, Clone)]
pub struct Completion {
    response: ChatCompletionResponse,
    raw: Option<Bytes>,
}

impl Completion {
    /// An answer produced by sluice itself.
    pub fn new(response: ChatCompletionResponse) -> Self {
        Completion {
            response,
            raw: None,
        }
    }

    /// An answer received from an upstream as `raw`.
    pub fn from_upstream(raw: Bytes) -> Result<Self, serde_json::Error> {
        let response = serde_json::from_slice(&raw)?;
        Ok(Completion {
            response,
            raw: Some(raw),
        })
    }

    pub fn response(&self) -> &ChatCompletionResponse {
        &self.response
    }

    /// The answer for rewriting; from now on [`Self::to_bytes`] serializes it.
    pub fn response_mut(&mut self) -> &mut ChatCompletionResponse {
        self.raw = None;
        &mut self.response
    }

    pub fn into_response(self) -> ChatCompletionResponse {
        self.response
    }

    pub fn usage(&self) -> Option<&Usage> {
        self.response.usage.as_ref()
    }

    /// Whether [`Self::to_bytes`] returns the upstream's bytes unchanged.
    pub fn is_verbatim(&self) -> bool {
        self.raw.is_some()
    }

    /// The JSON body to send to the client.
    pub fn to_bytes(&self) -> Bytes {
        match &self.raw {
            Some(raw) => raw.clone(),
            None => Bytes::from(
                serde_json::to_vec(&self.response).expect("wire types always serialize"),
            ),
        }
    }
}

/// What one SSE event carries.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamItem {
    /// A `chat.completion.chunk` object.
    Chunk(Box<ChatCompletionChunk>),
    /// `data: [DONE]`.
    Done,
    /// Anything else an upstream sent: comments and keep-alives (`data` is `None`), error
    /// objects, data that is not a chunk. Forwarded as received.
    Other { data: Option<String> },
}

/// One event of a streamed answer.
#[derive(Debug, Clone)]
pub struct StreamEvent {
    item: StreamItem,
    raw: Option<Bytes>,
}

impl StreamEvent {
    pub fn chunk(chunk: ChatCompletionChunk) -> Self {
        StreamEvent {
            item: StreamItem::Chunk(Box::new(chunk)),
            raw: None,
        }
    }

    pub fn done() -> Self {
        StreamEvent {
            item: StreamItem::Done,
            raw: None,
        }
    }

    /// Classifies an upstream event, keeping its bytes.
    pub fn from_sse(event: SseEvent) -> Self {
        let item = match event.data.as_deref() {
            Some(sse::DONE_DATA) => StreamItem::Done,
            Some(data) => match serde_json::from_str::<ChatCompletionChunk>(data) {
                Ok(chunk) if chunk.extra.get("error").is_none() => {
                    StreamItem::Chunk(Box::new(chunk))
                }
                _ => StreamItem::Other {
                    data: event.data.clone(),
                },
            },
            None => StreamItem::Other { data: None },
        };
        StreamEvent {
            item,
            raw: Some(event.raw),
        }
    }

    pub fn item(&self) -> &StreamItem {
        &self.item
    }

    pub fn as_chunk(&self) -> Option<&ChatCompletionChunk> {
        match &self.item {
            StreamItem::Chunk(chunk) => Some(chunk),
            _ => None,
        }
    }

    /// The chunk for rewriting; from now on [`Self::to_bytes`] serializes it.
    pub fn chunk_mut(&mut self) -> Option<&mut ChatCompletionChunk> {
        match &mut self.item {
            StreamItem::Chunk(chunk) => {
                self.raw = None;
                Some(chunk)
            }
            _ => None,
        }
    }

    /// Whether [`Self::to_bytes`] returns the upstream's bytes unchanged.
    pub fn is_verbatim(&self) -> bool {
        self.raw.is_some()
    }

    /// The SSE bytes to send to the client.
    pub fn to_bytes(&self) -> Bytes {
        if let Some(raw) = &self.raw {
            return raw.clone();
        }
        match &self.item {
            StreamItem::Chunk(chunk) => sse::encode_event(chunk),
            StreamItem::Done => Bytes::from_static(sse::DONE_EVENT),
            StreamItem::Other { data: None } => Bytes::from_static(b":\n\n"),
            StreamItem::Other { data: Some(data) } => {
                let mut out = String::new();
                for line in data.split('\n') {
                    out.push_str("data: ");
                    out.push_str(line);
                    out.push('\n');
                }
                out.push('\n');
                Bytes::from(out)
            }
        }
    }
}

/// Token counts of a streamed answer, readable once the stream has ended.
#[derive(Debug, Clone, Default)]
pub struct UsageProbe(Arc<Mutex<Option<Usage>>>);

impl UsageProbe {
    pub fn get(&self) -> Option<Usage> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn set(&self, usage: Usage) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(usage);
    }
}

/// A streamed answer: a `Stream` of events. Dropping it cancels the work behind it.
pub struct ChunkStream {
    inner: BoxStream<'static, Result<StreamEvent, BackendError>>,
    usage: UsageProbe,
}

impl ChunkStream {
    pub fn new(
        inner: BoxStream<'static, Result<StreamEvent, BackendError>>,
        usage: UsageProbe,
    ) -> Self {
        ChunkStream { inner, usage }
    }

    /// A complete answer told as a stream, in the sequence OpenAI streams one: a chunk with the
    /// role, one with the content or the tool calls, one with the finish reason, a usage chunk
    /// when `include_usage`, then `[DONE]`. Serves a streaming request whose answer had to be
    /// held whole first (a local-first route checks the answer before the client sees a byte).
    pub fn replay(completion: Completion, include_usage: bool) -> Self {
        let response = completion.into_response();
        let usage = UsageProbe::default();
        if let Some(u) = &response.usage {
            usage.set(u.clone());
        }
        let chunk = |choices: Vec<ChunkChoice>, usage: Option<Usage>| {
            StreamEvent::chunk(ChatCompletionChunk {
                id: response.id.clone(),
                object: "chat.completion.chunk".to_owned(),
                created: response.created,
                model: response.model.clone(),
                choices,
                usage,
                system_fingerprint: response.system_fingerprint.clone(),
                extra: crate::openai::Extra::new(),
            })
        };
        let choice = |index: u32, delta: Delta, finish: Option<String>, logprobs| ChunkChoice {
            index,
            delta,
            finish_reason: finish,
            logprobs,
            extra: crate::openai::Extra::new(),
        };
        let mut events = Vec::new();
        for answer in &response.choices {
            let message = &answer.message;
            let role = Delta {
                role: Some(message.role),
                content: Some(String::new()),
                ..Delta::default()
            };
            events.push(chunk(vec![choice(answer.index, role, None, None)], None));
            let text: String = message
                .content
                .iter()
                .flat_map(|c| c.text_parts())
                .collect();
            let calls = message.tool_calls.as_ref().map(|calls| {
                calls
                    .iter()
                    .enumerate()
                    .map(|(index, call)| ToolCallDelta {
                        index: index as u32,
                        id: Some(call.id.clone()),
                        kind: Some(call.kind.clone()),
                        function: Some(FunctionCallDelta {
                            name: Some(call.function.name.clone()),
                            arguments: Some(call.function.arguments.clone()),
                            extra: crate::openai::Extra::new(),
                        }),
                        extra: crate::openai::Extra::new(),
                    })
                    .collect()
            });
            if !text.is_empty() || calls.is_some() {
                let body = Delta {
                    content: (!text.is_empty()).then_some(text),
                    tool_calls: calls,
                    ..Delta::default()
                };
                let logprobs = answer.logprobs.clone();
                events.push(chunk(
                    vec![choice(answer.index, body, None, logprobs)],
                    None,
                ));
            }
            let finish = answer.finish_reason.clone();
            events.push(chunk(
                vec![choice(answer.index, Delta::default(), finish, None)],
                None,
            ));
        }
        if include_usage {
            events.push(chunk(Vec::new(), response.usage.clone()));
        }
        events.push(StreamEvent::done());
        let inner = futures_util::stream::iter(events.into_iter().map(Ok));
        ChunkStream::new(Box::pin(inner), usage)
    }

    /// A handle on the token counts; take it before handing the stream to the response body.
    pub fn usage_probe(&self) -> UsageProbe {
        self.usage.clone()
    }
}

impl Stream for ChunkStream {
    type Item = Result<StreamEvent, BackendError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let polled = this.inner.as_mut().poll_next(cx);
        if let Poll::Ready(Some(Ok(event))) = &polled {
            if let Some(usage) = event.as_chunk().and_then(|chunk| chunk.usage.as_ref()) {
                this.usage.set(usage.clone());
            }
        }
        polled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sse(raw: &'static str) -> SseEvent {
        let mut parser = sse::SseParser::default();
        parser.feed(raw.as_bytes()).unwrap().remove(0)
    }

    const CHUNK: &str = "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"<PERSON_1>\"},\"finish_reason\":null}],\"vendor\":7}\n\n";

    #[test]
    fn unchanged_events_keep_their_exact_bytes() {
        let event = StreamEvent::from_sse(sse(CHUNK));
        assert!(matches!(event.item(), StreamItem::Chunk(_)));
        assert_eq!(&event.to_bytes()[..], CHUNK.as_bytes());
    }

    #[test]
    fn rewritten_chunks_are_reserialized_with_unknown_fields() {
        let mut event = StreamEvent::from_sse(sse(CHUNK));
        event.chunk_mut().unwrap().choices[0].delta.content = Some("Jane".into());
        assert!(!event.is_verbatim());
        let bytes = event.to_bytes();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(text.starts_with("data: {") && text.ends_with("}\n\n"));
        assert!(text.contains("\"content\":\"Jane\""));
        assert!(text.contains("\"vendor\":7"));
        assert!(text.contains("\"finish_reason\":null"));
    }

    #[test]
    fn done_comments_and_errors_are_classified() {
        assert_eq!(
            StreamEvent::from_sse(sse("data: [DONE]\n\n")).item(),
            &StreamItem::Done
        );
        assert_eq!(
            StreamEvent::from_sse(sse(": ping\n\n")).item(),
            &StreamItem::Other { data: None }
        );
        let error = StreamEvent::from_sse(sse("data: {\"error\":{\"message\":\"m\"}}\n\n"));
        assert!(matches!(error.item(), StreamItem::Other { data: Some(_) }));
    }

    #[test]
    fn completion_keeps_raw_bytes_until_changed() {
        let raw = Bytes::from_static(
            br#"{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}"#,
        );
        let mut completion = Completion::from_upstream(raw.clone()).unwrap();
        assert_eq!(completion.to_bytes(), raw);
        assert_eq!(completion.usage().unwrap().total_tokens, 4);
        completion.response_mut().model = "other".into();
        assert!(!completion.is_verbatim());
        assert!(std::str::from_utf8(&completion.to_bytes())
            .unwrap()
            .contains("\"model\":\"other\""));
    }
}
