//! Turning a request body into a [`ChatCompletionRequest`], or into a 400 that names the field.
//!
//! serde's messages quote the offending value (`invalid type: string "123-45-6789", expected
//! u32`). The value is client text that may be PII, and error messages end up in logs, so the
//! message is rebuilt from the error's category and the value replaced by its kind.

use serde_json::error::Category;

use super::error::ErrorBody;
use super::request::ChatCompletionRequest;

/// Why a body is not a valid chat-completions request. Never contains request text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RequestParseError {
    /// The JSON path of the offending field (`messages[0].content`), when known.
    pub param: Option<String>,
    pub message: String,
}

impl RequestParseError {
    fn new(param: Option<String>, detail: &str) -> Self {
        let message = match &param {
            Some(param) => format!("invalid request: `{param}`: {detail}"),
            None => format!("invalid request: {detail}"),
        };
        RequestParseError { param, message }
    }

    /// The 400 body to answer with.
    pub fn to_error_body(&self) -> ErrorBody {
        let body = ErrorBody::new(self.message.clone(), "invalid_request_error");
        match &self.param {
            Some(param) => body.with_param(param.clone()),
            None => body,
        }
    }
}

/// Parses and checks a request body.
pub fn parse_request(body: &[u8]) -> Result<ChatCompletionRequest, RequestParseError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let request: ChatCompletionRequest = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|error| {
            let path = error.path().to_string();
            from_json_error(&path, error.inner())
        })?;
    deserializer
        .end()
        .map_err(|error| from_json_error(".", &error))?;
    if request.messages.is_empty() {
        return Err(RequestParseError::new(
            Some("messages".to_owned()),
            "must contain at least one message",
        ));
    }
    Ok(request)
}

fn from_json_error(path: &str, error: &serde_json::Error) -> RequestParseError {
    let message = bare_message(error);
    let at = format!("at line {} column {}", error.line(), error.column());
    match error.classify() {
        Category::Io => RequestParseError::new(None, "the body could not be read"),
        Category::Syntax => {
            RequestParseError::new(None, &format!("not valid JSON: {message} {at}"))
        }
        Category::Eof => RequestParseError::new(None, &format!("the JSON ends early {at}")),
        Category::Data => {
            if let Some(field) = message
                .strip_prefix("missing field `")
                .and_then(|rest| rest.strip_suffix('`'))
            {
                let param = if path == "." {
                    field.to_owned()
                } else {
                    format!("{path}.{field}")
                };
                return RequestParseError::new(Some(param), "is required");
            }
            let param = (path != ".").then(|| path.to_owned());
            RequestParseError::new(param, &value_free(&message))
        }
    }
}

/// serde_json's message without its " at line L column C" suffix.
fn bare_message(error: &serde_json::Error) -> String {
    let full = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    full.strip_suffix(&suffix).unwrap_or(&full).to_owned()
}

