//! What one request may cost the gateway before it is refused: its size, how long its body may
//! take to arrive, and how many messages and content parts it may carry.
//!
//! A slow or huge client must not starve the others: a body that trickles in or never ends holds
//! a connection and its buffer, and a request of 100,000 one-word messages costs a scan unit and
//! a rendered turn per message. Each limit answers with a clear error before the work starts.

use std::time::Duration;

use crate::config::ServerConfig;
use crate::openai::{ChatCompletionRequest, MessageContent};

use super::error::ApiError;

#[derive(Debug, Clone)]
pub struct RequestLimits {
    /// Bodies over this many bytes get 413.
    pub max_body_bytes: usize,
    /// The whole body must arrive within this long of the handler starting to read it (408).
    pub body_timeout: Duration,
    pub max_messages: usize,
    /// Content parts per message.
    pub max_content_parts: usize,
}

impl RequestLimits {
    pub fn from_config(server: &ServerConfig) -> Self {
        RequestLimits {
            max_body_bytes: server.max_body_bytes,
            body_timeout: Duration::from_millis(server.body_timeout_ms),
            max_messages: server.max_messages,
            max_content_parts: server.max_content_parts,
        }
    }

    /// 400 when the request has more messages or content parts than the limits allow.
    pub fn check(&self, request: &ChatCompletionRequest) -> Result<(), ApiError> {
        if request.messages.len() > self.max_messages {
            return Err(ApiError::bad_request(
                format!(
                    "the request has {} messages; the gateway accepts at most {} \
                     ([server] max_messages)",
                    request.messages.len(),
                    self.max_messages
                ),
                Some("messages"),
            )
            .with_code("too_many_messages"));
        }
        for (i, message) in request.messages.iter().enumerate() {
            if let Some(MessageContent::Parts(parts)) = &message.content {
                if parts.len() > self.max_content_parts {
                    return Err(ApiError::bad_request(
                        format!(
                            "message {i} has {} content parts; the gateway accepts at most {} \
                             ([server] max_content_parts)",
                            parts.len(),
                            self.max_content_parts
                        ),
                        Some("messages"),
                    )
                    .with_code("too_many_content_parts"));
                }
            }
        }
        Ok(())
    }
}
