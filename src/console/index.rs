//! An in-memory index of the audit log's decisions and refusals, so that the console filters and
//! pages a log of millions of records in milliseconds instead of re-reading it per page.
//!
//! Each decision keeps only what the timeline filters on and shows (time, client, action,
//! backend, entity types and counts, rules, policy versions, its outcome) and where its line is,
//! so the detail page reads the full record from disk. Strings repeat across records (client,
//! rule and type names), so each is stored once ([`Interner`]). The index follows the log as it
//! grows: [`Index::refresh`] reads only the lines appended since the last call, and starts over if
//! a file became shorter (the writer cut a failed write).
//!
//! The index reads records without checking the chain; the verification page does that, and the
//! pages say so when the chain fails.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::audit::body::{Action, RefusedRecord};
use crate::audit::files::list_log_files;
use crate::audit::record::{parse_ts, Kind, MAX_LINE_BYTES};

/// An interned string.
pub type Sym = u32;

/// Each distinct string once; records refer to them by [`Sym`].
#[derive(Debug, Default)]
pub struct Interner {
    ids: HashMap<Box<str>, Sym>,
    names: Vec<Box<str>>,
}

impl Interner {
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.names.len() as Sym;
        self.names.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }

    pub fn get(&self, s: &str) -> Option<Sym> {
        self.ids.get(s).copied()
    }

    pub fn name(&self, id: Sym) -> &str {
        &self.names[id as usize]
    }
}

/// A request id: the gateway's `req_<32 hex>` held as a number; anything else interned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestKey {
    Generated(u128),
    Other(Sym),
}

impl RequestKey {
    fn new(id: &str, strings: &mut Interner) -> RequestKey {
        id.strip_prefix("req_")
            .filter(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|hex| u128::from_str_radix(hex, 16).ok())
            .filter(|n| format!("req_{n:032x}") == id)
            .map_or_else(
                || RequestKey::Other(strings.intern(id)),
                RequestKey::Generated,
            )
    }

    /// The key of `id` if the index has seen it.
    pub fn find(id: &str, strings: &Interner) -> Option<RequestKey> {
        let mut scratch = Interner::default();
        match RequestKey::new(id, &mut scratch) {
            RequestKey::Generated(n) => Some(RequestKey::Generated(n)),
            RequestKey::Other(_) => strings.get(id).map(RequestKey::Other),
        }
    }

    pub fn text(&self, strings: &Interner) -> String {
        match self {
            RequestKey::Generated(n) => format!("req_{n:032x}"),
            RequestKey::Other(s) => strings.name(*s).to_owned(),
        }
    }
}

/// Where a record's line starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// The log file's number (`log-000003.jsonl` is 3).
    pub file: u64,
    pub offset: u64,
}

/// A backend as a decision or outcome names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Served {
    pub backend: Sym,
    pub on_premise: bool,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: u16,
    pub latency_ms: f32,
    pub tokens_in: Option<u64>,
    pub tokens_out: Option<u64>,
    pub backend: Option<Served>,
    pub streamed: bool,
}

#[derive(Debug, Clone)]
pub struct DecisionFacts {
    pub action: Action,
    pub backend: Option<Served>,
    /// Entity type and match count.
    pub entities: Box<[(Sym, u32)]>,
    /// Policy rules that fired (`hipaa/phi`).
    pub rules: Box<[Sym]>,
    /// Detector rules that matched (`us-ssn`).
    pub detector_rules: Box<[Sym]>,
    /// `name@version` of each policy that judged it.
    pub policies: Box<[Sym]>,
    pub outcome: Option<Outcome>,
}

impl DecisionFacts {
    /// Where the request went: the outcome's backend, else the decision's.
    pub fn served_by(&self) -> Option<Served> {
        self.outcome
            .as_ref()
            .and_then(|o| o.backend)
            .or(self.backend)
    }
}

