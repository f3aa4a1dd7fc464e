//! Anthropic's SSE events -> chat-completions chunks, shaped as an OpenAI upstream streams them.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

use super::error::TranslateError;
use super::response::ErrorObject;
use super::{finish_reason, unix_now, AnthropicUsage};
use crate::openai::{
    ChatCompletionChunk, ChunkChoice, Delta, Extra, FunctionCallDelta, Role, ToolCallDelta,
};

/// What an Anthropic content block becomes on the OpenAI side.
enum OpenBlock {
    Text,
    /// `index` is the OpenAI tool-call index; `sent_arguments` tracks whether any argument
    /// text went out, since OpenAI clients parse the joined arguments as JSON and "" is not.
    Tool {
        index: u32,
        sent_arguments: bool,
    },
    /// Thinking and server-tool blocks: not representable in a chat completion.
    Skipped,
}

/// Converts one Anthropic stream into chat chunks, one SSE event at a time.
///
/// Always ends with a usage chunk (empty `choices`) because sluice records tokens; strip it
/// before the client if it did not ask for `stream_options.include_usage`.
pub struct EventsToChunks {
    id: String,
    created: i64,
    model: String,
    started: bool,
    blocks: HashMap<u64, OpenBlock>,
    next_tool_index: u32,
    finish_sent: bool,
    usage: AnthropicUsage,
    finished: bool,
}

#[derive(Deserialize)]
struct MessageStart {
    message: StartMessage,
}

#[derive(Deserialize)]
struct StartMessage {
    id: String,
    #[serde(default)]
    usage: AnthropicUsage,
}

