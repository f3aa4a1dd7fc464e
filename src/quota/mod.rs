//! Per-client rate limits and budgets: requests and tokens per minute, and tokens per day. A client
//! over a limit gets 429 with `Retry-After` before its request is read or scanned, and the refusal
//! is recorded like any other (`refused`, code `rate_limit_exceeded`).
//!
//! Requests are counted when admitted; tokens when the answer's usage is known (the outcome,
//! matched to the admitted request by its id), so a client may overshoot its token limit by the
//! requests in flight when it is reached, never more.
//! Windows are fixed (the current minute, the current UTC day), which is what a client can reason
//! about from `Retry-After`. Counters live in this process: with several replicas each enforces its
//! own share (a shared store is not built yet; README says so).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;

/// `limits = { ... }` on a `[[clients]]` entry; every limit is optional.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ClientLimits {
    pub requests_per_minute: Option<u64>,
    /// Prompt and answer tokens together, as the backends report them.
    pub tokens_per_minute: Option<u64>,
    /// A budget: prompt and answer tokens per UTC day.
    pub tokens_per_day: Option<u64>,
}

impl ClientLimits {
    pub fn is_empty(&self) -> bool {
        *self == ClientLimits::default()
    }
}

/// Why a request was refused, and when to come back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverLimit {
    pub limit: &'static str,
    pub retry_after: Duration,
}

#[derive(Debug, Default)]
struct Window {
    /// The window's number (minutes or days since the epoch).
    index: i64,
    used: u64,
}

impl Window {
    fn at(&mut self, index: i64) -> &mut u64 {
        if self.index != index {
            self.index = index;
            self.used = 0;
        }
        &mut self.used
    }
}

#[derive(Debug, Default)]
struct Usage {
    requests_minute: Window,
    tokens_minute: Window,
    tokens_day: Window,
}

/// The counters of every client with limits.
#[derive(Debug, Default)]
pub struct Quotas {
    limits: HashMap<String, ClientLimits>,
    usage: Mutex<HashMap<String, Usage>>,
    /// Admitted requests whose tokens are still to be charged: request id -> client.
    open: Mutex<HashMap<String, String>>,
}

/// Requests in flight whose tokens are tracked at most; beyond, tokens go uncounted (a limit
/// that cannot count does not refuse: privacy does not depend on it).
const MAX_OPEN: usize = 100_000;

const MINUTE: i64 = 60;
const DAY: i64 = 86_400;

fn until_next(now: DateTime<Utc>, period: i64) -> Duration {
    let secs = now.timestamp();
    let next = (secs.div_euclid(period) + 1) * period;
    Duration::from_secs((next - secs).max(1) as u64)
}

