//! Every tamper the issue lists is caught by `verify` and located at the right file and line:
//! a changed byte, a deleted record, two swapped records, an inserted record with the chain
//! recomputed, a truncated tail (against an anchor), a file removed from the middle, and a forged
//! checkpoint signature. Deletion cannot erase the evidence either: removed checkpoints (the log's
//! declared cadence, its startup and shutdown records say where they must be), records added after
//! a clean shutdown, a downgraded startup record, and a garbage, torn or orphaned anchor line all
//! fail.

mod audit_support;

use std::fs;
use std::path::Path;

use audit_support::*;
use sluice::audit::files::ANCHORS_FILE;
use sluice::audit::keys::{generate_signing_key, load_signing_key, load_verifying_key};
use sluice::audit::verify::{load_anchor_file, verify_log, Failure, VerifyOptions};
use sluice::audit::{AuditConfig, AuditLog, Checkpoint};

/// A shut-down log of `n` decisions with a checkpoint every 10 records.
fn build(n: usize, rotate_bytes: u64) -> Fixture {
    let f = Fixture::new();
    let config = AuditConfig {
        checkpoint_every_records: 10,
        rotate_bytes,
        ..f.config()
    };
    let log = AuditLog::open(&config).unwrap();
    append_decisions(&log, n, "req");
    shutdown(&log);
    f
}

/// A shut-down log of `n` decisions with a checkpoint every `every` records.
fn build_every(n: usize, every: u64) -> Fixture {
    let f = Fixture::new();
    let config = AuditConfig {
        checkpoint_every_records: every,
        ..f.config()
    };
    let log = AuditLog::open(&config).unwrap();
    append_decisions(&log, n, "req");
    shutdown(&log);
    f
}

fn trusted(f: &Fixture) -> VerifyOptions {
    VerifyOptions {
        trusted_keys: vec![load_verifying_key(&f.public_key).unwrap()],
        anchors: vec![],
    }
}

fn fail(f: &Fixture, options: &VerifyOptions) -> Failure {
    match verify_log(&f.dir, options) {
        Ok(summary) => panic!("tampered log verified: {summary}"),
        Err(failure) => failure,
    }
}

