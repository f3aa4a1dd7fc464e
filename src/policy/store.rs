//! The loaded policies the gateway decides with, and their hot reload.
//!
//! Readers take an `Arc` of the current [`PolicySnapshot`] and decide with it; a reload builds a
//! new snapshot and swaps the pointer, so a request that started under one version finishes under
//! it, and no reader ever sees half an update. A changed file is swapped in only once it has
//! settled (the same size, modification time and contents over a settle interval, then used as
//! read in full: a file being written in place is never judged half-written), if it is valid, and
//! if it loosens nothing relative to the loaded version that it does not acknowledge
//! ([`super::loosening`]); otherwise the old version stays and a [`PolicyEvent::Rejected`] says
//! why. Policies never disappear while the gateway runs: deleting a file keeps its last version
//! loaded (a client's policy set can only be checked once, at start-up).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use tokio::sync::broadcast;

use super::compile;
use super::decide::{Decision, DecisionBuilder, Observations};
use super::diagnostic::{Diagnostic, PolicyError};
use super::loosening;
use super::model::Policy;
use super::settled::{self, Pending, Settled};
use super::typeset::TypeSet;
use crate::detect::catalog;
use crate::detect::Entity;

/// An immutable set of loaded policies, by name.
#[derive(Debug, Default, Clone)]
pub struct PolicySnapshot {
    policies: HashMap<String, Arc<Policy>>,
}

impl PolicySnapshot {
    pub fn get(&self, name: &str) -> Option<&Arc<Policy>> {
        self.policies.get(name)
    }

    /// The loaded policies, sorted by name.
    pub fn policies(&self) -> Vec<&Arc<Policy>> {
        let mut all: Vec<_> = self.policies.values().collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// Decides under the policies named in `set` (a client's policy set), strictest action wins.
    /// `scan` is the detection result for all of the request's text: on `Err` each policy's
    /// `on_detector_error` applies. A name that is not loaded counts as `local` (fail closed);
    /// [`check_set`](Self::check_set) at start-up keeps that from happening.
    pub fn decide<S: AsRef<str>, E>(&self, set: &[S], scan: Result<&[Entity], E>) -> Decision {
        let failed = scan.is_err();
        let obs = scan.ok().map(Observations::from_entities);
        let mut builder = DecisionBuilder::new(failed);
        for name in set {
            match (self.policies.get(name.as_ref()), &obs) {
                (Some(p), Some(obs)) => builder.judge(p, obs),
                (Some(p), None) => builder.detection_failed(p),
                (None, _) => builder.missing(name.as_ref()),
            }
        }
        if let Some(obs) = &obs {
            builder.unknown_types(obs.unknown_types());
        }
        builder.finish()
    }

    /// Whether `decision`, taken under `set` on the entities found before every detector ran,
    /// stands whatever the remaining detectors find (see [`super::settled`]): `firm` are the
    /// entities certain to stay as they are, `addable` the types that may still appear.
    pub fn settled<S: AsRef<str>>(
        &self,
        set: &[S],
        decision: &Decision,
        firm: &[Entity],
        addable: TypeSet,
    ) -> Option<Settled> {
        let firm = Observations::from_entities(firm);
        let policies: Vec<&Policy> = set
            .iter()
            .filter_map(|n| self.policies.get(n.as_ref()).map(|p| &**p))
            .collect();
        let missing = set.len() - policies.len();
        settled::settled(
            &policies,
            missing,
            decision,
            Pending {
                firm: firm.items(),
                addable,
            },
        )
    }

    /// Checks that every name in `set` is a loaded policy (a config error at start-up otherwise).
    pub fn check_set<S: AsRef<str>>(&self, set: &[S]) -> Result<(), UnknownPolicy> {
        if set.is_empty() {
            return Err(UnknownPolicy {
                name: String::new(),
                suggestion: None,
                loaded: self.names(),
            });
        }
        for name in set {
            let name = name.as_ref();
            if !self.policies.contains_key(name) {
                return Err(UnknownPolicy {
                    name: name.to_string(),
                    suggestion: catalog::nearest(name, self.policies.keys().map(String::as_str))
                        .map(str::to_string),
                    loaded: self.names(),
                });
            }
        }
        Ok(())
    }

    fn names(&self) -> Vec<String> {
        self.policies().iter().map(|p| p.name.to_string()).collect()
    }
}

/// A client's policy set names a policy that is not loaded (or is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPolicy {
    /// Empty when the set itself is empty.
    pub name: String,
    pub suggestion: Option<String>,
    pub loaded: Vec<String>,
}