#[derive(Debug, Clone)]
pub enum What {
    Decision(Box<DecisionFacts>),
    Refused {
        status: u16,
        route: Sym,
        /// The error's code, else its type.
        code: Sym,
        /// An unknown key's fingerprint.
        key: Option<Sym>,
    },
}

/// One decision or refusal.
#[derive(Debug, Clone)]
pub struct Entry {
    pub seq: u64,
    /// Microseconds since the Unix epoch, UTC.
    pub micros: i64,
    pub request: RequestKey,
    pub client: Option<Sym>,
    pub what: What,
    pub at: Position,
}

impl Entry {
    pub fn decision(&self) -> Option<&DecisionFacts> {
        match &self.what {
            What::Decision(d) => Some(d),
            What::Refused { .. } => None,
        }
    }
}

/// Which entries the timeline lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Show {
    #[default]
    Decisions,
    Refused,
    All,
}

/// A timeline selection. A name the log never mentions selects nothing.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub client: Option<Option<Sym>>,
    pub action: Option<Action>,
    pub backend: Option<Option<Sym>>,
    pub entity: Option<Option<Sym>>,
    /// A policy rule or a detector rule.
    pub rule: Option<Option<Sym>>,
    /// `name@version`.
    pub policy: Option<Option<Sym>>,
    pub show: Show,
}

impl Filter {
    fn decision_only(&self) -> bool {
        self.action.is_some()
            || self.backend.is_some()
            || self.entity.is_some()
            || self.rule.is_some()
            || self.policy.is_some()
    }

    pub fn matches(&self, e: &Entry) -> bool {
        if self.since.is_some_and(|s| e.micros < s) || self.until.is_some_and(|u| e.micros >= u) {
            return false;
        }
        if let Some(client) = self.client {
            if client.is_none() || e.client != client {
                return false;
            }
        }
        match &e.what {
            What::Refused { .. } => self.show != Show::Decisions && !self.decision_only(),
            What::Decision(d) => {
                self.show != Show::Refused
                    && self.action.is_none_or(|a| d.action == a)
                    && self.backend.is_none_or(|b| {
                        b.is_some_and(|b| d.served_by().is_some_and(|s| s.backend == b))
                    })
                    && self.entity.is_none_or(|t| {
                        t.is_some_and(|t| d.entities.iter().any(|(et, _)| *et == t))
                    })
                    && self.rule.is_none_or(|r| {
                        r.is_some_and(|r| d.rules.contains(&r) || d.detector_rules.contains(&r))
                    })
                    && self
                        .policy
                        .is_none_or(|p| p.is_some_and(|p| d.policies.contains(&p)))
            }
        }
    }
}

/// One page of the timeline, newest first.
pub struct Page<'a> {
    pub total: usize,
    pub rows: Vec<&'a Entry>,
}

/// The index over one log directory.
pub struct Index {
    dir: PathBuf,
    pub strings: Interner,
    entries: Vec<Entry>,
    /// Decisions whose outcome has not been read yet.
    awaiting_outcome: HashMap<RequestKey, usize>,
    /// Read up to here: file number and byte offset.
    cursor: Position,
    /// The names seen in each [`Role`], for the filter form (kept as entries are added, so a
    /// page never scans the log for them).
    names: [std::collections::BTreeSet<Sym>; 5],
    /// Records read (every kind).
    pub records: u64,
    /// Lines that could not be read as records, and the first one's location.
    pub unreadable: u64,
    pub first_unreadable: Option<String>,
}

