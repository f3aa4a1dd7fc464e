//! OpenAI's error JSON: `{"error":{"message","type","param","code"}}`.
//!
//! OpenAI SDKs turn this shape into typed exceptions, so every error sluice answers uses it.
//! `param` and `code` are always present (possibly `null`), as in OpenAI's own answers.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub message: String,
    /// `invalid_request_error`, `authentication_error`, `rate_limit_error`, `server_error`, ...
    #[serde(rename = "type")]
    pub kind: String,
    pub param: Option<String>,
    pub code: Option<String>,
}

impl ErrorBody {
    pub fn new(message: impl Into<String>, kind: impl Into<String>) -> Self {
        ErrorBody {
            error: ErrorDetail {
                message: message.into(),
                kind: kind.into(),
                param: None,
                code: None,
            },
        }
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.error.param = Some(param.into());
        self
    }

    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.error.code = Some(code.into());
        self
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an error body always serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_in_openai_shape_with_explicit_nulls() {
        let body = ErrorBody::new("bad", "invalid_request_error").with_param("messages");
        let value: serde_json::Value = serde_json::from_str(&body.to_json()).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"error": {"message": "bad", "type": "invalid_request_error",
                "param": "messages", "code": null}})
        );
    }
}
