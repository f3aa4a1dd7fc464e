//! An on-premise pool: several OpenAI-compatible servers inside the organisation (llama.cpp's
//! llama-server, vLLM, Ollama) behind one backend name, for when one machine is outgrown.
//!
//! * Balancing: each request goes to the healthy member with the fewest outstanding requests
//!   (a stream is outstanding until it ends or is dropped); ties go round-robin.
//! * Health: a background task polls every member's health URL. A member that fails
//!   `eject_after_failures` checks in a row is ejected; one that then passes
//!   `readmit_after_successes` in a row is readmitted. A request that cannot reach a member
//!   (connection refused, timeout, 5xx before any byte) ejects it at once and is retried on the
//!   next healthy member, so a server that dies is out of rotation before its next check.
//! * All members down: `Busy` (503 with `Retry-After`). The pool is on premise, so it may carry
//!   sensitive traffic; the router never sends that anywhere else, so there is no cloud fallback
//!   for it. Nothing here decides where text may go.
//!
//! A retry happens only before the answer exists: once `chat` has returned, a stream is never
//! restarted on another member (the client may hold part of it already).

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::Stream;
use serde::Deserialize;

use super::{
    Backend, BackendError, BackendInitError, BackendLoad, BackendReply, ChunkStream,
    EmbeddingsAnswer, HttpBackend, HttpConfig, MemberState, StreamEvent,
};
use crate::openai::embeddings::EmbeddingsRequest;
use crate::openai::ChatCompletionRequest;

/// `kind = "pool"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolConfig {
    /// Each member's API root (ending in `/v1` for llama-server, vLLM and Ollama). Members must
    /// run inside the organisation: a pool is on premise and may receive sensitive text.
    pub members: Vec<String>,
    /// The environment variable holding the members' API key, if they want one.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Renames requested models before forwarding.
    #[serde(default)]
    pub model_map: BTreeMap<String, String>,
    /// Appended to a member's API root for its health check; any 2xx answer is healthy.
    /// `/models` works on all three servers (llama-server answers 503 while loading).
    #[serde(default = "default_health_path")]
    pub health_path: String,
    #[serde(default = "default_health_interval_ms")]
    pub health_interval_ms: u64,
    #[serde(default = "default_health_timeout_ms")]
    pub health_timeout_ms: u64,
    #[serde(default = "default_eject_after")]
    pub eject_after_failures: u32,
    #[serde(default = "default_readmit_after")]
    pub readmit_after_successes: u32,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: f64,
    /// The longest wait for the next byte of an answer.
    #[serde(default = "default_read_timeout")]
    pub read_timeout_secs: f64,
    /// The `Retry-After` sent when no member is healthy.
    #[serde(default = "default_retry_after")]
    pub retry_after_secs: u64,
}

fn default_health_path() -> String {
    "/models".to_owned()
}
fn default_health_interval_ms() -> u64 {
    1000
}
fn default_health_timeout_ms() -> u64 {
    1000
}
fn default_eject_after() -> u32 {
    2
}
fn default_readmit_after() -> u32 {
    2
}
fn default_connect_timeout() -> f64 {
    2.0
}
fn default_read_timeout() -> f64 {
    120.0
}
fn default_retry_after() -> u64 {
    2
}

/// One server of the pool.
struct Member {
    url: String,
    backend: HttpBackend,
    health_url: reqwest::Url,
    healthy: AtomicBool,
    outstanding: AtomicUsize,
    /// Consecutive failed checks while healthy, or passed checks while ejected.
    streak: AtomicU32,
}

impl Member {
    fn eject(&self, pool: &str, why: &str) {
        if self.healthy.swap(false, Ordering::SeqCst) {
            tracing::warn!(target: "sluice::backend", pool, member = %self.url, why, "pool member ejected");
        }
        self.streak.store(0, Ordering::SeqCst);
    }

