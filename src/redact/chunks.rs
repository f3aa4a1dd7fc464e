//! Restoring a streamed answer chunk by chunk.
//!
//! A stream interleaves several texts: each choice's content and refusal, the arguments of each
//! tool call (by its `index`), and unmodelled text fields such as `reasoning_content`. Each gets
//! its own [`TextStream`], so a placeholder cut across chunks is joined within its own text only.
//! Held-back fragments are released in the chunk that carries the choice's `finish_reason`, and
//! whatever is still held when the upstream sends `[DONE]`, ends, or fails goes out in one last
//! chunk before that, so the client never loses text. Chunks that need no change keep the
//! upstream's bytes. An event that carries placeholders in a shape sluice cannot restore ends the
//! stream with an error rather than reaching the client half-restored.

use std::collections::{BTreeMap, VecDeque};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::{Stream, StreamExt};

use super::restore::{context_of, RestoreBudget, RestoreError, Restorer, TextContext};
use super::stream::TextStream;
use crate::backend::{BackendError, ChunkStream, StreamEvent, StreamItem};
use crate::openai::{ChatCompletionChunk, ChunkChoice, Delta, FunctionCallDelta, ToolCallDelta};

/// Which text of a choice.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Channel {
    Content,
    Refusal,
    ToolArguments(u32),
    /// A top-level string field of the delta that sluice does not model.
    Field(String),
}

/// The restoring state of one streamed answer.
pub struct ChunkRestorer {
    restorer: Arc<Restorer>,
    budget: RestoreBudget,
    texts: BTreeMap<(u32, Channel), TextStream>,
    /// The envelope (id, model, ...) of the last chunk, for a final chunk of released text.
    envelope: Option<ChatCompletionChunk>,
}

impl ChunkRestorer {
    pub fn new(restorer: Arc<Restorer>) -> Self {
        ChunkRestorer {
            restorer,
            budget: RestoreBudget::default(),
            texts: BTreeMap::new(),
            envelope: None,
        }
    }

    /// Restores `chunk` in place; true if it changed.
    pub fn restore_chunk(&mut self, chunk: &mut ChatCompletionChunk) -> Result<bool, RestoreError> {
        if self.envelope.is_none() || !chunk.choices.is_empty() {
            self.envelope = Some(ChatCompletionChunk {
                choices: Vec::new(),
                usage: None,
                ..chunk.clone()
            });
        }
        let mut changed = false;
        // Unmodelled envelope fields are restored whole; only choice texts are streamed.
        for value in chunk.extra.values_mut() {
            changed |= self
                .restorer
                .restore_value(value, TextContext::Plain, &mut self.budget)?;
        }
        for choice in &mut chunk.choices {
            let index = choice.index;
            let delta = &mut choice.delta;
            if let Some(text) = &mut delta.content {
                changed |= self.feed(index, Channel::Content, TextContext::Plain, text)?;
            }
            if let Some(text) = &mut delta.refusal {
                changed |= self.feed(index, Channel::Refusal, TextContext::Plain, text)?;
            }
            for call in delta.tool_calls.iter_mut().flatten() {
                if let Some(function) = &mut call.function {
                    if let Some(name) = &mut function.name {
                        changed |= self.restorer.restore_in_place(
                            name,
                            TextContext::Plain,
                            &mut self.budget,
                        )?;
                    }
                    if let Some(arguments) = &mut function.arguments {
                        changed |= self.feed(
                            index,
                            Channel::ToolArguments(call.index),
                            TextContext::JsonArguments,
                            arguments,
                        )?;
                    }
                    for value in function.extra.values_mut() {
                        changed |= self.restorer.restore_value(
                            value,
                            TextContext::Plain,
                            &mut self.budget,
                        )?;
                    }
                }
                for value in call.extra.values_mut() {
                    changed |=
                        self.restorer
                            .restore_value(value, TextContext::Plain, &mut self.budget)?;
                }
            }
            for (key, value) in delta.extra.iter_mut() {
                let context = context_of(key, TextContext::Plain);
                changed |= match value {
                    serde_json::Value::String(text) => {
                        self.feed(index, Channel::Field(key.clone()), context, text)?
                    }
                    other => self
                        .restorer
                        .restore_value(other, context, &mut self.budget)?,
                };
            }
            for value in choice.extra.values_mut() {
                changed |=
                    self.restorer
                        .restore_value(value, TextContext::Plain, &mut self.budget)?;
            }
            if choice.finish_reason.is_some() {
                changed |= self.release_choice(index, &mut choice.delta);
            }
        }
        Ok(changed)
    }

