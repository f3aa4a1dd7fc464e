//! The handle the gateway holds: open the log, append records and await their durability, shut
//! down with a final checkpoint.
//!
//! Records go over a bounded channel to one writer thread (a dedicated OS thread with a small
//! current-thread tokio runtime for its timers), so fsyncs never block an async worker and a full
//! queue slows submitters down instead of growing without bound. Each submitter awaits a oneshot
//! answered only after the fsync of the batch that holds its record.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::body::Event;
use super::clock::{Clock, SystemClock};
use super::config::AuditConfig;
use super::error::AuditError;
use super::files::Modes;
use super::fingerprint::Fingerprinter;
use super::keys::{load_signing_key, signing_key_id};
use super::lock::DirLock;
use super::recover::{log_id_of, resume};
use super::writer::{Command, CurrentFile, Flow, Health, Receipt, Settings, Writer, MAX_BATCH};

/// An open audit log. Cheap to clone; all clones feed the same writer.
#[derive(Clone)]
pub struct AuditLog {
    inner: Arc<Inner>,
}

struct Inner {
    tx: mpsc::Sender<Command>,
    health: Arc<Health>,
    log_id: String,
    dir: PathBuf,
    fingerprinter: Fingerprinter,
    signing_key_id: String,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("dir", &self.inner.dir)
            .field("log_id", &self.inner.log_id)
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Opens (or creates) the log: takes the lock, cuts a torn tail, writes the startup record
    /// durably, and starts the writer. Fails if the log cannot be written.
    pub fn open(config: &AuditConfig) -> Result<AuditLog, AuditError> {
        Self::open_with_clock(config, Arc::new(SystemClock))
    }

    /// [`AuditLog::open`] with another wall clock (tests that cross midnight).
    pub fn open_with_clock(
        config: &AuditConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<AuditLog, AuditError> {
        config.validate()?;
        let modes = Modes::new(config.group.as_deref())?;
        let dir = config.dir.clone();
        modes.prepare_dir(&dir)?;
        let signer = load_signing_key(&config.signing_key)?;
        let fingerprinter = Fingerprinter::load(&config.fingerprint_key)?;
        for key in [&config.signing_key, &config.fingerprint_key] {
            ensure_outside(key, &dir)?;
        }
        let lock = DirLock::acquire(&dir, &modes)?;
        let resumed = resume(&dir, &modes)?;
        let (log_id, head, day) = match (&resumed.last, &resumed.first) {
            (Some(last), Some(first)) => (
                log_id_of(first, &resumed.file_path)?,
                Some((last.seq, last.hash)),
                first.time().map(|t| t.date_naive()),
            ),
            _ => (uuid::Uuid::new_v4().to_string(), None, None),
        };
        let health = Arc::new(Health::default());
        let settings = Settings {
            rotate_bytes: config.rotate_bytes,
            rotate_daily: config.rotate_daily,
            checkpoint_every_records: config.checkpoint_every_records,
            checkpoint_every: Duration::from_secs(config.checkpoint_every_secs),
            anchors_path: config.anchors_path(),
        };
        let key_id = signing_key_id(&signer.verifying_key());
        let mut writer = Writer::new(
            dir.clone(),
            modes,
            settings,
            log_id.clone(),
            signer,
            fingerprinter.key_id().to_string(),
            clock,
            CurrentFile {
                index: resumed.file_index,
                path: resumed.file_path,
                file: resumed.file,
                durable_len: resumed.durable_len,
                day,
            },
            head,
            health.clone(),
        );
        writer.start(resumed.recovered)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| AuditError::io(&dir, e))?;
        let (tx, rx) = mpsc::channel(config.queue_capacity);
        let thread_health = health.clone();
        std::thread::Builder::new()
            .name("sluice-audit-writer".into())
            .spawn(move || run_writer(writer, lock, rx, runtime, thread_health))
            .map_err(|e| AuditError::io(&dir, e))?;
        Ok(AuditLog {
            inner: Arc::new(Inner {
                tx,
                health,
                log_id,
                dir,
                fingerprinter,
                signing_key_id: key_id,
            }),
        })
    }

