//! HTTP upstreams: OpenAI-compatible ones (OpenAI itself, cloud proxies, and on-premise servers:
//! llama-server, vLLM, Ollama), and Anthropic's native Messages API.
//!
//! An OpenAI-compatible upstream gets the request as the client sent it (unknown fields
//! included), with only the model renamed if configured and, on a stream, its usage chunk asked
//! for (costs and limits need every answer's token counts; the client sees that chunk only if it
//! asked for it). Anthropic gets the same request
//! translated by `super::anthropic` (which adds nothing that was not scanned), and its answers
//! come back as chat completions, so restoration, auditing and every front end work unchanged.
//!
//! Streams are relayed event by event as bytes arrive, never buffered whole. A failed attempt is
//! retried only while nothing of the answer exists yet (connection refused, 502/503/504): once
//! `chat` has returned, a stream is never restarted, because the client may already hold part
//! of an answer. The API key lives in a header value marked sensitive and is never formatted
//! into logs or errors.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Url;

use super::anthropic::{
    error_from_status_body, from_messages_response, to_messages_request, EventsToChunks,
};
use super::{
    Backend, BackendError, BackendInitError, BackendReply, ChunkStream, Completion,
    EmbeddingsAnswer, HttpConfig, StreamEvent, UsageProbe,
};
use crate::openai::embeddings::EmbeddingsRequest;
use crate::openai::sse::{SseEvent, SseParser};
use crate::openai::{ChatCompletionRequest, ErrorBody, StreamOptions};

/// The largest non-streaming answer accepted.
const MAX_ANSWER_BYTES: usize = 32 * 1024 * 1024;
/// How much of an upstream error body is kept for the client.
const MAX_ERROR_BYTES: usize = 64 * 1024;
/// The largest single SSE event accepted.
const MAX_EVENT_BYTES: usize = 8 * 1024 * 1024;

/// The API an upstream speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// `POST {base}/chat/completions`, `Authorization: Bearer`.
    OpenAi,
    /// `POST {base}/messages`, `x-api-key` and `anthropic-version`.
    Anthropic,
}

/// The Messages API version sluice's translation follows.
const ANTHROPIC_VERSION: &str = "2023-06-01";

/// An HTTP upstream.
pub struct HttpBackend {
    name: String,
    on_premise: bool,
    wire: Wire,
    endpoint: Url,
    /// `{base}/embeddings` (OpenAI-compatible upstreams only).
    embeddings: Url,
    authorization: Option<HeaderValue>,
    client: reqwest::Client,
    model_map: BTreeMap<String, String>,
    max_retries: u32,
    retry_backoff: Duration,
}

impl std::fmt::Debug for HttpBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpBackend")
            .field("name", &self.name)
            .field("on_premise", &self.on_premise)
            .field("endpoint", &self.endpoint.as_str())
            .field("has_api_key", &self.authorization.is_some())
            .finish_non_exhaustive()
    }
}

impl HttpBackend {
    /// Builds the client of an OpenAI-compatible upstream; reads the base URL and API key from
    /// the environment as configured.
    pub fn new(name: &str, config: &HttpConfig) -> Result<Self, BackendInitError> {
        Self::with_wire(name, config, Wire::OpenAi)
    }