impl Quotas {
    pub fn new(limits: HashMap<String, ClientLimits>) -> Quotas {
        Quotas {
            limits: limits.into_iter().filter(|(_, l)| !l.is_empty()).collect(),
            usage: Mutex::new(HashMap::new()),
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Admits request `request_id` of `client` at `now`, or says which limit it is over.
    pub fn admit(
        &self,
        client: &str,
        request_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), OverLimit> {
        let Some(limits) = self.limits.get(client) else {
            return Ok(());
        };
        self.check(client, limits, now)?;
        if limits.tokens_per_minute.is_some() || limits.tokens_per_day.is_some() {
            let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
            if open.len() < MAX_OPEN {
                open.insert(request_id.to_owned(), client.to_owned());
            }
        }
        Ok(())
    }

    fn check(
        &self,
        client: &str,
        limits: &ClientLimits,
        now: DateTime<Utc>,
    ) -> Result<(), OverLimit> {
        let secs = now.timestamp();
        let mut usage = self.usage.lock().unwrap_or_else(|e| e.into_inner());
        let u = usage.entry(client.to_owned()).or_default();
        if let Some(max) = limits.tokens_per_day {
            if *u.tokens_day.at(secs.div_euclid(DAY)) >= max {
                return Err(OverLimit {
                    limit: "tokens_per_day",
                    retry_after: until_next(now, DAY),
                });
            }
        }
        if let Some(max) = limits.tokens_per_minute {
            if *u.tokens_minute.at(secs.div_euclid(MINUTE)) >= max {
                return Err(OverLimit {
                    limit: "tokens_per_minute",
                    retry_after: until_next(now, MINUTE),
                });
            }
        }
        if let Some(max) = limits.requests_per_minute {
            let used = u.requests_minute.at(secs.div_euclid(MINUTE));
            if *used >= max {
                return Err(OverLimit {
                    limit: "requests_per_minute",
                    retry_after: until_next(now, MINUTE),
                });
            }
            *used += 1;
        }
        Ok(())
    }

    /// Charges the tokens of an answered request to the client that sent it.
    pub fn spend(&self, request_id: &str, tokens: u64, now: DateTime<Utc>) {
        if self.limits.is_empty() {
            return;
        }
        let Some(client) = self
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(request_id)
        else {
            return;
        };
        let secs = now.timestamp();
        let mut usage = self.usage.lock().unwrap_or_else(|e| e.into_inner());
        let u = usage.entry(client).or_default();
        *u.tokens_minute.at(secs.div_euclid(MINUTE)) += tokens;
        *u.tokens_day.at(secs.div_euclid(DAY)) += tokens;
    }
}

impl Quotas {
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
    use chrono::TimeZone;

    fn quotas(limits: ClientLimits) -> Quotas {
        Quotas::new(HashMap::from([("c".to_owned(), limits)]))
    }

    #[test]
    fn requests_per_minute_reset_with_the_minute() {
        let q = quotas(ClientLimits {
            requests_per_minute: Some(2),
            ..ClientLimits::default()
        });
        let t = Utc.with_ymd_and_hms(2026, 12, 7, 10, 0, 45).unwrap();
        assert!(q.admit("c", "r1", t).is_ok());
        assert!(q.admit("c", "r2", t).is_ok());
        let over = q.admit("c", "r3", t).unwrap_err();
        assert_eq!(over.limit, "requests_per_minute");
        assert_eq!(over.retry_after, Duration::from_secs(15));
        assert!(q
            .admit("c", "r4", t + chrono::Duration::seconds(15))
            .is_ok());
        // Clients without limits are never counted.
        for _ in 0..100 {
            assert!(q.admit("other", "r", t).is_ok());
        }
    }

    #[test]
    fn tokens_are_charged_when_spent_and_the_day_budget_waits_for_midnight() {
        let q = quotas(ClientLimits {
            tokens_per_minute: Some(1_000),
            tokens_per_day: Some(1_500),
            ..ClientLimits::default()
        });
        let t = Utc.with_ymd_and_hms(2026, 12, 7, 23, 0, 0).unwrap();
        assert!(q.admit("c", "r1", t).is_ok());
        q.spend("r1", 1_200, t);
        // Charged once: a second outcome for the same request counts nothing.
        q.spend("r1", 1_200, t);
        assert_eq!(
            q.admit("c", "r2", t).unwrap_err().limit,
            "tokens_per_minute"
        );
        let later = t + chrono::Duration::minutes(5);
        assert!(q.admit("c", "r3", later).is_ok());
        q.spend("r3", 400, later);
        let over = q.admit("c", "r4", later).unwrap_err();
        assert_eq!(over.limit, "tokens_per_day");
        assert_eq!(over.retry_after, Duration::from_secs(55 * 60));
        assert!(q
            .admit("c", "r5", later + chrono::Duration::hours(1))
            .is_ok());
        q.forget("r5");
        q.spend("r5", 10_000, later + chrono::Duration::hours(1));
        assert!(q
            .admit("c", "r6", later + chrono::Duration::hours(1))
            .is_ok());
    }
}
