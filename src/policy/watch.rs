//! What triggers a policy reload: a change in the policies directory (inotify through `notify`) or
//! SIGHUP, the traditional "re-read your configuration" signal.
//!
//! Editors save in bursts (a temporary file, a rename, a metadata change) and some write in place,
//! so a reload waits until every changed file has settled ([`PolicyStore::reload`]); events that
//! arrive meanwhile queue one more reload. A reload only swaps in files that changed, validate and
//! loosen nothing unacknowledged, so a spurious or repeated trigger is harmless.

use std::sync::Arc;

use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{Event, EventKind, RecursiveMode, Watcher};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::store::PolicyStore;

/// Keeps the directory watch (if any) and the SIGHUP handler alive; dropping it stops both.
pub struct Reloader {
    _watcher: Option<notify::RecommendedWatcher>,
    task: JoinHandle<()>,
}

impl Drop for Reloader {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReloaderError {
    #[error("cannot watch the policy directory: {0}")]
    Watch(#[from] notify::Error),
    #[error("cannot install the SIGHUP handler: {0}")]
    Signal(#[from] std::io::Error),
}

/// Starts reloading `store` on SIGHUP and, with `watch`, on every change in its directory. Call
/// from inside a tokio runtime; events go to [`PolicyStore::subscribe`]rs and the log. (Without a
/// handler, SIGHUP would terminate the process.)
pub fn spawn_reloader(store: Arc<PolicyStore>, watch: bool) -> Result<Reloader, ReloaderError> {
    let (tx, mut changes) = mpsc::channel::<()>(1);
    let watcher = if watch {
        let mut watcher =
            notify::recommended_watcher(move |res: notify::Result<Event>| match res {
                Ok(event) if is_policy_change(&event) => {
                    // A full channel already holds a pending reload, which will see this change too.
                    let _ = tx.try_send(());
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(target: "sluice::policy", "policy directory watch error: {e}")
                }
            })?;
        watcher.watch(store.dir(), RecursiveMode::NonRecursive)?;
        Some(watcher)
    } else {
        drop(tx);
        None
    };
    // Installed here, not in the task, so that SIGHUP is handled as soon as this returns.
    let mut hangups = signal(SignalKind::hangup())?;
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                Some(()) = changes.recv() => {}
                Some(()) = hangups.recv() => {
                    tracing::info!(target: "sluice::policy", "SIGHUP: reloading policies");
                }
                else => break,
            }
            let store = store.clone();
            if let Err(e) = tokio::task::spawn_blocking(move || store.reload()).await {
                tracing::error!(target: "sluice::policy", "policy reload failed: {e}");
            }
        }
    });
    Ok(Reloader {
        _watcher: watcher,
        task,
    })
}

/// True for events that can change a `*.toml` file's contents. Reads and opens are not: the reload
/// itself reads every file, and must not trigger the next one.
fn is_policy_change(event: &Event) -> bool {
    let kind_matters = match event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        _ => true,
    };
    kind_matters
        && event
            .paths
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "toml"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, DataChange, MetadataKind, RenameMode};
    use std::path::PathBuf;

    fn event(kind: EventKind, path: &str) -> Event {
        Event::new(kind).add_path(PathBuf::from(path))
    }

    #[test]
    fn content_changes_to_toml_files_trigger() {
        for kind in [
            EventKind::Create(CreateKind::File),
            EventKind::Modify(ModifyKind::Data(DataChange::Any)),
            EventKind::Modify(ModifyKind::Name(RenameMode::To)),
            EventKind::Remove(notify::event::RemoveKind::File),
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
        ] {
            assert!(is_policy_change(&event(kind, "/p/hipaa.toml")), "{kind:?}");
        }
    }

    #[test]
    fn reads_metadata_and_other_files_do_not() {
        for kind in [
            EventKind::Access(AccessKind::Open(AccessMode::Any)),
            EventKind::Access(AccessKind::Close(AccessMode::Read)),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)),
        ] {
            assert!(!is_policy_change(&event(kind, "/p/hipaa.toml")), "{kind:?}");
        }
        let swap = event(EventKind::Create(CreateKind::File), "/p/.hipaa.toml.swp");
        assert!(!is_policy_change(&swap));
    }
}
