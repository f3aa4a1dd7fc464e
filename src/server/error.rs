//! Every error the gateway answers, in OpenAI's error JSON shape, so that SDKs raise the right
//! typed exception. Messages name fields and reasons, never request content.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::HttpResponse;

use crate::openai::ErrorBody;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
    pub retry_after: Option<Duration>,
}

impl ApiError {
    pub fn new(status: u16, kind: &str, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body: ErrorBody::new(message, kind),
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>, param: Option<&str>) -> Self {
        let mut e = ApiError::new(400, "invalid_request_error", message);
        if let Some(p) = param {
            e.body = e.body.with_param(p);
        }
        e
    }

    pub fn unauthorized() -> Self {
        let mut e = ApiError::new(
            401,
            "authentication_error",
            "missing or invalid API key: send `Authorization: Bearer <key>` (or `x-api-key: <key>`) with a key listed in sluice.toml",
        );
        e.body = e.body.with_code("invalid_api_key");
        e
    }

    pub fn unavailable(message: impl Into<String>, retry_after: Option<Duration>) -> Self {
        ApiError {
            retry_after,
            ..ApiError::new(503, "server_error", message)
        }
    }

    /// 429: the client is over one of its limits (`[[clients]] limits`).
    pub fn rate_limited(limit: &str, retry_after: Duration) -> Self {
        ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(
                429,
                "rate_limit_error",
                format!(
                    "this client is over its {limit} limit; retry after {} s",
                    retry_after.as_secs().max(1)
                ),
            )
        }
        .with_code("rate_limit_exceeded")
    }

    /// The shared rate-limit store is unreachable and limits fail closed.
    pub fn limits_unavailable(retry_after: Duration) -> Self {
        ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(
                503,
                "server_error",
                "this client's limits cannot be checked right now (the rate-limit store is \
                 unreachable); nothing was forwarded",
            )
        }
        .with_code("rate_limit_store_unavailable")
    }

    pub fn with_code(mut self, code: &str) -> Self {
        self.body = self.body.with_code(code);
        self
    }

    pub fn status_u16(&self) -> u16 {
        self.status.as_u16()
    }

    pub fn to_response(&self) -> HttpResponse {
        let mut r = HttpResponse::build(self.status);
        r.content_type("application/json");
        if let Some(after) = self.retry_after {
            r.insert_header(("Retry-After", after.as_secs().max(1).to_string()));
        }
        r.body(self.body.to_json())
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.body.error.message)
    }
}

impl actix_web::ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        self.to_response()
    }
}
