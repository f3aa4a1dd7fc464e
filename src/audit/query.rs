//! `sluice audit show`: select records by time, client, action, entity type or rule, and print them
//! as a table, JSON lines or CSV.
//!
//! Decision filters (client, action, entity, rule) select decision records; an outcome is shown
//! when its request's decision was selected; other kinds are shown only when no decision filter is
//! given. `--since` is inclusive and `--until` exclusive; a bare date for `--until` means the end
//! of that day.

use std::collections::HashSet;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::Path;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::Serialize;

use super::body::{Action, Body, DecisionRecord, OutcomeRecord};
use super::chain::ChainHash;
use super::reader::{read_records, Location, ReadError};
use super::record::{Kind, StoredRecord};

/// Which records to select.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub client: Option<String>,
    pub action: Option<Action>,
    pub entity: Option<String>,
    /// A policy rule id or a detector rule id.
    pub rule: Option<String>,
    /// Empty: every kind.
    pub kinds: Vec<Kind>,
}

impl Filter {
    pub fn has_decision_filter(&self) -> bool {
        self.client.is_some()
            || self.action.is_some()
            || self.entity.is_some()
            || self.rule.is_some()
    }

    pub fn in_time(&self, record: &StoredRecord) -> bool {
        let Some(t) = record.time() else { return false };
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }

    pub fn decision_matches(&self, d: &DecisionRecord) -> bool {
        self.client.as_ref().is_none_or(|c| &d.client == c)
            && self.action.is_none_or(|a| d.action == a)
            && self
                .entity
                .as_ref()
                .is_none_or(|e| d.entities.has_type(&e.to_ascii_uppercase()))
            && self.rule.as_ref().is_none_or(|r| {
                d.rule_ids.iter().any(|id| id == r)
                    || d.entities.types().iter().any(|t| t.rules().contains(r))
            })
    }
}

/// Parses a `--since`/`--until` bound: RFC 3339, `YYYY-MM-DDTHH:MM[:SS]` (UTC), or `YYYY-MM-DD`
/// (the start of that day; for an end bound, the start of the next day).
pub fn parse_time_bound(s: &str, end: bool) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            return Ok(Utc.from_utc_datetime(&t));
        }
    }
    if let Ok(day) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let day = if end {
            day.succ_opt().unwrap_or(day)
        } else {
            day
        };
        return Ok(Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight exists")));
    }
    Err(format!(
        "`{s}` is not a time (use 2025-06-01, 2025-06-01T13:00 or RFC 3339)"
    ))
}

/// How `show` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

