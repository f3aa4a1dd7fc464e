//! Reading a request body under a size limit, answering 413 in OpenAI's error shape.
//!
//! The limit is enforced while reading (and up front from Content-Length), so a 10 GB upload costs
//! at most the limit in memory.

use actix_web::{web, HttpRequest};
use bytes::BytesMut;
use futures_util::StreamExt;

use super::error::ApiError;

pub async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    max: usize,
) -> Result<bytes::Bytes, ApiError> {
    let declared = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large(max));
    }
    let mut body = BytesMut::with_capacity(declared.map_or(8 * 1024, |n| n as usize));
    while let Some(chunk) = payload.next().await {
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
