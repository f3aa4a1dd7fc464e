//! Crash safety: a torn last line is cut at the next start and recorded, a file left empty by a
//! crash during rotation is removed, a damaged complete record is refused rather than cut, a torn
//! line of the anchors file is cut rather than left as garbage, and a writer whose handles are
//! dropped without shutdown releases the lock.

mod audit_support;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::time::{Duration, Instant};

use audit_support::*;
use sha2::{Digest, Sha256};
use sluice::audit::body::{Body, RecoveryCause};
use sluice::audit::files::ANCHORS_FILE;
use sluice::audit::keys::load_verifying_key;
use sluice::audit::record::StoredRecord;
use sluice::audit::verify::{verify_log, VerifyOptions};
use sluice::audit::{AuditConfig, AuditError, AuditLog, Kind};

fn trusted(f: &Fixture) -> VerifyOptions {
    VerifyOptions {
        trusted_keys: vec![load_verifying_key(&f.public_key).unwrap()],
        anchors: vec![],
    }
}

/// Opens the log, retrying while the previous writer thread is still releasing the lock.
fn reopen(config: &AuditConfig) -> AuditLog {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match AuditLog::open(config) {
            Err(AuditError::Locked { .. }) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            other => return other.unwrap(),
        }
    }
}

/// A log whose writer stopped without a shutdown record, as after a crash.
fn crashed_log(f: &Fixture, n: usize) -> AuditConfig {
    let config = f.config();
    let log = AuditLog::open(&config).unwrap();
    append_decisions(&log, n, "pre");
    drop(log);
    config
}

#[test]
fn a_torn_final_line_is_cut_and_recorded() {
    let f = Fixture::new();
    let config = crashed_log(&f, 5);
    let path = f.file(1);
    let lines = read_lines(&path);
    let whole = lines.len();
    let torn = &lines[whole - 1].as_bytes()[..57];
    OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(torn)
        .unwrap();

    let summary = verify_log(&f.dir, &trusted(&f)).unwrap();
    assert!(
        summary
            .warnings
            .iter()
            .any(|w| w.contains("incomplete last line (57 bytes)")),
        "{:?}",
        summary.warnings
    );

    let log = reopen(&config);
    append_decisions(&log, 2, "post");
    shutdown(&log);
    let recs: Vec<StoredRecord> = read_lines(&path)
        .iter()
        .map(|l| StoredRecord::parse(l.as_bytes()).unwrap())
        .collect();
    let recovered = &recs[whole];
    assert_eq!(recovered.kind, Kind::Recovered);
    let Body::Recovered(r) = Body::parse(recovered.kind, &recovered.body).unwrap() else {
        panic!()
    };
    assert_eq!(r.cause, RecoveryCause::TornTail);
    assert_eq!(r.cut_bytes, 57);
    assert_eq!(r.cut_sha256, hex::encode(Sha256::digest(torn)));
    assert_eq!(r.last_good_seq, recs[whole - 1].seq);
    assert_eq!(
        recovered.prev,
        recs[whole - 1].hash,
        "the chain continues from the last good record"
    );
    let summary = verify_log(&f.dir, &trusted(&f)).unwrap();
    assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);
}

#[test]
fn a_file_left_empty_by_a_crash_during_rotation_is_removed() {
    let f = Fixture::new();
    let config = crashed_log(&f, 3);
    fs::write(f.file(2), b"{\"seq\":").unwrap();
    let log = reopen(&config);
    append_decisions(&log, 1, "post");
    shutdown(&log);
    assert!(!f.file(2).exists());
    let recs = read_lines(&f.file(1));
    let i = find_kind(&recs, "recovered", 0);
    let r = parse(parse(&recs[i])["body"].as_str().unwrap()).clone();
    assert_eq!(r["removed_file"], "log-000002.jsonl");
    assert_eq!(r["cut_bytes"], 7);
    verify_log(&f.dir, &trusted(&f)).unwrap();
}

#[test]
fn a_damaged_complete_record_is_refused_not_cut() {
    let f = Fixture::new();
    let config = crashed_log(&f, 3);
    let path = f.file(1);
    let mut lines = read_lines(&path);
    let last = lines.len() - 1;
    lines[last] = lines[last].replacen("\\\"demo\\\"", "\\\"dem0\\\"", 1);
    write_lines(&path, &lines);
    let before = fs::read(&path).unwrap();
    let err = loop {
        match AuditLog::open(&config) {
            Err(AuditError::Locked { .. }) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => break e,
            Ok(_) => panic!("a damaged log was opened"),
        }
    };
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("log-000001.jsonl:{}", last + 1)),
        "{msg}"
    );
    assert!(msg.contains("sluice audit verify"), "{msg}");
    assert_eq!(fs::read(&path).unwrap(), before, "nothing was cut");
}

#[test]
fn dropping_every_handle_stops_the_writer_and_frees_the_lock() {
    let f = Fixture::new();
    let config = crashed_log(&f, 2);
    let log = reopen(&config);
    shutdown(&log);
    verify_log(&f.dir, &trusted(&f)).unwrap();
}

#[test]
fn a_torn_anchors_line_is_cut_at_the_next_start() {
    let f = Fixture::new();
    let config = crashed_log(&f, 5);
    let anchors = f.dir.join(ANCHORS_FILE);
    let whole = read_lines(&anchors);
    let torn = &whole[0].as_bytes()[..40];
    OpenOptions::new()
        .append(true)
        .open(&anchors)
        .unwrap()
        .write_all(torn)
        .unwrap();
    let summary = verify_log(&f.dir, &trusted(&f)).unwrap();
    assert!(
        summary
            .warnings
            .iter()
            .any(|w| w.contains("incomplete last line") && w.contains(ANCHORS_FILE)),
        "while the log is open, a torn anchors line is a warning: {summary}"
    );

    let log = reopen(&config);
    shutdown(&log);
    let lines = read_lines(&anchors);
    assert_eq!(lines[..whole.len()], whole[..], "whole lines are kept");
    assert!(
        lines[whole.len()..]
            .iter()
            .all(|l| serde_json::from_str::<sluice::audit::Checkpoint>(l).is_ok()),
        "the torn bytes are gone: {lines:?}"
    );
    let summary = verify_log(&f.dir, &trusted(&f)).unwrap();
    assert_eq!(summary.local_anchors_checked, lines.len());
}