impl Index {
    pub fn new(dir: &Path) -> Index {
        Index {
            dir: dir.to_path_buf(),
            strings: Interner::default(),
            entries: Vec::new(),
            awaiting_outcome: HashMap::new(),
            cursor: Position { file: 0, offset: 0 },
            names: Default::default(),
            records: 0,
            unreadable: 0,
            first_unreadable: None,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Reads what was appended since the last call.
    pub fn refresh(&mut self) -> std::io::Result<()> {
        if !self.dir.is_dir() {
            return Ok(());
        }
        let files = list_log_files(&self.dir).map_err(|e| std::io::Error::other(e.to_string()))?;
        for (number, path) in files {
            if number < self.cursor.file {
                continue;
            }
            let start = if number == self.cursor.file {
                self.cursor.offset
            } else {
                0
            };
            let len = std::fs::metadata(&path)?.len();
            if len < start {
                // A cut tail (a failed write the writer removed): what was indexed may be gone.
                *self = Index::new(&self.dir.clone());
                return self.refresh();
            }
            if len == start && number == self.cursor.file {
                continue;
            }
            let end = self.read_file(number, &path, start)?;
            self.cursor = Position {
                file: number,
                offset: end,
            };
        }
        Ok(())
    }

    /// Indexes the complete lines of one file from `start`; returns the offset after the last.
    fn read_file(&mut self, number: u64, path: &Path, start: u64) -> std::io::Result<u64> {
        let mut file = File::open(path)?;
        file.seek(SeekFrom::Start(start))?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut offset = start;
        let mut line = Vec::with_capacity(4096);
        loop {
            line.clear();
            let n = (&mut reader)
                .take(MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut line)?;
            if n == 0 || line.last() != Some(&b'\n') {
                // The end, or a line still being written: read it next time.
                return Ok(offset);
            }
            let at = Position {
                file: number,
                offset,
            };
            offset += n as u64;
            self.records += 1;
            if let Err(e) = self.add(&line[..n - 1], at) {
                self.unreadable += 1;
                if self.first_unreadable.is_none() {
                    self.first_unreadable = Some(format!("{}: {e}", path.display()));
                }
            }
        }
    }

    fn add(&mut self, line: &[u8], at: Position) -> Result<(), serde_json::Error> {
        let envelope: Envelope = serde_json::from_slice(line)?;
        let micros = parse_ts(&envelope.ts).map_or(0, |t| t.timestamp_micros());
        match envelope.kind {
            Kind::Decision => {
                let d: DecisionLite = serde_json::from_str(&envelope.body)?;
                let strings = &mut self.strings;
                let request = RequestKey::new(&d.request_id, strings);
                let facts = DecisionFacts {
                    action: d.action,
                    backend: d.backend.map(|b| b.served(strings)),
                    entities: d
                        .entities
                        .types
                        .iter()
                        .map(|t| (strings.intern(&t.entity_type), t.count))
                        .collect(),
                    rules: d.rule_ids.iter().map(|r| strings.intern(r)).collect(),
                    detector_rules: {
                        let mut rules: Vec<Sym> = d
                            .entities
                            .types
                            .iter()
                            .flat_map(|t| t.rules.iter())
                            .map(|r| strings.intern(r))
                            .collect();
                        rules.sort_unstable();
                        rules.dedup();
                        rules.into()
                    },
                    policies: d
                        .policies
                        .iter()
                        .map(|p| strings.intern(&policy_label(&p.name, &p.version)))
                        .collect(),
                    outcome: None,
                };
                let client = Some(strings.intern(&d.client));
                self.awaiting_outcome.insert(request, self.entries.len());
                let entry = Entry {
                    seq: envelope.seq,
                    micros,
                    request,
                    client,
                    what: What::Decision(Box::new(facts)),
                    at,
                };
                self.note_names(&entry);
                self.entries.push(entry);
            }
            Kind::Outcome => {
                let o: OutcomeLite = serde_json::from_str(&envelope.body)?;
                if o.escalation.is_some_and(|e| {
                    e.attempt == crate::audit::Attempt::LocalFirst && e.escalated_to.is_some()
                }) {
                    // An escalated request's local attempt; its final outcome follows.
                    return Ok(());
                }
                let request = RequestKey::new(&o.request_id, &mut self.strings);
                if let Some(i) = self.awaiting_outcome.remove(&request) {
                    let outcome = Outcome {
                        status: o.status,
                        latency_ms: o.latency_ms as f32,
                        tokens_in: o.tokens_in,
                        tokens_out: o.tokens_out,
                        backend: o.backend.map(|b| b.served(&mut self.strings)),
                        streamed: o.streamed,
                    };
                    if let Some(b) = outcome.backend {
                        self.names[Role::Backend as usize].insert(b.backend);
                    }
                    if let What::Decision(d) = &mut self.entries[i].what {
                        d.outcome = Some(outcome);
                    }
                }
            }
            Kind::Refused => {
                let r: RefusedRecord = serde_json::from_str(&envelope.body)?;
                let strings = &mut self.strings;
                let client = r.client.as_deref().map(|c| strings.intern(c));
                self.names[Role::Client as usize].extend(client);
                self.entries.push(Entry {
                    seq: envelope.seq,
                    micros,
                    request: RequestKey::new(&r.request_id, strings),
                    client,
                    what: What::Refused {
                        status: r.status,
                        route: strings.intern(&r.route),
                        code: strings.intern(r.code.as_deref().unwrap_or(&r.error_type)),
                        key: r.key_fingerprint.as_deref().map(|k| strings.intern(k)),
                    },
                    at,
                });
            }
            _ => {}
        }
        Ok(())
    }

    /// The entries in `[since, until)` (entries are in time order: one writer, one clock).
    fn window(&self, filter: &Filter) -> &[Entry] {
        let from = filter
            .since
            .map_or(0, |s| self.entries.partition_point(|e| e.micros < s));
        let to = filter.until.map_or(self.entries.len(), |u| {
            self.entries.partition_point(|e| e.micros < u)
        });
        &self.entries[from.min(to)..to]
    }

    /// The entries `filter` selects, newest first, page `page` (from 0) of `per_page`.
    pub fn page(&self, filter: &Filter, page: usize, per_page: usize) -> Page<'_> {
        let skip = page.saturating_mul(per_page);
        let mut total = 0;
        let mut rows = Vec::with_capacity(per_page);
        for e in self.window(filter).iter().rev() {
            if filter.matches(e) {
                if total >= skip && rows.len() < per_page {
                    rows.push(e);
                }
                total += 1;
            }
        }
        Page { total, rows }
    }

    /// Every selected entry, oldest first (for summaries and exports).
    pub fn selected<'a>(&'a self, filter: &'a Filter) -> impl Iterator<Item = &'a Entry> + 'a {
        self.window(filter).iter().filter(|e| filter.matches(e))
    }