    /// Ends the answer: a chunk with every text still held back, if there is any.
    pub fn finish(&mut self) -> Option<ChatCompletionChunk> {
        let indexes: Vec<u32> = self.texts.keys().map(|(i, _)| *i).collect();
        let mut choices: Vec<ChunkChoice> = Vec::new();
        for index in indexes {
            if choices.last().is_some_and(|c| c.index == index) {
                continue;
            }
            let mut delta = Delta::default();
            if self.release_choice(index, &mut delta) {
                choices.push(ChunkChoice {
                    index,
                    delta,
                    finish_reason: None,
                    logprobs: None,
                    extra: Default::default(),
                });
            }
        }
        if choices.is_empty() {
            return None;
        }
        let mut chunk = self
            .envelope
            .clone()
            .unwrap_or_else(|| ChatCompletionChunk {
                id: String::new(),
                object: "chat.completion.chunk".into(),
                created: 0,
                model: String::new(),
                choices: Vec::new(),
                usage: None,
                system_fingerprint: None,
                extra: Default::default(),
            });
        chunk.choices = choices;
        Some(chunk)
    }

    fn feed(
        &mut self,
        index: u32,
        channel: Channel,
        context: TextContext,
        text: &mut String,
    ) -> Result<bool, RestoreError> {
        let stream = self
            .texts
            .entry((index, channel))
            .or_insert_with(|| TextStream::new(context));
        let out = stream.feed(&self.restorer, &mut self.budget, text)?;
        if out == *text {
            return Ok(false);
        }
        *text = out;
        Ok(true)
    }

    /// Appends everything held for choice `index` to `delta`; true if there was anything.
    fn release_choice(&mut self, index: u32, delta: &mut Delta) -> bool {
        let channels: Vec<Channel> = self
            .texts
            .range((index, Channel::Content)..)
            .take_while(|((i, _), _)| *i == index)
            .map(|((_, c), _)| c.clone())
            .collect();
        let mut released = false;
        for channel in channels {
            let Some(mut stream) = self.texts.remove(&(index, channel.clone())) else {
                continue;
            };
            let held = stream.flush();
            if held.is_empty() {
                continue;
            }
            released = true;
            match channel {
                Channel::Content => delta
                    .content
                    .get_or_insert_with(String::new)
                    .push_str(&held),
                Channel::Refusal => delta
                    .refusal
                    .get_or_insert_with(String::new)
                    .push_str(&held),
                Channel::ToolArguments(call) => {
                    let calls = delta.tool_calls.get_or_insert_with(Vec::new);
                    let position = match calls.iter().position(|c| c.index == call) {
                        Some(p) => p,
                        None => {
                            calls.push(ToolCallDelta {
                                index: call,
                                id: None,
                                kind: None,
                                function: None,
                                extra: Default::default(),
                            });
                            calls.len() - 1
                        }
                    };
                    calls[position]
                        .function
                        .get_or_insert_with(FunctionCallDelta::default)
                        .arguments
                        .get_or_insert_with(String::new)
                        .push_str(&held);
                }
                Channel::Field(key) => match delta.extra.get_mut(&key) {
                    Some(serde_json::Value::String(text)) => text.push_str(&held),
                    _ => {
                        delta.extra.insert(key, serde_json::Value::String(held));
                    }
                },
            }
        }
        released
    }
}

/// `stream` with every issued placeholder restored before the client sees it.
pub fn restore_stream(stream: ChunkStream, restorer: Arc<Restorer>) -> ChunkStream {
    let usage = stream.usage_probe();
    let restoring = RestoringStream {
        inner: stream,
        chunks: ChunkRestorer::new(restorer),
        queued: VecDeque::new(),
        ended: false,
    };
    ChunkStream::new(Box::pin(restoring), usage)
}

struct RestoringStream {
    inner: ChunkStream,
    chunks: ChunkRestorer,
    /// Events to hand out before polling the upstream again.
    queued: VecDeque<Result<StreamEvent, BackendError>>,
    ended: bool,
}