impl fmt::Display for UnknownPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.is_empty() {
            f.write_str("the policy set is empty: name at least one policy")?;
        } else {
            write!(f, "unknown policy `{}`", self.name)?;
            if let Some(s) = &self.suggestion {
                write!(f, " (did you mean `{s}`?)")?;
            }
        }
        write!(f, "; loaded policies: {}", self.loaded.join(", "))
    }
}

impl std::error::Error for UnknownPolicy {}

/// What a reload did, for the gateway to log and audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyEvent {
    /// A new or changed policy file was validated and swapped in.
    Loaded {
        name: String,
        version: String,
        file: PathBuf,
        /// The version it replaced, if the policy was loaded before.
        previous: Option<String>,
        /// What it loosens relative to that version, as its `acknowledge_loosening` allows.
        acknowledged: Vec<String>,
    },
    /// A file was not (re)loaded; the previous version, if any, stays in force.
    Rejected {
        file: PathBuf,
        errors: Vec<String>,
        /// When it was refused for loosening the loaded version: what it would loosen without
        /// acknowledging it (rule ids, `default`, `on_detector_error`, `test:<name>`).
        loosened: Vec<String>,
    },
}

impl fmt::Display for PolicyEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyEvent::Loaded {
                name,
                version,
                file,
                previous,
                acknowledged,
            } => {
                write!(
                    f,
                    "policy `{name}` loaded from {} (sha256 {version}",
                    file.display()
                )?;
                if let Some(p) = previous {
                    write!(f, ", replacing {p}")?;
                }
                f.write_str(")")?;
                if !acknowledged.is_empty() {
                    write!(f, "; acknowledged loosening: {}", acknowledged.join(", "))?;
                }
                Ok(())
            }
            PolicyEvent::Rejected { file, errors, .. } => {
                write!(
                    f,
                    "policy file {} rejected: {}",
                    file.display(),
                    errors.join("; ")
                )
            }
        }
    }
}

/// Why the store could not be opened: the gateway must not start.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}: cannot read the policy directory: {source}", dir.display())]
    Io {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: no policy files (*.toml)", .0.display())]
    Empty(PathBuf),
    #[error("{}", render(.0))]
    Invalid(Vec<Diagnostic>),
}

fn render(diagnostics: &[Diagnostic]) -> String {
    let lines: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(Diagnostic::to_string)
        .collect();
    lines.join("\n")
}

/// What the store remembers about each file, to skip unchanged ones and report each problem once.
#[derive(Debug, Default)]
struct FileStates {
    /// Path -> (policy name, version) of what is loaded from it.
    loaded: HashMap<PathBuf, (String, String)>,
    /// Path -> version of the contents last rejected ("" for a removed file).
    rejected: HashMap<PathBuf, String>,
}

/// How long a changed policy file must stay unchanged before a reload uses it, by default.
pub const DEFAULT_SETTLE: Duration = Duration::from_millis(500);
/// Settle intervals a reload waits for a file that keeps changing before leaving it for the
/// reload its next change triggers.
const MAX_SETTLE_ROUNDS: u32 = 20;

/// The gateway's policies: a directory of policy files, loaded, validated and hot-reloaded.
pub struct PolicyStore {
    dir: PathBuf,
    current: RwLock<Arc<PolicySnapshot>>,
    /// Also serialises reloads.
    files: Mutex<FileStates>,
    events: broadcast::Sender<PolicyEvent>,
    settle: Duration,
}

impl PolicyStore {
    /// Loads every `*.toml` in `dir`. Any invalid file is an error: the gateway does not start
    /// with a policy it cannot enforce.
    pub fn open(dir: impl Into<PathBuf>) -> Result<PolicyStore, StoreError> {
        let dir = dir.into();
        let paths = policy_files(&dir).map_err(|source| StoreError::Io {
            dir: dir.clone(),
            source,
        })?;
        if paths.is_empty() {
            return Err(StoreError::Empty(dir));
        }
        let mut snapshot = PolicySnapshot::default();
        let mut files = FileStates::default();
        let mut errors = Vec::new();
        for path in paths {
            let loaded = std::fs::read(&path)
                .map_err(|e| PolicyError::whole_file(&path, format!("cannot read: {e}")))
                .and_then(|bytes| compile::load(&path, &bytes))
                .and_then(|p| check_placement(&path, p, &files.loaded));
            match loaded {
                Ok(p) => {
                    files
                        .loaded
                        .insert(path, (p.name.to_string(), p.version.to_string()));
                    snapshot.policies.insert(p.name.to_string(), Arc::new(p));
                }
                Err(e) => errors.extend(e.diagnostics),
            }
        }
        if errors.iter().any(Diagnostic::is_error) {
            return Err(StoreError::Invalid(errors));
        }
        Ok(PolicyStore {
            dir,
            current: RwLock::new(Arc::new(snapshot)),
            files: Mutex::new(files),
            events: broadcast::channel(64).0,
            settle: DEFAULT_SETTLE,
        })
    }