    /// The decision (or refusal) of a request.
    pub fn find(&self, request_id: &str) -> Option<&Entry> {
        let key = RequestKey::find(request_id, &self.strings)?;
        self.entries.iter().rev().find(|e| e.request == key)
    }

    /// The names used so far in one role, sorted, for the filter form's choices.
    pub fn names(&self, role: Role) -> Vec<&str> {
        let mut names: Vec<&str> = self.names[role as usize]
            .iter()
            .map(|s| self.strings.name(*s))
            .collect();
        names.sort_unstable();
        names
    }

    fn note_names(&mut self, entry: &Entry) {
        self.names[Role::Client as usize].extend(entry.client);
        if let What::Decision(d) = &entry.what {
            self.names[Role::Backend as usize].extend(d.served_by().map(|s| s.backend));
            self.names[Role::Entity as usize].extend(d.entities.iter().map(|t| t.0));
            self.names[Role::Rule as usize].extend(d.rules.iter().copied());
            self.names[Role::Policy as usize].extend(d.policies.iter().copied());
        }
    }
}

/// What a name filters on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Client = 0,
    Backend = 1,
    Entity = 2,
    Rule = 3,
    Policy = 4,
}

/// `hipaa@de69aba0`: a policy and the first 8 hex digits of its version.
pub fn policy_label(name: &str, version: &str) -> String {
    let short = version.get(..8).unwrap_or(version);
    format!("{name}@{short}")
}