impl RestoringStream {
    fn event(&mut self, mut event: StreamEvent) -> Result<StreamEvent, BackendError> {
        match event.item() {
            StreamItem::Chunk(chunk) => {
                let mut chunk = (**chunk).clone();
                match self.chunks.restore_chunk(&mut chunk) {
                    Ok(true) => {
                        if let Some(slot) = event.chunk_mut() {
                            *slot = chunk;
                        }
                        Ok(event)
                    }
                    Ok(false) => Ok(event),
                    Err(e) => Err(self.fail(e)),
                }
            }
            StreamItem::Done => match self.chunks.finish() {
                Some(last) => {
                    self.queued.push_back(Ok(event));
                    Ok(StreamEvent::chunk(last))
                }
                None => Ok(event),
            },
            StreamItem::Other { data: Some(data) } => {
                let carries = match serde_json::from_str::<serde_json::Value>(data) {
                    Ok(value) => self.chunks.restorer.value_contains_placeholder(&value),
                    Err(_) => self.chunks.restorer.contains_placeholder(data),
                };
                if carries {
                    Err(self.fail(RestoreError::Unrestorable))
                } else {
                    Ok(event)
                }
            }
            StreamItem::Other { data: None } => Ok(event),
        }
    }

    fn fail(&mut self, e: RestoreError) -> BackendError {
        self.ended = true;
        tracing::warn!(target: "sluice::redact", error = %e, "restoring a streamed answer failed");
        BackendError::Protocol {
            detail: e.to_string(),
        }
    }

    /// Queues the held-back text of an answer that ends without `[DONE]`.
    fn release_all(&mut self) {
        if let Some(last) = self.chunks.finish() {
            self.queued.push_back(Ok(StreamEvent::chunk(last)));
        }
    }
}