    /// Sets how long a changed file must stay unchanged before a reload uses it
    /// ([`DEFAULT_SETTLE`] otherwise).
    pub fn with_settle(mut self, settle: Duration) -> PolicyStore {
        self.settle = settle;
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The current policies. Keep the `Arc` for the whole request: it is the version the request
    /// is decided and audited under, whatever reloads happen meanwhile.
    pub fn snapshot(&self) -> Arc<PolicySnapshot> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Load and rejection events of every later reload.
    pub fn subscribe(&self) -> broadcast::Receiver<PolicyEvent> {
        self.events.subscribe()
    }

    /// Re-reads the directory: each new or changed file, once settled, is validated, checked
    /// against the loaded version and swapped in, or rejected while the old version stays.
    /// Returns (and broadcasts, and logs) what happened; unchanged files and already-reported
    /// problems produce no event. Blocks for at least one settle interval when a file changed.
    pub fn reload(&self) -> Vec<PolicyEvent> {
        let mut files = self.files.lock().unwrap_or_else(PoisonError::into_inner);
        let mut events = Vec::new();
        let paths = match policy_files(&self.dir) {
            Ok(p) => p,
            Err(e) => {
                let event = PolicyEvent::Rejected {
                    file: self.dir.clone(),
                    errors: vec![format!("cannot read the policy directory: {e}")],
                    loosened: Vec::new(),
                };
                self.publish(std::slice::from_ref(&event));
                return vec![event];
            }
        };
        let mut changed = Vec::new();
        for path in &paths {
            match Sighting::take(path) {
                Ok(seen) if files.is_new(path, &seen.version()) => {
                    changed.push((path.clone(), seen))
                }
                Ok(_) => {}
                Err(e) => files.reject(
                    &mut events,
                    path,
                    String::new(),
                    vec![format!("cannot read: {e}")],
                    Vec::new(),
                ),
            }
        }
        let mut next = (*self.snapshot()).clone();
        for (path, seen) in self.settled(changed, &mut files, &mut events) {
            let version = seen.version();
            if !files.is_new(&path, &version) {
                continue;
            }
            let others: HashMap<PathBuf, (String, String)> = files
                .loaded
                .iter()
                .filter(|(p, _)| **p != path)
                .map(|(p, v)| (p.clone(), v.clone()))
                .collect();
            let policy = match compile::load(&path, &seen.bytes)
                .and_then(|p| check_placement(&path, p, &others))
            {
                Ok(p) => p,
                Err(e) => {
                    let errors = e.errors().map(Diagnostic::to_string).collect();
                    files.reject(&mut events, &path, version, errors, Vec::new());
                    continue;
                }
            };
            let previous = files.loaded.get(&path).map(|(_, v)| v.clone());
            let mut acknowledged = Vec::new();
            if let Some(old) = next
                .policies
                .get(&*policy.name)
                .filter(|_| previous.is_some())
            {
                let review = loosening::review(old, &policy);
                if !review.unacknowledged.is_empty() {
                    let errors = review
                        .errors(&policy, old)
                        .iter()
                        .map(Diagnostic::to_string)
                        .collect();
                    let loosened = review.unacknowledged.into_iter().map(|l| l.name).collect();
                    files.reject(&mut events, &path, version, errors, loosened);
                    continue;
                }
                for stale in &review.stale {
                    tracing::warn!(target: "sluice::policy", "{stale}");
                }
                acknowledged = review.acknowledged.into_iter().map(|l| l.name).collect();
            }
            events.push(PolicyEvent::Loaded {
                name: policy.name.to_string(),
                version: version.clone(),
                file: path.clone(),
                previous,
                acknowledged,
            });
            files
                .loaded
                .insert(path.clone(), (policy.name.to_string(), version));
            files.rejected.remove(&path);
            next.policies
                .insert(policy.name.to_string(), Arc::new(policy));
        }
        let removed: Vec<(PathBuf, String)> = files
            .loaded
            .iter()
            .filter(|(p, _)| !paths.contains(p))
            .map(|(p, (name, _))| (p.clone(), name.clone()))
            .collect();
        for (path, name) in removed {
            if files.rejected.get(&path).map(String::as_str) != Some("") {
                let msg = format!(
                    "file removed; policy `{name}` stays loaded until the gateway restarts"
                );
                files.reject(&mut events, &path, String::new(), vec![msg], Vec::new());
            }
        }
        if events
            .iter()
            .any(|e| matches!(e, PolicyEvent::Loaded { .. }))
        {
            *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
        }
        drop(files);
        self.publish(&events);
        events
    }

    /// Waits until each changed file has stayed the same for a settle interval, and returns it
    /// as last read. A file still changing after [`MAX_SETTLE_ROUNDS`] intervals is left for the
    /// reload that its next change triggers.
    fn settled(
        &self,
        mut waiting: Vec<(PathBuf, Sighting)>,
        files: &mut FileStates,
        events: &mut Vec<PolicyEvent>,
    ) -> Vec<(PathBuf, Sighting)> {
        let mut settled = Vec::new();
        for _ in 0..MAX_SETTLE_ROUNDS {
            if waiting.is_empty() {
                break;
            }
            std::thread::sleep(self.settle);
            let mut still = Vec::new();
            for (path, before) in waiting {
                match Sighting::take(&path) {
                    Ok(now) if now.same_as(&before) => settled.push((path, now)),
                    Ok(now) => still.push((path, now)),
                    Err(e) => files.reject(
                        events,
                        &path,
                        String::new(),
                        vec![format!("cannot read: {e}")],
                        Vec::new(),
                    ),
                }
            }
            waiting = still;
        }
        for (path, _) in waiting {
            tracing::warn!(target: "sluice::policy", "{}: still changing after {} ms; not reloaded until it settles", path.display(), (self.settle * MAX_SETTLE_ROUNDS).as_millis());
        }
        settled
    }

    fn publish(&self, events: &[PolicyEvent]) {
        for e in events {
            match e {
                PolicyEvent::Loaded { .. } => tracing::info!(target: "sluice::policy", "{e}"),
                PolicyEvent::Rejected { .. } => tracing::warn!(target: "sluice::policy", "{e}"),
            }
            // No subscriber is fine: the event is logged above either way.
            let _ = self.events.send(e.clone());
        }
    }
}

/// A policy file as read at one moment, to tell whether it has stopped changing.
struct Sighting {
    len: u64,
    modified: Option<SystemTime>,
    sha256: [u8; 32],
    bytes: Vec<u8>,
}

impl Sighting {
    fn take(path: &Path) -> std::io::Result<Sighting> {
        let meta = std::fs::metadata(path)?;
        let bytes = std::fs::read(path)?;
        Ok(Sighting {
            len: meta.len(),
            modified: meta.modified().ok(),
            sha256: Sha256::digest(&bytes).into(),
            bytes,
        })
    }