/// Types and counts of a decision's entities, e.g. `PERSON×1 US_SSN×2`.
pub fn entities_cell(d: &DecisionRecord) -> String {
    d.entities
        .types()
        .iter()
        .map(|t| format!("{}×{}", t.entity_type(), t.count()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// [`entities_cell`] in plain ASCII, for CSV: `PERSON:1 US_SSN:2`.
fn entities_cell_ascii(d: &DecisionRecord) -> String {
    d.entities
        .types()
        .iter()
        .map(|t| format!("{}:{}", t.entity_type(), t.count()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One printed row.
#[derive(Debug, Default, Serialize)]
struct Row {
    seq: u64,
    ts: String,
    kind: &'static str,
    request_id: String,
    client: String,
    action: String,
    backend: String,
    entities: String,
    rules: String,
    status: String,
    latency_ms: String,
    tokens_in: String,
    tokens_out: String,
    detail: String,
}

fn row(record: &StoredRecord, body: &Body) -> Row {
    let mut row = Row {
        seq: record.seq,
        ts: record.ts.clone(),
        kind: record.kind.as_str(),
        ..Row::default()
    };
    match body {
        Body::Decision(d) => {
            row.request_id = d.request_id.clone();
            row.client = d.client.clone();
            row.action = d.action.as_str().into();
            row.backend = d
                .backend
                .as_ref()
                .map(|b| b.name.clone())
                .unwrap_or_default();
            row.entities = entities_cell(d);
            row.rules = d.rule_ids.join(" ");
        }
        Body::Outcome(o) => fill_outcome(&mut row, o),
        Body::Refused(r) => {
            row.request_id = r.request_id.clone();
            row.client = r.client.clone().unwrap_or_default();
            row.status = r.status.to_string();
            row.detail = refused_detail(r);
        }
        Body::Checkpoint(c) => {
            row.detail = format!(
                "covers seq {} head {} key {}",
                c.seq,
                c.head.short(),
                c.key_id
            )
        }
        Body::PolicyLoaded(p) => {
            row.detail = format!("{} {} ({} rules)", p.name, p.version, p.rules)
        }
        Body::PolicyRejected(p) => row.detail = format!("{}: {}", p.path, p.error),
        Body::Recovered(r) => {
            row.detail = format!(
                "{:?}: cut {} bytes of {} after seq {}",
                r.cause, r.cut_bytes, r.file, r.last_good_seq
            )
        }
        Body::Startup(s) => {
            row.detail = format!(
                "sluice {} pid {} signing key {}",
                s.sluice_version, s.pid, s.signing_key_id
            )
        }
        Body::Shutdown(s) => {
            row.detail = format!("{} ({} records this run)", s.reason, s.records_this_run)
        }
        Body::Rotated(r) => row.detail = format!("after {} ({:?})", r.previous_file, r.reason),
        Body::Genesis(g) => row.detail = format!("log {} format {}", g.log_id, g.format),
    }
    row
}

/// What a refused record says, e.g. `/v1/chat/completions invalid_api_key key 3f9a12c4e5d6 from 10.0.0.7`.
fn refused_detail(r: &super::body::RefusedRecord) -> String {
    let mut detail = format!("{} {}", r.route, r.code.as_deref().unwrap_or(&r.error_type));
    if let Some(f) = &r.key_fingerprint {
        detail.push_str(&format!(" key {}", &f[..f.len().min(12)]));
    }
    if let Some(peer) = &r.peer {
        detail.push_str(&format!(" from {peer}"));
    }
    detail
}

fn fill_outcome(row: &mut Row, o: &OutcomeRecord) {
    row.request_id = o.request_id.clone();
    row.backend = o
        .backend
        .as_ref()
        .map(|b| b.name.clone())
        .unwrap_or_default();
    row.status = o.status.to_string();
    row.latency_ms = format!("{:.1}", o.latency_ms);
    row.tokens_in = o.tokens_in.map(|n| n.to_string()).unwrap_or_default();
    row.tokens_out = o.tokens_out.map(|n| n.to_string()).unwrap_or_default();
    row.detail = o.model.clone().unwrap_or_default();
}

/// One `--format json` line: the envelope, where it is, and the parsed body.
#[derive(Serialize)]
struct JsonRow<'a> {
    seq: u64,
    ts: &'a str,
    kind: Kind,
    file: Option<std::borrow::Cow<'a, str>>,
    line: u64,
    hash: ChainHash,
    body: serde_json::Value,
}

const CSV_HEADER: &str =
    "seq,ts,kind,request_id,client,action,backend,entities,rules,status,latency_ms,tokens_in,tokens_out,detail";

/// Quotes a CSV field when needed, defuses cells a spreadsheet would run as a formula, and
/// keeps the file plain ASCII (any other character is written as `\u{...}`), so that every
/// tool a reviewer opens it with reads the same bytes.
pub fn csv_field(s: &str) -> String {
    let mut ascii = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            ascii.push(c);
        } else {
            ascii.push_str(&format!("\\u{{{:04x}}}", c as u32));
        }
    }
    let s = if ascii.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{ascii}")
    } else {
        ascii
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn print_row(
    out: &mut dyn Write,
    format: Format,
    record: &StoredRecord,
    location: &Location,
    body: &Body,
) -> std::io::Result<()> {
    match format {
        Format::Json => {
            let line = JsonRow {
                seq: record.seq,
                ts: &record.ts,
                kind: record.kind,
                file: location.file.file_name().map(|f| f.to_string_lossy()),
                line: location.line,
                hash: record.hash,
                body: serde_json::from_str(&record.body).unwrap_or(serde_json::Value::Null),
            };
            serde_json::to_writer(&mut *out, &line)?;
            writeln!(out)
        }
        Format::Csv => {
            let mut r = row(record, body);
            if let Body::Decision(d) = body {
                r.entities = entities_cell_ascii(d);
            }
            let fields = [
                r.seq.to_string(),
                r.ts,
                r.kind.to_string(),
                r.request_id,
                r.client,
                r.action,
                r.backend,
                r.entities,
                r.rules,
                r.status,
                r.latency_ms,
                r.tokens_in,
                r.tokens_out,
                r.detail,
            ];
            let cells: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            writeln!(out, "{}", cells.join(","))
        }
        Format::Table => {
            let r = row(record, body);
            let what = match record.kind {
                Kind::Decision => format!(
                    "{} {} {} [{}] {}",
                    r.client, r.action, r.backend, r.entities, r.rules
                ),
                Kind::Refused => format!("{} {} {}", r.status, r.client, r.detail),
                Kind::Outcome => format!(
                    "{} {} {}ms in={} out={} {}",
                    r.status, r.backend, r.latency_ms, r.tokens_in, r.tokens_out, r.detail
                ),
                _ => r.detail,
            };
            writeln!(
                out,
                "{:>8}  {:<27}  {:<15} {:<36}  {}",
                r.seq,
                r.ts,
                r.kind,
                r.request_id,
                what.trim_end()
            )
        }
    }
}

/// Prints the selected records; returns how many were printed.
pub fn show(
    dir: &Path,
    filter: &Filter,
    format: Format,
    limit: Option<u64>,
    out: &mut dyn Write,
) -> Result<u64, ReadError> {
    match format {
        Format::Csv => writeln!(out, "{CSV_HEADER}"),
        Format::Table => writeln!(
            out,
            "{:>8}  {:<27}  {:<15} {:<36}  DETAIL",
            "SEQ", "TIME", "KIND", "REQUEST"
        ),
        Format::Json => Ok(()),
    }
    .map_err(output_error)?;
    let mut selected_requests = HashSet::new();
    let mut printed = 0u64;
    let mut failure = None;
    read_records(dir, |location, record| {
        if limit.is_some_and(|l| printed >= l) {
            return ControlFlow::Break(());
        }
        if !filter.in_time(record)
            || !(filter.kinds.is_empty() || filter.kinds.contains(&record.kind))
        {
            return ControlFlow::Continue(());
        }
        let Ok(body) = Body::parse(record.kind, &record.body) else {
            failure = Some(ReadError {
                location: Some(location.clone()),
                message: format!(
                    "{} body does not parse; run `sluice audit verify`",
                    record.kind
                ),
            });
            return ControlFlow::Break(());
        };
        let selected = match &body {
            Body::Decision(d) => {
                let m = filter.decision_matches(d);
                if m && filter.has_decision_filter() {
                    selected_requests.insert(d.request_id.clone());
                }
                m
            }
            Body::Outcome(o) => {
                !filter.has_decision_filter() || selected_requests.contains(&o.request_id)
            }
            _ => !filter.has_decision_filter(),
        };
        if selected {
            if let Err(e) = print_row(out, format, record, location, &body) {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    failure = Some(output_error(e));
                }
                return ControlFlow::Break(());
            }
            printed += 1;
        }
        ControlFlow::Continue(())
    })?;
    match failure {
        Some(e) => Err(e),
        None => Ok(printed),
    }
}

fn output_error(e: std::io::Error) -> ReadError {
    ReadError {
        location: None,
        message: format!("writing output: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_bounds() {
        let since = parse_time_bound("2025-06-01", false).unwrap();
        assert_eq!(since.to_rfc3339(), "2025-06-01T00:00:00+00:00");
        let until = parse_time_bound("2025-06-01", true).unwrap();
        assert_eq!(until.to_rfc3339(), "2025-06-02T00:00:00+00:00");
        let t = parse_time_bound("2025-06-01T13:30", true).unwrap();
        assert_eq!(t.to_rfc3339(), "2025-06-01T13:30:00+00:00");
        let z = parse_time_bound("2025-06-01T13:30:00+02:00", false).unwrap();
        assert_eq!(z.to_rfc3339(), "2025-06-01T11:30:00+00:00");
        assert!(parse_time_bound("yesterday", false).is_err());
    }

    #[test]
    fn csv_is_plain_ascii() {
        assert_eq!(csv_field("Zoë"), "Zo\\u{00eb}");
        assert!(csv_field("日本, x").is_ascii());
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
    }
}