    /// Appends a record and waits until it is durable (written and fsynced). An error means the
    /// record is not in the log: the gateway must not forward the request (answer 503).
    ///
    /// If the caller stops waiting, the record is still written; only the answer is lost.
    pub async fn append(&self, event: impl Into<Event>) -> Result<Receipt, AuditError> {
        let event = event.into();
        let (reply, answer) = oneshot::channel();
        let command = Command::Append {
            kind: event.kind(),
            body: event.to_body_json(),
            reply,
        };
        self.inner
            .tx
            .send(command)
            .await
            .map_err(|_| AuditError::Closed)?;
        answer.await.map_err(|_| AuditError::Closed)?
    }

    /// Writes a shutdown record and a final signed checkpoint covering it, fsyncs, appends the
    /// checkpoint to the anchors file, and stops the writer (releasing the lock). Records submitted
    /// before are committed first; later ones get [`AuditError::Closed`]. Returns the checkpoint
    /// record's receipt.
    pub async fn shutdown(&self) -> Result<Receipt, AuditError> {
        let (reply, answer) = oneshot::channel();
        let command = Command::Shutdown {
            reason: "shutdown".into(),
            reply,
        };
        self.inner
            .tx
            .send(command)
            .await
            .map_err(|_| AuditError::Closed)?;
        answer.await.map_err(|_| AuditError::Closed)?
    }

    /// Readiness: the writer is running and its last write succeeded (or it has been repaired).
    pub fn is_writable(&self) -> bool {
        self.inner.health.writable.load(Ordering::SeqCst)
            && !self.inner.health.closed.load(Ordering::SeqCst)
    }

    pub fn log_id(&self) -> &str {
        &self.inner.log_id
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The fingerprinter for decision records (its key is the configured fingerprint key).
    pub fn fingerprinter(&self) -> &Fingerprinter {
        &self.inner.fingerprinter
    }

    /// The id of the key that signs this log's checkpoints.
    pub fn signing_key_id(&self) -> &str {
        &self.inner.signing_key_id
    }
}

/// Keys inside the log directory would be readable by whoever may read the log.
fn ensure_outside(key: &Path, dir: &Path) -> Result<(), AuditError> {
    let key_real = key.canonicalize().map_err(|e| AuditError::io(key, e))?;
    let dir_real = dir.canonicalize().map_err(|e| AuditError::io(dir, e))?;
    if key_real.starts_with(&dir_real) {
        return Err(AuditError::Config(format!(
            "key file {} lies inside the log directory {}; keep keys elsewhere (whoever reads the log must not read its keys)",
            key.display(),
            dir.display()
        )));
    }
    Ok(())
}

/// Marks the log closed however the writer thread ends, a panic included.
struct ClosedOnDrop(Arc<Health>);

impl Drop for ClosedOnDrop {
    fn drop(&mut self) {
        self.0.writable.store(false, Ordering::SeqCst);
        self.0.closed.store(true, Ordering::SeqCst);
    }
}

fn run_writer(
    mut writer: Writer,
    lock: DirLock,
    mut rx: mpsc::Receiver<Command>,
    runtime: tokio::runtime::Runtime,
    health: Arc<Health>,
) {
    let closed = ClosedOnDrop(health);
    let stop = runtime.block_on(async {
        loop {
            let first = match writer.next_wake() {
                Some(at) => match tokio::time::timeout_at(at.into(), rx.recv()).await {
                    Ok(command) => command,
                    Err(_) => {
                        writer.on_timer();
                        continue;
                    }
                },
                None => rx.recv().await,
            };
            let first = first?;
            let mut batch = Vec::with_capacity(64);
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(command) => batch.push(command),
                    Err(_) => break,
                }
            }
            if let Flow::Stop(reply, result) = writer.process(batch) {
                return Some((reply, result));
            }
        }
    });
    drop(closed);
    rx.close();
    while let Ok(command) = rx.try_recv() {
        let reply = match command {
            Command::Append { reply, .. } | Command::Shutdown { reply, .. } => reply,
        };
        let _ = reply.send(Err(AuditError::Closed));
    }
    drop(writer);
    drop(lock);
    if let Some((reply, result)) = stop {
        let _ = reply.send(result);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handle_can_be_shared_across_threads_and_runtimes() {
        fn shareable<T: Send + Sync + Clone + 'static>() {}
        shareable::<AuditLog>();
    }
}
