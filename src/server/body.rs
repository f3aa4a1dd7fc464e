//! Reading a request body under a size limit and a deadline, answering 413 or 408 in OpenAI's
//! error shape.
//!
//! The size limit is enforced while reading (and up front from Content-Length), so a 10 GB upload
//! costs at most the limit in memory; the deadline covers the whole body, so a chunked body that
//! never ends or a Content-Length never satisfied frees its connection.

use actix_web::{web, HttpRequest};
use bytes::BytesMut;
use futures_util::StreamExt;

use super::error::ApiError;
use super::limits::RequestLimits;

pub async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limits: &RequestLimits,
) -> Result<bytes::Bytes, ApiError> {
    let max = limits.max_body_bytes;
    let deadline = tokio::time::Instant::now() + limits.body_timeout;
    let declared = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large(max));
    }
    let mut body = BytesMut::with_capacity(declared.map_or(8 * 1024, |n| n as usize));
    loop {
        let Ok(next) = tokio::time::timeout_at(deadline, payload.next()).await else {
            return Err(too_slow(limits.body_timeout));
        };
        let Some(chunk) = next else {
            break;
        };
        let chunk =
            chunk.map_err(|_| ApiError::bad_request("the request body could not be read", None))?;
        if body.len() + chunk.len() > max {
            return Err(too_large(max));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn too_large(max: usize) -> ApiError {
    ApiError::new(
        413,
        "invalid_request_error",
        format!("the request body is larger than the gateway's limit of {max} bytes"),
    )
    .with_code("request_too_large")
}

fn too_slow(limit: std::time::Duration) -> ApiError {
    ApiError::new(
        408,
        "invalid_request_error",
        format!(
            "the request body did not arrive within {} ms ([server] body_timeout_ms)",
            limit.as_millis()
        ),
    )
    .with_code("request_timeout")
}