    /// Counts one health check and moves the member in or out of rotation.
    fn checked(&self, pool: &str, passed: bool, eject_after: u32, readmit_after: u32) {
        let healthy = self.healthy.load(Ordering::SeqCst);
        if passed == healthy {
            self.streak.store(0, Ordering::SeqCst);
            return;
        }
        let streak = self.streak.fetch_add(1, Ordering::SeqCst) + 1;
        if healthy && streak >= eject_after {
            self.eject(pool, "health checks failed");
        } else if !healthy && streak >= readmit_after {
            self.streak.store(0, Ordering::SeqCst);
            self.healthy.store(true, Ordering::SeqCst);
            tracing::info!(target: "sluice::backend", pool, member = %self.url, "pool member readmitted");
        }
    }
}

struct Shared {
    name: String,
    members: Vec<Member>,
    next: AtomicUsize,
    health: reqwest::Client,
    config: PoolConfig,
}

/// The pool behind the [`Backend`] interface.
pub struct Pool {
    shared: Arc<Shared>,
    checker: std::sync::OnceLock<()>,
}

impl Pool {
    /// Builds the members' clients. The health checks start with the first use inside a Tokio
    /// runtime (or at once, when built inside one). Members start healthy: a dead one is found
    /// by its first failed request or check.
    pub fn new(name: &str, config: &PoolConfig) -> Result<Self, BackendInitError> {
        let invalid = |reason: String| BackendInitError::Invalid {
            backend: name.to_owned(),
            reason,
        };
        if config.members.is_empty() {
            return Err(invalid("a pool needs at least one member".to_owned()));
        }
        if config.eject_after_failures == 0 || config.readmit_after_successes == 0 {
            return Err(invalid(
                "eject_after_failures and readmit_after_successes must be at least 1".to_owned(),
            ));
        }
        if !(50..=3_600_000).contains(&config.health_interval_ms)
            || !(10..=60_000).contains(&config.health_timeout_ms)
        {
            return Err(invalid(
                "health_interval_ms must be 50..3600000 and health_timeout_ms 10..60000".to_owned(),
            ));
        }
        let mut members = Vec::with_capacity(config.members.len());
        for url in &config.members {
            let http = HttpConfig {
                base_url: url.clone(),
                base_url_env: None,
                api_key_env: config.api_key_env.clone(),
                on_premise: true,
                connect_timeout_secs: config.connect_timeout_secs,
                read_timeout_secs: config.read_timeout_secs,
                // The pool retries on another member instead.
                max_retries: 0,
                retry_backoff_ms: 0,
                model_map: config.model_map.clone(),
            };
            let backend = HttpBackend::new(name, &http)?;
            let health_url = reqwest::Url::parse(&format!(
                "{}/{}",
                url.trim().trim_end_matches('/'),
                config.health_path.trim_start_matches('/')
            ))
            .map_err(|e| invalid(format!("member {url:?}: {e}")))?;
            members.push(Member {
                url: url.trim().to_owned(),
                backend,
                health_url,
                healthy: AtomicBool::new(true),
                outstanding: AtomicUsize::new(0),
                streak: AtomicU32::new(0),
            });
        }
        let health = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.health_timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| invalid(format!("cannot build the HTTP client: {e}")))?;
        let pool = Pool {
            shared: Arc::new(Shared {
                name: name.to_owned(),
                members,
                next: AtomicUsize::new(0),
                health,
                config: config.clone(),
            }),
            checker: std::sync::OnceLock::new(),
        };
        pool.start_checks();
        Ok(pool)
    }

    /// Starts the health-check task once, if a runtime is at hand. The task holds the pool
    /// weakly and ends when the pool is dropped.
    fn start_checks(&self) {
        if self.checker.get().is_some() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.checker.set(()).is_err() {
            return;
        }
        let weak = Arc::downgrade(&self.shared);
        let interval = Duration::from_millis(self.shared.config.health_interval_ms);
        runtime.spawn(check_forever(weak, interval));
    }

    /// The healthy members, fewest outstanding requests first (ties in round-robin order).
    fn candidates(&self) -> Vec<&Member> {
        let members = &self.shared.members;
        let start = self.shared.next.fetch_add(1, Ordering::Relaxed);
        let mut healthy: Vec<(usize, usize, &Member)> = (0..members.len())
            .map(|offset| &members[(start + offset) % members.len()])
            .enumerate()
            .filter(|(_, m)| m.healthy.load(Ordering::SeqCst))
            .map(|(order, m)| (m.outstanding.load(Ordering::SeqCst), order, m))
            .collect();
        healthy.sort_by_key(|(outstanding, order, _)| (*outstanding, *order));
        healthy.into_iter().map(|(_, _, m)| m).collect()
    }

    fn all_down(&self) -> BackendError {
        BackendError::Busy {
            retry_after: Duration::from_secs(self.shared.config.retry_after_secs.max(1)),
        }
    }

    async fn serve(&self, request: ChatCompletionRequest) -> Result<BackendReply, BackendError> {
        self.start_checks();
        let mut last = None;
        for member in self.candidates() {
            let held = Outstanding::new(&self.shared, member);
            match member.backend.chat(request.clone()).await {
                Ok(BackendReply::Complete(answer)) => return Ok(BackendReply::Complete(answer)),
                Ok(BackendReply::Stream(stream)) => {
                    return Ok(BackendReply::Stream(held.around(stream)))
                }
                Err(e) if member_failed(&e) => {
                    member.eject(&self.shared.name, "a request could not be served");
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(match last {
            Some(e) => {
                tracing::warn!(target: "sluice::backend", pool = %self.shared.name, error = %e,
                    "no pool member could serve the request");
                self.all_down()
            }
            None => self.all_down(),
        })
    }

    async fn serve_embeddings(
        &self,
        request: EmbeddingsRequest,
    ) -> Result<EmbeddingsAnswer, BackendError> {
        self.start_checks();
        for member in self.candidates() {
            let _held = Outstanding::new(&self.shared, member);
            match member.backend.embed(request.clone()).await {
                Err(e) if member_failed(&e) => {
                    member.eject(&self.shared.name, "a request could not be served");
                }
                answer => return answer,
            }
        }
        Err(self.all_down())
    }
}

/// Failures that say the member, not the request, is at fault.
fn member_failed(e: &BackendError) -> bool {
    match e {
        BackendError::Unavailable { .. } | BackendError::Timeout => true,
        BackendError::Upstream { status, .. } => matches!(status, 502..=504),
        BackendError::Busy { .. }
        | BackendError::BadRequest { .. }
        | BackendError::Cancelled
        | BackendError::Protocol { .. } => false,
    }
}

async fn check_forever(pool: Weak<Shared>, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let Some(shared) = pool.upgrade() else {
            return;
        };
        let checks = shared.members.iter().map(|member| {
            let client = shared.health.clone();
            let url = member.health_url.clone();
            async move { matches!(client.get(url).send().await, Ok(r) if r.status().is_success()) }
        });
        let results = futures_util::future::join_all(checks).await;
        let config = &shared.config;
        for (member, passed) in shared.members.iter().zip(results) {
            member.checked(
                &shared.name,
                passed,
                config.eject_after_failures,
                config.readmit_after_successes,
            );
        }
    }
}

/// A request counted against its member until dropped (for a stream: when it ends or the
/// client goes away).
struct Outstanding {
    shared: Arc<Shared>,
    index: usize,
}

impl Outstanding {
    fn new(shared: &Arc<Shared>, member: &Member) -> Self {
        member.outstanding.fetch_add(1, Ordering::SeqCst);
        let index = shared
            .members
            .iter()
            .position(|m| std::ptr::eq(m, member))
            .expect("a member of this pool");
        Outstanding {
            shared: Arc::clone(shared),
            index,
        }
    }

    fn around(self, stream: ChunkStream) -> ChunkStream {
        let usage = stream.usage_probe();
        ChunkStream::new(
            Box::pin(Counted {
                inner: stream,
                _held: self,
            }),
            usage,
        )
    }
}

impl Drop for Outstanding {
    fn drop(&mut self) {
        self.shared.members[self.index]
            .outstanding
            .fetch_sub(1, Ordering::SeqCst);
    }
}

struct Counted {
    inner: ChunkStream,
    _held: Outstanding,
}

impl Stream for Counted {
    type Item = Result<StreamEvent, BackendError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.get_mut().inner).poll_next(cx)
    }
}