    /// Builds the client of an upstream speaking `wire`.
    pub fn with_wire(
        name: &str,
        config: &HttpConfig,
        wire: Wire,
    ) -> Result<Self, BackendInitError> {
        let invalid = |reason: String| BackendInitError::Invalid {
            backend: name.to_owned(),
            reason,
        };
        let base_url = config
            .base_url_env
            .as_deref()
            .and_then(|env| std::env::var(env).ok())
            .filter(|url| !url.trim().is_empty())
            .unwrap_or_else(|| config.base_url.clone());
        let base = Url::parse(base_url.trim())
            .map_err(|error| invalid(format!("base URL is not a URL: {error}")))?;
        match base.scheme() {
            "https" => {}
            "http" if config.on_premise || is_loopback(&base) => {}
            "http" => {
                return Err(invalid(
                    "a backend that is not on_premise must use https".to_owned(),
                ))
            }
            _ => return Err(invalid("base URL must be http or https".to_owned())),
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(invalid(
                "put credentials in api_key_env, not in the base URL".to_owned(),
            ));
        }
        let path = match wire {
            Wire::OpenAi => "chat/completions",
            Wire::Anthropic => "messages",
        };
        let embeddings = Url::parse(&format!(
            "{}/embeddings",
            base.as_str().trim_end_matches('/')
        ))
        .map_err(|error| invalid(format!("base URL is not a URL: {error}")))?;
        let endpoint = Url::parse(&format!("{}/{path}", base.as_str().trim_end_matches('/')))
            .map_err(|error| invalid(format!("base URL is not a URL: {error}")))?;

        let authorization = match &config.api_key_env {
            None => None,
            Some(env) => {
                let key = std::env::var(env)
                    .ok()
                    .filter(|key| !key.trim().is_empty())
                    .ok_or_else(|| BackendInitError::MissingApiKey {
                        backend: name.to_owned(),
                        env: env.clone(),
                    })?;
                let value = match wire {
                    Wire::OpenAi => format!("Bearer {}", key.trim()),
                    Wire::Anthropic => key.trim().to_owned(),
                };
                let mut value = HeaderValue::from_str(&value).map_err(|_| {
                    invalid(format!("{env} holds characters a header cannot carry"))
                })?;
                value.set_sensitive(true);
                Some(value)
            }
        };

        let seconds = |value: f64, what: &str| {
            if value.is_finite() && value > 0.0 && value <= 86_400.0 {
                Ok(Duration::from_secs_f64(value))
            } else {
                Err(invalid(format!(
                    "{what} must be between 0 and 86400 seconds"
                )))
            }
        };
        let client = reqwest::Client::builder()
            .connect_timeout(seconds(
                config.connect_timeout_secs,
                "connect_timeout_secs",
            )?)
            .read_timeout(seconds(config.read_timeout_secs, "read_timeout_secs")?)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("sluice/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| invalid(format!("cannot build the HTTP client: {error}")))?;
        Ok(HttpBackend {
            name: name.to_owned(),
            on_premise: config.on_premise,
            wire,
            endpoint,
            embeddings,
            authorization,
            client,
            model_map: config.model_map.clone(),
            max_retries: config.max_retries,
            retry_backoff: Duration::from_millis(config.retry_backoff_ms),
        })
    }

    /// The URL requests are posted to.
    pub fn endpoint(&self) -> &str {
        self.endpoint.as_str()
    }

    async fn serve(
        &self,
        mut request: ChatCompletionRequest,
    ) -> Result<BackendReply, BackendError> {
        let client_model = request.model.clone();
        if let Some(target) = self.model_map.get(&request.model) {
            request.model = target.clone();
        }
        let streaming = request.is_stream();
        // Costs and limits need the token counts of every streamed answer: the upstream is asked
        // for its usage chunk, which reaches the client only if the client asked for it.
        let client_wants_usage = request.wants_stream_usage();
        if streaming && self.wire == Wire::OpenAi && !client_wants_usage {
            let options = request.stream_options.get_or_insert_with(|| StreamOptions {
                include_usage: None,
                extra: crate::openai::Extra::new(),
            });
            options.include_usage = Some(true);
        }
        let body = match self.wire {
            Wire::OpenAi => serde_json::to_vec(&request),
            Wire::Anthropic => {
                let translated = to_messages_request(&request, &request.model).map_err(|e| {
                    BackendError::BadRequest {
                        message: format!(
                            "the {} backend cannot serve this request: {e}",
                            self.name
                        ),
                        param: None,
                    }
                })?;
                serde_json::to_vec(&translated)
            }
        }
        .map_err(|_| {
            BackendError::bad_request("the request cannot be serialized for the upstream")
        })?;
        let response = self
            .succeeded(
                self.send(&self.endpoint, Bytes::from(body), streaming)
                    .await?,
            )
            .await?;
        if streaming {
            let decoder = match self.wire {
                Wire::OpenAi => Decoder::Chat {
                    include_usage: client_wants_usage,
                },
                Wire::Anthropic => Decoder::Messages {
                    events: Box::new(EventsToChunks::new(&client_model)),
                    include_usage: client_wants_usage,
                },
            };
            let usage = UsageProbe::default();
            let events = UpstreamEvents {
                body: response.bytes_stream().boxed(),
                parser: SseParser::new(MAX_EVENT_BYTES),
                pending: VecDeque::new(),
                ended: false,
                decoder,
                usage: usage.clone(),
            };
            return Ok(BackendReply::Stream(ChunkStream::new(
                Box::pin(events),
                usage,
            )));
        }
        let raw = read_body(response, MAX_ANSWER_BYTES).await?;
        let completion = match self.wire {
            Wire::OpenAi => Completion::from_upstream(raw).ok(),
            Wire::Anthropic => from_messages_response(&raw, &client_model)
                .ok()
                .map(Completion::new),
        };
        completion
            .map(|completion| BackendReply::Complete(Box::new(completion)))
            .ok_or_else(|| BackendError::Protocol {
                detail: "the answer is not a chat completion".to_owned(),
            })
    }

    /// The response if its status is a success, else the upstream's error (its body kept, in
    /// OpenAI's shape, for the client).
    async fn succeeded(
        &self,
        response: reqwest::Response,
    ) -> Result<reqwest::Response, BackendError> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = read_body(response, MAX_ERROR_BYTES)
            .await
            .unwrap_or_default();
        Err(BackendError::Upstream {
            status: status.as_u16(),
            body: self.error_body(status.as_u16(), body),
        })
    }

