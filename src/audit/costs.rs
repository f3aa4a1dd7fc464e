//! `sluice audit costs`: what cleared and local traffic cost over a period, at the prices in
//! sluice.toml's `[costs]`, and whether the local tier pays for itself.
//!
//! Every answered request's outcome record holds its token counts (the cloud's `usage`, the local
//! model's own counts), its backend and the model name it was served under; its decision holds the
//! client and the task rule that chose the route. Cloud requests cost their tokens at the model's
//! price. Local requests cost nothing per token: the local tier costs its hardware (amortised per
//! hour) and operations per hour, whether busy or idle. What the local tier saved is what its
//! requests would have cost at the cloud price of the model they asked for; the break-even daily
//! volume is the number of requests a day, at the observed average cloud cost per request, at
//! which the local tier's daily cost is covered.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::ControlFlow;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::body::Body;
use super::reader::{read_records, ReadError};

/// `[costs]` in sluice.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostConfig {
    /// Shown next to every amount.
    #[serde(default = "default_currency")]
    pub currency: String,
    /// Cloud prices per model name (as outcome records name it).
    #[serde(default)]
    pub models: BTreeMap<String, Price>,
    /// The price of any model not listed; without it, such tokens are reported as unpriced.
    #[serde(default)]
    pub default_price: Option<Price>,
    #[serde(default)]
    pub local: LocalCost,
}

fn default_currency() -> String {
    "USD".to_owned()
}

/// A cloud model's price per million tokens.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input_per_million: f64,
    pub output_per_million: f64,
}

impl Price {
    /// What an answer with these token counts costs.
    pub fn of(&self, tokens_in: u64, tokens_out: u64) -> f64 {
        (tokens_in as f64 * self.input_per_million + tokens_out as f64 * self.output_per_million)
            / 1e6
    }
}

/// What the local tier costs per hour, busy or idle.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LocalCost {
    /// Hardware, amortised: purchase price / hours of service life.
    #[serde(default)]
    pub hardware_per_hour: f64,
    /// Power, hosting and the people who run it.
    #[serde(default)]
    pub operations_per_hour: f64,
}

impl CostConfig {
    pub fn validate(&self) -> Result<(), String> {
        let prices = self.models.iter().map(|(m, p)| (m.as_str(), p));
        for (name, p) in prices.chain(self.default_price.iter().map(|p| ("default_price", p))) {
            if ![p.input_per_million, p.output_per_million]
                .iter()
                .all(|v| v.is_finite() && *v >= 0.0)
            {
                return Err(format!(
                    "[costs] {name}: prices must be finite and not negative"
                ));
            }
        }
        let l = &self.local;
        if ![l.hardware_per_hour, l.operations_per_hour]
            .iter()
            .all(|v| v.is_finite() && *v >= 0.0)
        {
            return Err("[costs.local] costs must be finite and not negative".to_owned());
        }
        Ok(())
    }

    /// The price of answers under `model` (a configured name), else the default price.
    pub fn price(&self, model: Option<&str>) -> Option<&Price> {
        model
            .and_then(|m| self.models.get(m))
            .or(self.default_price.as_ref())
    }
}

/// Requests, tokens and money for one client, route or backend.
#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct Line {
    pub requests: u64,
    pub tokens_in: u64,
    pub tokens_out: u64,
    /// Spent at cloud prices on requests a cloud served.
    pub cloud_spend: f64,
    /// What the requests served locally would have cost at cloud prices.
    pub local_at_cloud_prices: f64,
    /// Tokens of requests whose model has no price.
    pub unpriced_tokens: u64,
}