impl Stream for RestoringStream {
    type Item = Result<StreamEvent, BackendError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(item) = this.queued.pop_front() {
                return Poll::Ready(Some(item));
            }
            if this.ended {
                return Poll::Ready(None);
            }
            match this.inner.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(event))) => return Poll::Ready(Some(this.event(event))),
                Poll::Ready(Some(Err(e))) => {
                    this.ended = true;
                    this.release_all();
                    this.queued.push_back(Err(e));
                }
                Poll::Ready(None) => {
                    this.ended = true;
                    this.release_all();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::UsageProbe;
    use crate::redact::format::PlaceholderFormat;
    use crate::redact::vault::Pseudonyms;
    use serde_json::json;

    fn restorer() -> Arc<Restorer> {
        let mut p = Pseudonyms::new(PlaceholderFormat::default());
        p.intern("PERSON", "Anaïs Nin");
        p.intern("EMAIL_ADDRESS", "a\"n@example.com");
        p.intern("PERSON", "王小明");
        Arc::new(Restorer::new(&p))
    }

    fn chunk(choices: serde_json::Value) -> ChatCompletionChunk {
        serde_json::from_value(json!({
            "id": "s1", "object": "chat.completion.chunk", "created": 5, "model": "m",
            "choices": choices
        }))
        .unwrap()
    }

    fn content(text: &str, finish: Option<&str>) -> ChatCompletionChunk {
        chunk(json!([{"index": 0, "delta": {"content": text}, "finish_reason": finish}]))
    }

    /// The client's view: content and tool arguments accumulated per choice, as SDKs do.
    #[derive(Default, Debug, PartialEq)]
    struct Seen {
        content: BTreeMap<u32, String>,
        arguments: BTreeMap<(u32, u32), String>,
        finished_with_all_text: bool,
    }

    fn accumulate(seen: &mut Seen, chunk: &ChatCompletionChunk) {
        for c in &chunk.choices {
            if let Some(t) = &c.delta.content {
                seen.content.entry(c.index).or_default().push_str(t);
            }
            for call in c.delta.tool_calls.iter().flatten() {
                if let Some(a) = call.function.as_ref().and_then(|f| f.arguments.as_ref()) {
                    seen.arguments
                        .entry((c.index, call.index))
                        .or_default()
                        .push_str(a);
                }
            }
        }
    }

    #[test]
    fn content_split_at_every_byte_of_a_placeholder() {
        let r = restorer();
        let text = "Hi <PERSON_1>, reach <EMAIL_ADDRESS_1> or <PERSON_2>!";
        for a in 0..=text.len() {
            for b in a..=text.len() {
                let mut cr = ChunkRestorer::new(r.clone());
                let mut seen = Seen::default();
                let pieces = [&text[..a], &text[a..b], &text[b..]];
                for (i, p) in pieces.iter().enumerate() {
                    let finish = (i == 2).then_some("stop");
                    let mut c = content(p, finish);
                    cr.restore_chunk(&mut c).unwrap();
                    accumulate(&mut seen, &c);
                }
                assert!(
                    cr.finish().is_none(),
                    "everything released at finish_reason"
                );
                assert_eq!(
                    seen.content[&0], "Hi Anaïs Nin, reach a\"n@example.com or 王小明!",
                    "cut at {a}, {b}"
                );
            }
        }
    }

    #[test]
    fn tool_call_arguments_per_index_stay_valid_json() {
        let r = restorer();
        let args0 = "{\"to\":\"<EMAIL_ADDRESS_1>\",\"name\":\"<PERSON_1>\"}";
        let args1 = "{\"who\":\"<PERSON_2>\"}";
        for cut in 0..=args0.len() {
            let mut cr = ChunkRestorer::new(r.clone());
            let mut seen = Seen::default();
            let cut1 = cut.min(args1.len());
            let mut chunks = vec![
                chunk(
                    json!([{"index": 0, "delta": {"role": "assistant", "tool_calls": [
                    {"index": 0, "id": "c0", "type": "function", "function": {"name": "send", "arguments": &args0[..cut]}}
                ]}, "finish_reason": null}]),
                ),
                chunk(json!([{"index": 0, "delta": {"tool_calls": [
                    {"index": 1, "id": "c1", "type": "function", "function": {"name": "look", "arguments": &args1[..cut1]}}
                ]}, "finish_reason": null}])),
                chunk(json!([{"index": 0, "delta": {"tool_calls": [
                    {"index": 0, "function": {"arguments": &args0[cut..]}},
                    {"index": 1, "function": {"arguments": &args1[cut1..]}}
                ]}, "finish_reason": null}])),
                chunk(json!([{"index": 0, "delta": {}, "finish_reason": "tool_calls"}])),
            ];
            for c in &mut chunks {
                cr.restore_chunk(c).unwrap();
                accumulate(&mut seen, c);
            }
            let a0: serde_json::Value = serde_json::from_str(&seen.arguments[&(0, 0)]).unwrap();
            let a1: serde_json::Value = serde_json::from_str(&seen.arguments[&(0, 1)]).unwrap();
            assert_eq!(a0["to"], "a\"n@example.com");
            assert_eq!(a0["name"], "Anaïs Nin");
            assert_eq!(a1["who"], "王小明");
        }
    }

    #[test]
    fn held_text_is_released_in_the_finishing_chunk_of_its_choice() {
        let r = restorer();
        let mut cr = ChunkRestorer::new(r);
        let mut first = chunk(json!([
            {"index": 0, "delta": {"content": "a <PERS"}, "finish_reason": null},
            {"index": 1, "delta": {"content": "b <PERSON_"}, "finish_reason": null}
        ]));
        cr.restore_chunk(&mut first).unwrap();
        assert_eq!(first.choices[0].delta.content.as_deref(), Some("a "));
        assert_eq!(first.choices[1].delta.content.as_deref(), Some("b "));
        let mut end0 = chunk(json!([{"index": 0, "delta": {}, "finish_reason": "length"}]));
        assert!(cr.restore_chunk(&mut end0).unwrap());
        assert_eq!(end0.choices[0].delta.content.as_deref(), Some("<PERS"));
        let mut end1 =
            chunk(json!([{"index": 1, "delta": {"content": "2> ok"}, "finish_reason": "stop"}]));
        cr.restore_chunk(&mut end1).unwrap();
        assert_eq!(end1.choices[0].delta.content.as_deref(), Some("王小明 ok"));
        assert!(cr.finish().is_none());
    }

    #[test]
    fn unmodelled_text_fields_are_streamed_too() {
        let r = restorer();
        let mut cr = ChunkRestorer::new(r);
        let mut a = chunk(
            json!([{"index": 0, "delta": {"reasoning_content": "user is <PERSON"}, "finish_reason": null}]),
        );
        let mut b = chunk(
            json!([{"index": 0, "delta": {"reasoning_content": "_1>."}, "finish_reason": null}]),
        );
        cr.restore_chunk(&mut a).unwrap();
        cr.restore_chunk(&mut b).unwrap();
        assert_eq!(a.choices[0].delta.extra["reasoning_content"], "user is ");
        assert_eq!(b.choices[0].delta.extra["reasoning_content"], "Anaïs Nin.");
    }

    #[test]
    fn unmodelled_envelope_fields_are_restored_whole() {
        let mut cr = ChunkRestorer::new(restorer());
        let mut c: ChatCompletionChunk = serde_json::from_value(json!({
            "id": "s", "choices": [{"index": 0, "delta": {}, "finish_reason": null, "note": "<PERSON_2>"}],
            "notice": {"quoted": "<PERSON_1>"}
        }))
        .unwrap();
        assert!(cr.restore_chunk(&mut c).unwrap());
        assert_eq!(c.extra["notice"]["quoted"], "Anaïs Nin");
        assert_eq!(c.choices[0].extra["note"], "王小明");
    }

    fn events(items: Vec<StreamEvent>) -> Vec<Result<StreamEvent, BackendError>> {
        items.into_iter().map(Ok).collect()
    }

    async fn collect(stream: ChunkStream) -> Vec<Result<StreamEvent, BackendError>> {
        stream.collect().await
    }

    fn restored(
        items: Vec<Result<StreamEvent, BackendError>>,
    ) -> Vec<Result<StreamEvent, BackendError>> {
        let inner = ChunkStream::new(
            Box::pin(futures_util::stream::iter(items)),
            UsageProbe::default(),
        );
        let out = restore_stream(inner, restorer());
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(collect(out))
    }

    #[test]
    fn held_text_goes_out_before_done_when_no_finish_reason_came() {
        let out = restored(events(vec![
            StreamEvent::chunk(content("x <PERSON_", None)),
            StreamEvent::done(),
        ]));
        let out: Vec<StreamEvent> = out.into_iter().map(Result::unwrap).collect();
        assert_eq!(out.len(), 3);
        assert_eq!(
            out[0].as_chunk().unwrap().choices[0]
                .delta
                .content
                .as_deref(),
            Some("x ")
        );
        let last = out[1].as_chunk().expect("a released chunk before [DONE]");
        assert_eq!(last.choices[0].delta.content.as_deref(), Some("<PERSON_"));
        assert_eq!(last.id, "s1");
        assert_eq!(out[2].item(), &StreamItem::Done);
    }

    #[test]
    fn held_text_goes_out_before_an_upstream_error_or_a_bare_end() {
        let out = restored(vec![
            Ok(StreamEvent::chunk(content("x <", None))),
            Err(BackendError::Timeout),
        ]);
        assert_eq!(out.len(), 3);
        let released = out[1].as_ref().unwrap().as_chunk().unwrap();
        assert_eq!(released.choices[0].delta.content.as_deref(), Some("<"));
        assert!(matches!(out[2], Err(BackendError::Timeout)));

        let out = restored(events(vec![StreamEvent::chunk(content("y <PER", None))]));
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn unchanged_chunks_keep_their_bytes() {
        let raw = "data: {\"id\":\"s1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"plain\"},\"finish_reason\":null}],\"v\":1}\n\n";
        let mut parser = crate::openai::sse::SseParser::default();
        let event = StreamEvent::from_sse(parser.feed(raw.as_bytes()).unwrap().remove(0));
        let out = restored(events(vec![event]));
        let event = out[0].as_ref().unwrap();
        assert!(event.is_verbatim());
        assert_eq!(&event.to_bytes()[..], raw.as_bytes());
    }

    #[test]
    fn events_outside_the_chunk_format_with_placeholders_fail_the_stream() {
        let mut parser = crate::openai::sse::SseParser::default();
        let odd = "data: {\"error\":{\"message\":\"bad \\u003cPERSON_1>\"}}\n\n";
        let event = StreamEvent::from_sse(parser.feed(odd.as_bytes()).unwrap().remove(0));
        let out = restored(events(vec![
            StreamEvent::chunk(content("fine", None)),
            event,
            StreamEvent::chunk(content("never", None)),
        ]));
        assert_eq!(out.len(), 2);
        assert!(matches!(out[1], Err(BackendError::Protocol { .. })));

        let harmless = "data: {\"error\":{\"message\":\"overloaded\"}}\n\n";
        let event = StreamEvent::from_sse(parser.feed(harmless.as_bytes()).unwrap().remove(0));
        assert!(restored(events(vec![event]))[0].is_ok());
    }
}