    /// An upstream's error body as sluice relays it: OpenAI's shape, so every front end can
    /// read it (Anthropic's errors are translated; their text is the cloud's own).
    fn error_body(&self, status: u16, body: Bytes) -> Bytes {
        match self.wire {
            Wire::OpenAi => body,
            Wire::Anthropic => {
                let error = error_from_status_body(status, &body);
                let kind = error.upstream_type.as_deref().unwrap_or("api_error");
                Bytes::from(ErrorBody::new(error.message, kind).to_json())
            }
        }
    }

    /// `POST {base}/embeddings` with the upstream's answer passed through.
    async fn embed_remote(
        &self,
        mut request: EmbeddingsRequest,
    ) -> Result<EmbeddingsAnswer, BackendError> {
        if self.wire != Wire::OpenAi {
            return Err(BackendError::unavailable(
                "this backend has no embeddings API",
            ));
        }
        if let Some(target) = self.model_map.get(&request.model) {
            request.model = target.clone();
        }
        let body = serde_json::to_vec(&request.to_json())
            .map_err(|_| BackendError::bad_request("the request cannot be serialized"))?;
        let response = self
            .succeeded(
                self.send(&self.embeddings, Bytes::from(body), false)
                    .await?,
            )
            .await?;
        let body = read_body(response, MAX_ANSWER_BYTES).await?;
        // Checked for shape and usage only: the vectors (thousands of floats per input) are
        // skipped, not parsed, and forwarded as the upstream's bytes.
        let answer: EmbeddingsShape =
            serde_json::from_slice(&body).map_err(|_| BackendError::Protocol {
                detail: "the answer is not an embeddings list".to_owned(),
            })?;
        Ok(EmbeddingsAnswer {
            prompt_tokens: answer.usage.and_then(|u| u.prompt_tokens),
            body,
        })
    }