impl Line {
    fn add(&mut self, other: &Line) {
        self.requests += other.requests;
        self.tokens_in += other.tokens_in;
        self.tokens_out += other.tokens_out;
        self.cloud_spend += other.cloud_spend;
        self.local_at_cloud_prices += other.local_at_cloud_prices;
        self.unpriced_tokens += other.unpriced_tokens;
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CostReport {
    pub currency: String,
    pub since: Option<String>,
    pub until: Option<String>,
    /// The hours the local tier's cost is counted for: the period, or the log's first to last
    /// record when the period is open.
    pub hours: f64,
    pub total: Line,
    pub by_client: BTreeMap<String, Line>,
    /// By task rule; `default` where the model's or the default route applied.
    pub by_route: BTreeMap<String, Line>,
    pub by_backend: BTreeMap<String, Line>,
    /// Hardware and operations over `hours`.
    pub local_cost: f64,
    /// `local_at_cloud_prices - local_cost`.
    pub local_net_saving: f64,
    /// The average cloud price of a request of the observed mix (cloud-served requests at what
    /// they cost, local ones at what they would have).
    pub average_cloud_cost_per_request: Option<f64>,
    pub requests_per_day: f64,
    /// Requests a day at which the local tier's daily cost equals their cloud price.
    pub break_even_requests_per_day: Option<f64>,
}

#[derive(Clone)]
struct Pending {
    client: String,
    route: String,
}

/// Reads the log and prices every answered request decided in `[since, until)`.
pub fn compute(
    dir: &Path,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    prices: &CostConfig,
) -> Result<CostReport, ReadError> {
    let mut pending: HashMap<String, Pending> = HashMap::new();
    let mut report = CostReport {
        currency: prices.currency.clone(),
        since: since.map(super::record::format_ts),
        until: until.map(super::record::format_ts),
        hours: 0.0,
        total: Line::default(),
        by_client: BTreeMap::new(),
        by_route: BTreeMap::new(),
        by_backend: BTreeMap::new(),
        local_cost: 0.0,
        local_net_saving: 0.0,
        average_cloud_cost_per_request: None,
        requests_per_day: 0.0,
        break_even_requests_per_day: None,
    };
    let (mut first, mut last): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) = (None, None);
    let mut priced = 0u64;
    let mut failure = None;
    read_records(dir, |location, record| {
        let Some(t) = record.time() else {
            return ControlFlow::Continue(());
        };
        first = first.min(Some(t)).or(Some(t));
        last = last.max(Some(t));
        let in_window = since.is_none_or(|s| t >= s) && until.is_none_or(|u| t < u);
        match Body::parse(record.kind, &record.body) {
            Ok(Body::Decision(d)) if in_window => {
                pending.insert(
                    d.request_id,
                    Pending {
                        client: d.client,
                        route: d.route_rule.unwrap_or_else(|| "default".to_owned()),
                    },
                );
            }
            Ok(Body::Outcome(o)) => {
                // An escalated request's local attempt costs tokens too; the request itself is
                // counted with its final outcome, which follows.
                let superseded = o.is_superseded();
                let p = if superseded {
                    pending.get(&o.request_id).cloned()
                } else {
                    pending.remove(&o.request_id)
                };
                let Some(p) = p else {
                    return ControlFlow::Continue(());
                };
                let (tin, tout) = (o.tokens_in.unwrap_or(0), o.tokens_out.unwrap_or(0));
                let mut line = Line {
                    requests: u64::from(!superseded),
                    tokens_in: tin,
                    tokens_out: tout,
                    ..Line::default()
                };
                let on_premise = o.backend.as_ref().is_some_and(|b| b.on_premise);
                match prices.price(o.model.as_deref()) {
                    Some(price) if on_premise => line.local_at_cloud_prices = price.of(tin, tout),
                    Some(price) => line.cloud_spend = price.of(tin, tout),
                    None => line.unpriced_tokens = tin + tout,
                }
                if line.unpriced_tokens == 0 && !superseded {
                    priced += 1;
                }
                let backend = o.backend.map_or_else(|| "-".to_owned(), |b| b.name);
                report.total.add(&line);
                report.by_client.entry(p.client).or_default().add(&line);
                report.by_route.entry(p.route).or_default().add(&line);
                report.by_backend.entry(backend).or_default().add(&line);
            }
            Ok(_) => {}
            Err(e) => {
                failure = Some(ReadError::unparsable_body(location, record.kind, &e));
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    let start = since.or(first);
    let end = until.or(last);
    report.hours = match (start, end) {
        (Some(s), Some(e)) if e > s => (e - s).num_seconds() as f64 / 3600.0,
        _ => 0.0,
    };
    let hourly = prices.local.hardware_per_hour + prices.local.operations_per_hour;
    report.local_cost = hourly * report.hours;
    report.local_net_saving = report.total.local_at_cloud_prices - report.local_cost;
    let cloud_price_of_all = report.total.cloud_spend + report.total.local_at_cloud_prices;
    if priced > 0 && cloud_price_of_all > 0.0 {
        let average = cloud_price_of_all / priced as f64;
        report.average_cloud_cost_per_request = Some(average);
        report.break_even_requests_per_day = Some(hourly * 24.0 / average);
    }
    if report.hours > 0.0 {
        report.requests_per_day = report.total.requests as f64 * 24.0 / report.hours;
    }
    Ok(report)
}

impl fmt::Display for CostReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.currency;
        writeln!(f, "sluice audit costs ({c})")?;
        writeln!(
            f,
            "Period: {} to {} ({:.1} hours)",
            self.since.as_deref().unwrap_or("the start of the log"),
            self.until.as_deref().unwrap_or("the end of the log"),
            self.hours
        )?;
        let table = |f: &mut fmt::Formatter<'_>, title: &str, rows: &BTreeMap<String, Line>| {
            writeln!(
                f,
                "\n{title:<24} {:>9} {:>12} {:>12} {:>12} {:>14}",
                "requests", "tokens in", "tokens out", "cloud spend", "local at cloud"
            )?;
            for (name, l) in rows {
                writeln!(
                    f,
                    "{name:<24} {:>9} {:>12} {:>12} {:>12.4} {:>14.4}",
                    l.requests, l.tokens_in, l.tokens_out, l.cloud_spend, l.local_at_cloud_prices
                )?;
            }
            Ok(())
        };
        table(f, "CLIENT", &self.by_client)?;
        table(f, "ROUTE RULE", &self.by_route)?;
        table(f, "BACKEND", &self.by_backend)?;
        let t = &self.total;
        writeln!(
            f,
            "\nTotal: {} requests, {} tokens in, {} out; cloud spend {:.4} {c}",
            t.requests, t.tokens_in, t.tokens_out, t.cloud_spend
        )?;
        if t.unpriced_tokens > 0 {
            writeln!(
                f,
                "  {} tokens of models with no price in [costs] are not counted",
                t.unpriced_tokens
            )?;
        }
        writeln!(
            f,
            "Local tier: its requests would have cost {:.4} {c} at cloud prices; it cost {:.4} {c} ({:.1} h of hardware and operations); net saving {:.4} {c}",
            t.local_at_cloud_prices, self.local_cost, self.hours, self.local_net_saving
        )?;
        match (self.average_cloud_cost_per_request, self.break_even_requests_per_day) {
            (Some(avg), Some(even)) => writeln!(
                f,
                "Break-even: at {avg:.6} {c} per request (the observed mix at cloud prices), the local tier pays for itself above {even:.0} requests a day; observed: {:.0} a day",
                self.requests_per_day
            ),
            _ => writeln!(
                f,
                "Break-even: no priced requests in the period (list the models in [costs.models])"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_per_million_tokens() {
        let p = Price {
            input_per_million: 0.15,
            output_per_million: 0.60,
        };
        assert!((p.of(500, 200) - 0.000195).abs() < 1e-12);
    }

    #[test]
    fn negative_or_infinite_prices_are_refused() {
        let mut c: CostConfig =
            toml::from_str("[models.m]\ninput_per_million = -1\noutput_per_million = 1").unwrap();
        assert!(c.validate().unwrap_err().contains("[costs] m"));
        c.models.clear();
        c.local.hardware_per_hour = f64::INFINITY;
        assert!(c.validate().is_err());
    }
}
