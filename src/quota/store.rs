//! Where limit counters live: in this process, or in a Redis shared by every replica so that a
//! client's limits hold across all of them.
//!
//! Both stores count the same way: a counter per client, limit and fixed window (`minute 29411`,
//! `day 20429`, ...), read before a request is admitted and increased when it is admitted or
//! charged. Redis keys expire two windows after they were last written. A Redis that cannot be
//! reached within the timeout is an error the caller turns into a refusal (fail closed) unless
//! configured to admit.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::Deserialize;

/// `[limits]`: where counters are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    #[serde(default)]
    pub store: StoreKind,
    /// The Redis URL (`redis://host:6379/0`; `rediss://` is not supported). With `store =
    /// "redis"`, give this or `redis_url_env`.
    #[serde(default)]
    pub redis_url: Option<String>,
    /// An environment variable holding the Redis URL (it may carry a password); wins when set.
    #[serde(default)]
    pub redis_url_env: Option<String>,
    /// How long a limit check may wait for Redis before the store counts as unreachable.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// `refuse` (the default: fail closed) or `admit` requests while the store is unreachable.
    #[serde(default)]
    pub on_store_error: OnStoreError,
    /// Prefix of every key, to share a Redis with other applications or sluice deployments.
    #[serde(default = "default_prefix")]
    pub key_prefix: String,
}

fn default_timeout_ms() -> u64 {
    250
}
fn default_prefix() -> String {
    "sluice:limits:".to_owned()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    #[default]
    Memory,
    Redis,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnStoreError {
    #[default]
    Refuse,
    Admit,
}

/// One counter: a client's use of one limit in one window.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Counter {
    pub client: String,
    pub limit: &'static str,
    pub window: i64,
    /// The window's length, for expiry.
    pub ttl: Duration,
}

/// The store could not be reached or answered nonsense; never carries request text.
#[derive(Debug, thiserror::Error)]
#[error("the rate-limit store is unavailable: {0}")]
pub struct StoreError(String);

/// In memory, each client's limit keeps its current window only: a counter of an older window
/// is worth nothing, so memory stays bounded by clients × limits and every step is O(1).
type Windows = HashMap<(String, &'static str), (i64, u64)>;

/// Counters, in memory or in Redis.
pub enum Store {
    Memory(Mutex<Windows>),
    Redis {
        connection: redis::aio::ConnectionManager,
        timeout: Duration,
        prefix: String,
    },
}

impl Store {
    /// Builds the configured store. Redis is connected lazily (on first use, and again after a
    /// failure), so a gateway starts while its Redis is down and refuses (or admits) meanwhile.
    pub fn from_config(config: &LimitsConfig) -> Result<Store, String> {
        match config.store {
            StoreKind::Memory => Ok(Store::Memory(Mutex::default())),
            StoreKind::Redis => {
                let url = config
                    .redis_url_env
                    .as_deref()
                    .and_then(|env| std::env::var(env).ok())
                    .filter(|url| !url.trim().is_empty())
                    .or_else(|| config.redis_url.clone())
                    .ok_or("[limits] store = \"redis\" needs redis_url or redis_url_env (set)")?;
                // The URL may hold a password: errors name the setting, never the URL.
                let client = redis::Client::open(url.trim()).map_err(|e| {
                    format!("[limits] the Redis URL is not valid ({})", e.category())
                })?;
                let timeout = Duration::from_millis(config.timeout_ms.clamp(1, 60_000));
                let manager = redis::aio::ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout))
                    .set_number_of_retries(1)
                    .set_max_delay(Duration::from_secs(1));
                let connection =
                    redis::aio::ConnectionManager::new_lazy_with_config(client, manager)
                        .map_err(|e| format!("[limits] Redis: {}", e.category()))?;
                Ok(Store::Redis {
                    connection,
                    timeout,
                    prefix: config.key_prefix.clone(),
                })
            }
        }
    }

    pub fn is_shared(&self) -> bool {
        matches!(self, Store::Redis { .. })
    }

    /// Reads `reads` and, in the same step, increases `count` by one; returns the values read
    /// and the count after the increase.
    pub async fn read_and_count(
        &self,
        reads: &[Counter],
        count: Option<&Counter>,
    ) -> Result<(Vec<u64>, Option<u64>), StoreError> {
        match self {
            Store::Memory(windows) => {
                let mut windows = windows.lock().unwrap_or_else(|e| e.into_inner());
                let read = reads
                    .iter()
                    .map(|c| match windows.get(&(c.client.clone(), c.limit)) {
                        Some((window, value)) if *window == c.window => *value,
                        _ => 0,
                    })
                    .collect();
                let counted = count.map(|c| {
                    let value = current(&mut windows, c);
                    *value += 1;
                    *value
                });
                Ok((read, counted))
            }
            Store::Redis {
                connection,
                timeout,
                prefix,
            } => {
                let mut pipe = redis::pipe();
                pipe.atomic();
                for counter in reads {
                    pipe.get(key(prefix, counter));
                }
                if let Some(counter) = count {
                    let key = key(prefix, counter);
                    pipe.incr(&key, 1u64).expire(&key, expiry(counter)).ignore();
                }
                let mut connection = connection.clone();
                let values: Vec<Option<u64>> =
                    within(*timeout, pipe.query_async(&mut connection)).await?;
                let mut values = values.into_iter().map(|v| v.unwrap_or(0));
                let read: Vec<u64> = values.by_ref().take(reads.len()).collect();
                let counted = count.map(|_| values.next().unwrap_or(0));
                Ok((read, counted))
            }
        }
    }

    /// Adds `amount` to each counter.
    pub async fn add(&self, adds: &[(Counter, u64)]) -> Result<(), StoreError> {
        match self {
            Store::Memory(windows) => {
                let mut windows = windows.lock().unwrap_or_else(|e| e.into_inner());
                for (counter, amount) in adds {
                    *current(&mut windows, counter) += amount;
                }
                Ok(())
            }
            Store::Redis {
                connection,
                timeout,
                prefix,
            } => {
                let mut pipe = redis::pipe();
                pipe.atomic();
                for (counter, amount) in adds {
                    let key = key(prefix, counter);
                    pipe.incr(&key, *amount)
                        .ignore()
                        .expire(&key, expiry(counter))
                        .ignore();
                }
                let mut connection = connection.clone();
                within(*timeout, pipe.query_async::<()>(&mut connection)).await
            }
        }
    }
}