#[derive(Deserialize)]
struct BlockStart {
    index: u64,
    content_block: StartBlock,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum StartBlock {
    Text {
        #[serde(default)]
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct BlockDelta {
    index: u64,
    delta: DeltaBody,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum DeltaBody {
    TextDelta {
        text: String,
    },
    InputJsonDelta {
        partial_json: String,
    },
    /// thinking_delta, signature_delta, citations_delta and later kinds.
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct BlockStop {
    index: u64,
}

#[derive(Deserialize)]
struct MessageDelta {
    delta: MessageDeltaBody,
    #[serde(default)]
    usage: AnthropicUsage,
}

#[derive(Deserialize)]
struct MessageDeltaBody {
    #[serde(default)]
    stop_reason: Option<String>,
}

#[derive(Deserialize)]
struct ErrorEvent {
    error: ErrorObject,
}

impl EventsToChunks {
    /// `client_model` is the model name the client asked for, repeated in every chunk.
    pub fn new(client_model: &str) -> Self {
        EventsToChunks {
            id: format!("chatcmpl-{}", uuid::Uuid::new_v4().simple()),
            created: unix_now(),
            model: client_model.to_owned(),
            started: false,
            blocks: HashMap::new(),
            next_tool_index: 0,
            finish_sent: false,
            usage: AnthropicUsage::default(),
            finished: false,
        }
    }

    /// Whether `message_stop` arrived: the answer is complete and the usage chunk went out.
    /// A stream that ends before this was cut off.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// One SSE event: `event_name` is its `event:` line (if any), `data` its `data:` payload.
    /// An Anthropic `error` event becomes `Err`, carrying Anthropic's type and text.
    pub fn event(
        &mut self,
        event_name: Option<&str>,
        data: &str,
    ) -> Result<Vec<ChatCompletionChunk>, TranslateError> {
        if self.finished {
            return Ok(Vec::new());
        }
        let value: Value = serde_json::from_str(data).map_err(|_| malformed())?;
        // Anthropic names each event twice (`event:` line and `type`); trust either.
        let kind = event_name
            .or_else(|| value.get("type").and_then(Value::as_str))
            .unwrap_or_default()
            .to_owned();
        match kind.as_str() {
            "message_start" => self.message_start(parse(value)?),
            "content_block_start" => self.block_start(parse(value)?),
            "content_block_delta" => self.block_delta(parse(value)?),
            "content_block_stop" => self.block_stop(parse(value)?),
            "message_delta" => self.message_delta(parse(value)?),
            "message_stop" => Ok(self.message_stop()),
            "error" => Err(parse::<ErrorEvent>(value)?.error.into_error()),
            // `ping` keeps the connection alive; Anthropic warns new event types may appear.
            _ => Ok(Vec::new()),
        }
    }

    fn message_start(
        &mut self,
        start: MessageStart,
    ) -> Result<Vec<ChatCompletionChunk>, TranslateError> {
        if !self.started {
            self.id = format!("chatcmpl-{}", start.message.id);
        }
        self.usage.merge(&start.message.usage);
        Ok(self.start_chunk().into_iter().collect())
    }

    /// OpenAI's first chunk announces the role with empty content; emitted once, even if
    /// Anthropic skipped `message_start`.
    fn start_chunk(&mut self) -> Option<ChatCompletionChunk> {
        if self.started {
            return None;
        }
        self.started = true;
        let delta = Delta {
            role: Some(Role::Assistant),
            content: Some(String::new()),
            ..Delta::default()
        };
        Some(self.chunk(delta, None))
    }

    fn block_start(
        &mut self,
        start: BlockStart,
    ) -> Result<Vec<ChatCompletionChunk>, TranslateError> {
        let mut chunks: Vec<_> = self.start_chunk().into_iter().collect();
        let block = match start.content_block {
            StartBlock::Text { text } => {
                // The start usually carries "", but Anthropic documents it as block content.
                if !text.is_empty() {
                    chunks.push(self.text_chunk(text));
                }
                OpenBlock::Text
            }
            StartBlock::ToolUse { id, name } => {
                let index = self.next_tool_index;
                self.next_tool_index += 1;
                chunks.push(self.tool_start_chunk(index, id, name));
                OpenBlock::Tool {
                    index,
                    sent_arguments: false,
                }
            }
            StartBlock::Other => OpenBlock::Skipped,
        };
        self.blocks.insert(start.index, block);
        Ok(chunks)
    }

    fn block_delta(
        &mut self,
        delta: BlockDelta,
    ) -> Result<Vec<ChatCompletionChunk>, TranslateError> {
        let block = self.blocks.get_mut(&delta.index).ok_or_else(|| {
            TranslateError::bad_gateway("anthropic stream sent a delta for an unknown block")
        })?;
        let piece = match (block, delta.delta) {
            (OpenBlock::Text, DeltaBody::TextDelta { text }) if !text.is_empty() => {
                Piece::Text(text)
            }
            (
                OpenBlock::Tool {
                    index,
                    sent_arguments,
                },
                DeltaBody::InputJsonDelta { partial_json },
            ) if !partial_json.is_empty() => {
                *sent_arguments = true;
                Piece::Arguments(*index, partial_json)
            }
            _ => return Ok(Vec::new()),
        };
        Ok(vec![self.piece_chunk(piece)])
    }

    fn block_stop(&mut self, stop: BlockStop) -> Result<Vec<ChatCompletionChunk>, TranslateError> {
        match self.blocks.get(&stop.index) {
            // A tool without parameters streams no argument text; OpenAI would send "{}".
            Some(OpenBlock::Tool {
                index,
                sent_arguments: false,
            }) => {
                let piece = Piece::Arguments(*index, "{}".to_owned());
                Ok(vec![self.piece_chunk(piece)])
            }
            _ => Ok(Vec::new()),
        }
    }

    fn message_delta(
        &mut self,
        delta: MessageDelta,
    ) -> Result<Vec<ChatCompletionChunk>, TranslateError> {
        self.usage.merge(&delta.usage);
        let Some(stop_reason) = delta.delta.stop_reason else {
            return Ok(Vec::new());
        };
        Ok(self
            .finish_chunk(finish_reason(&stop_reason))
            .into_iter()
            .collect())
    }

    fn message_stop(&mut self) -> Vec<ChatCompletionChunk> {
        let mut chunks: Vec<_> = self.start_chunk().into_iter().collect();
        // Anthropic always sends a stop reason first; "stop" is the safe reading if it did not.
        chunks.extend(self.finish_chunk("stop"));
        let mut usage_chunk = self.chunk(Delta::default(), None);
        usage_chunk.choices.clear();
        usage_chunk.usage = Some(self.usage.to_openai());
        chunks.push(usage_chunk);
        self.finished = true;
        chunks
    }

    fn finish_chunk(&mut self, reason: &str) -> Option<ChatCompletionChunk> {
        if self.finish_sent {
            return None;
        }
        self.finish_sent = true;
        Some(self.chunk(Delta::default(), Some(reason.to_owned())))
    }

    fn text_chunk(&self, text: String) -> ChatCompletionChunk {
        self.chunk(
            Delta {
                content: Some(text),
                ..Delta::default()
            },
            None,
        )
    }

    fn tool_start_chunk(&self, index: u32, id: String, name: String) -> ChatCompletionChunk {
        let call = ToolCallDelta {
            index,
            id: Some(id),
            kind: Some("function".to_owned()),
            function: Some(FunctionCallDelta {
                name: Some(name),
                arguments: Some(String::new()),
                extra: Extra::new(),
            }),
            extra: Extra::new(),
        };
        self.tool_chunk(call)
    }

    fn piece_chunk(&self, piece: Piece) -> ChatCompletionChunk {
        match piece {
            Piece::Text(text) => self.text_chunk(text),
            Piece::Arguments(index, arguments) => self.tool_chunk(ToolCallDelta {
                index,
                id: None,
                kind: None,
                function: Some(FunctionCallDelta {
                    name: None,
                    arguments: Some(arguments),
                    extra: Extra::new(),
                }),
                extra: Extra::new(),
            }),
        }
    }

    fn tool_chunk(&self, call: ToolCallDelta) -> ChatCompletionChunk {
        self.chunk(
            Delta {
                tool_calls: Some(vec![call]),
                ..Delta::default()
            },
            None,
        )
    }

    fn chunk(&self, delta: Delta, finish_reason: Option<String>) -> ChatCompletionChunk {
        ChatCompletionChunk {
            id: self.id.clone(),
            object: "chat.completion.chunk".to_owned(),
            created: self.created,
            model: self.model.clone(),
            choices: vec![ChunkChoice {
                index: 0,
                delta,
                finish_reason,
                logprobs: None,
                extra: Extra::new(),
            }],
            usage: None,
            system_fingerprint: None,
            extra: Extra::new(),
        }
    }
}

/// Content added by one delta event.
enum Piece {
    Text(String),
    Arguments(u32, String),
}

/// serde's own messages quote values (answer text), so errors here use fixed wording.
fn parse<T: for<'de> Deserialize<'de>>(value: Value) -> Result<T, TranslateError> {
    serde_json::from_value(value).map_err(|_| malformed())
}

fn malformed() -> TranslateError {
    TranslateError::bad_gateway("anthropic stream sent a malformed event")
}
