//! Server-sent events: framing chunks for clients and parsing upstream byte streams.
//!
//! Upstream bytes arrive in reads that split events (and even `\r\n` pairs) at arbitrary
//! offsets. [`SseParser`] buffers only the unfinished event and hands back each finished one
//! together with its exact raw bytes, so a caller can forward an event unchanged or rewrite its
//! data. Line endings follow the SSE specification (`\n`, `\r\n` or `\r`).

use bytes::{Bytes, BytesMut};
use serde::Serialize;

/// The event that ends an OpenAI stream.
pub const DONE_EVENT: &[u8] = b"data: [DONE]\n\n";

/// The `data` payload of the final event.
pub const DONE_DATA: &str = "[DONE]";

/// Frames a JSON value as one SSE event: `data: {json}\n\n`.
pub fn encode_event(value: &impl Serialize) -> Bytes {
    let mut out = b"data: ".to_vec();
    serde_json::to_writer(&mut out, value).expect("wire types always serialize");
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

/// One parsed event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The bytes of the event as received, including its terminating blank line.
    pub raw: Bytes,
    /// The `event:` field, if any.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`; `None` for an event without data (a comment, a
    /// keep-alive).
    pub data: Option<String>,
}

/// An upstream event larger than the parser's limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an upstream event exceeds {limit} bytes")]
pub struct EventTooLarge {
    pub limit: usize,
}

/// Incremental SSE parser.
#[derive(Debug)]
pub struct SseParser {
    buffer: BytesMut,
    /// Offset in `buffer` where the next unread line starts.
    line_start: usize,
    event: Option<String>,
    data: Option<String>,
    max_event_bytes: usize,
}

impl Default for SseParser {
    fn default() -> Self {
        SseParser::new(8 * 1024 * 1024)
    }
}

impl SseParser {
    /// A parser that refuses events larger than `max_event_bytes`.
    pub fn new(max_event_bytes: usize) -> Self {
        SseParser {
            buffer: BytesMut::new(),
            line_start: 0,
            event: None,
            data: None,
            max_event_bytes,
        }
    }

    /// Adds bytes and returns every event they complete.
    pub fn feed(&mut self, input: &[u8]) -> Result<Vec<SseEvent>, EventTooLarge> {
        self.buffer.extend_from_slice(input);
        let mut events = Vec::new();
        while let Some((line_end, next_line)) = self.next_line_break() {
            let line = &self.buffer[self.line_start..line_end];
            let blank = line.is_empty();
            if !blank {
                self.apply_field(line.to_vec());
            }
            self.line_start = next_line;
            if blank {
                events.push(self.take_event());
            }
        }
        if self.buffer.len() > self.max_event_bytes {
            return Err(EventTooLarge {
                limit: self.max_event_bytes,
            });
        }
        Ok(events)
    }

    /// Ends the stream: returns what is left as a last event (servers sometimes end with
    /// `data: [DONE]\n` and no blank line), or `None` if nothing is left.
    pub fn finish(&mut self) -> Option<SseEvent> {
        if self.buffer.is_empty() {
            return None;
        }
        if self.line_start < self.buffer.len() {
            let mut line = self.buffer[self.line_start..].to_vec();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if !line.is_empty() {
                self.apply_field(line);
            }
        }
        Some(self.take_event())
    }

    /// Finds the next line terminator at or after `line_start`: the end of the line and the
    /// start of the next one. A `\r` as the last buffered byte waits for the next read, since
    /// a `\n` may follow.
    fn next_line_break(&self) -> Option<(usize, usize)> {
        let rest = &self.buffer[self.line_start..];
        let offset = rest.iter().position(|&b| b == b'\n' || b == b'\r')?;
        let end = self.line_start + offset;
        if self.buffer[end] == b'\n' {
            return Some((end, end + 1));
        }
        match self.buffer.get(end + 1) {
            None => None,
            Some(b'\n') => Some((end, end + 2)),
            Some(_) => Some((end, end + 1)),
        }
    }