/// The value of `counter`'s window, started at 0 when the stored window is an older one. A
/// charge computed just before another request moved the window on lands in the newer window
/// (counting more, never less).
fn current<'a>(windows: &'a mut Windows, counter: &Counter) -> &'a mut u64 {
    let slot = windows
        .entry((counter.client.clone(), counter.limit))
        .or_insert((counter.window, 0));
    if slot.0 < counter.window {
        *slot = (counter.window, 0);
    }
    &mut slot.1
}

fn key(prefix: &str, counter: &Counter) -> String {
    format!(
        "{prefix}{}:{}:{}",
        counter.client, counter.limit, counter.window
    )
}

fn expiry(counter: &Counter) -> i64 {
    (counter.ttl.as_secs() as i64).saturating_mul(2).max(1)
}

async fn within<T>(
    timeout: Duration,
    query: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(timeout, query).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(StoreError(e.category().to_owned())),
        Err(_) => Err(StoreError(format!(
            "no answer within {} ms",
            timeout.as_millis()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter(limit: &'static str, window: i64) -> Counter {
        Counter {
            client: "c".into(),
            limit,
            window,
            ttl: Duration::from_secs(60),
        }
    }

    #[tokio::test]
    async fn memory_counts_reads_and_keeps_only_the_current_window() {
        let store = Store::from_config(&LimitsConfig::default()).unwrap();
        assert!(!store.is_shared());
        let requests = counter("requests_per_minute", 10);
        let tokens = counter("tokens_per_minute", 10);
        let (read, counted) = store
            .read_and_count(std::slice::from_ref(&tokens), Some(&requests))
            .await
            .unwrap();
        assert_eq!((read, counted), (vec![0], Some(1)));
        store.add(&[(tokens.clone(), 700)]).await.unwrap();
        let (read, counted) = store
            .read_and_count(std::slice::from_ref(&tokens), Some(&requests))
            .await
            .unwrap();
        assert_eq!((read, counted), (vec![700], Some(2)));
        let next = counter("requests_per_minute", 11);
        let (_, counted) = store.read_and_count(&[], Some(&next)).await.unwrap();
        assert_eq!(counted, Some(1));
        let Store::Memory(windows) = &store else {
            unreachable!()
        };
        // One window per client and limit is kept: the past minute is gone.
        let windows = windows.lock().unwrap();
        assert_eq!(windows.len(), 2);
        assert_eq!(windows[&("c".to_owned(), "requests_per_minute")], (11, 1));
    }

    #[tokio::test]
    async fn an_unreachable_redis_is_an_error_within_the_timeout() {
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        let config: LimitsConfig = toml::from_str(
            "store = \"redis\"\nredis_url = \"redis://127.0.0.1:1/0\"\ntimeout_ms = 200",
        )
        .unwrap();
        let store = Store::from_config(&config).unwrap();
        let started = std::time::Instant::now();
        let error = store
            .read_and_count(&[], Some(&counter("requests_per_minute", 1)))
            .await
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(3), "{error}");
        assert!(!error.to_string().contains("127.0.0.1"), "{error}");
    }

    #[test]
    fn redis_needs_a_url() {
        let config: LimitsConfig = toml::from_str("store = \"redis\"").unwrap();
        assert!(Store::from_config(&config)
            .err()
            .unwrap()
            .contains("redis_url"));
    }
}
