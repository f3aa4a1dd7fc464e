//! The APIs a client may speak to sluice, and what each needs at the edges of the one pipeline:
//! its request turned into the internal chat request, its answers and errors in its own shape.
//!
//! Everything between (scan, decide, audit, route, redact, restore) is the same code for every
//! front end, so a new API cannot skip a step. The translations themselves live in
//! `crate::dialect`; this module only picks one and frames HTTP responses.

use actix_web::HttpResponse;
use bytes::Bytes;

use super::error::ApiError;
use crate::backend::Completion;
use crate::dialect::{anthropic, completions, embeddings, responses, FrontError, StreamEncoder};

/// One front-end API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Front {
    /// `POST /v1/chat/completions`: the internal form itself.
    Chat,
    /// `POST /v1/messages` (Anthropic).
    Messages,
    /// `POST /v1/completions` (OpenAI's legacy API).
    Completions,
    /// `POST /v1/responses` (OpenAI's Responses API, without stored state).
    Responses,
    /// `POST /v1/embeddings`: judged like the others, answered by `Backend::embed`.
    Embeddings,
}

/// What a front end keeps from the request to shape its answer.
#[derive(Debug, Clone)]
pub enum Echo {
    Chat,
    /// The model name the client asked for.
    Messages(String),
    Completions(String),
    Responses(Box<responses::Echo>),
    Embeddings,
}

impl Front {
    /// Every front end, each served at its [`Front::path`].
    pub const ALL: [Front; 5] = [
        Front::Chat,
        Front::Messages,
        Front::Responses,
        Front::Embeddings,
        Front::Completions,
    ];

    /// The route it is served at.
    pub fn path(self) -> &'static str {
        match self {
            Front::Chat => "/v1/chat/completions",
            Front::Messages => "/v1/messages",
            Front::Completions => "/v1/completions",
            Front::Responses => "/v1/responses",
            Front::Embeddings => "/v1/embeddings",
        }
    }

    /// The route label in metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Front::Chat => "chat_completions",
            Front::Messages => "messages",
            Front::Completions => "completions",
            Front::Responses => "responses",
            Front::Embeddings => "embeddings",
        }
    }

    /// The body as the internal chat request's JSON, and what the answer needs. A chat body is
    /// passed through untouched (`Gateway::judge` parses it).
    pub fn translate(self, body: Bytes) -> Result<(Bytes, Echo), ApiError> {
        let translated = match self {
            Front::Chat => return Ok((body, Echo::Chat)),
            _ if std::str::from_utf8(&body).is_err() => {
                return Err(ApiError::bad_request(
                    "the request body is not valid UTF-8",
                    None,
                ))
            }
            Front::Messages => {
                anthropic::to_chat(&body).map(|(request, model)| (request, Echo::Messages(model)))
            }
            Front::Completions => completions::to_chat(&body)
                .map(|(request, model)| (request, Echo::Completions(model))),
            Front::Responses => responses::to_chat(&body)
                .map(|(request, echo)| (request, Echo::Responses(Box::new(echo)))),
            Front::Embeddings => {
                embeddings::to_chat(&body).map(|request| (request, Echo::Embeddings))
            }
        };
        drop(body);
        let (request, echo) = translated.map_err(front_error)?;
        let json = serde_json::to_vec(&request)
            .map_err(|_| ApiError::bad_request("the request cannot be re-encoded", None))?;
        Ok((Bytes::from(json), echo))
    }

    /// An error answer in this API's shape (OpenAI's for chat and completions, Anthropic's for
    /// Messages), with `Retry-After` when the error has one.
    pub fn error_response(self, error: &ApiError) -> HttpResponse {
        match self {
            Front::Chat | Front::Completions | Front::Responses | Front::Embeddings => {
                error.to_response()
            }
            Front::Messages => {
                let status = error.status_u16();
                let message = if status == 401 {
                    "missing or invalid API key: send `x-api-key: <key>` (or `Authorization: Bearer <key>`) with a key listed in sluice.toml"
                } else {
                    error.body.error.message.as_str()
                };
                let mut response = HttpResponse::build(error.status);
                if let Some(after) = error.retry_after {
                    response.insert_header(("Retry-After", after.as_secs().max(1).to_string()));
                }
                response.json(anthropic::error_body(status, message))
            }
        }
    }

    /// A header this API's clients read besides sluice's own: `request-id` for Anthropic's SDKs
    /// (their exceptions and logs carry it).
    pub fn request_id_header(self) -> Option<&'static str> {
        (self == Front::Messages).then_some("request-id")
    }
}

impl Echo {
    /// The JSON body of a complete answer. A chat answer keeps the upstream's exact bytes.
    pub fn answer(&self, completion: &Completion) -> Result<Bytes, ApiError> {
        let value = match self {
            Echo::Chat | Echo::Embeddings => return Ok(completion.to_bytes()),
            Echo::Messages(model) => {
                anthropic::answer(completion.response(), model).map_err(front_error)?
            }
            Echo::Completions(model) => completions::answer(completion.response(), model),
            Echo::Responses(echo) => responses::answer(completion.response(), echo),
        };
        Ok(Bytes::from(value.to_string()))
    }

    /// The encoder of a streamed answer; `None` forwards chat events as they are.
    pub fn encoder(&self) -> Option<Box<dyn StreamEncoder>> {
        match self {
            Echo::Chat | Echo::Embeddings => None,
            Echo::Messages(model) => Some(Box::new(anthropic::MessagesEncoder::new(model))),
            Echo::Completions(model) => Some(Box::new(completions::CompletionsEncoder::new(model))),
            Echo::Responses(echo) => Some(Box::new(responses::encoder(echo))),
        }
    }
}

fn front_error(e: FrontError) -> ApiError {
    let kind = if e.status < 500 {
        "invalid_request_error"
    } else {
        "server_error"
    };
    let mut error = ApiError::new(e.status, kind, e.message);
    if let Some(param) = e.param {
        error.body = error.body.with_param(param);
    }
    error
}