/// Rewrites a serde data error so it says what kind of value was wrong but not the value.
fn value_free(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            // The expected part comes last and is written by sluice's types, never by the client.
            if let Some(split) = rest.rfind(", expected ") {
                let unexpected = &rest[..split];
                let kind = unexpected
                    .split(['`', '"'])
                    .next()
                    .unwrap_or_default()
                    .trim();
                return format!("{prefix}{kind}{}", &rest[split..]);
            }
        }
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        if let Some(split) = rest.rfind(", expected ") {
            return format!("unknown variant{}", &rest[split..]);
        }
    }
    let schema_only = [
        "duplicate field `",
        "invalid length ",
        "data did not match any variant",
    ];
    if schema_only.iter().any(|prefix| message.starts_with(prefix)) {
        return message.to_owned();
    }
    "invalid value".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANARY: &str = "123-45-6789 Jane Canary";

    fn error_for(body: &str) -> RequestParseError {
        parse_request(body.as_bytes()).expect_err("the body must be rejected")
    }

    #[test]
    fn accepts_a_minimal_request() {
        let request =
            parse_request(br#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#).unwrap();
        assert_eq!(request.model, "m");
        assert_eq!(request.messages.len(), 1);
    }

    #[test]
    fn missing_messages_names_the_field() {
        let error = error_for(r#"{"model":"m"}"#);
        assert_eq!(error.param.as_deref(), Some("messages"));
        assert!(error.message.contains("required"), "{}", error.message);
    }

    #[test]
    fn missing_nested_field_names_its_path() {
        let error = error_for(r#"{"model":"m","messages":[{"content":"hi"}]}"#);
        assert_eq!(error.param.as_deref(), Some("messages[0].role"));
    }

    #[test]
    fn empty_messages_is_rejected() {
        let error = error_for(r#"{"model":"m","messages":[]}"#);
        assert_eq!(error.param.as_deref(), Some("messages"));
    }

    #[test]
    fn wrong_type_names_the_field_but_not_the_value() {
        let body = format!(
            r#"{{"model":"m","messages":[{{"role":"user","content":"x"}}],"max_tokens":"{CANARY}"}}"#
        );
        let error = error_for(&body);
        assert_eq!(error.param.as_deref(), Some("max_tokens"));
        assert!(
            error.message.contains("invalid type: string"),
            "{}",
            error.message
        );
        assert!(!error.message.contains("123-45"), "{}", error.message);
        assert!(!error.to_error_body().to_json().contains("Canary"));
    }

    #[test]
    fn unknown_role_does_not_echo_the_value() {
        let body = format!(r#"{{"model":"m","messages":[{{"role":"{CANARY}","content":"x"}}]}}"#);
        let error = error_for(&body);
        assert_eq!(error.param.as_deref(), Some("messages[0].role"));
        assert!(
            error.message.contains("unknown variant"),
            "{}",
            error.message
        );
        assert!(!error.message.contains("Canary"), "{}", error.message);
    }

    #[test]
    fn wrong_content_shape_names_the_message() {
        let body = format!(
            r#"{{"model":"m","messages":[{{"role":"user","content":{{"t":"{CANARY}"}}}}]}}"#
        );
        let error = error_for(&body);
        assert_eq!(error.param.as_deref(), Some("messages[0].content"));
        assert!(!error.message.contains("Canary"), "{}", error.message);
    }

    #[test]
    fn tool_call_arguments_must_be_a_string() {
        let body = r#"{"model":"m","messages":[{"role":"assistant","tool_calls":[
            {"id":"c1","type":"function","function":{"name":"f","arguments":{"a":1}}}]}]}"#;
        let error = error_for(body);
        assert_eq!(
            error.param.as_deref(),
            Some("messages[0].tool_calls[0].function.arguments")
        );
    }

    #[test]
    fn malformed_json_is_a_syntax_error_with_a_position() {
        let error = error_for(r#"{"model":"m","messages":[}"#);
        assert_eq!(error.param, None);
        assert!(
            error.message.contains("not valid JSON"),
            "{}",
            error.message
        );
        assert!(error.message.contains("line 1"), "{}", error.message);
    }

    #[test]
    fn truncated_json_says_so() {
        let error = error_for(r#"{"model":"m","messages":[{"role":"user""#);
        assert!(error.message.contains("ends early"), "{}", error.message);
    }

    #[test]
    fn trailing_garbage_is_rejected() {
        let error = error_for(r#"{"model":"m","messages":[{"role":"user","content":"x"}]} x"#);
        assert!(
            error.message.contains("not valid JSON"),
            "{}",
            error.message
        );
    }

    #[test]
    fn invalid_utf8_is_rejected_without_a_panic() {
        let mut body = br#"{"model":"m","messages":[{"role":"user","content":""#.to_vec();
        body.extend_from_slice(&[0xff, 0xfe]);
        body.extend_from_slice(br#""}]}"#);
        assert!(parse_request(&body).is_err());
    }

    #[test]
    fn error_body_has_openai_shape() {
        let body = error_for(r#"{"model":"m"}"#).to_error_body();
        assert_eq!(body.error.kind, "invalid_request_error");
        assert_eq!(body.error.param.as_deref(), Some("messages"));
    }
}
