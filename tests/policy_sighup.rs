//! SIGHUP reloads the policies, with or without the directory watch (`[policies] watch = false`).
//! In its own test binary: the signal goes to the whole process.

mod support;

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
    // Without a directory watch, only the signal can cause this reload (and without a handler,
    // SIGHUP would end the process).
    std::fs::write(dir.path().join("p.toml"), policy_src("local")).unwrap();
    let mut events = store.subscribe();
    let _reloader = spawn_reloader(store.clone(), false).unwrap();
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

/// The gateway with `[policies] watch = false` (as the test support configures it) reloads on
/// SIGHUP instead of dying of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_without_a_directory_watch_reloads_on_sighup() {
    let upstream = support::MockUpstream::start().await;
    let audit = support::AuditDirs::new();
    let policies = tempfile::tempdir().unwrap();
    for name in ["hipaa", "soc2"] {
        std::fs::copy(
            support::repo().join(format!("policies/{name}.toml")),
            policies.path().join(format!("{name}.toml")),
        )
        .unwrap();
    }
    let mut setup = support::Setup::with_cloud(&upstream, &audit);
    setup.policies = Some(policies.path());
    let config = support::gateway_config(&setup);
    assert!(!config.policies.watch);
    let gw = sluice::server::start(config, support::real_pipeline())
        .await
        .expect("gateway starts");
    let mut events = gw.gateway().policies.subscribe();
    let path = policies.path().join("hipaa.toml");
    let edited = format!("# Reviewed.\n{}", std::fs::read_to_string(&path).unwrap());
    std::fs::write(&path, edited).unwrap();
    // SAFETY: kill(2) on our own pid; the gateway installed the SIGHUP handler at start-up.
    let rc = unsafe { libc::kill(libc::getpid(), libc::SIGHUP) };
    assert_eq!(rc, 0);
    let ev = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("no reload within 10 s of SIGHUP")
        .unwrap();
    assert!(
        matches!(ev, PolicyEvent::Loaded { ref name, .. } if name == "hipaa"),
        "{ev:?}"
    );
    gw.stop().await.unwrap();
    upstream.stop().await;
}
