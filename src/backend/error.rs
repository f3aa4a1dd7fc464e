//! What can go wrong when serving a request, and when building a backend.
//!
//! Each [`BackendError`] variant maps to one HTTP answer (status, `Retry-After`, OpenAI error
//! body), so the server does not have to guess. Messages never contain request or answer text:
//! they are logged. An upstream's error body is kept apart in [`BackendError::Upstream`] and is
//! not part of the `Display` text.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;

use crate::openai::ErrorBody;

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// All slots and the queue are taken: 503 with `Retry-After`.
    #[error("the backend is busy; retry after {} s", retry_after.as_secs().max(1))]
    Busy { retry_after: Duration },
    /// The backend cannot serve at all (upstream unreachable, workers gone): 503.
    #[error("the backend is unavailable: {reason}")]
    Unavailable { reason: String },
    /// The upstream answered with an error status; `body` is its answer, for the client only
    /// (it may quote the request, so never log it).
    #[error("the upstream answered HTTP {status}")]
    Upstream { status: u16, body: Bytes },
    /// No answer (or no next byte of a stream) within the configured time: 504.
    #[error("the backend timed out")]
    Timeout,
    /// The request cannot be served by this backend (prompt too long, unsupported content): 400.
    #[error("{message}")]
    BadRequest {
        message: String,
        param: Option<String>,
    },
    /// The gateway stopped the work (shutdown): 503.
    #[error("the request was cancelled by the gateway")]
    Cancelled,
    /// The upstream answered something that is not a chat completion: 502.
    #[error("the upstream answer is invalid: {detail}")]
    Protocol { detail: String },
}

impl BackendError {
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        BackendError::BadRequest {
            message: message.into(),
            param: None,
        }
    }

    pub(crate) fn unavailable(reason: impl Into<String>) -> Self {
        BackendError::Unavailable {
            reason: reason.into(),
        }
    }

    /// The HTTP status to answer the client with.
    pub fn http_status(&self) -> u16 {
        match self {
            BackendError::Busy { .. } | BackendError::Unavailable { .. } => 503,
            BackendError::Cancelled => 503,
            BackendError::Upstream { status, .. } => *status,
            BackendError::Timeout => 504,
            BackendError::BadRequest { .. } => 400,
            BackendError::Protocol { .. } => 502,
        }
    }

    /// The `Retry-After` to send, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            BackendError::Busy { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    /// The OpenAI error body for the client. For [`BackendError::Upstream`] prefer relaying the
    /// upstream's own body when it is already in this shape.
    pub fn to_error_body(&self) -> ErrorBody {
        let kind = match self {
            BackendError::BadRequest { .. } => "invalid_request_error",
            BackendError::Busy { .. } => "rate_limit_error",
            _ => "server_error",
        };
        let body = ErrorBody::new(self.to_string(), kind);
        match self {
            BackendError::BadRequest {
                param: Some(param), ..
            } => body.with_param(param.clone()),
            _ => body,
        }
    }
}

/// Why a backend could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum BackendInitError {
    #[error("model file {} not found; run `make models` to fetch it", path.display())]
    MissingModel { path: PathBuf },
    #[error("cannot load model {}: {reason}", path.display())]
    ModelLoad { path: PathBuf, reason: String },
    #[error("cannot create a llama.cpp context: {0}")]
    Context(String),
    #[error("environment variable {env} (the API key of backend `{backend}`) is not set")]
    MissingApiKey { backend: String, env: String },
    #[error("backend `{backend}`: {reason}")]
    Invalid { backend: String, reason: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_maps_to_503_with_retry_after() {
        let error = BackendError::Busy {
            retry_after: Duration::from_secs(2),
        };
        assert_eq!(error.http_status(), 503);
        assert_eq!(error.retry_after(), Some(Duration::from_secs(2)));
        assert_eq!(error.to_error_body().error.kind, "rate_limit_error");
    }

    #[test]
    fn upstream_display_does_not_include_the_body() {
        let error = BackendError::Upstream {
            status: 400,
            body: Bytes::from_static(b"your prompt 123-45-6789 is invalid"),
        };
        assert_eq!(error.http_status(), 400);
        assert!(!error.to_string().contains("123-45"));
    }
}
