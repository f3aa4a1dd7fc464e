//! The policy store: start-up validation, hot reload (valid swap, invalid rejected and the old
//! version kept, removal, renames), in-flight snapshots, concurrent readers during swaps, client
//! policy sets, and the directory watcher. Torn writes and loosening are in policy_torn_write.rs.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice::detect::{DetectorKind, Entity};
use sluice::policy::{spawn_reloader, Action, PolicyEvent, PolicyStore, StoreError};

fn policy_src(name: &str, person_action: &str) -> String {
    format!(
        "name = \"{name}\"\ndescription = \"reload test\"\ndefault = \"allow\"\n\
         [[rule]]\nid = \"person\"\nmatch = [\"PERSON\"]\naction = \"{person_action}\"\nreason = \"names are {person_action}\"\n\
         [[test]]\nentities = [\"PERSON\"]\nexpect = \"{person_action}\"\n"
    )
}

/// `src` with an `acknowledge_loosening` list naming `names`.
fn acknowledging(src: &str, names: &[&str]) -> String {
    let list: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    format!("acknowledge_loosening = [{}]\n{src}", list.join(", "))
}

/// Files here are replaced whole (rename), so a reload need not wait for them to settle.
fn open(dir: &Path) -> PolicyStore {
    PolicyStore::open(dir).unwrap().with_settle(Duration::ZERO)
}

fn person() -> Vec<Entity> {
    vec![Entity {
        decoded: None,
        entity_type: "PERSON".into(),
        start: 0,
        end: 4,
        score: 0.9,
        detector: DetectorKind::Ner,
        rule_id: "B-GIVEN_NAME".into(),
        validated: false,
        context: Vec::new(),
    }]
}

fn write(dir: &Path, file: &str, src: &str) {
    // Write-then-rename, as editors and config management do: the file is never half written.
    let tmp = dir.join(format!(".{file}.tmp"));
    std::fs::write(&tmp, src).unwrap();
    std::fs::rename(&tmp, dir.join(file)).unwrap();
}

fn action_of(store: &PolicyStore, name: &str) -> Action {
    store
        .snapshot()
        .decide(&[name], Ok::<_, ()>(&person()[..]))
        .action
}

fn version_of(store: &PolicyStore, name: &str) -> String {
    store.snapshot().get(name).unwrap().version.to_string()
}

#[test]
fn open_rejects_a_directory_with_an_invalid_policy() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "good.toml", &policy_src("good", "local"));
    write(dir.path(), "bad.toml", &policy_src("bad", "lokal"));
    match PolicyStore::open(dir.path()) {
        Err(StoreError::Invalid(d)) => {
            let text: Vec<String> = d.iter().map(|d| d.to_string()).collect();
            // The rule's action and the test case's expectation are both wrong; good.toml is fine.
            assert_eq!(text.len(), 2, "{text:#?}");
            assert!(text[0].contains("bad.toml:7:10: error:"), "{text:#?}");
            assert!(text[1].contains("bad.toml:11:10: error:"), "{text:#?}");
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("an invalid policy must stop start-up"),
    }
}

#[test]
fn open_rejects_empty_dirs_misnamed_files_and_missing_dirs() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        PolicyStore::open(dir.path()),
        Err(StoreError::Empty(_))
    ));
    write(dir.path(), "other.toml", &policy_src("hipaa", "local"));
    let err = PolicyStore::open(dir.path())
        .err()
        .expect("name must match the file");
    assert!(
        err.to_string()
            .contains("named `hipaa` but its file is `other.toml`"),
        "{err}"
    );
    assert!(matches!(
        PolicyStore::open(dir.path().join("nope")),
        Err(StoreError::Io { .. })
    ));
}