    /// Posts the body to `url`, retrying while no answer has started.
    async fn send(
        &self,
        url: &Url,
        body: Bytes,
        streaming: bool,
    ) -> Result<reqwest::Response, BackendError> {
        let mut attempt = 0;
        loop {
            let mut post = self
                .client
                .post(url.clone())
                .header(CONTENT_TYPE, "application/json")
                .header(
                    ACCEPT,
                    if streaming {
                        "text/event-stream"
                    } else {
                        "application/json"
                    },
                )
                .body(body.clone());
            match (self.wire, &self.authorization) {
                (Wire::OpenAi, Some(key)) => post = post.header(AUTHORIZATION, key.clone()),
                (Wire::Anthropic, key) => {
                    post = post.header("anthropic-version", ANTHROPIC_VERSION);
                    if let Some(key) = key {
                        post = post.header("x-api-key", key.clone());
                    }
                }
                (Wire::OpenAi, None) => {}
            }
            let result = post.send().await;
            let retryable = match &result {
                Err(error) => error.is_connect(),
                Ok(response) => matches!(response.status().as_u16(), 502..=504),
            };
            if !retryable || attempt >= self.max_retries {
                return result.map_err(|error| transport_error(&error));
            }
            let delay = self.retry_backoff * 2u32.saturating_pow(attempt);
            attempt += 1;
            tracing::warn!(
                backend = %self.name,
                attempt,
                status = result.as_ref().ok().map(|r| r.status().as_u16()),
                "upstream not ready; retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// A transport failure as a backend error (without the URL or any body).
fn transport_error(error: &reqwest::Error) -> BackendError {
    if error.is_timeout() {
        BackendError::Timeout
    } else if error.is_connect() {
        BackendError::unavailable("cannot connect to the upstream")
    } else {
        BackendError::unavailable("the upstream connection failed")
    }
}

/// Reads a whole body, refusing more than `limit` bytes.
async fn read_body(mut response: reqwest::Response, limit: usize) -> Result<Bytes, BackendError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| transport_error(&error))?
    {
        if body.len() + chunk.len() > limit {
            return Err(BackendError::Protocol {
                detail: format!("the answer exceeds {limit} bytes"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}

/// What sluice reads of an upstream's embeddings answer.
#[derive(serde::Deserialize)]
struct EmbeddingsShape {
    /// Required (an answer without it is not an embeddings list), never read.
    #[serde(rename = "data")]
    _data: Vec<serde::de::IgnoredAny>,
    #[serde(default)]
    usage: Option<EmbeddingsUsage>,
}

#[derive(serde::Deserialize)]
struct EmbeddingsUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
}

/// How an upstream's SSE events become chat events.
enum Decoder {
    /// OpenAI-compatible: classified, with their bytes kept for pass-through. The usage chunk
    /// (asked for on every stream) reaches the client only when it asked for it; the token
    /// counts always reach the usage probe.
    Chat { include_usage: bool },
    /// Anthropic's events, translated into chunks. Its usage chunk reaches the client only when
    /// asked for; the token counts always reach the usage probe.
    Messages {
        events: Box<EventsToChunks>,
        include_usage: bool,
    },
}

/// An upstream SSE body as parsed events, each yielded as soon as its last byte arrives.
struct UpstreamEvents {
    body: BoxStream<'static, reqwest::Result<Bytes>>,
    parser: SseParser,
    pending: VecDeque<Result<StreamEvent, BackendError>>,
    ended: bool,
    decoder: Decoder,
    usage: UsageProbe,
}

impl UpstreamEvents {
    fn absorb(&mut self, events: impl IntoIterator<Item = SseEvent>) {
        for event in events {
            match &mut self.decoder {
                Decoder::Chat { include_usage } => {
                    let event = StreamEvent::from_sse(event);
                    if let Some(chunk) = event.as_chunk() {
                        if let (Some(usage), true) = (&chunk.usage, chunk.choices.is_empty()) {
                            self.usage.set(usage.clone());
                            if !*include_usage {
                                continue;
                            }
                        }
                    }
                    self.pending.push_back(Ok(event));
                }
                Decoder::Messages {
                    events: translator,
                    include_usage,
                } => {
                    let Some(data) = event.data.as_deref() else {
                        continue;
                    };
                    match translator.event(event.event.as_deref(), data) {
                        Ok(chunks) => {
                            for chunk in chunks {
                                if let (Some(usage), true) =
                                    (&chunk.usage, chunk.choices.is_empty())
                                {
                                    self.usage.set(usage.clone());
                                    if !*include_usage {
                                        continue;
                                    }
                                }
                                self.pending.push_back(Ok(StreamEvent::chunk(chunk)));
                            }
                            if translator.is_finished() {
                                self.pending.push_back(Ok(StreamEvent::done()));
                                self.ended = true;
                            }
                        }
                        Err(error) => {
                            self.pending.push_back(Err(BackendError::Upstream {
                                status: error.status,
                                body: Bytes::from(
                                    ErrorBody::new(
                                        error.message.clone(),
                                        error.upstream_type.as_deref().unwrap_or("api_error"),
                                    )
                                    .to_json(),
                                ),
                            }));
                            self.ended = true;
                        }
                    }
                }
            }
            if self.ended {
                return;
            }
        }
    }
}

impl Stream for UpstreamEvents {
    type Item = Result<StreamEvent, BackendError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(event) = this.pending.pop_front() {
                return Poll::Ready(Some(event));
            }
            if this.ended {
                return Poll::Ready(None);
            }
            match this.body.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(bytes))) => match this.parser.feed(&bytes) {
                    Ok(events) => this.absorb(events),
                    Err(error) => {
                        this.ended = true;
                        return Poll::Ready(Some(Err(BackendError::Protocol {
                            detail: error.to_string(),
                        })));
                    }
                },
                Poll::Ready(Some(Err(error))) => {
                    this.ended = true;
                    let error = if error.is_timeout() {
                        BackendError::Timeout
                    } else {
                        BackendError::unavailable("the upstream stream broke off")
                    };
                    return Poll::Ready(Some(Err(error)));
                }
                Poll::Ready(None) => {
                    let rest: Vec<SseEvent> = this.parser.finish().into_iter().collect();
                    this.absorb(rest);
                    if !this.ended && matches!(this.decoder, Decoder::Messages { .. }) {
                        // Anthropic ends every answer with message_stop; without it the answer
                        // was cut off, and the client must not take it for a whole one.
                        this.pending.push_back(Err(BackendError::unavailable(
                            "the upstream stream ended before message_stop",
                        )));
                    }
                    this.ended = true;
                }
            }
        }
    }
}

impl Backend for HttpBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn on_premise(&self) -> bool {
        self.on_premise
    }

