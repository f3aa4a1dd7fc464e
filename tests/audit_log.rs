//! The writer: a fresh log verifies, receipts match the file, the chain continues across restarts
//! and rotations, concurrent submitters get a gap-free chain, checkpoints are signed on count, on
//! time and at shutdown, the lock keeps a second writer out, and no canary value reaches a file.

mod audit_support;

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use audit_support::*;
use sluice::audit::body::Body;
use sluice::audit::files::ANCHORS_FILE;
use sluice::audit::keys::load_verifying_key;
use sluice::audit::record::StoredRecord;
use sluice::audit::verify::{verify_log, VerifyOptions};
use sluice::audit::{
    Action, AuditConfig, AuditError, AuditLog, Kind, PolicyLoaded, PolicyRejected,
};

fn trusted(f: &Fixture) -> VerifyOptions {
    VerifyOptions {
        trusted_keys: vec![load_verifying_key(&f.public_key).unwrap()],
        anchors: vec![],
    }
}

/// The longest run of submitted records with no checkpoint between them, and whether every
/// startup and shutdown record is followed by a checkpoint.
fn cadence_of(recs: &[StoredRecord]) -> (u64, bool) {
    let mut longest = 0;
    let mut run = 0;
    for r in recs {
        if r.kind == Kind::Checkpoint {
            run = 0;
        } else if r.kind.is_submitted() {
            run += 1;
            longest = longest.max(run);
        }
    }
    let sealed = recs
        .windows(2)
        .filter(|w| matches!(w[0].kind, Kind::Startup | Kind::Shutdown))
        .all(|w| w[1].kind == Kind::Checkpoint);
    (longest, sealed)
}

fn records(path: &std::path::Path) -> Vec<StoredRecord> {
    read_lines(path)
        .iter()
        .map(|l| StoredRecord::parse(l.as_bytes()).unwrap())
        .collect()
}

#[test]
fn fresh_log_verifies_and_ends_with_a_signed_checkpoint() {
    let f = Fixture::new();
    let log = AuditLog::open(&f.config()).unwrap();
    assert!(log.is_writable());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        log.append(PolicyLoaded {
            name: "hipaa".into(),
            version: "sha256:0123".into(),
            path: "policies/hipaa.toml".into(),
            rules: 12,
            acknowledged_loosening: Vec::new(),
        })
        .await
        .unwrap();
        log.append(PolicyRejected::new(
            "policies/bad.toml",
            "bad.toml:3:7: unknown entity type `US_SNN` (did you mean `US_SSN`?)",
        ))
        .await
        .unwrap();
    });
    let receipts = append_decisions(&log, 5, "req");
    shutdown(&log);
    assert!(!log.is_writable());

    let recs = records(&f.file(1));
    let kinds: Vec<Kind> = recs.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds[..5],
        [
            Kind::Genesis,
            Kind::Startup,
            Kind::Checkpoint,
            Kind::PolicyLoaded,
            Kind::PolicyRejected
        ]
    );
    assert_eq!(kinds[kinds.len() - 2..], [Kind::Shutdown, Kind::Checkpoint]);
    assert_eq!(receipts.len(), 5);
    for (receipt, record) in receipts.iter().zip(&recs[5..10]) {
        assert_eq!((receipt.seq, receipt.hash), (record.seq, record.hash));
    }
    let summary = verify_log(&f.dir, &trusted(&f)).unwrap();
    assert_eq!(summary.records, recs.len() as u64);
    assert_eq!(
        summary.unsigned_tail, 0,
        "the final checkpoint covers everything before it"
    );
    assert!(summary.keys_trusted);
    assert_eq!(
        summary.local_anchors_checked, 2,
        "the startup checkpoint and the final one"
    );
    let Body::Checkpoint(cp) = Body::parse(Kind::Checkpoint, &recs.last().unwrap().body).unwrap()
    else {
        panic!("last record is not a checkpoint")
    };
    assert_eq!(cp.seq, recs.len() as u64 - 2);
    let anchors = read_lines(&f.dir.join(ANCHORS_FILE));
    assert_eq!(anchors.len(), 2);
    assert_eq!(
        serde_json::from_str::<sluice::audit::Checkpoint>(&anchors[1]).unwrap(),
        cp
    );

    let mode = |p: &std::path::Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&f.dir), 0o700);
    assert_eq!(mode(&f.file(1)), 0o600);
    assert_eq!(mode(&f.dir.join(ANCHORS_FILE)), 0o600);
}