#[test]
fn valid_change_is_swapped_in_and_in_flight_snapshots_keep_the_old_version() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "p.toml", &policy_src("p", "local"));
    let store = open(dir.path());
    let mut events = store.subscribe();
    let old_version = version_of(&store, "p");
    let in_flight = store.snapshot();

    write(dir.path(), "p.toml", &policy_src("p", "block"));
    let got = store.reload();
    let new_version = version_of(&store, "p");
    assert_ne!(old_version, new_version);
    assert_eq!(
        got,
        vec![PolicyEvent::Loaded {
            name: "p".into(),
            version: new_version.clone(),
            file: dir.path().join("p.toml"),
            previous: Some(old_version.clone()),
            acknowledged: vec![],
        }]
    );
    assert_eq!(events.try_recv().unwrap(), got[0]);
    assert_eq!(action_of(&store, "p"), Action::Block);

    // The request that started before the reload finishes under the version it started with.
    let d = in_flight.decide(&["p"], Ok::<_, ()>(&person()[..]));
    assert_eq!(
        (d.action, &*d.policies[0].version),
        (Action::Local, old_version.as_str())
    );

    // Nothing changed: nothing happens.
    assert!(store.reload().is_empty());
    assert!(events.try_recv().is_err());
}

#[test]
fn invalid_change_is_rejected_and_the_old_version_stays() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "p.toml", &policy_src("p", "local"));
    let store = open(dir.path());
    let version = version_of(&store, "p");

    write(dir.path(), "p.toml", &policy_src("p", "alow"));
    let got = store.reload();
    assert_eq!(got.len(), 1);
    match &got[0] {
        PolicyEvent::Rejected {
            file,
            errors,
            loosened,
        } => {
            assert_eq!(file, &dir.path().join("p.toml"));
            assert!(loosened.is_empty(), "{loosened:?}");
            assert!(
                errors[0].contains(
                    "p.toml:7:10: error: `action`: unknown action `alow` (did you mean `allow`?)"
                ),
                "{errors:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(version_of(&store, "p"), version);
    assert_eq!(action_of(&store, "p"), Action::Local);
    // Reported once, not on every reload.
    assert!(store.reload().is_empty());

    // A change that breaks the policy's own test case is rejected too.
    let broken_test = policy_src("p", "allow").replace("expect = \"allow\"", "expect = \"local\"");
    write(dir.path(), "p.toml", &broken_test);
    assert!(matches!(
        &store.reload()[..],
        [PolicyEvent::Rejected { .. }]
    ));
    assert_eq!(action_of(&store, "p"), Action::Local);

    // Fixing the file loads it (saying that `allow` is meant to loosen the rule).
    write(
        dir.path(),
        "p.toml",
        &acknowledging(&policy_src("p", "allow"), &["person"]),
    );
    assert!(
        matches!(&store.reload()[..], [PolicyEvent::Loaded { acknowledged, .. }] if acknowledged == &["person"])
    );
    assert_eq!(action_of(&store, "p"), Action::Allow);
}

#[test]
fn new_removed_and_renamed_files() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "p.toml", &policy_src("p", "local"));
    let store = open(dir.path());

    write(dir.path(), "q.toml", &policy_src("q", "redact"));
    assert!(
        matches!(&store.reload()[..], [PolicyEvent::Loaded { name, previous: None, .. }] if name == "q")
    );
    assert_eq!(action_of(&store, "q"), Action::Redact);

    // A removed file's policy stays loaded: clients' policy sets were checked at start-up.
    std::fs::remove_file(dir.path().join("q.toml")).unwrap();
    let got = store.reload();
    assert!(
        matches!(&got[..], [PolicyEvent::Rejected { errors, .. }] if errors[0].contains("stays loaded")),
        "{got:?}"
    );
    assert_eq!(action_of(&store, "q"), Action::Redact);
    assert!(store.reload().is_empty());

    // A file that renames its policy is rejected.
    write(dir.path(), "p.toml", &policy_src("renamed", "block"));
    let got = store.reload();
    assert!(
        matches!(&got[..], [PolicyEvent::Rejected { errors, .. }] if errors[0].contains("named `renamed`")),
        "{got:?}"
    );
    assert_eq!(action_of(&store, "p"), Action::Local);
    assert!(store.snapshot().get("renamed").is_none());
}

