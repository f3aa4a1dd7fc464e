//! One line of the log: the record envelope (sequence, time, kind, links) around a body string.
//!
//! A line is a JSON object with exactly the fields `seq`, `ts`, `kind`, `prev`, `hash`, `body`,
//! followed by `\n`. `body` is a JSON string holding the body's own JSON; [`crate::audit::chain`]
//! defines the hashed bytes. Readers reject unknown or duplicate fields, so nothing can hide in a
//! line outside the hashed parts.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::chain::{record_hash, ChainHash};

/// The longest line a reader accepts; far above any record the writer produces (decision records
/// cap their fingerprint lists), so a hostile file cannot make a reader allocate without bound.
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// What a record is about; the `kind` field of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Genesis,
    Rotated,
    Startup,
    Shutdown,
    Decision,
    Outcome,
    Refused,
    PolicyLoaded,
    PolicyRejected,
    Checkpoint,
    Recovered,
}

impl Kind {
    pub const ALL: [Kind; 11] = [
        Kind::Genesis,
        Kind::Rotated,
        Kind::Startup,
        Kind::Shutdown,
        Kind::Decision,
        Kind::Outcome,
        Kind::Refused,
        Kind::PolicyLoaded,
        Kind::PolicyRejected,
        Kind::Checkpoint,
        Kind::Recovered,
    ];

    /// True for the records the gateway submits (an [`crate::audit::Event`]), as opposed to those
    /// the log writes itself. The checkpoint cadence counts these, in the writer and in `verify`.
    pub fn is_submitted(self) -> bool {
        matches!(
            self,
            Kind::Decision
                | Kind::Outcome
                | Kind::Refused
                | Kind::PolicyLoaded
                | Kind::PolicyRejected
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Genesis => "genesis",
            Kind::Rotated => "rotated",
            Kind::Startup => "startup",
            Kind::Shutdown => "shutdown",
            Kind::Decision => "decision",
            Kind::Outcome => "outcome",
            Kind::Refused => "refused",
            Kind::PolicyLoaded => "policy_loaded",
            Kind::PolicyRejected => "policy_rejected",
            Kind::Checkpoint => "checkpoint",
            Kind::Recovered => "recovered",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                format!("unknown record kind `{s}` (one of: {})", names.join(", "))
            })
    }
}

/// A record as stored on one line.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredRecord {
    pub seq: u64,
    pub ts: String,
    pub kind: Kind,
    pub prev: ChainHash,
    pub hash: ChainHash,
    pub body: String,
}

impl StoredRecord {
    /// Parses one line (without or with its trailing newline).
    pub fn parse(line: &[u8]) -> Result<StoredRecord, serde_json::Error> {
        serde_json::from_slice(line)
    }

    /// The hash this record's contents call for; equal to `hash` unless the record was altered.
    pub fn computed_hash(&self) -> ChainHash {
        record_hash(
            &self.prev,
            self.seq,
            &self.ts,
            self.kind.as_str(),
            &self.body,
        )
    }

    /// The record's time, if `ts` is well formed.
    pub fn time(&self) -> Option<DateTime<Utc>> {
        parse_ts(&self.ts)
    }
}

#[derive(Serialize)]
struct LineOut<'a> {
    seq: u64,
    ts: &'a str,
    kind: Kind,
    prev: &'a ChainHash,
    hash: &'a ChainHash,
    body: &'a str,
}

/// Appends one complete line (with its newline) to `out`.
pub fn write_line(
    out: &mut Vec<u8>,
    seq: u64,
    ts: &str,
    kind: Kind,
    prev: &ChainHash,
    hash: &ChainHash,
    body: &str,
) {
    let line = LineOut {
        seq,
        ts,
        kind,
        prev,
        hash,
        body,
    };
    serde_json::to_writer(&mut *out, &line).expect("serializing to memory cannot fail");
    out.push(b'\n');
}

/// The log's timestamp form: RFC 3339, UTC, exactly six fractional digits, `Z`.
pub fn format_ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses a timestamp written by [`format_ts`] (any RFC 3339 time is accepted and made UTC).
pub fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn line_round_trips_and_hash_recomputes() {
        let ts = format_ts(Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap());
        assert_eq!(ts, "2025-06-01T12:00:00.000000Z");
        let body = r#"{"request_id":"r1","note":"quote \" and \\ and é"}"#;
        let prev = ChainHash([3; 32]);
        let hash = record_hash(&prev, 9, &ts, "outcome", body);
        let mut out = Vec::new();
        write_line(&mut out, 9, &ts, Kind::Outcome, &prev, &hash, body);
        assert_eq!(out.last(), Some(&b'\n'));
        assert_eq!(out.iter().filter(|b| **b == b'\n').count(), 1);
        let rec = StoredRecord::parse(&out).unwrap();
        assert_eq!(rec.body, body);
        assert_eq!(rec.computed_hash(), rec.hash);
        assert_eq!(rec.kind, Kind::Outcome);
    }

    #[test]
    fn unknown_and_duplicate_fields_are_rejected() {
        let h = ChainHash::ZERO.to_hex();
        let ok = format!(
            r#"{{"seq":0,"ts":"t","kind":"genesis","prev":"{h}","hash":"{h}","body":"{{}}"}}"#
        );
        assert!(StoredRecord::parse(ok.as_bytes()).is_ok());
        let extra = ok.replacen("{\"seq\"", "{\"x\":1,\"seq\"", 1);
        assert!(StoredRecord::parse(extra.as_bytes()).is_err());
        let dup = ok.replacen("{\"seq\":0", "{\"seq\":0,\"seq\":1", 1);
        assert!(StoredRecord::parse(dup.as_bytes()).is_err());
    }

    #[test]
    fn kind_names_parse_back() {
        for k in Kind::ALL {
            assert_eq!(k.as_str().parse::<Kind>().unwrap(), k);
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{k}\""));
        }
        assert!("nope".parse::<Kind>().is_err());
    }
}