/// Reads the record line at `at` (for the detail page).
pub fn read_line_at(dir: &Path, at: Position) -> std::io::Result<String> {
    let path = dir.join(crate::audit::files::log_file_name(at.file));
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(at.offset))?;
    let mut line = Vec::new();
    BufReader::new(file)
        .take(MAX_LINE_BYTES as u64 + 1)
        .read_until(b'\n', &mut line)?;
    if line.last() == Some(&b'\n') {
        line.pop();
    }
    String::from_utf8(line).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

#[derive(Deserialize)]
struct Envelope<'a> {
    seq: u64,
    #[serde(borrow)]
    ts: Cow<'a, str>,
    kind: Kind,
    #[serde(borrow)]
    body: Cow<'a, str>,
}

#[derive(Deserialize)]
struct PolicyLite<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow)]
    version: Cow<'a, str>,
}

#[derive(Deserialize)]
struct BackendLite<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    on_premise: bool,
}

impl BackendLite<'_> {
    fn served(&self, strings: &mut Interner) -> Served {
        Served {
            backend: strings.intern(&self.name),
            on_premise: self.on_premise,
        }
    }
}

#[derive(Deserialize)]
struct TypeLite<'a> {
    #[serde(rename = "type", borrow)]
    entity_type: Cow<'a, str>,
    count: u32,
    #[serde(borrow, default)]
    rules: Vec<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct EntitiesLite<'a> {
    #[serde(borrow)]
    types: Vec<TypeLite<'a>>,
}

#[derive(Deserialize)]
struct DecisionLite<'a> {
    #[serde(borrow)]
    request_id: Cow<'a, str>,
    #[serde(borrow)]
    client: Cow<'a, str>,
    #[serde(borrow)]
    policies: Vec<PolicyLite<'a>>,
    action: Action,
    #[serde(borrow)]
    rule_ids: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    entities: EntitiesLite<'a>,
    #[serde(borrow)]
    backend: Option<BackendLite<'a>>,
}

#[derive(Deserialize)]
struct OutcomeLite<'a> {
    #[serde(borrow)]
    request_id: Cow<'a, str>,
    status: u16,
    latency_ms: f64,
    tokens_in: Option<u64>,
    tokens_out: Option<u64>,
    #[serde(borrow)]
    backend: Option<BackendLite<'a>>,
    streamed: bool,
    #[serde(default)]
    escalation: Option<EscalationLite>,
}

/// Of an outcome's `escalation`, which attempt it is and whether the request went on (a local
/// attempt is then superseded by the outcome that follows).
#[derive(Deserialize)]
struct EscalationLite {
    attempt: crate::audit::Attempt,
    #[serde(default)]
    escalated_to: Option<serde::de::IgnoredAny>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_request_ids_round_trip_and_others_are_interned() {
        let mut strings = Interner::default();
        let id = "req_9814f1db605d4bbfac169ad574f22cac";
        let key = RequestKey::new(id, &mut strings);
        assert!(matches!(key, RequestKey::Generated(_)));
        assert_eq!(key.text(&strings), id);
        // Upper-case hex would not print back the same: kept as text.
        let upper = "req_9814F1DB605D4BBFAC169AD574F22CAC";
        let other = RequestKey::new(upper, &mut strings);
        assert!(matches!(other, RequestKey::Other(_)));
        assert_eq!(other.text(&strings), upper);
        assert_eq!(RequestKey::find(upper, &strings), Some(other));
        assert_eq!(RequestKey::find("secret-9", &strings), None);
    }

    #[test]
    fn policy_labels_are_short() {
        assert_eq!(policy_label("hipaa", "de69aba050f6c84a"), "hipaa@de69aba0");
        assert_eq!(policy_label("x", "v1"), "x@v1");
    }
}
