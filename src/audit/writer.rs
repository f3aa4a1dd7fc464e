//! The single writer: chains records, group-commits them (one write and one fsync per batch),
//! rotates files, signs checkpoints, and recovers from failed writes.
//!
//! Checkpoints come at fixed places, so that a verifier can tell when one was removed: right after
//! the startup record (which also seals what a crashed run left unsigned), as soon as
//! `checkpoint_every_records` submitted records are unsigned (in the middle of a batch if need be),
//! and right after the shutdown record; timed checkpoints come in between.
//!
//! It runs on its own OS thread (see [`super::log`]), so its blocking `write`/`fsync` never stall the
//! gateway's async workers. A batch is acknowledged only after its fsync returned; if the write or
//! the fsync fails, every submitter in the batch gets an error, the in-memory chain is rolled back
//! to the last durable record, and the log is marked broken. A broken log refuses records until a
//! repair succeeds: re-open the file (an fd whose fsync failed may have lost pages silently), cut it
//! back to its last durable length, check that its last record is the chain head held in memory,
//! and append a `recovered` record naming the bytes cut. Repairs are retried every second and
//! before each batch. So the chain on disk never holds a record whose submitter was told it failed
//! (unless the process died between the failure and the cut) and never skips one it acknowledged.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

use super::body::{
    to_json, Genesis, Recovered, RecoveryCause, RotateReason, Rotated, Shutdown, Startup,
};
use super::chain::{record_hash, ChainHash};
use super::checkpoint::Checkpoint;
use super::clock::Clock;
use super::error::AuditError;
use super::files::{log_file_name, sync_dir, Modes};
use super::record::{format_ts, write_line, Kind, StoredRecord};
use super::recover::{reopen, scan_tail};

/// Most records committed by one write + fsync.
pub(crate) const MAX_BATCH: usize = 4096;
/// How soon a broken log tries to repair itself again, and a failed timed checkpoint retries.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Proof that a record is durable: its sequence number and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    pub seq: u64,
    pub hash: ChainHash,
}

pub(crate) type Reply = oneshot::Sender<Result<Receipt, AuditError>>;

pub(crate) enum Command {
    Append {
        kind: Kind,
        body: String,
        reply: Reply,
    },
    Shutdown {
        reason: String,
        reply: Reply,
    },
}

/// Shared with the handles: whether records are being accepted.
#[derive(Debug, Default)]
pub(crate) struct Health {
    pub writable: AtomicBool,
    pub closed: AtomicBool,
}

/// What the loop does after a batch.
pub(crate) enum Flow {
    Continue,
    /// Stop the writer; answer the shutdown request once the lock is released.
    Stop(Reply, Result<Receipt, AuditError>),
}

/// Where the chain stands; saved before staging so that a failed batch can be forgotten.
#[derive(Debug, Clone, Copy)]
struct ChainState {
    next_seq: u64,
    head: ChainHash,
    /// Submitted records ([`Kind::is_submitted`]) since the last checkpoint.
    unsigned_submitted: u64,
    /// When the first record of any kind after the last checkpoint was staged.
    first_unsigned_at: Option<Instant>,
    records_this_run: u64,
}

/// The settings the writer needs from [`super::AuditConfig`].
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub rotate_bytes: u64,
    pub rotate_daily: bool,
    pub checkpoint_every_records: u64,
    pub checkpoint_every: Duration,
    pub anchors_path: PathBuf,
}

/// The file being appended to.
pub(crate) struct CurrentFile {
    pub index: u64,
    pub path: PathBuf,
    pub file: File,
    pub durable_len: u64,
    /// UTC day of the file's first record, for daily rotation.
    pub day: Option<NaiveDate>,
}

pub(crate) struct Writer {
    dir: PathBuf,
    modes: Modes,
    settings: Settings,
    log_id: String,
    signer: SigningKey,
    fingerprint_key_id: String,
    clock: Arc<dyn Clock>,
    current: CurrentFile,
    chain: ChainState,
    buf: Vec<u8>,
    anchors: Option<File>,
    broken: Option<String>,
    retry_at: Option<Instant>,
    health: Arc<Health>,
}