    fn chat(
        &self,
        request: ChatCompletionRequest,
    ) -> BoxFuture<'_, Result<BackendReply, BackendError>> {
        Box::pin(self.serve(request))
    }

    fn embed(
        &self,
        request: EmbeddingsRequest,
    ) -> BoxFuture<'_, Result<EmbeddingsAnswer, BackendError>> {
        Box::pin(self.embed_remote(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(base_url: &str, on_premise: bool) -> HttpConfig {
        HttpConfig {
            base_url: base_url.to_owned(),
            on_premise,
            ..HttpConfig::default()
        }
    }

    #[test]
    fn endpoint_appends_chat_completions() {
        let backend = HttpBackend::new("c", &config("https://api.example.com/v1/", false)).unwrap();
        assert_eq!(
            backend.endpoint(),
            "https://api.example.com/v1/chat/completions"
        );
    }

    #[test]
    fn plain_http_is_refused_for_cloud_backends_only() {
        assert!(HttpBackend::new("c", &config("http://api.example.com/v1", false)).is_err());
        assert!(HttpBackend::new("c", &config("http://vllm.internal:8000/v1", true)).is_ok());
        assert!(HttpBackend::new("c", &config("http://127.0.0.1:9/v1", false)).is_ok());
        assert!(HttpBackend::new("c", &config("http://[::1]:9/v1", false)).is_ok());
    }

    #[test]
    fn credentials_in_the_url_are_refused() {
        let error = HttpBackend::new("c", &config("https://user:secret@api.example.com", false))
            .unwrap_err()
            .to_string();
        assert!(!error.contains("secret"), "{error}");
    }

    #[test]
    fn missing_api_key_names_the_variable() {
        let config = HttpConfig {
            api_key_env: Some("SLUICE_TEST_KEY_THAT_IS_NOT_SET".to_owned()),
            ..HttpConfig::default()
        };
        let error = HttpBackend::new("cloud", &config).unwrap_err().to_string();
        assert!(error.contains("SLUICE_TEST_KEY_THAT_IS_NOT_SET"), "{error}");
    }
}
