//! Per-client rate limits and budgets: requests and tokens per minute, tokens per day, and spend
//! per day or month in the `[costs]` currency. A client over a limit gets 429 with `Retry-After`
//! before its request is read or scanned, and the refusal is recorded like any other (`refused`,
//! code `rate_limit_exceeded`).
//!
//! Requests are counted when admitted; tokens and spend when the answer's usage is known (the
//! outcome, matched to the admitted request by its id), so a client may overshoot a token or
//! spend limit by the requests in flight when it is reached, never more. Spend is what cloud
//! answers cost at `[costs]` prices; answers from on-premise backends cost nothing here.
//! Windows are fixed (the current minute, UTC day, UTC month), which is what a client can reason
//! about from `Retry-After`. Counters live in a [`store::Store`]: this process, or a Redis shared
//! by every replica; an unreachable Redis refuses requests (fail closed) unless
//! `on_store_error = "admit"`.

pub mod store;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Datelike, TimeZone, Utc};
use serde::Deserialize;

use store::{Counter, Store};
pub use store::{LimitsConfig, OnStoreError, StoreError};

/// `limits = { ... }` on a `[[clients]]` entry; every limit is optional.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClientLimits {
    pub requests_per_minute: Option<u64>,
    /// Prompt and answer tokens together, as the backends report them.
    pub tokens_per_minute: Option<u64>,
    /// A budget: prompt and answer tokens per UTC day.
    pub tokens_per_day: Option<u64>,
    /// A budget in the `[costs]` currency: cloud spend per UTC day.
    pub spend_per_day: Option<f64>,
    /// A budget in the `[costs]` currency: cloud spend per UTC calendar month.
    pub spend_per_month: Option<f64>,
}

impl ClientLimits {
    pub fn is_empty(&self) -> bool {
        *self == ClientLimits::default()
    }

    fn counts_usage(&self) -> bool {
        self.tokens_per_minute.is_some()
            || self.tokens_per_day.is_some()
            || self.spend_per_day.is_some()
            || self.spend_per_month.is_some()
    }

    /// Checks the values (a budget must be a finite amount, not negative).
    pub fn validate(&self, client: &str) -> Result<(), String> {
        for (name, value) in [
            ("spend_per_day", self.spend_per_day),
            ("spend_per_month", self.spend_per_month),
        ] {
            if value.is_some_and(|v| !v.is_finite() || v < 0.0) {
                return Err(format!(
                    "client {client:?}: limits.{name} must be an amount of 0 or more"
                ));
            }
        }
        Ok(())
    }
}

/// Why a request was not admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Over `limit`; come back after `retry_after`.
    Over {
        limit: &'static str,
        retry_after: Duration,
    },
    /// The shared store could not be asked, and the configuration says to refuse.
    StoreUnavailable { retry_after: Duration },
}

/// Spend is counted in millionths of the currency unit.
const MICROS: f64 = 1_000_000.0;

/// Requests in flight whose usage is tracked at most; beyond, usage goes uncounted (a limit
/// that cannot count does not refuse: privacy does not depend on it).
const MAX_OPEN: usize = 100_000;

/// The fixed windows limits are counted in.
#[derive(Debug, Clone, Copy)]
enum Period {
    Minute,
    Day,
    Month,
}

impl Period {
    /// The window `now` falls in, and how long until the next one starts.
    fn window(self, now: DateTime<Utc>) -> (i64, Duration) {
        let secs = now.timestamp();
        let fixed = |length: i64| {
            let index = secs.div_euclid(length);
            let left = (index + 1) * length - secs;
            (index, Duration::from_secs(left.max(1) as u64))
        };
        match self {
            Period::Minute => fixed(60),
            Period::Day => fixed(86_400),
            Period::Month => {
                let index = i64::from(now.year()) * 12 + i64::from(now.month0());
                let (year, month) = if now.month() == 12 {
                    (now.year() + 1, 1)
                } else {
                    (now.year(), now.month() + 1)
                };
                let next = Utc
                    .with_ymd_and_hms(year, month, 1, 0, 0, 0)
                    .single()
                    .map_or(secs + 86_400, |t| t.timestamp());
                (index, Duration::from_secs((next - secs).max(1) as u64))
            }
        }
    }

    fn length(self) -> Duration {
        Duration::from_secs(match self {
            Period::Minute => 60,
            Period::Day => 86_400,
            Period::Month => 31 * 86_400,
        })
    }
}

/// A budget checked before admission: the counter's limit name, its period, and its maximum.
struct Budget {
    limit: &'static str,
    period: Period,
    max: u64,
}

fn budgets(limits: &ClientLimits) -> Vec<Budget> {
    let money = |v: f64| (v * MICROS).round() as u64;
    [
        limits
            .spend_per_month
            .map(|v| ("spend_per_month", Period::Month, money(v))),
        limits
            .spend_per_day
            .map(|v| ("spend_per_day", Period::Day, money(v))),
        limits
            .tokens_per_day
            .map(|v| ("tokens_per_day", Period::Day, v)),
        limits
            .tokens_per_minute
            .map(|v| ("tokens_per_minute", Period::Minute, v)),
    ]
    .into_iter()
    .flatten()
    .map(|(limit, period, max)| Budget { limit, period, max })
    .collect()
}

