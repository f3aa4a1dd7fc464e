//! The figures behind the overview page and the report's charts, counted from the index for one
//! selection: actions over time, where requests were served, entities by type, the rules that
//! fired most, blocked requests and refused attempts over time.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, DurationRound, TimeZone, Utc};

use super::index::{Filter, Index, Show, Sym, What};
use crate::audit::body::Action;

/// Counts for one selection.
#[derive(Debug, Default)]
pub struct Overview {
    /// Bucket starts (UTC) and their labels.
    pub buckets: Vec<String>,
    /// Decisions per bucket, per action in [`Action`] order (allow, redact, local, block).
    pub actions: [Vec<u64>; 4],
    pub refused_per_bucket: Vec<u64>,
    pub decisions: u64,
    pub by_action: [u64; 4],
    pub on_premise: u64,
    pub cloud: u64,
    pub blocked: u64,
    /// Neither blocked nor served by a recorded backend.
    pub not_served: u64,
    /// PHI requests (see `audit::report`) and those that reached a cloud model unredacted.
    pub phi: u64,
    pub phi_to_cloud_unredacted: u64,
    /// Requests holding each entity type, most first.
    pub entities: Vec<(String, u64)>,
    /// Times each policy rule fired, most first.
    pub rules: Vec<(String, u64)>,
    pub refused: u64,
    pub unauthenticated: u64,
    pub unknown_keys: u64,
}

pub const ACTIONS: [Action; 4] = [Action::Allow, Action::Redact, Action::Local, Action::Block];

fn action_slot(a: Action) -> usize {
    ACTIONS.iter().position(|x| *x == a).unwrap_or(0)
}

/// At most this many bars in a chart over time.
const MAX_BUCKETS: i64 = 60;

/// Counts `filter`'s selection (refusals are counted whatever `filter.show` says).
pub fn overview(index: &Index, filter: &Filter) -> Overview {
    let all = Filter {
        show: Show::All,
        ..filter.clone()
    };
    let selected: Vec<_> = index.selected(&all).collect();
    let mut o = Overview::default();
    let (Some(first), Some(last)) = (selected.first(), selected.last()) else {
        return o;
    };
    let start = filter.since.unwrap_or(first.micros);
    let end = filter.until.unwrap_or(last.micros + 1).max(start + 1);
    let (origin, width, labels) = buckets(start, end);
    o.buckets = labels;
    let n = o.buckets.len();
    o.actions = std::array::from_fn(|_| vec![0; n]);
    o.refused_per_bucket = vec![0; n];
    let bucket = |micros: i64| (((micros - origin) / width).max(0) as usize).min(n - 1);
    let mut entities: HashMap<Sym, u64> = HashMap::new();
    let mut rules: HashMap<Sym, u64> = HashMap::new();
    let mut keys: HashSet<Sym> = HashSet::new();
    for e in selected {
        match &e.what {
            What::Refused { status, key, .. } => {
                o.refused += 1;
                o.refused_per_bucket[bucket(e.micros)] += 1;
                if *status == 401 {
                    o.unauthenticated += 1;
                }
                keys.extend(*key);
            }
            What::Decision(d) => {
                o.decisions += 1;
                let slot = action_slot(d.action);
                o.by_action[slot] += 1;
                o.actions[slot][bucket(e.micros)] += 1;
                let served = d.served_by();
                match (d.action, served) {
                    (Action::Block, _) => o.blocked += 1,
                    (_, None) => o.not_served += 1,
                    (_, Some(s)) if s.on_premise => o.on_premise += 1,
                    (_, Some(_)) => o.cloud += 1,
                }
                let types = d.entities.iter().map(|(t, _)| index.strings.name(*t));
                if crate::audit::report::is_phi_types(types) {
                    o.phi += 1;
                    if d.action != Action::Block
                        && d.action != Action::Redact
                        && served.is_some_and(|s| !s.on_premise)
                    {
                        o.phi_to_cloud_unredacted += 1;
                    }
                }
                for (t, _) in d.entities.iter() {
                    *entities.entry(*t).or_default() += 1;
                }
                for r in d.rules.iter() {
                    *rules.entry(*r).or_default() += 1;
                }
            }
        }
    }
    o.unknown_keys = keys.len() as u64;
    o.entities = ranked(index, entities);
    o.rules = ranked(index, rules);
    o
}

fn ranked(index: &Index, counts: HashMap<Sym, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = counts
        .into_iter()
        .map(|(s, n)| (index.strings.name(s).to_owned(), n))
        .collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(15);
    v
}

/// Hourly buckets for up to two days, daily beyond, wider when that would make more than
/// [`MAX_BUCKETS`]: the first bucket's start, the width (both in microseconds) and the labels.
fn buckets(start: i64, end: i64) -> (i64, i64, Vec<String>) {
    const HOUR: i64 = 3_600_000_000;
    const DAY: i64 = 24 * HOUR;
    let span = end - start;
    let unit = if span <= 2 * DAY { HOUR } else { DAY };
    let origin_time = micros_to_time(start)
        .duration_trunc(Duration::microseconds(unit))
        .unwrap_or_else(|_| micros_to_time(start));
    let origin = origin_time.timestamp_micros();
    let mut width = unit;
    let units = (end - origin + unit - 1) / unit;
    if units > MAX_BUCKETS {
        width = unit * ((units + MAX_BUCKETS - 1) / MAX_BUCKETS);
    }
    let count = ((end - origin + width - 1) / width).max(1);
    let labels = (0..count)
        .map(|i| {
            let t = micros_to_time(origin + i * width);
            if unit == HOUR {
                t.format("%m-%d %H:00").to_string()
            } else {
                t.format("%Y-%m-%d").to_string()
            }
        })
        .collect();
    (origin, width, labels)
}

fn micros_to_time(micros: i64) -> DateTime<Utc> {
    Utc.timestamp_micros(micros).single().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_hours_then_days_and_never_too_many() {
        let t0 = Utc.with_ymd_and_hms(2026, 12, 1, 10, 30, 0).unwrap();
        let micros = |t: DateTime<Utc>| t.timestamp_micros();
        let (origin, width, labels) = buckets(micros(t0), micros(t0 + Duration::hours(3)));
        assert_eq!(
            origin,
            micros(Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap())
        );
        assert_eq!(width, 3_600_000_000);
        assert_eq!(labels.first().unwrap(), "12-01 10:00");
        assert_eq!(labels.len(), 4);
        let (_, _, labels) = buckets(micros(t0), micros(t0 + Duration::days(10)));
        assert_eq!(labels.first().unwrap(), "2026-12-01");
        assert_eq!(labels.len(), 11);
        let (_, width, labels) = buckets(micros(t0), micros(t0 + Duration::days(400)));
        assert!(labels.len() as i64 <= MAX_BUCKETS, "{}", labels.len());
        assert!(width > 24 * 3_600_000_000);
    }
}
