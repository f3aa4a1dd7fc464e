//! SIGHUP reloads the policies. In its own test binary: the signal goes to the whole process.

use std::sync::Arc;
use std::time::Duration;

use sluice::policy::{spawn_reloader, PolicyEvent, PolicyStore};

fn policy_src(action: &str) -> String {
    format!("name = \"p\"\ndescription = \"sighup test\"\ndefault = \"{action}\"\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_triggers_a_reload() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.toml"), policy_src("allow")).unwrap();
    let store = Arc::new(PolicyStore::open(dir.path()).unwrap());
    // Without a watcher event to trigger it, only the signal can cause this reload: change the file
    // before the reloader (and its directory watch) exists.
    std::fs::write(dir.path().join("p.toml"), policy_src("local")).unwrap();
    let mut events = store.subscribe();
    let _reloader = spawn_reloader(store.clone()).unwrap();
    // SAFETY: kill(2) on our own pid with a signal whose handler tokio installed above.
    let rc = unsafe { libc::kill(libc::getpid(), libc::SIGHUP) };
    assert_eq!(rc, 0);
    let ev = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("no reload within 10 s of SIGHUP")
        .unwrap();
    assert!(
        matches!(ev, PolicyEvent::Loaded { ref name, .. } if name == "p"),
        "{ev:?}"
    );
    assert_eq!(store.snapshot().get("p").unwrap().default.as_str(), "local");
}