/// What an answered request used.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Spent {
    pub tokens: u64,
    /// In the `[costs]` currency; 0 for on-premise answers and unpriced models.
    pub cost: f64,
}

/// The counters of every client with limits.
pub struct Quotas {
    limits: HashMap<String, ClientLimits>,
    store: Arc<Store>,
    on_store_error: OnStoreError,
    /// Admitted requests whose usage is still to be charged: request id -> client.
    open: Mutex<HashMap<String, String>>,
}

impl Quotas {
    /// Counters in this process.
    pub fn new(limits: HashMap<String, ClientLimits>) -> Quotas {
        Self::with_store(
            limits,
            Store::Memory(Mutex::default()),
            OnStoreError::Refuse,
        )
    }

    /// Counters where `[limits]` says.
    pub fn from_config(
        limits: HashMap<String, ClientLimits>,
        config: &LimitsConfig,
    ) -> Result<Quotas, String> {
        Ok(Self::with_store(
            limits,
            Store::from_config(config)?,
            config.on_store_error,
        ))
    }

    fn with_store(
        limits: HashMap<String, ClientLimits>,
        store: Store,
        on_store_error: OnStoreError,
    ) -> Quotas {
        Quotas {
            limits: limits.into_iter().filter(|(_, l)| !l.is_empty()).collect(),
            store: Arc::new(store),
            on_store_error,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Admits request `request_id` of `client` at `now`, or says why not.
    pub async fn admit(
        &self,
        client: &str,
        request_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        let Some(limits) = self.limits.get(client) else {
            return Ok(());
        };
        let budgets = budgets(limits);
        let counter = |limit: &'static str, period: Period| Counter {
            client: client.to_owned(),
            limit,
            window: period.window(now).0,
            ttl: period.length(),
        };
        let reads: Vec<Counter> = budgets.iter().map(|b| counter(b.limit, b.period)).collect();
        let requests = limits
            .requests_per_minute
            .map(|_| counter("requests_per_minute", Period::Minute));
        let (used, counted) = match self.store.read_and_count(&reads, requests.as_ref()).await {
            Ok(read) => read,
            Err(e) => {
                tracing::error!(target: "sluice::quota", client, error = %e,
                    on_store_error = ?self.on_store_error, "rate-limit store unavailable");
                return match self.on_store_error {
                    OnStoreError::Refuse => Err(Refusal::StoreUnavailable {
                        retry_after: Duration::from_secs(1),
                    }),
                    OnStoreError::Admit => Ok(()),
                };
            }
        };
        for (budget, used) in budgets.iter().zip(used) {
            if used >= budget.max {
                return Err(Refusal::Over {
                    limit: budget.limit,
                    retry_after: budget.period.window(now).1,
                });
            }
        }
        if let (Some(max), Some(count)) = (limits.requests_per_minute, counted) {
            if count > max {
                return Err(Refusal::Over {
                    limit: "requests_per_minute",
                    retry_after: Period::Minute.window(now).1,
                });
            }
        }
        if limits.counts_usage() {
            let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
            if open.len() < MAX_OPEN {
                open.insert(request_id.to_owned(), client.to_owned());
            }
        }
        Ok(())
    }

    /// Charges what an answered request used to the client that sent it. `last` is false for
    /// an attempt another will follow (a local-first answer that was escalated): the request
    /// stays open for the next charge.
    pub fn spend(&self, request_id: &str, spent: Spent, now: DateTime<Utc>, last: bool) {
        if self.limits.is_empty() {
            return;
        }
        let client = {
            let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
            if last {
                open.remove(request_id)
            } else {
                open.get(request_id).cloned()
            }
        };
        let Some(client) = client else {
            return;
        };
        let Some(limits) = self.limits.get(&client) else {
            return;
        };
        let adds: Vec<(Counter, u64)> = budgets(limits)
            .into_iter()
            .map(|b| {
                let amount = if b.limit.starts_with("spend") {
                    (spent.cost.max(0.0) * MICROS).round() as u64
                } else {
                    spent.tokens
                };
                let counter = Counter {
                    client: client.clone(),
                    limit: b.limit,
                    window: b.period.window(now).0,
                    ttl: b.period.length(),
                };
                (counter, amount)
            })
            .filter(|(_, amount)| *amount > 0)
            .collect();
        if adds.is_empty() {
            return;
        }
        let store = Arc::clone(&self.store);
        let charge = async move {
            if let Err(e) = store.add(&adds).await {
                tracing::error!(target: "sluice::quota", client = %client, error = %e,
                    "usage could not be charged to the rate-limit store");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) if self.store.is_shared() => {
                runtime.spawn(charge);
            }
            // Memory charges complete at once; outside a runtime they run in place.
            _ => futures_util::FutureExt::now_or_never(charge).unwrap_or(()),
        }
    }

    /// Stops tracking a request that ended without an outcome (refused after admission).
    pub fn forget(&self, request_id: &str) {
        if self.limits.is_empty() {
            return;
        }
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(request_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quotas(limits: ClientLimits) -> Quotas {
        Quotas::new(HashMap::from([("c".to_owned(), limits)]))
    }

    fn over(refusal: Refusal) -> (&'static str, Duration) {
        match refusal {
            Refusal::Over { limit, retry_after } => (limit, retry_after),
            other => panic!("{other:?}"),
        }
    }

    fn tokens(tokens: u64) -> Spent {
        Spent { tokens, cost: 0.0 }
    }

    #[tokio::test]
    async fn requests_per_minute_reset_with_the_minute() {
        let q = quotas(ClientLimits {
            requests_per_minute: Some(2),
            ..ClientLimits::default()
        });
        let t = Utc.with_ymd_and_hms(2026, 12, 7, 10, 0, 45).unwrap();
        assert!(q.admit("c", "r1", t).await.is_ok());
        assert!(q.admit("c", "r2", t).await.is_ok());
        let refused = over(q.admit("c", "r3", t).await.unwrap_err());
        assert_eq!(refused, ("requests_per_minute", Duration::from_secs(15)));
        let next_minute = t + chrono::Duration::seconds(15);
        assert!(q.admit("c", "r4", next_minute).await.is_ok());
        // Clients without limits are never counted.
        for _ in 0..100 {
            assert!(q.admit("other", "r", t).await.is_ok());
        }
    }

    #[tokio::test]
    async fn tokens_are_charged_when_spent_and_the_day_budget_waits_for_midnight() {
        let q = quotas(ClientLimits {
            tokens_per_minute: Some(1_000),
            tokens_per_day: Some(1_500),
            ..ClientLimits::default()
        });
        let t = Utc.with_ymd_and_hms(2026, 12, 7, 23, 0, 0).unwrap();
        assert!(q.admit("c", "r1", t).await.is_ok());
        // An escalated local attempt charges and keeps the request open for the final answer.
        q.spend("r1", tokens(200), t, false);
        q.spend("r1", tokens(1_000), t, true);
        // Charged once: another outcome for the same request counts nothing.
        q.spend("r1", tokens(1_200), t, true);
        let refused = over(q.admit("c", "r2", t).await.unwrap_err());
        assert_eq!(refused.0, "tokens_per_minute");
        let later = t + chrono::Duration::minutes(5);
        assert!(q.admit("c", "r3", later).await.is_ok());
        q.spend("r3", tokens(400), later, true);
        let refused = over(q.admit("c", "r4", later).await.unwrap_err());
        assert_eq!(refused, ("tokens_per_day", Duration::from_secs(55 * 60)));
        let next_day = later + chrono::Duration::hours(1);
        assert!(q.admit("c", "r5", next_day).await.is_ok());
        q.forget("r5");
        q.spend("r5", tokens(10_000), next_day, true);
        assert!(q.admit("c", "r6", next_day).await.is_ok());
    }

    #[tokio::test]
    async fn a_money_budget_counts_cloud_spend_until_the_month_ends() {
        let q = quotas(ClientLimits {
            spend_per_month: Some(0.05),
            ..ClientLimits::default()
        });
        let t = Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 0).unwrap();
        assert!(q.admit("c", "r1", t).await.is_ok());
        q.spend(
            "r1",
            Spent {
                tokens: 10,
                cost: 0.03,
            },
            t,
            true,
        );
        assert!(q.admit("c", "r2", t).await.is_ok());
        q.spend(
            "r2",
            Spent {
                tokens: 10,
                cost: 0.02,
            },
            t,
            true,
        );
        let refused = over(q.admit("c", "r3", t).await.unwrap_err());
        assert_eq!(refused, ("spend_per_month", Duration::from_secs(60)));
        let january = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        assert!(q.admit("c", "r4", january).await.is_ok());
        assert!(ClientLimits {
            spend_per_day: Some(-1.0),
            ..ClientLimits::default()
        }
        .validate("c")
        .unwrap_err()
        .contains("spend_per_day"));
    }

    #[tokio::test]
    async fn an_unreachable_store_refuses_unless_told_to_admit() {
        let limits = HashMap::from([(
            "c".to_owned(),
            ClientLimits {
                requests_per_minute: Some(100),
                ..ClientLimits::default()
            },
        )]);
        let config = |on_error: &str| -> LimitsConfig {
            toml::from_str(&format!(
                "store = \"redis\"\nredis_url = \"redis://127.0.0.1:1/0\"\ntimeout_ms = 100\n\
                 on_store_error = \"{on_error}\""
            ))
            .unwrap()
        };
        let now = Utc::now();
        let closed = Quotas::from_config(limits.clone(), &config("refuse")).unwrap();
        assert!(matches!(
            closed.admit("c", "r1", now).await,
            Err(Refusal::StoreUnavailable { .. })
        ));
        // A client without limits never waits for the store.
        assert!(closed.admit("free", "r2", now).await.is_ok());
        let open = Quotas::from_config(limits, &config("admit")).unwrap();
        assert!(open.admit("c", "r3", now).await.is_ok());
    }
}