impl Writer {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        dir: PathBuf,
        modes: Modes,
        settings: Settings,
        log_id: String,
        signer: SigningKey,
        fingerprint_key_id: String,
        clock: Arc<dyn Clock>,
        current: CurrentFile,
        head: Option<(u64, ChainHash)>,
        health: Arc<Health>,
    ) -> Writer {
        let (next_seq, head) = match head {
            Some((seq, hash)) => (seq + 1, hash),
            None => (0, ChainHash::ZERO),
        };
        Writer {
            dir,
            modes,
            settings,
            log_id,
            signer,
            fingerprint_key_id,
            clock,
            current,
            chain: ChainState {
                next_seq,
                head,
                unsigned_submitted: 0,
                first_unsigned_at: None,
                records_this_run: 0,
            },
            buf: Vec::with_capacity(1 << 20),
            anchors: None,
            broken: None,
            retry_at: None,
            health,
        }
    }

    /// Writes the genesis record (new logs), the recovery record (if bytes were cut), and the
    /// startup record with its checkpoint, durably. An error here means the log cannot be written
    /// at all.
    pub(crate) fn start(&mut self, recovered: Option<Recovered>) -> Result<(), AuditError> {
        let saved = self.chain;
        if self.chain.next_seq == 0 {
            let genesis = Genesis {
                log_id: self.log_id.clone(),
                format: 1,
                created_by: format!("sluice {}", env!("CARGO_PKG_VERSION")),
            };
            self.stage_now(Kind::Genesis, &to_json(&genesis));
        }
        if let Some(recovered) = recovered {
            tracing::warn!(
                file = %recovered.file,
                cut_bytes = recovered.cut_bytes,
                "audit log: cut a torn tail left by an earlier crash"
            );
            self.stage_now(Kind::Recovered, &to_json(&recovered));
        }
        self.commit_or_rollback(saved).map_err(AuditError::Write)?;
        self.prepare()?;
        let saved = self.chain;
        let startup = Startup {
            log_id: self.log_id.clone(),
            sluice_version: env!("CARGO_PKG_VERSION").to_string(),
            pid: std::process::id(),
            signing_key_id: super::keys::signing_key_id(&self.signer.verifying_key()),
            signing_public_key: hex::encode(self.signer.verifying_key().as_bytes()),
            fingerprint_key_id: self.fingerprint_key_id.clone(),
            checkpoint_every_records: self.settings.checkpoint_every_records,
            checkpoint_every_secs: self.settings.checkpoint_every.as_secs(),
            strict_checkpoints: true,
        };
        self.stage_now(Kind::Startup, &to_json(&startup));
        self.chain.records_this_run = 0;
        let (_, checkpoint) = self.stage_checkpoint();
        if let Err(msg) = self.commit_or_rollback(saved) {
            self.cut_failed_batch();
            return Err(AuditError::Write(msg));
        }
        self.write_anchors(&[checkpoint]);
        self.health.writable.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Commits one batch of commands.
    pub(crate) fn process(&mut self, batch: Vec<Command>) -> Flow {
        if let Err(e) = self.prepare() {
            self.health.writable.store(false, Ordering::SeqCst);
            return refuse_all(batch, &e);
        }
        let saved = self.chain;
        let mut acks = Vec::with_capacity(batch.len());
        let mut checkpoints = Vec::new();
        let mut shutdown: Option<(String, Reply)> = None;
        for command in batch {
            match command {
                Command::Append { reply, .. } if shutdown.is_some() => {
                    let _ = reply.send(Err(AuditError::Closed));
                }
                Command::Shutdown { reply, .. } if shutdown.is_some() => {
                    let _ = reply.send(Err(AuditError::Closed));
                }
                Command::Append { kind, body, reply } => {
                    let receipt = self.stage_now(kind, &body);
                    acks.push((reply, receipt));
                    if self.chain.unsigned_submitted >= self.settings.checkpoint_every_records {
                        checkpoints.push(self.stage_checkpoint().1);
                    }
                }
                Command::Shutdown { reason, reply } => shutdown = Some((reason, reply)),
            }
        }
        let shutdown = shutdown.map(|(reason, reply)| {
            let body = Shutdown {
                reason,
                records_this_run: self.chain.records_this_run,
            };
            self.stage_now(Kind::Shutdown, &to_json(&body));
            let (receipt, checkpoint) = self.stage_checkpoint();
            checkpoints.push(checkpoint);
            (reply, receipt)
        });
        let committed = self.commit_or_rollback(saved);
        for (reply, receipt) in acks {
            let _ = reply.send(match &committed {
                Ok(()) => Ok(receipt),
                Err(msg) => Err(AuditError::Write(msg.clone())),
            });
        }
        if committed.is_ok() {
            self.health.writable.store(true, Ordering::SeqCst);
            self.write_anchors(&checkpoints);
        }
        match (shutdown, committed) {
            (Some((reply, receipt)), Ok(())) => Flow::Stop(reply, Ok(receipt)),
            (Some((reply, _)), Err(msg)) => {
                self.cut_failed_batch();
                Flow::Stop(reply, Err(AuditError::Write(msg)))
            }
            (None, _) => Flow::Continue,
        }
    }

    /// When the loop must wake without a command: a timed checkpoint or a repair attempt.
    pub(crate) fn next_wake(&self) -> Option<Instant> {
        let due = if self.broken.is_some() {
            self.retry_at
        } else {
            self.chain
                .first_unsigned_at
                .map(|t| t + self.settings.checkpoint_every)
        };
        match (due, self.retry_at) {
            (Some(d), Some(r)) => Some(d.max(r)),
            (due, _) => due,
        }
    }

    /// Called when [`Writer::next_wake`] has passed with no command.
    pub(crate) fn on_timer(&mut self) {
        let due = self.broken.is_some()
            || self
                .chain
                .first_unsigned_at
                .is_some_and(|t| t.elapsed() >= self.settings.checkpoint_every);
        if !due {
            return;
        }
        if let Err(e) = self.prepare() {
            tracing::error!(error = %e, "audit log: still unavailable");
            self.health.writable.store(false, Ordering::SeqCst);
            self.retry_at = Some(Instant::now() + RETRY_AFTER);
            return;
        }
        if self.chain.first_unsigned_at.is_none() {
            return;
        }
        let saved = self.chain;
        let (_, checkpoint) = self.stage_checkpoint();
        match self.commit_or_rollback(saved) {
            Ok(()) => {
                self.retry_at = None;
                self.health.writable.store(true, Ordering::SeqCst);
                self.write_anchors(&[checkpoint]);
            }
            Err(_) => self.retry_at = Some(Instant::now() + RETRY_AFTER),
        }
    }

    /// Repairs a broken log and rotates if due, before anything new is staged.
    fn prepare(&mut self) -> Result<(), AuditError> {
        if let Some(reason) = self.broken.clone() {
            if let Err(e) = self.repair() {
                self.retry_at = Some(Instant::now() + RETRY_AFTER);
                return Err(AuditError::Unavailable(format!(
                    "{reason}; repair failed: {e}"
                )));
            }
        }
        if let Some(reason) = self.rotation_due() {
            self.rotate(reason).map_err(AuditError::Write)?;
        }
        Ok(())
    }

    fn stage_now(&mut self, kind: Kind, body: &str) -> Receipt {
        let now = self.clock.now();
        self.stage(kind, body, now, &format_ts(now))
    }

    fn stage(&mut self, kind: Kind, body: &str, now: DateTime<Utc>, ts: &str) -> Receipt {
        let seq = self.chain.next_seq;
        let prev = self.chain.head;
        let hash = record_hash(&prev, seq, ts, kind.as_str(), body);
        write_line(&mut self.buf, seq, ts, kind, &prev, &hash, body);
        self.chain.head = hash;
        self.chain.next_seq += 1;
        self.chain.records_this_run += 1;
        if kind.is_submitted() {
            self.chain.unsigned_submitted += 1;
        }
        if kind != Kind::Checkpoint {
            self.chain
                .first_unsigned_at
                .get_or_insert_with(Instant::now);
        }
        self.current.day.get_or_insert(now.date_naive());
        Receipt { seq, hash }
    }

    /// Stages a checkpoint covering everything staged so far.
    fn stage_checkpoint(&mut self) -> (Receipt, Checkpoint) {
        let now = self.clock.now();
        let ts = format_ts(now);
        let checkpoint = Checkpoint::sign(
            &self.signer,
            &self.log_id,
            self.chain.next_seq - 1,
            self.chain.head,
            &ts,
        );
        let receipt = self.stage(Kind::Checkpoint, &to_json(&checkpoint), now, &ts);
        self.chain.unsigned_submitted = 0;
        self.chain.first_unsigned_at = None;
        (receipt, checkpoint)
    }

    /// Writes and fsyncs what is staged; on failure forgets it and marks the log broken.
    fn commit_or_rollback(&mut self, saved: ChainState) -> Result<(), String> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let len = self.buf.len() as u64;
        let file = &mut self.current.file;
        let result = file.write_all(&self.buf).and_then(|()| file.sync_data());
        self.buf.clear();
        match result {
            Ok(()) => {
                self.current.durable_len += len;
                Ok(())
            }
            Err(e) => {
                self.chain = saved;
                let msg = format!("{}: {e}", self.current.path.display());
                tracing::error!(error = %msg, "audit log: write failed; refusing records until repaired");
                self.broken = Some(msg.clone());
                self.retry_at = Some(Instant::now() + RETRY_AFTER);
                self.health.writable.store(false, Ordering::SeqCst);
                Err(msg)
            }
        }
    }

    /// Brings a broken log back to its last durable record (see the module documentation).
    fn repair(&mut self) -> Result<(), String> {
        let path = self.current.path.clone();
        let io = |e: std::io::Error| format!("{}: {e}", path.display());
        let mut file = reopen(&path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let durable = self.current.durable_len;
        if len < durable {
            return Err(format!(
                "{} is shorter ({len} bytes) than what was made durable ({durable} bytes); it was changed outside sluice",
                path.display()
            ));
        }
        let mut hasher = Sha256::new();
        file.seek(SeekFrom::Start(durable)).map_err(io)?;
        std::io::copy(
            &mut Read::by_ref(&mut file).take(len - durable),
            &mut HashWriter(&mut hasher),
        )
        .map_err(io)?;
        file.set_len(durable)
            .and_then(|()| file.sync_all())
            .map_err(io)?;
        let tail = scan_tail(&mut file, durable).map_err(io)?;
        let head_matches = tail.good_len == durable
            && tail
                .last_line
                .and_then(|(_, line)| StoredRecord::parse(&line).ok())
                .is_some_and(|r| r.hash == self.chain.head && r.seq + 1 == self.chain.next_seq);
        if !head_matches {
            return Err(format!(
                "the last record in {} is not the one sluice last made durable; it was changed outside sluice",
                path.display()
            ));
        }
        self.current.file = file;
        self.broken = None;
        let saved = self.chain;
        let recovered = Recovered {
            cause: RecoveryCause::WriteFailed,
            file: log_file_name(self.current.index),
            cut_bytes: len - durable,
            cut_sha256: hex::encode(hasher.finalize()),
            last_good_seq: self.chain.next_seq - 1,
            removed_file: None,
        };
        self.stage_now(Kind::Recovered, &to_json(&recovered));
        self.commit_or_rollback(saved)?;
        self.retry_at = None;
        self.health.writable.store(true, Ordering::SeqCst);
        tracing::warn!(
            cut_bytes = recovered.cut_bytes,
            "audit log: repaired after a write failure"
        );
        Ok(())
    }

    /// Before the writer stops after a failed write: no later repair will cut what the write left,
    /// and a startup or shutdown record left without the checkpoint that follows it would read as
    /// a removed checkpoint. Repairing here cuts it and records the cut.
    fn cut_failed_batch(&mut self) {
        if let Err(e) = self.repair() {
            tracing::error!(error = %e, "audit log: could not cut the failed write before stopping");
        }
    }

    fn rotation_due(&self) -> Option<RotateReason> {
        if self.current.durable_len >= self.settings.rotate_bytes {
            return Some(RotateReason::Size);
        }
        let today = self.clock.now().date_naive();
        match self.current.day {
            Some(day) if self.settings.rotate_daily && today > day => Some(RotateReason::Day),
            _ => None,
        }
    }

    /// Starts the next file with a `rotated` record naming the previous one. The switch happens
    /// only once that record is durable, so a failure leaves the writer on the old file.
    fn rotate(&mut self, reason: RotateReason) -> Result<(), String> {
        let index = self.current.index + 1;
        let path = self.dir.join(log_file_name(index));
        let saved = self.chain;
        let saved_day = self.current.day.take();
        let body = Rotated {
            log_id: self.log_id.clone(),
            previous_file: log_file_name(self.current.index),
            previous_hash: self.chain.head,
            reason,
        };
        self.stage_now(Kind::Rotated, &to_json(&body));
        let day = self.current.day;
        let len = self.buf.len() as u64;
        let result = self.create_next_file(&path);
        self.buf.clear();
        match result {
            Ok(file) => {
                self.current = CurrentFile {
                    index,
                    path,
                    file,
                    durable_len: len,
                    day,
                };
                Ok(())
            }
            Err(e) => {
                self.chain = saved;
                self.current.day = saved_day;
                let _ = fs::remove_file(&path);
                Err(format!("cannot start {}: {e}", path.display()))
            }
        }
    }

    fn create_next_file(&mut self, path: &PathBuf) -> std::io::Result<File> {
        match fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create_new(true)
            .mode(self.modes.file)
            .open(path)?;
        self.modes.apply(&file)?;
        file.write_all(&self.buf)?;
        file.sync_data()?;
        sync_dir(&self.dir)?;
        Ok(file)
    }

    /// Appends checkpoints to the anchors file. A failure there is logged, not fatal: the
    /// checkpoint is already durable in the log itself.
    fn write_anchors(&mut self, checkpoints: &[Checkpoint]) {
        if checkpoints.is_empty() {
            return;
        }
        let mut lines = Vec::new();
        for checkpoint in checkpoints {
            lines.extend_from_slice(to_json(checkpoint).as_bytes());
            lines.push(b'\n');
        }
        if self.anchors.is_none() {
            match self.open_anchors() {
                Ok(file) => self.anchors = Some(file),
                Err(e) => {
                    tracing::error!(error = %e, "audit log: cannot open the anchors file");
                    return;
                }
            }
        }
        if let Some(file) = self.anchors.as_mut() {
            if let Err(e) = file.write_all(&lines).and_then(|()| file.sync_data()) {
                tracing::error!(path = %self.settings.anchors_path.display(), error = %e, "audit log: cannot append to the anchors file");
                self.anchors = None;
            }
        }
    }

    /// Opens the anchors file, cutting an incomplete last line left by a crash or a failed write:
    /// its checkpoint is in the log already, and `verify` takes a line that is not a checkpoint
    /// for tampering.
    fn open_anchors(&self) -> Result<File, AuditError> {
        let path = &self.settings.anchors_path;
        let io = |e| AuditError::io(path, e);
        let mut file = self.modes.open_append(path)?;
        let len = file.metadata().map_err(io)?.len();
        let whole = scan_tail(&mut file, len).map_err(io)?.good_len;
        if whole < len {
            file.set_len(whole)
                .and_then(|()| file.sync_all())
                .map_err(io)?;
            tracing::warn!(
                path = %path.display(),
                cut_bytes = len - whole,
                "audit log: cut an incomplete last line of the anchors file"
            );
        }
        Ok(file)
    }
}

/// Answers every command of a batch that cannot be committed.
fn refuse_all(batch: Vec<Command>, error: &AuditError) -> Flow {
    let refusal = || match error {
        AuditError::Unavailable(m) => AuditError::Unavailable(m.clone()),
        other => AuditError::Write(other.to_string()),
    };
    let mut stop = None;
    for command in batch {
        match command {
            Command::Append { reply, .. } => {
                let _ = reply.send(Err(refusal()));
            }
            Command::Shutdown { reply, .. } if stop.is_none() => stop = Some(reply),
            Command::Shutdown { reply, .. } => {
                let _ = reply.send(Err(AuditError::Closed));
            }
        }
    }
    match stop {
        Some(reply) => Flow::Stop(reply, Err(refusal())),
        None => Flow::Continue,
    }
}

struct HashWriter<'a>(&'a mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
