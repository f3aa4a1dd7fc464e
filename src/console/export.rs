//! The timeline's selection as a file (CSV in plain ASCII, or JSON lines), and one record read
//! back by file and line for the verification page's links.

use std::path::Path;

use serde::Serialize;

use super::index::{Entry, Filter, Index, What};
use crate::audit::files::log_file_name;
use crate::audit::query::csv_field;
use crate::audit::reader::{Line, LineReader};
use crate::audit::record::StoredRecord;

/// One exported row: the timeline's columns.
#[derive(Serialize)]
struct Row<'a> {
    ts: String,
    request_id: String,
    kind: &'static str,
    client: &'a str,
    action: &'a str,
    served_by: &'a str,
    on_premise: Option<bool>,
    entities: String,
    rules: String,
    policies: String,
    status: Option<u16>,
    latency_ms: Option<f32>,
    tokens_in: Option<u64>,
    tokens_out: Option<u64>,
    detail: String,
}

fn row<'a>(index: &'a Index, e: &Entry) -> Row<'a> {
    let s = &index.strings;
    let ts = chrono::DateTime::from_timestamp_micros(e.micros)
        .map(crate::audit::record::format_ts)
        .unwrap_or_default();
    let mut row = Row {
        ts,
        request_id: e.request.text(s),
        kind: "decision",
        client: e.client.map_or("", |c| s.name(c)),
        action: "",
        served_by: "",
        on_premise: None,
        entities: String::new(),
        rules: String::new(),
        policies: String::new(),
        status: None,
        latency_ms: None,
        tokens_in: None,
        tokens_out: None,
        detail: String::new(),
    };
    match &e.what {
        What::Decision(d) => {
            row.action = d.action.as_str();
            if let Some(b) = d.served_by() {
                row.served_by = s.name(b.backend);
                row.on_premise = Some(b.on_premise);
            }
            row.entities = d
                .entities
                .iter()
                .map(|(t, n)| format!("{}:{n}", s.name(*t)))
                .collect::<Vec<_>>()
                .join(" ");
            row.rules = d
                .rules
                .iter()
                .map(|r| s.name(*r))
                .collect::<Vec<_>>()
                .join(" ");
            row.policies = d
                .policies
                .iter()
                .map(|p| s.name(*p))
                .collect::<Vec<_>>()
                .join(" ");
            if let Some(o) = &d.outcome {
                row.status = Some(o.status);
                row.latency_ms = Some(o.latency_ms);
                row.tokens_in = o.tokens_in;
                row.tokens_out = o.tokens_out;
            }
        }
        What::Refused {
            status,
            route,
            code,
            key,
        } => {
            row.kind = "refused";
            row.status = Some(*status);
            row.detail = format!("{} {}", s.name(*route), s.name(*code));
            if let Some(k) = key {
                row.detail.push_str(&format!(" key {}", s.name(*k)));
            }
        }
    }
    row
}

const HEADER: &str = "ts,request_id,kind,client,action,served_by,on_premise,entities,rules,policies,status,latency_ms,tokens_in,tokens_out,detail";

/// The selection as CSV, oldest first, at most `max` rows.
pub fn csv(index: &Index, filter: &Filter, max: usize) -> String {
    let mut out = String::from(HEADER);
    out.push('\n');
    let opt = |v: Option<String>| v.unwrap_or_default();
    for (n, e) in index.selected(filter).enumerate() {
        if n == max {
            out.push_str(&format!("# cut at {max} rows: narrow the selection\n"));
            break;
        }
        let r = row(index, e);
        let cells = [
            r.ts,
            r.request_id,
            r.kind.to_owned(),
            r.client.to_owned(),
            r.action.to_owned(),
            r.served_by.to_owned(),
            opt(r.on_premise.map(|b| b.to_string())),
            r.entities,
            r.rules,
            r.policies,
            opt(r.status.map(|v| v.to_string())),
            opt(r.latency_ms.map(|v| format!("{v:.1}"))),
            opt(r.tokens_in.map(|v| v.to_string())),
            opt(r.tokens_out.map(|v| v.to_string())),
            r.detail,
        ];
        let cells: Vec<String> = cells.iter().map(|c| csv_field(c)).collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// The selection as JSON lines, oldest first, at most `max` rows.
pub fn json_lines(index: &Index, filter: &Filter, max: usize) -> String {
    let mut out = String::new();
    for e in index.selected(filter).take(max) {
        if let Ok(line) = serde_json::to_string(&row(index, e)) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// The record on line `line` (1-based) of log file number `file`, if it parses.
pub fn record_at_line(dir: &Path, file: u64, line: u64) -> std::io::Result<Option<StoredRecord>> {
    let path = dir.join(log_file_name(file));
    if !path.is_file() {
        return Ok(None);
    }
    let mut reader = LineReader::open(&path)?;
    while let Some((number, read)) = reader.next_line()? {
        if number == line {
            return Ok(match read {
                Line::Complete(bytes) => StoredRecord::parse(bytes).ok(),
                _ => None,
            });
        }
    }
    Ok(None)
}
