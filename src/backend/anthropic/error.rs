use std::fmt;

/// Why a request or answer could not be translated, with the HTTP status sluice should answer.
///
/// `message` never holds request or answer values (see the module doc), so it is safe to log
/// and to send to the client as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranslateError {
    pub status: u16,
    pub message: String,
    /// Anthropic's error `type` (`overloaded_error`, ...) when the error came from Anthropic, so
    /// a front end speaking Anthropic's dialect can relay it unchanged.
    pub upstream_type: Option<String>,
}

impl TranslateError {
    /// The client asked for something this backend cannot do faithfully.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        TranslateError {
            status: 400,
            message: message.into(),
            upstream_type: None,
        }
    }

    /// Anthropic answered something that is not what its API documents.
    pub(crate) fn bad_gateway(message: impl Into<String>) -> Self {
        TranslateError {
            status: 502,
            message: message.into(),
            upstream_type: None,
        }
    }

    /// An error Anthropic reported itself (HTTP error body or in-stream `error` event).
    pub(crate) fn upstream(error_type: &str, message: &str) -> Self {
        TranslateError {
            status: status_of_error_type(error_type),
            message: format!("anthropic {}: {message}", safe_type_name(error_type)),
            upstream_type: Some(safe_type_name(error_type).to_owned()),
        }
    }
}

impl fmt::Display for TranslateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (status {})", self.message, self.status)
    }
}

impl std::error::Error for TranslateError {}

/// HTTP status Anthropic documents for each error type; an in-stream error arrives on a 200
/// response, so the status has to be rebuilt from the type.
fn status_of_error_type(error_type: &str) -> u16 {
    match error_type {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "billing_error" => 402,
        "permission_error" => 403,
        "not_found_error" => 404,
        "conflict_error" => 409,
        "memory_precondition_failed_error" => 412,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "timeout_error" => 504,
        // Anthropic's own non-standard status; the Python SDK maps it to OverloadedError.
        "overloaded_error" => 529,
        _ => 502,
    }
}

/// The error type is upstream-controlled: pass it on only when it looks like an identifier.
fn safe_type_name(error_type: &str) -> &str {
    if is_identifier(error_type) {
        error_type
    } else {
        "error"
    }
}

/// `[a-z0-9_]`, at most 64 characters: safe to echo in an error message.
pub(crate) fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}