/// Index of the decision line of `request_id`.
fn line_of(lines: &[String], request_id: &str) -> usize {
    let needle = format!(r#"\"request_id\":\"{request_id}\""#);
    lines
        .iter()
        .position(|l| l.contains(&needle))
        .unwrap_or_else(|| panic!("no record of {request_id}"))
}

fn assert_at(failure: &Failure, file: &Path, line: u64, words: &str) {
    let loc = failure
        .location
        .as_ref()
        .unwrap_or_else(|| panic!("no location in {failure}"));
    assert_eq!((loc.file.as_path(), loc.line), (file, line), "{failure}");
    assert!(
        failure.message.contains(words),
        "expected {words:?} in: {failure}"
    );
}

#[test]
fn untouched_logs_verify() {
    let f = build(30, 64 << 20);
    verify_log(&f.dir, &trusted(&f)).unwrap();
    let f = build(60, 4096);
    let summary = verify_log(&f.dir, &trusted(&f)).unwrap();
    assert!(summary.files > 3);
}

#[test]
fn one_changed_byte_in_a_body_is_located() {
    let f = build(20, 64 << 20);
    let path = f.file(1);
    let mut lines = read_lines(&path);
    let i = line_of(&lines, "req-3");
    assert!(lines[i].contains("\\\"count\\\":1"));
    lines[i] = lines[i].replacen("\\\"count\\\":1", "\\\"count\\\":2", 1);
    write_lines(&path, &lines);
    assert_at(
        &fail(&f, &trusted(&f)),
        &path,
        i as u64 + 1,
        "this record was altered",
    );
}

#[test]
fn a_deleted_record_is_located() {
    let f = build(20, 64 << 20);
    let path = f.file(1);
    let mut lines = read_lines(&path);
    lines.remove(6);
    write_lines(&path, &lines);
    assert_at(
        &fail(&f, &trusted(&f)),
        &path,
        7,
        "1 record(s) before this one are missing",
    );
}

#[test]
fn two_swapped_records_are_located() {
    let f = build(20, 64 << 20);
    let path = f.file(1);
    let mut lines = read_lines(&path);
    lines.swap(8, 9);
    write_lines(&path, &lines);
    assert_at(&fail(&f, &trusted(&f)), &path, 9, "expected seq 8, found 9");
}

#[test]
fn an_inserted_record_with_a_recomputed_chain_fails_at_the_next_checkpoint() {
    let f = build(30, 64 << 20);
    let path = f.file(1);
    let mut lines = read_lines(&path);
    let original = line_of(&lines, "req-3");
    let forged = lines[original].replace("req-3", "req-forged");
    lines.insert(original + 1, forged);
    rechain(&mut lines, original + 1, true);
    write_lines(&path, &lines);
    let failure = fail(&f, &trusted(&f));
    assert!(
        failure.message.contains("rewritten after that checkpoint"),
        "the anchors file catches it first: {failure}"
    );
    fs::remove_file(f.dir.join(ANCHORS_FILE)).unwrap();
    let checkpoint = find_kind(&lines, "checkpoint", original + 1);
    assert_at(
        &fail(&f, &trusted(&f)),
        &path,
        checkpoint as u64 + 1,
        "records were inserted or removed before it",
    );

    let mut lines = read_lines(&path);
    let mut v = parse(&lines[checkpoint]);
    let mut cp: Checkpoint = serde_json::from_str(v["body"].as_str().unwrap()).unwrap();
    let covered = parse(&lines[checkpoint - 1]);
    cp.seq = covered["seq"].as_u64().unwrap();
    cp.head = sluice::audit::ChainHash::from_hex(covered["hash"].as_str().unwrap()).unwrap();
    v["body"] = serde_json::to_string(&cp).unwrap().into();
    lines[checkpoint] = v.to_string();
    rechain(&mut lines, checkpoint, false);
    write_lines(&path, &lines);
    let failure = fail(&f, &trusted(&f));
    assert_at(
        &failure,
        &path,
        checkpoint as u64 + 1,
        "signature does not verify",
    );
    assert!(failure.message.contains("cannot be trusted"), "{failure}");
}

#[test]
fn a_truncated_tail_is_caught_against_an_anchor_held_elsewhere() {
    let f = build(30, 64 << 20);
    let shipped = f.root.path().join("worm-anchors.jsonl");
    fs::copy(f.dir.join(ANCHORS_FILE), &shipped).unwrap();
    let path = f.file(1);
    let lines = read_lines(&path);
    let keep = find_kind(&lines, "checkpoint", 12) + 1;
    write_lines(&path, &lines[..keep]);

    let failure = fail(&f, &trusted(&f));
    assert!(
        failure.message.contains("removed from the end"),
        "the log's own anchors file catches it: {failure}"
    );

    let local: Vec<String> = read_lines(&f.dir.join(ANCHORS_FILE))
        .into_iter()
        .filter(|l| serde_json::from_str::<Checkpoint>(l).unwrap().seq < keep as u64)
        .collect();
    write_lines(&f.dir.join(ANCHORS_FILE), &local);
    let summary = verify_log(&f.dir, &trusted(&f))
        .expect("a careful truncation passes without an outside anchor");
    assert_eq!(summary.records, keep as u64);

    let options = VerifyOptions {
        anchors: load_anchor_file(&shipped, true).unwrap(),
        ..trusted(&f)
    };
    let failure = fail(&f, &options);
    assert_at(&failure, &path, keep as u64, "removed from the end");
    assert!(failure.message.contains("worm-anchors.jsonl"), "{failure}");
}

#[test]
fn an_anchor_that_disagrees_with_the_log_is_caught() {
    let f = build(30, 64 << 20);
    let shipped = f.root.path().join("anchor.jsonl");
    fs::copy(f.dir.join(ANCHORS_FILE), &shipped).unwrap();
    let path = f.file(1);
    let mut lines = read_lines(&path);
    let changed = line_of(&lines, "req-1");
    lines[changed] = lines[changed].replace("req-1", "req-X");
    rechain(&mut lines, changed, false);
    let first_cp = find_kind(&lines, "checkpoint", changed);
    lines.truncate(first_cp);
    write_lines(&path, &lines);
    fs::remove_file(f.dir.join(ANCHORS_FILE)).unwrap();
    let options = VerifyOptions {
        anchors: load_anchor_file(&shipped, true).unwrap(),
        ..trusted(&f)
    };
    let failure = fail(&f, &options);
    assert!(
        failure.message.contains("removed from the end")
            || failure.message.contains("rewritten after that checkpoint"),
        "{failure}"
    );
}

#[test]
fn a_file_removed_from_the_middle_is_named() {
    let f = build(60, 4096);
    fs::remove_file(f.file(2)).unwrap();
    assert_at(
        &fail(&f, &trusted(&f)),
        &f.file(3),
        1,
        "log-000002.jsonl is missing",
    );

    fs::rename(f.file(3), f.file(2)).unwrap();
    let mut index = 4;
    while f.file(index).exists() {
        fs::rename(f.file(index), f.file(index - 1)).unwrap();
        index += 1;
    }
    let failure = fail(&f, &trusted(&f));
    assert_at(&failure, &f.file(2), 1, "before this one are missing");
}

#[test]
fn a_forged_checkpoint_signature_is_caught() {
    let f = build(30, 64 << 20);
    let path = f.file(1);
    let mut lines = read_lines(&path);
    let i = find_kind(&lines, "checkpoint", 0);
    let mut v = parse(&lines[i]);
    let mut cp: Checkpoint = serde_json::from_str(v["body"].as_str().unwrap()).unwrap();
    let flipped = if cp.signature.starts_with('0') {
        "1"
    } else {
        "0"
    };
    cp.signature.replace_range(..1, flipped);
    v["body"] = serde_json::to_string(&cp).unwrap().into();
    lines[i] = v.to_string();
    rechain(&mut lines, i, false);
    write_lines(&path, &lines);
    fs::remove_file(f.dir.join(ANCHORS_FILE)).unwrap();
    assert_at(
        &fail(&f, &VerifyOptions::default()),
        &path,
        i as u64 + 1,
        "signature does not verify",
    );
}

/// An attacker who rewrites the whole log under a key of their own (startup records included)
/// fools a verifier that trusts the log's own declaration, but not one holding the real key.
#[test]
fn a_log_re_signed_with_another_key_fails_against_the_trusted_key() {
    let f = build(30, 64 << 20);
    let attacker_key = f.root.path().join("attacker.pem");
    generate_signing_key(&attacker_key, &f.root.path().join("attacker.pub")).unwrap();
    let attacker = load_signing_key(&attacker_key).unwrap();
    let path = f.file(1);
    let mut lines = read_lines(&path);
    let log_id = parse(&lines[0])["body"]
        .as_str()
        .map(|b| parse(b)["log_id"].as_str().unwrap().to_string())
        .unwrap();
    for i in 1..lines.len() {
        let mut v = parse(&lines[i]);
        match v["kind"].as_str().unwrap() {
            "startup" => {
                let mut body = parse(v["body"].as_str().unwrap());
                body["signing_public_key"] =
                    hex::encode(attacker.verifying_key().as_bytes()).into();
                body["signing_key_id"] =
                    sluice::audit::keys::signing_key_id(&attacker.verifying_key()).into();
                v["body"] = body.to_string().into();
            }
            "checkpoint" => {
                let prev = parse(&lines[i - 1]);
                let head =
                    sluice::audit::ChainHash::from_hex(prev["hash"].as_str().unwrap()).unwrap();
                let cp = Checkpoint::sign(
                    &attacker,
                    &log_id,
                    prev["seq"].as_u64().unwrap(),
                    head,
                    v["ts"].as_str().unwrap(),
                );
                v["body"] = serde_json::to_string(&cp).unwrap().into();
            }
            _ => {}
        }
        lines[i] = v.to_string();
        rechain(&mut lines, i, false);
    }
    write_lines(&path, &lines);
    fs::remove_file(f.dir.join(ANCHORS_FILE)).unwrap();
    let summary = verify_log(&f.dir, &VerifyOptions::default()).unwrap();
    assert!(!summary.keys_trusted);
    assert!(summary.to_string().contains("pass --pubkey"));
    let startup = find_kind(&lines, "checkpoint", 0);
    assert_at(
        &fail(&f, &trusted(&f)),
        &path,
        startup as u64 + 1,
        "not a trusted key",
    );
}

fn kind(line: &str) -> String {
    parse(line)["kind"].as_str().unwrap().to_string()
}

/// Keeps the lines of the log's own anchors file whose checkpoint covers a record before `seq`.
fn keep_anchors_before(f: &Fixture, seq: u64) {
    let path = f.dir.join(ANCHORS_FILE);
    let kept: Vec<String> = read_lines(&path)
        .into_iter()
        .filter(|l| serde_json::from_str::<Checkpoint>(l).unwrap().seq < seq)
        .collect();
    write_lines(&path, &kept);
}

fn seq_of(line: &str) -> u64 {
    parse(line)["seq"].as_u64().unwrap()
}

#[test]
fn removing_every_checkpoint_and_rehashing_fails_verification() {
    let f = build_every(60, 20);
    let path = f.file(1);
    let mut lines = read_lines(&path);
    lines.retain(|l| kind(l) != "checkpoint");
    rechain(&mut lines, 1, true);
    write_lines(&path, &lines);
    fs::remove_file(f.dir.join(ANCHORS_FILE)).unwrap();
    let startup = find_kind(&lines, "startup", 0);
    for options in [trusted(&f), VerifyOptions::default()] {
        assert_at(
            &fail(&f, &options),
            &path,
            startup as u64 + 2,
            "a checkpoint was removed",
        );
    }
}

#[test]
fn rewriting_records_after_deleting_later_checkpoints_fails() {
    let f = build_every(150, 20);
    let path = f.file(1);
    let lines = read_lines(&path);
    let kept = find_kind(&lines, "checkpoint", 30);
    let mut forged: Vec<String> = lines[..=kept].to_vec();
    let mut rewritten = 0;
    for line in &lines[kept + 1..] {
        match kind(line).as_str() {
            "checkpoint" => continue,
            "decision" if line.contains(r#"\"action\":\"local\""#) => {
                rewritten += 1;
                forged.push(line.replace(r#"\"action\":\"local\""#, r#"\"action\":\"allow\""#));
            }
            _ => forged.push(line.clone()),
        }
    }
    assert!(rewritten > 20, "{rewritten}");
    rechain(&mut forged, kept + 1, true);
    write_lines(&path, &forged);
    keep_anchors_before(&f, seq_of(&forged[kept]));
    // The 21st record after the last surviving checkpoint is where the next one had to be.
    let overdue = kept as u64 + 1 + 21;
    assert_at(
        &fail(&f, &trusted(&f)),
        &path,
        overdue,
        "declares a checkpoint every 20 records",
    );

    // Without its shutdown record the log looks open, but the cadence still holds.
    forged.retain(|l| kind(l) != "shutdown");
    rechain(&mut forged, kept + 1, true);
    write_lines(&path, &forged);
    assert_at(
        &fail(&f, &trusted(&f)),
        &path,
        overdue,
        "declares a checkpoint every 20 records",
    );
}

#[test]
fn a_garbage_anchor_line_fails() {
    let f = build(30, 64 << 20);
    let anchors = f.dir.join(ANCHORS_FILE);
    let mut lines = read_lines(&anchors);
    lines.insert(1, r#"{"seq":"not a checkpoint"}"#.into());
    write_lines(&anchors, &lines);
    assert_at(&fail(&f, &trusted(&f)), &anchors, 2, "not a checkpoint");
}

#[test]
fn an_anchor_naming_a_missing_checkpoint_fails() {
    let f = build(30, 64 << 20);
    let shipped = f.root.path().join("worm-anchors.jsonl");
    fs::copy(f.dir.join(ANCHORS_FILE), &shipped).unwrap();
    let path = f.file(1);
    let mut lines = read_lines(&path);
    assert_eq!(kind(lines.last().unwrap()), "checkpoint");
    lines.pop();
    write_lines(&path, &lines);

    let local = f.dir.join(ANCHORS_FILE);
    let last = read_lines(&local).len();
    let failure = fail(&f, &trusted(&f));
    assert!(
        failure
            .message
            .contains(&format!("anchor {}:{last}", local.display())),
        "{failure}"
    );
    assert!(
        failure.message.contains("the log holds no such checkpoint"),
        "{failure}"
    );

    fs::remove_file(&local).unwrap();
    let options = VerifyOptions {
        anchors: load_anchor_file(&shipped, true).unwrap(),
        ..trusted(&f)
    };
    let failure = fail(&f, &options);
    assert!(
        failure
            .message
            .contains(&format!("anchor {}:{last}", shipped.display())),
        "{failure}"
    );
    assert!(
        failure.message.contains("the log holds no such checkpoint"),
        "{failure}"
    );
}

#[test]
fn a_torn_last_line_that_drops_the_final_checkpoint_fails() {
    let f = build(30, 64 << 20);
    let path = f.file(1);
    let lines = read_lines(&path);
    let shutdown = find_kind(&lines, "shutdown", 0);
    assert_eq!(
        shutdown + 2,
        lines.len(),
        "the final checkpoint is the last line"
    );
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..bytes.len() - 40]).unwrap();
    fs::remove_file(f.dir.join(ANCHORS_FILE)).unwrap();
    let failure = fail(&f, &trusted(&f));
    assert_at(
        &failure,
        &path,
        shutdown as u64 + 1,
        "no checkpoint follows it",
    );
    assert!(failure.message.contains("incomplete"), "{failure}");
}

#[test]
fn a_torn_last_anchor_line_of_a_closed_log_fails() {
    let f = build(30, 64 << 20);
    let anchors = f.dir.join(ANCHORS_FILE);
    let last = read_lines(&anchors).len();
    let bytes = fs::read(&anchors).unwrap();
    fs::write(&anchors, &bytes[..bytes.len() - 30]).unwrap();
    assert_at(
        &fail(&f, &trusted(&f)),
        &anchors,
        last as u64,
        "incomplete last line",
    );
    // A copy held elsewhere fails on its own.
    let failure = load_anchor_file(&anchors, true).unwrap_err();
    assert!(failure.message.contains("whole lines"), "{failure}");
}

#[test]
fn deleting_the_final_checkpoint_and_its_anchor_fails() {
    let f = build(30, 64 << 20);
    let path = f.file(1);
    let mut lines = read_lines(&path);
    lines.pop();
    write_lines(&path, &lines);
    let anchors = f.dir.join(ANCHORS_FILE);
    let mut kept = read_lines(&anchors);
    kept.pop();
    write_lines(&anchors, &kept);
    let shutdown = find_kind(&lines, "shutdown", 0);
    assert_at(
        &fail(&f, &trusted(&f)),
        &path,
        shutdown as u64 + 1,
        "no checkpoint follows it",
    );
}

#[test]
fn appending_records_after_a_clean_shutdown_fails() {
    let f = build(30, 64 << 20);
    let path = f.file(1);
    let mut lines = read_lines(&path);
    let decision = find_kind(&lines, "decision", 0);
    lines.push(lines[decision].replace("req-0", "req-appended"));
    let appended = lines.len() - 1;
    rechain(&mut lines, appended, true);
    write_lines(&path, &lines);
    assert_at(
        &fail(&f, &trusted(&f)),
        &path,
        appended as u64 + 1,
        "after the clean shutdown",
    );
}

#[test]
fn downgrading_a_later_startup_to_hide_removed_checkpoints_fails() {
    let f = build_every(30, 20);
    let config = AuditConfig {
        checkpoint_every_records: 20,
        ..f.config()
    };
    let log = AuditLog::open(&config).unwrap();
    append_decisions(&log, 60, "second");
    shutdown(&log);

    let path = f.file(1);
    let lines = read_lines(&path);
    let second = find_kind(&lines, "startup", find_kind(&lines, "startup", 0) + 1);
    let mut forged: Vec<String> = lines[..second].to_vec();
    let mut startup = parse(&lines[second]);
    let mut body = parse(startup["body"].as_str().unwrap());
    body.as_object_mut().unwrap().remove("strict_checkpoints");
    startup["body"] = body.to_string().into();
    forged.push(startup.to_string());
    forged.extend(
        lines[second + 1..]
            .iter()
            .filter(|l| !matches!(kind(l).as_str(), "checkpoint" | "shutdown"))
            .cloned(),
    );
    rechain(&mut forged, second, true);
    write_lines(&path, &forged);
    keep_anchors_before(&f, seq_of(&forged[second]));
    assert_at(
        &fail(&f, &trusted(&f)),
        &path,
        second as u64 + 1,
        "does not declare strict checkpoints",
    );
}

/// A log written before startup records declared `strict_checkpoints` (no checkpoint after its
/// startup record) still verifies, says that its cadence could not be checked, and is still held
/// to its shutdown record.
#[test]
fn a_log_written_before_strict_checkpoints_verifies_with_a_warning() {
    let f = build_every(30, 20);
    let signer = load_signing_key(&f.signing_key).unwrap();
    let path = f.file(1);
    let mut lines = read_lines(&path);
    let startup = find_kind(&lines, "startup", 0);
    let mut v = parse(&lines[startup]);
    let mut body = parse(v["body"].as_str().unwrap());
    body.as_object_mut().unwrap().remove("strict_checkpoints");
    v["body"] = body.to_string().into();
    lines[startup] = v.to_string();
    if kind(&lines[startup + 1]) == "checkpoint" {
        lines.remove(startup + 1);
    }
    rechain(&mut lines, startup, true);
    let log_id = parse(parse(&lines[0])["body"].as_str().unwrap())["log_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut anchors = Vec::new();
    for i in startup..lines.len() {
        let mut v = parse(&lines[i]);
        if v["kind"] == "checkpoint" {
            let prev = parse(&lines[i - 1]);
            let cp = Checkpoint::sign(
                &signer,
                &log_id,
                prev["seq"].as_u64().unwrap(),
                sluice::audit::ChainHash::from_hex(prev["hash"].as_str().unwrap()).unwrap(),
                v["ts"].as_str().unwrap(),
            );
            anchors.push(serde_json::to_string(&cp).unwrap());
            v["body"] = serde_json::to_string(&cp).unwrap().into();
            lines[i] = v.to_string();
        }
        rechain(&mut lines, i, false);
    }
    write_lines(&path, &lines);
    write_lines(&f.dir.join(ANCHORS_FILE), &anchors);
    let summary = verify_log(&f.dir, &trusted(&f)).unwrap();
    assert!(
        summary.warnings.iter().any(
            |w| w.contains(&format!("{}:{}", path.display(), startup + 1))
                && w.contains("strict_checkpoints")
        ),
        "{summary}"
    );

    lines.pop();
    write_lines(&path, &lines);
    anchors.pop();
    write_lines(&f.dir.join(ANCHORS_FILE), &anchors);
    let shutdown = find_kind(&lines, "shutdown", 0);
    assert_at(
        &fail(&f, &trusted(&f)),
        &path,
        shutdown as u64 + 1,
        "no checkpoint follows it",
    );
}
