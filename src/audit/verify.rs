//! Verification: proves that no record was altered, removed, reordered or inserted, and reports
//! the first one that was, with its file and line.
//!
//! Checked for every record: it parses (no unknown or duplicate fields), its `seq` is the previous
//! one plus one, its `prev` is the previous record's hash, its `hash` recomputes, its time and body
//! are well formed. Across files: the numbering has no gap and each file after the first starts
//! with a `rotated` record naming the previous file and its last hash. Every checkpoint must cover
//! the record just before it and carry a valid signature (under `--pubkey` keys if given, else under
//! the key the log's own startup records declare), and checkpoints must be where the log says they
//! are ([`super::cadence`]). Every anchor (the log's own anchors file and any `--anchor` file held
//! elsewhere) must be a checkpoint that the log holds, right after the record it names: a log that
//! ends before it was truncated. A line of an anchors file that is not a checkpoint fails.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;

use super::body::Body;
use super::cadence::Cadence;
use super::chain::ChainHash;
use super::checkpoint::Checkpoint;
use super::files::{list_log_files, log_file_name, ANCHORS_FILE};
use super::keys::signing_key_id;
use super::reader::{Line, LineReader, Location};
use super::record::{Kind, StoredRecord};

/// A checkpoint held somewhere else, to check the log against.
#[derive(Debug, Clone)]
pub struct Anchor {
    pub checkpoint: Checkpoint,
    /// Where it came from (`file:line`), for messages.
    pub source: String,
    /// From `--anchor` (held outside the log directory) rather than the log's own anchors file.
    pub external: bool,
}

/// What to check the log against.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Keys trusted to sign checkpoints. Empty: use the keys the log declares (consistency only).
    pub trusted_keys: Vec<VerifyingKey>,
    /// Anchors from `--anchor` files.
    pub anchors: Vec<Anchor>,
}

/// Why verification failed, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub location: Option<Location>,
    pub seq: Option<u64>,
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.location, self.seq) {
            (Some(loc), Some(seq)) => write!(f, "{loc} (seq {seq}): {}", self.message),
            (Some(loc), None) => write!(f, "{loc}: {}", self.message),
            (None, _) => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Failure {}

/// The last valid checkpoint found in the log.
#[derive(Debug, Clone)]
pub struct CheckpointSeen {
    pub checkpoint: Checkpoint,
    pub record_seq: u64,
    pub location: Location,
}

/// What a successful verification established.
#[derive(Debug, Clone)]
pub struct Summary {
    pub dir: PathBuf,
    pub log_id: String,
    pub files: usize,
    pub records: u64,
    pub last_seq: u64,
    pub head: ChainHash,
    pub checkpoints: u64,
    pub last_checkpoint: Option<CheckpointSeen>,
    /// Records after the last checkpoint record (not yet covered by a signature).
    pub unsigned_tail: u64,
    /// When the log is open under a writer with strict checkpoints: its checkpoint interval.
    pub open_strict_every: Option<u64>,
    /// Signatures were checked against `--pubkey` keys, not keys the log declares itself.
    pub keys_trusted: bool,
    pub local_anchors_checked: usize,
    pub external_anchors_checked: usize,
    pub warnings: Vec<String>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "OK: {} records in {} file(s), seq 0..{}, log {}",
            self.records, self.files, self.last_seq, self.log_id
        )?;
        writeln!(f, "head: {} (seq {})", self.head, self.last_seq)?;
        match &self.last_checkpoint {
            Some(seen) => {
                let trust = if self.keys_trusted {
                    "a trusted key (--pubkey)"
                } else {
                    "the key the log declares itself; pass --pubkey with a key you hold to make this evidence"
                };
                writeln!(
                    f,
                    "checkpoints: {} valid; the last covers seq {} (head {}), signed at {} by {} ({trust})",
                    self.checkpoints,
                    seen.checkpoint.seq,
                    seen.checkpoint.head.short(),
                    seen.checkpoint.time,
                    seen.checkpoint.key_id
                )?;
            }
            None => writeln!(f, "checkpoints: none yet (nothing is signed)")?,
        }
        if self.unsigned_tail > 0 {
            let bound = match self.open_strict_every {
                Some(every) => format!(
                    "the log is open, and its writer signs after at most {every} submitted records"
                ),
                None => "the log is open".into(),
            };
            writeln!(
                f,
                "unsigned: {} record(s) after the last checkpoint ({bound}; their removal is caught only against a later --anchor)",
                self.unsigned_tail
            )?;
        }
        writeln!(
            f,
            "anchors: {} checked from {ANCHORS_FILE}, {} from --anchor",
            self.local_anchors_checked, self.external_anchors_checked
        )?;
        for warning in &self.warnings {
            writeln!(f, "warning: {warning}")?;
        }
        Ok(())
    }
}