#[test]
fn client_policy_sets_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "hipaa.toml", &policy_src("hipaa", "local"));
    write(dir.path(), "soc2.toml", &policy_src("soc2", "block"));
    let store = open(dir.path());
    let snap = store.snapshot();
    assert!(snap.check_set(&["hipaa", "soc2"]).is_ok());
    let err = snap.check_set(&["hipaa", "hipa"]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown policy `hipa` (did you mean `hipaa`?); loaded policies: hipaa, soc2"
    );
    assert!(snap.check_set::<&str>(&[]).is_err());
    // Deciding with a name that is not loaded fails closed.
    let d = snap.decide(&["hipaa", "nope"], Ok::<_, ()>(&[][..]));
    assert_eq!(d.action, Action::Local);
    assert!(d.fired("nope", "policy_not_loaded"));
    let d = snap.decide(&["hipaa", "soc2"], Ok::<_, ()>(&person()[..]));
    assert_eq!(d.action, Action::Block);
}

#[test]
fn concurrent_readers_see_a_whole_old_or_new_version() {
    let dir = tempfile::tempdir().unwrap();
    // Going back from `block` to `local` loosens the rule: `a` says it means to.
    let a = acknowledging(&policy_src("p", "local"), &["person"]);
    let b = policy_src("p", "block");
    write(dir.path(), "p.toml", &a);
    let store = Arc::new(open(dir.path()));
    let version_a = version_of(&store, "p");
    write(dir.path(), "p.toml", &b);
    store.reload();
    let version_b = version_of(&store, "p");

    let done = Arc::new(AtomicBool::new(false));
    let seen = [Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0))];
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (store, done, seen) = (store.clone(), done.clone(), seen.clone());
            let (va, vb) = (version_a.clone(), version_b.clone());
            std::thread::spawn(move || {
                let entities = person();
                let deadline = Instant::now() + Duration::from_secs(20);
                let mut n = 0u32;
                while !done.load(Ordering::Acquire) && n < 2_000_000 && Instant::now() < deadline {
                    let d = store.snapshot().decide(&["p"], Ok::<_, ()>(&entities[..]));
                    let v = &*d.policies[0].version;
                    // The version, the action and the reason all come from the same file.
                    if v == va {
                        assert_eq!(
                            (d.action, &*d.fired[0].reason),
                            (Action::Local, "names are local")
                        );
                        seen[0].fetch_add(1, Ordering::Relaxed);
                    } else {
                        assert_eq!(v, vb, "a version that was never loaded");
                        assert_eq!(
                            (d.action, &*d.fired[0].reason),
                            (Action::Block, "names are block")
                        );
                        seen[1].fetch_add(1, Ordering::Relaxed);
                    }
                    n += 1;
                }
            })
        })
        .collect();
    for i in 0..200 {
        write(dir.path(), "p.toml", if i % 2 == 0 { &a } else { &b });
        assert_eq!(store.reload().len(), 1);
        std::thread::sleep(Duration::from_micros(200));
    }
    done.store(true, Ordering::Release);
    for r in readers {
        r.join().expect("a reader saw an inconsistent decision");
    }
    assert!(seen[0].load(Ordering::Relaxed) > 0 && seen[1].load(Ordering::Relaxed) > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_reloads_on_file_changes() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "p.toml", &policy_src("p", "local"));
    let store = Arc::new(open(dir.path()));
    let _reloader = spawn_reloader(store.clone(), true).unwrap();
    let wait = Duration::from_secs(10);

    let mut events = store.subscribe();
    write(dir.path(), "p.toml", &policy_src("p", "block"));
    let ev = tokio::time::timeout(wait, events.recv())
        .await
        .expect("no reload within 10 s")
        .unwrap();
    assert!(
        matches!(ev, PolicyEvent::Loaded { ref name, .. } if name == "p"),
        "{ev:?}"
    );
    assert_eq!(action_of(&store, "p"), Action::Block);

    // An in-place write (not a rename) is seen too; an invalid one is rejected.
    let mut events = store.subscribe();
    std::fs::write(dir.path().join("p.toml"), policy_src("p", "blok")).unwrap();
    let ev = tokio::time::timeout(wait, events.recv())
        .await
        .expect("no reload within 10 s")
        .unwrap();
    assert!(matches!(ev, PolicyEvent::Rejected { .. }), "{ev:?}");
    assert_eq!(action_of(&store, "p"), Action::Block);
}
