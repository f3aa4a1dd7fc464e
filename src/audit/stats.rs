//! `sluice audit stats`: decision counts by day, action, client and entity type, outcome counts by
//! status, and record counts by kind, over an optional time window.

use std::collections::BTreeMap;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::Path;

use serde::Serialize;

use super::body::{Action, Body};
use super::query::Filter;
use super::reader::{read_records, ReadError};

/// Decisions per action.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct ActionCounts {
    pub total: u64,
    pub allow: u64,
    pub redact: u64,
    pub local: u64,
    pub block: u64,
}

impl ActionCounts {
    pub(crate) fn add(&mut self, action: Action) {
        self.total += 1;
        match action {
            Action::Allow => self.allow += 1,
            Action::Redact => self.redact += 1,
            Action::Local => self.local += 1,
            Action::Block => self.block += 1,
        }
    }
}

/// How often an entity type was seen.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct EntityCounts {
    /// Decisions whose request held the type.
    pub requests: u64,
    /// Occurrences over all those requests.
    pub occurrences: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Stats {
    pub decisions: ActionCounts,
    pub by_day: BTreeMap<String, ActionCounts>,
    pub by_client: BTreeMap<String, ActionCounts>,
    pub by_entity: BTreeMap<String, EntityCounts>,
    pub outcomes_by_status: BTreeMap<u16, u64>,
    /// Requests refused before any decision, by HTTP status (401: no or unknown key).
    pub refused_by_status: BTreeMap<u16, u64>,
    pub records_by_kind: BTreeMap<String, u64>,
}

/// Counts the records of `dir` within the filter's time window.
pub fn collect(dir: &Path, filter: &Filter) -> Result<Stats, ReadError> {
    let mut stats = Stats::default();
    let mut failure = None;
    read_records(dir, |location, record| {
        if !filter.in_time(record) {
            return ControlFlow::Continue(());
        }
        *stats
            .records_by_kind
            .entry(record.kind.as_str().to_string())
            .or_default() += 1;
        match Body::parse(record.kind, &record.body) {
            Ok(Body::Decision(d)) => {
                if !filter.decision_matches(&d) {
                    return ControlFlow::Continue(());
                }
                stats.decisions.add(d.action);
                let day = record.ts.get(..10).unwrap_or("").to_string();
                stats.by_day.entry(day).or_default().add(d.action);
                stats
                    .by_client
                    .entry(d.client.clone())
                    .or_default()
                    .add(d.action);
                for t in d.entities.types() {
                    let e = stats
                        .by_entity
                        .entry(t.entity_type().to_string())
                        .or_default();
                    e.requests += 1;
                    e.occurrences += u64::from(t.count());
                }
            }
            Ok(Body::Outcome(o)) => *stats.outcomes_by_status.entry(o.status).or_default() += 1,
            Ok(Body::Refused(r)) => {
                if filter.client.is_none() || filter.client == r.client {
                    *stats.refused_by_status.entry(r.status).or_default() += 1;
                }
            }
            Ok(_) => {}
            Err(e) => {
                failure = Some(ReadError::unparsable_body(location, record.kind, &e));
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    })?;
    match failure {
        Some(e) => Err(e),
        None => Ok(stats),
    }
}

fn action_table(
    out: &mut dyn Write,
    title: &str,
    rows: &BTreeMap<String, ActionCounts>,
) -> std::io::Result<()> {
    writeln!(
        out,
        "\n{title:<24} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "requests", "allow", "redact", "local", "block"
    )?;
    for (key, c) in rows {
        writeln!(
            out,
            "{key:<24} {:>9} {:>9} {:>9} {:>9} {:>9}",
            c.total, c.allow, c.redact, c.local, c.block
        )?;
    }
    Ok(())
}

/// Prints the stats as tables a person reads.
pub fn print_table(stats: &Stats, out: &mut dyn Write) -> std::io::Result<()> {
    let d = &stats.decisions;
    writeln!(
        out,
        "decisions: {} (allow {}, redact {}, local {}, block {})",
        d.total, d.allow, d.redact, d.local, d.block
    )?;
    action_table(out, "DAY (UTC)", &stats.by_day)?;
    action_table(out, "CLIENT", &stats.by_client)?;
    writeln!(
        out,
        "\n{:<24} {:>9} {:>11}",
        "ENTITY TYPE", "requests", "occurrences"
    )?;
    for (t, c) in &stats.by_entity {
        writeln!(out, "{t:<24} {:>9} {:>11}", c.requests, c.occurrences)?;
    }
    writeln!(out, "\n{:<24} {:>9}", "OUTCOME STATUS", "count")?;
    for (status, n) in &stats.outcomes_by_status {
        writeln!(out, "{status:<24} {n:>9}")?;
    }
    writeln!(out, "\n{:<24} {:>9}", "REFUSED STATUS", "count")?;
    for (status, n) in &stats.refused_by_status {
        writeln!(out, "{status:<24} {n:>9}")?;
    }
    writeln!(out, "\n{:<24} {:>9}", "RECORD KIND", "count")?;
    for (kind, n) in &stats.records_by_kind {
        writeln!(out, "{kind:<24} {n:>9}")?;
    }
    Ok(())
}