#[test]
fn chain_continues_across_restarts() {
    let f = Fixture::new();
    let log = AuditLog::open(&f.config()).unwrap();
    let first_id = log.log_id().to_string();
    append_decisions(&log, 3, "a");
    shutdown(&log);
    let log = AuditLog::open(&f.config()).unwrap();
    assert_eq!(log.log_id(), first_id);
    append_decisions(&log, 3, "b");
    shutdown(&log);
    let recs = records(&f.file(1));
    assert_eq!(recs.iter().filter(|r| r.kind == Kind::Genesis).count(), 1);
    assert_eq!(recs.iter().filter(|r| r.kind == Kind::Startup).count(), 2);
    assert_eq!(recs.iter().filter(|r| r.kind == Kind::Shutdown).count(), 2);
    verify_log(&f.dir, &trusted(&f)).unwrap();
}

#[test]
fn rotation_by_size_keeps_one_chain_across_files() {
    let f = Fixture::new();
    let config = AuditConfig {
        rotate_bytes: 4096,
        checkpoint_every_records: 7,
        ..f.config()
    };
    let log = AuditLog::open(&config).unwrap();
    append_decisions(&log, 60, "r");
    shutdown(&log);
    let summary = verify_log(&f.dir, &trusted(&f)).unwrap();
    assert!(
        summary.files >= 4,
        "expected several files, got {}",
        summary.files
    );
    for index in 2..=summary.files as u64 {
        let first = &records(&f.file(index))[0];
        let Body::Rotated(r) = Body::parse(first.kind, &first.body).unwrap() else {
            panic!("file {index} does not start with a rotated record")
        };
        let previous = records(&f.file(index - 1));
        assert_eq!(
            r.previous_file,
            sluice::audit::files::log_file_name(index - 1)
        );
        assert_eq!(r.previous_hash, previous.last().unwrap().hash);
        assert_eq!(first.prev, previous.last().unwrap().hash);
    }
}

#[test]
fn daily_rotation_starts_a_file_at_the_first_batch_after_midnight() {
    let f = Fixture::new();
    let clock = TestClock::at(day(2025, 6, 1, 23, 58, 0));
    let log = AuditLog::open_with_clock(&f.config(), clock.clone()).unwrap();
    append_decisions(&log, 2, "before");
    clock.set(day(2025, 6, 2, 0, 0, 1));
    append_decisions(&log, 2, "after");
    shutdown(&log);
    let first: Vec<_> = records(&f.file(1));
    let second: Vec<_> = records(&f.file(2));
    assert!(first.iter().all(|r| r.ts.starts_with("2025-06-01")));
    assert!(second.iter().all(|r| r.ts.starts_with("2025-06-02")));
    let Body::Rotated(r) = Body::parse(second[0].kind, &second[0].body).unwrap() else {
        panic!()
    };
    assert_eq!(r.reason, sluice::audit::body::RotateReason::Day);
    verify_log(&f.dir, &trusted(&f)).unwrap();
}

#[test]
fn concurrent_submitters_get_a_gap_free_chain() {
    let f = Fixture::new();
    let log = AuditLog::open(&AuditConfig {
        checkpoint_every_records: 500,
        ..f.config()
    })
    .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    const TASKS: usize = 32;
    const EACH: usize = 150;
    let receipts = rt.block_on(async {
        let mut handles = Vec::new();
        for t in 0..TASKS {
            let log = log.clone();
            handles.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                for i in 0..EACH {
                    let d = decision(
                        log.fingerprinter(),
                        &format!("t{t}-{i}"),
                        &format!("client{}", t % 4),
                        Action::Local,
                        i % 2 == 0,
                    );
                    mine.push(log.append(d).await.unwrap());
                }
                mine
            }));
        }
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.await.unwrap());
        }
        log.shutdown().await.unwrap();
        all
    });
    let seqs: BTreeSet<u64> = receipts.iter().map(|r| r.seq).collect();
    assert_eq!(seqs.len(), TASKS * EACH, "every submitter got its own seq");
    let recs = records(&f.file(1));
    for r in &receipts {
        assert_eq!(recs[r.seq as usize].hash, r.hash);
    }
    let request_ids: BTreeSet<String> = recs
        .iter()
        .filter_map(|r| match Body::parse(r.kind, &r.body).unwrap() {
            Body::Decision(d) => Some(d.request_id),
            _ => None,
        })
        .collect();
    assert_eq!(request_ids.len(), TASKS * EACH);
    assert_eq!(
        cadence_of(&recs),
        (500, true),
        "a checkpoint after every 500 submitted records, even inside a batch"
    );
    let summary = verify_log(&f.dir, &trusted(&f)).unwrap();
    assert!(summary.checkpoints >= (TASKS * EACH / 500) as u64);
}

