//! Anthropic's Messages API (`POST /v1/messages`) as a front end: apps built on the Anthropic
//! SDKs point their base URL at sluice and change nothing else.
//!
//! `request` turns a Messages request into the internal chat request (system prompt, content
//! blocks, tool use and results, tools, tool choice, stop sequences); `answer` and `stream` turn
//! the chat answer back into a Message and into Anthropic's event sequence; `error` gives every
//! error Anthropic's shape so the SDKs raise their typed exceptions.

mod answer;
mod error;
mod request;
mod stream;

pub use answer::answer;
pub use error::{error_body, error_type};
pub use request::to_chat;
pub use stream::MessagesEncoder;