    fn version(&self) -> String {
        hex::encode(self.sha256)
    }

    /// Unchanged since `before`, and read whole (the size read is the size the file had).
    fn same_as(&self, before: &Sighting) -> bool {
        self.len == before.len
            && self.modified == before.modified
            && self.sha256 == before.sha256
            && self.bytes.len() as u64 == self.len
    }
}

impl FileStates {
    /// True if `version` of `path` is neither loaded nor already rejected (a loaded one also
    /// clears an old rejection: the file was put back).
    fn is_new(&mut self, path: &Path, version: &str) -> bool {
        if self.loaded.get(path).is_some_and(|(_, v)| v == version) {
            self.rejected.remove(path);
            return false;
        }
        self.rejected.get(path).map(String::as_str) != Some(version)
    }

    fn reject(
        &mut self,
        events: &mut Vec<PolicyEvent>,
        path: &Path,
        version: String,
        errors: Vec<String>,
        loosened: Vec<String>,
    ) {
        self.rejected.insert(path.to_path_buf(), version);
        events.push(PolicyEvent::Rejected {
            file: path.to_path_buf(),
            errors,
            loosened,
        });
    }
}

/// A policy in the store must be named after its file (clients name policies, reloads find them
/// by file), and no two files may claim one name.
fn check_placement(
    path: &Path,
    policy: Policy,
    others: &HashMap<PathBuf, (String, String)>,
) -> Result<Policy, PolicyError> {
    check_file_name(path, &policy)?;
    if let Some((other, _)) = others.iter().find(|(_, (n, _))| *n == *policy.name) {
        return Err(PolicyError::whole_file(
            path,
            format!(
                "policy `{}` is already loaded from {}",
                policy.name,
                other.display()
            ),
        ));
    }
    Ok(policy)
}

/// Checks that `policy` is named after its file, as the store requires.
pub fn check_file_name(path: &Path, policy: &Policy) -> Result<(), PolicyError> {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    if *policy.name == *stem {
        return Ok(());
    }
    Err(PolicyError::whole_file(
        path,
        format!(
            "the policy is named `{}` but its file is `{stem}.toml`: the gateway requires them to match",
            policy.name
        ),
    ))
}

/// The `*.toml` files directly in `dir`, sorted.
pub fn policy_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}