#[test]
fn checkpoints_are_signed_after_n_records_and_after_t_seconds() {
    let f = Fixture::new();
    let config = AuditConfig {
        checkpoint_every_records: 10,
        checkpoint_every_secs: 1,
        ..f.config()
    };
    let log = AuditLog::open(&config).unwrap();
    append_decisions(&log, 25, "n");
    let count = |kind: Kind| {
        records(&f.file(1))
            .iter()
            .filter(|r| r.kind == kind)
            .count()
    };
    assert!(count(Kind::Checkpoint) >= 2, "checkpoints every 10 records");
    assert_eq!(cadence_of(&records(&f.file(1))), (10, true));
    append_decisions(&log, 1, "t");
    let before = count(Kind::Checkpoint);
    let deadline = Instant::now() + Duration::from_secs(5);
    while count(Kind::Checkpoint) == before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let recs = records(&f.file(1));
    assert_eq!(
        recs.last().unwrap().kind,
        Kind::Checkpoint,
        "a timed checkpoint with no new record"
    );
    assert!(count(Kind::Checkpoint) > before);
    shutdown(&log);
    verify_log(&f.dir, &trusted(&f)).unwrap();
}

#[test]
fn a_second_writer_is_locked_out() {
    let f = Fixture::new();
    let log = AuditLog::open(&f.config()).unwrap();
    let err = AuditLog::open(&f.config()).unwrap_err();
    assert!(matches!(err, AuditError::Locked { .. }), "{err}");
    assert!(
        err.to_string()
            .contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    shutdown(&log);
    let again = AuditLog::open(&f.config()).unwrap();
    shutdown(&again);
}

#[test]
fn appends_after_shutdown_are_refused() {
    let f = Fixture::new();
    let log = AuditLog::open(&f.config()).unwrap();
    shutdown(&log);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let d = decision(log.fingerprinter(), "late", "demo", Action::Allow, false);
    assert!(matches!(
        rt.block_on(log.append(d)),
        Err(AuditError::Closed)
    ));
    assert!(matches!(
        rt.block_on(log.shutdown()),
        Err(AuditError::Closed)
    ));
}

#[test]
fn keys_must_live_outside_the_log_directory() {
    let f = Fixture::new();
    fs::create_dir_all(&f.dir).unwrap();
    let inside = f.dir.join("fingerprint.key");
    fs::copy(&f.fingerprint_key, &inside).unwrap();
    fs::set_permissions(&inside, fs::Permissions::from_mode(0o600)).unwrap();
    let config = AuditConfig {
        fingerprint_key: inside,
        ..f.config()
    };
    let err = AuditLog::open(&config).unwrap_err().to_string();
    assert!(err.contains("inside the log directory"), "{err}");
    let missing = AuditConfig {
        signing_key: f.root.path().join("nope.pem"),
        ..f.config()
    };
    let err = AuditLog::open(&missing).unwrap_err().to_string();
    assert!(err.contains("sluice audit keygen"), "{err}");
}

#[test]
fn a_configured_group_gets_read_access() {
    let f = Fixture::new();
    let log = AuditLog::open(&AuditConfig {
        group: Some("root".into()),
        ..f.config()
    })
    .unwrap();
    append_decisions(&log, 1, "g");
    shutdown(&log);
    let mode = |p: &std::path::Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&f.dir), 0o750);
    assert_eq!(mode(&f.file(1)), 0o640);
}

#[test]
fn no_file_holds_a_canary_value_but_fingerprints_correlate() {
    let f = Fixture::new();
    let log = AuditLog::open(&f.config()).unwrap();
    append_decisions(&log, 6, "c");
    shutdown(&log);
    let bytes = f.all_bytes();
    let text = String::from_utf8_lossy(&bytes).to_lowercase();
    let digits_only = CANARY_SSN.replace('-', "");
    for canary in [
        CANARY_NAME,
        CANARY_SSN,
        &digits_only,
        CANARY_MRN,
        CANARY_DIAGNOSIS,
        "quillfeather",
        "4471938",
    ] {
        assert!(
            !text.contains(&canary.to_lowercase()),
            "canary {canary:?} found in the audit directory"
        );
    }
    let expected = log.fingerprinter().fingerprint("US_SSN", CANARY_SSN);
    let occurrences = text.matches(expected.as_str()).count();
    assert_eq!(
        occurrences, 2,
        "the same SSN in two PHI requests shares one fingerprint"
    );
}