    fn apply_field(&mut self, line: Vec<u8>) {
        let line = String::from_utf8_lossy(&line);
        if line.starts_with(':') {
            return;
        }
        let (name, value) = match line.split_once(':') {
            Some((name, value)) => (name, value.strip_prefix(' ').unwrap_or(value)),
            None => (line.as_ref(), ""),
        };
        match name {
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            },
            "event" => self.event = Some(value.to_owned()),
            _ => {}
        }
    }

    fn take_event(&mut self) -> SseEvent {
        let raw = self.buffer.split_to(self.line_start).freeze();
        self.line_start = 0;
        SseEvent {
            raw,
            event: self.event.take(),
            data: self.data.take(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = concat!(
        ": keep-alive\n\n",
        "data: {\"a\":1}\n\n",
        "event: message\r\ndata: line one\r\ndata: line two\r\n\r\n",
        "data:no-space\r\rdata: é日本\n\n",
        "data: [DONE]\n\n",
    );

    fn parse_all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut parser = SseParser::default();
        let mut events = Vec::new();
        for chunk in chunks {
            events.extend(parser.feed(chunk).unwrap());
        }
        events.extend(parser.finish());
        events
    }

    fn expected() -> Vec<(Option<&'static str>, Option<&'static str>)> {
        vec![
            (None, None),
            (None, Some("{\"a\":1}")),
            (Some("message"), Some("line one\nline two")),
            (None, Some("no-space")),
            (None, Some("é日本")),
            (None, Some("[DONE]")),
        ]
    }

    fn summary(events: &[SseEvent]) -> Vec<(Option<&str>, Option<&str>)> {
        events
            .iter()
            .map(|e| (e.event.as_deref(), e.data.as_deref()))
            .collect()
    }

    #[test]
    fn parses_a_whole_stream() {
        let events = parse_all(&[STREAM.as_bytes()]);
        assert_eq!(summary(&events), expected());
        let raw: Vec<u8> = events.iter().flat_map(|e| e.raw.to_vec()).collect();
        assert_eq!(
            raw,
            STREAM.as_bytes(),
            "raw bytes must concatenate to the input"
        );
    }

    #[test]
    fn split_at_every_byte_offset_gives_the_same_events() {
        let bytes = STREAM.as_bytes();
        for split in 0..=bytes.len() {
            let events = parse_all(&[&bytes[..split], &bytes[split..]]);
            assert_eq!(summary(&events), expected(), "split at {split}");
            let raw: Vec<u8> = events.iter().flat_map(|e| e.raw.to_vec()).collect();
            assert_eq!(raw, bytes, "split at {split}");
        }
    }

    #[test]
    fn one_byte_at_a_time_gives_the_same_events() {
        let chunks: Vec<&[u8]> = STREAM.as_bytes().chunks(1).collect();
        assert_eq!(summary(&parse_all(&chunks)), expected());
    }

    #[test]
    fn events_are_returned_as_soon_as_they_complete() {
        let mut parser = SseParser::default();
        assert!(parser.feed(b"data: {\"a\"").unwrap().is_empty());
        let events = parser.feed(b":1}\n\ndata: x").unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].data.as_deref(), Some("{\"a\":1}"));
    }

    #[test]
    fn unterminated_last_event_is_flushed_by_finish() {
        let mut parser = SseParser::default();
        assert!(parser.feed(b"data: [DONE]\n").unwrap().is_empty());
        let last = parser.finish().unwrap();
        assert_eq!(last.data.as_deref(), Some("[DONE]"));
        assert_eq!(&last.raw[..], b"data: [DONE]\n");
        assert!(parser.finish().is_none());
    }

    #[test]
    fn oversized_event_is_an_error() {
        let mut parser = SseParser::new(16);
        assert_eq!(
            parser.feed(&[b'x'; 17]).unwrap_err(),
            EventTooLarge { limit: 16 }
        );
    }

    #[test]
    fn encodes_events_and_done() {
        assert_eq!(
            &encode_event(&serde_json::json!({"a": 1}))[..],
            b"data: {\"a\":1}\n\n"
        );
        assert_eq!(DONE_EVENT, b"data: [DONE]\n\n");
    }
}