impl Backend for Pool {
    fn name(&self) -> &str {
        &self.shared.name
    }

    fn on_premise(&self) -> bool {
        true
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
        Box::pin(self.serve_embeddings(request))
    }

    fn load(&self) -> BackendLoad {
        BackendLoad {
            active: self
                .shared
                .members
                .iter()
                .map(|m| m.outstanding.load(Ordering::SeqCst))
                .sum(),
            queued: 0,
        }
    }

    fn members(&self) -> Vec<MemberState> {
        self.shared
            .members
            .iter()
            .map(|m| MemberState {
                url: m.url.clone(),
                healthy: m.healthy.load(Ordering::SeqCst),
                outstanding: m.outstanding.load(Ordering::SeqCst),
            })
            .collect()
    }

    fn ready(&self) -> bool {
        self.start_checks();
        self.shared
            .members
            .iter()
            .any(|m| m.healthy.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(members: &[&str]) -> PoolConfig {
        let list: Vec<String> = members.iter().map(|m| format!("{m:?}")).collect();
        toml::from_str(&format!("members = [{}]", list.join(", "))).unwrap()
    }

    #[test]
    fn checks_eject_after_a_streak_and_readmit_after_one() {
        let pool = Pool::new(
            "p",
            &config(&["http://127.0.0.1:9/v1", "http://127.0.0.1:10/v1"]),
        )
        .unwrap();
        let m = &pool.shared.members[0];
        m.checked("p", false, 2, 2);
        assert!(
            m.healthy.load(Ordering::SeqCst),
            "one failure is not a streak"
        );
        m.checked("p", true, 2, 2);
        m.checked("p", false, 2, 2);
        assert!(m.healthy.load(Ordering::SeqCst), "a pass resets the streak");
        m.checked("p", false, 2, 2);
        assert!(!m.healthy.load(Ordering::SeqCst));
        assert_eq!(pool.candidates().len(), 1);
        assert!(pool.ready());
        m.checked("p", true, 2, 2);
        assert!(!m.healthy.load(Ordering::SeqCst));
        m.checked("p", true, 2, 2);
        assert!(m.healthy.load(Ordering::SeqCst));
    }

    #[test]
    fn the_least_busy_healthy_member_comes_first() {
        let pool = Pool::new(
            "p",
            &config(&[
                "http://127.0.0.1:9/v1",
                "http://127.0.0.1:10/v1",
                "http://127.0.0.1:11/v1",
            ]),
        )
        .unwrap();
        let members = &pool.shared.members;
        let _a = Outstanding::new(&pool.shared, &members[0]);
        let _b = Outstanding::new(&pool.shared, &members[0]);
        let _c = Outstanding::new(&pool.shared, &members[2]);
        for _ in 0..3 {
            assert_eq!(pool.candidates()[0].url, "http://127.0.0.1:10/v1");
        }
        members[1].eject("p", "test");
        assert_eq!(pool.candidates()[0].url, "http://127.0.0.1:11/v1");
        drop(_c);
        members[2].eject("p", "test");
        members[0].eject("p", "test");
        assert!(pool.candidates().is_empty());
        assert!(!pool.ready());
        assert_eq!(pool.load().active, 2);
    }

    #[test]
    fn bad_settings_name_the_pool() {
        let error = |text: &str| match Pool::new("gpus", &toml::from_str(text).unwrap()) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{text} must be refused"),
        };
        assert!(error("members = []").contains("gpus"));
        assert!(error("members = [\"ftp://x\"]").contains("http"));
        assert!(
            error("members = [\"http://a/v1\"]\neject_after_failures = 0").contains("at least 1")
        );
    }
}