/// Reads checkpoints from a file: one JSON checkpoint a line (an anchors file), or checkpoint
/// records copied from the log. Every line must be one; so must the last, which must be whole.
pub fn load_anchor_file(path: &Path, external: bool) -> Result<Vec<Anchor>, Failure> {
    let read = read_anchor_file(path, external)?;
    match read.torn {
        Some(torn) => Err(torn.failure("a copy held elsewhere must hold whole lines")),
        None => Ok(read.anchors),
    }
}

/// An anchors file's checkpoints, and its incomplete last line if it has one.
struct AnchorFile {
    anchors: Vec<Anchor>,
    torn: Option<TornLine>,
}

struct TornLine {
    location: Location,
    bytes: usize,
}

impl TornLine {
    fn failure(&self, why: &str) -> Failure {
        Failure {
            location: Some(self.location.clone()),
            seq: None,
            message: format!(
                "incomplete last line ({} bytes): a checkpoint copy was cut short, and {why}",
                self.bytes
            ),
        }
    }
}

fn read_anchor_file(path: &Path, external: bool) -> Result<AnchorFile, Failure> {
    let fail = |line: Option<u64>, message: String| Failure {
        location: line.map(|line| Location {
            file: path.to_path_buf(),
            line,
        }),
        seq: None,
        message: if line.is_some() {
            message
        } else {
            format!("{}: {message}", path.display())
        },
    };
    let mut reader = LineReader::open(path).map_err(|e| fail(None, e.to_string()))?;
    let mut anchors = Vec::new();
    let mut torn = None;
    while let Some((number, line)) = reader.next_line().map_err(|e| fail(None, e.to_string()))? {
        let bytes = match line {
            Line::Complete(bytes) => bytes,
            Line::Torn(bytes) => {
                torn = Some(TornLine {
                    location: Location {
                        file: path.to_path_buf(),
                        line: number,
                    },
                    bytes,
                });
                break;
            }
            Line::TooLong => return Err(fail(Some(number), "line too long".into())),
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let checkpoint = parse_anchor_line(bytes).map_err(|e| fail(Some(number), e))?;
        anchors.push(Anchor {
            checkpoint,
            source: format!("{}:{number}", path.display()),
            external,
        });
    }
    Ok(AnchorFile { anchors, torn })
}

fn parse_anchor_line(bytes: &[u8]) -> Result<Checkpoint, String> {
    if let Ok(checkpoint) = serde_json::from_slice::<Checkpoint>(bytes) {
        return Ok(checkpoint);
    }
    match StoredRecord::parse(bytes) {
        Ok(record) if record.kind == Kind::Checkpoint => serde_json::from_str(&record.body)
            .map_err(|e| format!("checkpoint record with a bad body ({e})")),
        _ => Err(
            "not a checkpoint (expected a line of an anchors file or a checkpoint record)".into(),
        ),
    }
}

/// Verifies the log in `dir`.
pub fn verify_log(dir: &Path, options: &VerifyOptions) -> Result<Summary, Failure> {
    verify_log_with(dir, options, |_, _| {})
}

/// Verifies the log in `dir`, handing each record to `visit` once it has been checked.
pub fn verify_log_with(
    dir: &Path,
    options: &VerifyOptions,
    mut visit: impl FnMut(&Location, &StoredRecord),
) -> Result<Summary, Failure> {
    let mut verifier = Verifier::new(options);
    let local_anchors = dir.join(ANCHORS_FILE);
    let mut local_torn = None;
    if local_anchors.exists() {
        let read = read_anchor_file(&local_anchors, false)?;
        verifier.add_anchors(read.anchors);
        local_torn = read.torn;
    }
    verifier.add_anchors(options.anchors.clone());
    let files = list_log_files(dir).map_err(|e| Failure {
        location: None,
        seq: None,
        message: e.to_string(),
    })?;
    if files.is_empty() {
        return Err(Failure {
            location: None,
            seq: None,
            message: format!("no audit log files (log-NNNNNN.jsonl) in {}", dir.display()),
        });
    }
    let mut previous_name: Option<String> = None;
    for (position, (index, path)) in files.iter().enumerate() {
        let expected_index = position as u64 + 1;
        let name = log_file_name(*index);
        if *index != expected_index {
            let missing = if *index == expected_index + 1 {
                log_file_name(expected_index)
            } else {
                format!(
                    "{} to {}",
                    log_file_name(expected_index),
                    log_file_name(index - 1)
                )
            };
            let what = if expected_index == 1 {
                "the first file, which holds the genesis record, is missing".to_string()
            } else {
                format!(
                    "the log continues here after {}, but {missing} is missing: a whole file was removed",
                    previous_name.as_deref().unwrap_or("?")
                )
            };
            return Err(Failure {
                location: Some(Location {
                    file: path.clone(),
                    line: 1,
                }),
                seq: None,
                message: format!("{missing}: {what}"),
            });
        }
        let is_last_file = position + 1 == files.len();
        let io_fail = |e: std::io::Error| Failure {
            location: None,
            seq: None,
            message: format!("{}: {e}", path.display()),
        };
        let mut reader = LineReader::open(path).map_err(io_fail)?;
        let mut lines = 0u64;
        while let Some((number, line)) = reader.next_line().map_err(io_fail)? {
            let location = Location {
                file: path.clone(),
                line: number,
            };
            match line {
                Line::Complete(bytes) => {
                    let record = verifier.check(
                        bytes,
                        &location,
                        lines == 0,
                        *index,
                        previous_name.as_deref(),
                    )?;
                    visit(&location, &record);
                }
                Line::Torn(len) if is_last_file => {
                    verifier.torn_tail = true;
                    verifier.warnings.push(format!(
                        "{location}: incomplete last line ({len} bytes) ignored: a write in progress or a crash (the writer cuts it when it next starts)"
                    ))
                }
                Line::Torn(len) => {
                    return Err(Failure {
                        location: Some(location),
                        seq: None,
                        message: format!(
                            "incomplete line ({len} bytes) in a file that is not the last: the file was truncated"
                        ),
                    })
                }
                Line::TooLong => {
                    return Err(Failure {
                        location: Some(location),
                        seq: None,
                        message: "line too long to be a record".into(),
                    })
                }
            }
            lines += 1;
        }
        if lines == 0 && !is_last_file {
            return Err(Failure {
                location: Some(Location {
                    file: path.clone(),
                    line: 1,
                }),
                seq: None,
                message: "file is empty but is not the last: its records were removed".into(),
            });
        }
        previous_name = Some(name);
    }
    verifier.finish(dir, files.len(), local_torn)
}

struct Verifier {
    trusted: HashMap<String, VerifyingKey>,
    declared: HashMap<String, VerifyingKey>,
    log_id: Option<String>,
    next_seq: u64,
    head: ChainHash,
    records: u64,
    checkpoints: u64,
    last_checkpoint: Option<CheckpointSeen>,
    anchors: Vec<Anchor>,
    anchors_by_seq: BTreeMap<u64, Vec<usize>>,
    last_location: Option<Location>,
    cadence: Cadence,
    /// The last file's last line is incomplete.
    torn_tail: bool,
    warnings: Vec<String>,
}

impl Verifier {
    fn new(options: &VerifyOptions) -> Verifier {
        Verifier {
            trusted: options
                .trusted_keys
                .iter()
                .map(|k| (signing_key_id(k), *k))
                .collect(),
            declared: HashMap::new(),
            log_id: None,
            next_seq: 0,
            head: ChainHash::ZERO,
            records: 0,
            checkpoints: 0,
            last_checkpoint: None,
            anchors: Vec::new(),
            anchors_by_seq: BTreeMap::new(),
            last_location: None,
            cadence: Cadence::default(),
            torn_tail: false,
            warnings: Vec::new(),
        }
    }

    fn add_anchors(&mut self, anchors: Vec<Anchor>) {
        for anchor in anchors {
            self.anchors_by_seq
                .entry(anchor.checkpoint.seq)
                .or_default()
                .push(self.anchors.len());
            self.anchors.push(anchor);
        }
    }

    fn check(
        &mut self,
        bytes: &[u8],
        location: &Location,
        first_in_file: bool,
        file_index: u64,
        previous_file: Option<&str>,
    ) -> Result<StoredRecord, Failure> {
        let fail = |seq: Option<u64>, message: String| Failure {
            location: Some(location.clone()),
            seq,
            message,
        };
        let record = StoredRecord::parse(bytes)
            .map_err(|e| fail(None, format!("not a valid record: {e}")))?;
        let seq = record.seq;
        let fail = |message: String| fail(Some(seq), message);
        let expected = self.next_seq;
        if seq != expected {
            return Err(fail(if seq > expected {
                format!(
                    "expected seq {expected}, found {seq}: {} record(s) before this one are missing, or records were reordered",
                    seq - expected
                )
            } else {
                format!("expected seq {expected}, found {seq}: records were reordered or repeated")
            }));
        }
        if record.prev != self.head {
            return Err(fail(if seq == 0 {
                "the genesis record's prev must be 64 zeros".into()
            } else {
                format!(
                    "prev {} is not the hash of record {} ({}): a record before this one was altered, removed or replaced",
                    record.prev.short(),
                    expected - 1,
                    self.head.short()
                )
            }));
        }
        let computed = record.computed_hash();
        if computed != record.hash {
            return Err(fail(format!(
                "stored hash {} does not match the record's contents (they hash to {}): this record was altered",
                record.hash.short(),
                computed.short()
            )));
        }
        if record.time().is_none() {
            return Err(fail(format!("timestamp `{}` is not RFC 3339", record.ts)));
        }
        let body = Body::parse(record.kind, &record.body)
            .map_err(|e| fail(format!("body is not a valid {} body: {e}", record.kind)))?;
        match (&body, first_in_file) {
            (Body::Genesis(genesis), true) if file_index == 1 && seq == 0 => {
                if genesis.format != 1 {
                    return Err(fail(format!(
                        "format version {} is not one this sluice reads (1)",
                        genesis.format
                    )));
                }
                self.log_id = Some(genesis.log_id.clone());
            }
            (_, true) if file_index == 1 => {
                return Err(fail(format!(
                    "the log must start with its genesis record, found {}",
                    record.kind
                )))
            }
            (Body::Rotated(rotated), true) => {
                self.check_log_id(&rotated.log_id).map_err(&fail)?;
                if Some(rotated.previous_file.as_str()) != previous_file {
                    return Err(fail(format!(
                        "this file says it follows {}, but the file before it is {}",
                        rotated.previous_file,
                        previous_file.unwrap_or("none")
                    )));
                }
                if rotated.previous_hash != record.prev {
                    return Err(fail(
                        "the rotated record's previous_hash differs from its prev".into(),
                    ));
                }
            }
            (_, true) => {
                return Err(fail(format!(
                    "a file after the first must start with a rotated record, found {}",
                    record.kind
                )))
            }
            (Body::Genesis(_), false) => {
                return Err(fail("a genesis record in the middle of the log".into()))
            }
            (Body::Rotated(_), false) => {
                return Err(fail("a rotated record that does not start a file".into()))
            }
            _ => {}
        }
        match &body {
            Body::Startup(startup) => {
                self.check_log_id(&startup.log_id).map_err(&fail)?;
                let key = decode_public_key(&startup.signing_public_key).ok_or_else(|| {
                    fail("startup record's signing_public_key is not an ed25519 key".into())
                })?;
                if signing_key_id(&key) != startup.signing_key_id {
                    return Err(fail(
                        "startup record's signing_key_id does not match its public key".into(),
                    ));
                }
                self.declared.insert(startup.signing_key_id.clone(), key);
            }
            Body::Checkpoint(checkpoint) => {
                self.check_checkpoint(checkpoint, &record, location)
                    .map_err(&fail)?;
            }
            _ => {}
        }
        self.check_anchored_checkpoint(&record, &body)
            .map_err(&fail)?;
        if let Some(indexes) = self.anchors_by_seq.get(&seq) {
            for &i in indexes {
                let anchor = &self.anchors[i];
                if Some(&anchor.checkpoint.log_id) != self.log_id.as_ref() {
                    return Err(fail(format!(
                        "anchor {} belongs to log {}, not to this log ({})",
                        anchor.source,
                        anchor.checkpoint.log_id,
                        self.log_id.as_deref().unwrap_or("?")
                    )));
                }
                if anchor.checkpoint.head != record.hash {
                    return Err(fail(format!(
                        "anchor {} (signed at {}) says record {seq} has hash {}, but here it has {}: the log was rewritten after that checkpoint was taken",
                        anchor.source,
                        anchor.checkpoint.time,
                        anchor.checkpoint.head.short(),
                        record.hash.short()
                    )));
                }
            }
        }
        self.cadence.record(record.kind, &body, seq, location)?;
        self.head = record.hash;
        self.next_seq += 1;
        self.records += 1;
        self.last_location = Some(location.clone());
        Ok(record)
    }

    /// An anchor is a copy of a checkpoint record: the record after the one it covers must be
    /// that very checkpoint.
    fn check_anchored_checkpoint(&self, record: &StoredRecord, body: &Body) -> Result<(), String> {
        let Some(covered) = record.seq.checked_sub(1) else {
            return Ok(());
        };
        for &i in self.anchors_by_seq.get(&covered).into_iter().flatten() {
            let anchor = &self.anchors[i];
            let held = matches!(body, Body::Checkpoint(c) if *c == anchor.checkpoint);
            if !held {
                return Err(format!(
                    "anchor {} (signed at {}) is the checkpoint covering seq {covered}, but this {} record is not that checkpoint: the log holds no such checkpoint (it was removed or replaced)",
                    anchor.source, anchor.checkpoint.time, record.kind
                ));
            }
        }
        Ok(())
    }

    fn check_log_id(&self, log_id: &str) -> Result<(), String> {
        match &self.log_id {
            Some(id) if id == log_id => Ok(()),
            Some(id) => Err(format!(
                "record names log {log_id}, but this log is {id}: it was copied from another log"
            )),
            None => Err("no genesis record before this one".into()),
        }
    }

    fn key_for(&self, key_id: &str) -> Result<&VerifyingKey, String> {
        if self.trusted.is_empty() {
            self.declared.get(key_id).ok_or_else(|| {
                format!("signed by key {key_id}, which no earlier startup record declares")
            })
        } else {
            self.trusted.get(key_id).ok_or_else(|| {
                let mut ids: Vec<_> = self.trusted.keys().map(String::as_str).collect();
                ids.sort();
                format!(
                    "signed by key {key_id}, which is not a trusted key (--pubkey: {})",
                    ids.join(", ")
                )
            })
        }
    }

    fn check_checkpoint(
        &mut self,
        checkpoint: &Checkpoint,
        record: &StoredRecord,
        location: &Location,
    ) -> Result<(), String> {
        let since = match &self.last_checkpoint {
            Some(seen) => format!(
                "; records after seq {} (the last valid checkpoint) cannot be trusted",
                seen.checkpoint.seq
            ),
            None => "; no earlier valid checkpoint covers the records before it, so they cannot be trusted".into(),
        };
        self.check_log_id(&checkpoint.log_id)?;
        if record.seq == 0 || checkpoint.seq != record.seq - 1 {
            return Err(format!(
                "checkpoint covers seq {}, but a checkpoint record covers the record just before it ({}): records were inserted or removed before it{since}",
                checkpoint.seq,
                record.seq.saturating_sub(1)
            ));
        }
        if checkpoint.head != record.prev {
            return Err(format!(
                "checkpoint head {} is not the hash of record {} ({}): records before it were rewritten{since}",
                checkpoint.head.short(),
                checkpoint.seq,
                record.prev.short()
            ));
        }
        let key = self.key_for(&checkpoint.key_id)?;
        checkpoint
            .verify(key)
            .map_err(|e| format!("checkpoint signature: {e}{since}"))?;
        self.checkpoints += 1;
        self.last_checkpoint = Some(CheckpointSeen {
            checkpoint: checkpoint.clone(),
            record_seq: record.seq,
            location: location.clone(),
        });
        Ok(())
    }

    fn finish(
        mut self,
        dir: &Path,
        files: usize,
        local_torn: Option<TornLine>,
    ) -> Result<Summary, Failure> {
        let Some(last_location) = self.last_location.clone() else {
            return Err(Failure {
                location: None,
                seq: None,
                message: format!("the log in {} holds no records", dir.display()),
            });
        };
        let last_seq = self.next_seq - 1;
        let log_id = self.log_id.clone().unwrap_or_default();
        let mut local = 0;
        let mut external = 0;
        for anchor in &self.anchors {
            let fail = |message: String| Failure {
                location: Some(last_location.clone()),
                seq: Some(last_seq),
                message,
            };
            if anchor.checkpoint.log_id != log_id {
                return Err(fail(format!(
                    "anchor {} belongs to log {}, not to this log ({log_id})",
                    anchor.source, anchor.checkpoint.log_id
                )));
            }
            if anchor.checkpoint.seq > last_seq {
                return Err(fail(format!(
                    "the log ends at seq {last_seq}, but anchor {} (signed at {}) shows it reached seq {}: {} record(s) were removed from the end",
                    anchor.source,
                    anchor.checkpoint.time,
                    anchor.checkpoint.seq,
                    anchor.checkpoint.seq - last_seq
                )));
            }
            if anchor.checkpoint.seq == last_seq {
                return Err(fail(format!(
                    "the log ends at seq {last_seq}, but anchor {} (signed at {}) is the checkpoint that followed it: the log holds no such checkpoint (it was removed from the end)",
                    anchor.source, anchor.checkpoint.time
                )));
            }
            let key = self
                .key_for(&anchor.checkpoint.key_id)
                .map_err(|e| fail(format!("anchor {}: {e}", anchor.source)))?;
            anchor
                .checkpoint
                .verify(key)
                .map_err(|e| fail(format!("anchor {}: {e}", anchor.source)))?;
            if anchor.external {
                external += 1;
            } else {
                local += 1;
            }
        }
        let cadence = self.cadence.finish(self.torn_tail)?;
        if let Some(torn) = local_torn {
            if cadence.closed {
                return Err(torn.failure(
                    "the log was shut down cleanly, so no copy was being written: the file was cut",
                ));
            }
            self.warnings.push(format!(
                "{}: incomplete last line ({} bytes) of the anchors file ignored: a write in progress or a crash (the writer cuts it when it next starts)",
                torn.location, torn.bytes
            ));
        }
        self.warnings.extend(cadence.warnings);
        let unsigned_tail = match &self.last_checkpoint {
            Some(seen) => last_seq - seen.record_seq,
            None => self.records,
        };
        if self.checkpoints == 0 {
            self.warnings
                .push("the log holds no checkpoint: nothing in it is signed".into());
        }
        Ok(Summary {
            dir: dir.to_path_buf(),
            log_id,
            files,
            records: self.records,
            last_seq,
            head: self.head,
            checkpoints: self.checkpoints,
            last_checkpoint: self.last_checkpoint,
            unsigned_tail,
            open_strict_every: cadence.open_strict_every,
            keys_trusted: !self.trusted.is_empty(),
            local_anchors_checked: local,
            external_anchors_checked: external,
            warnings: self.warnings,
        })
    }
}

fn decode_public_key(hex_key: &str) -> Option<VerifyingKey> {
    let mut raw = [0u8; 32];
    hex::decode_to_slice(hex_key, &mut raw).ok()?;
    VerifyingKey::from_bytes(&raw).ok()
}
