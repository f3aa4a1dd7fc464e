//! `policy diff` logic: corpus reading (directory and JSONL), one scan per text judged by both
//! versions, loosening flagged; and `policy check`/`policy test` output through the CLI functions.
//!
//! The scanner here reads entity type names written literally in the text ("PERSON MEDICATION"),
//! so the policy logic is tested without models; the real pipeline is exercised by
//! `sluice policy test` over the shipped policies.

use std::cell::Cell;
use std::path::{Path, PathBuf};

use sluice::detect::catalog::is_entity_type;
use sluice::detect::{DetectorKind, Entity};
use sluice::policy::diff::{diff_policies, read_corpus, CorpusError};
use sluice::policy::{load, Action, Policy};

fn literal_types(text: &str) -> Result<Vec<Entity>, String> {
    if text.contains("UNSCANNABLE") {
        return Err("model session failed".into());
    }
    Ok(text
        .split_whitespace()
        .filter(|w| is_entity_type(w))
        .map(|w| Entity {
            decoded: None,
            entity_type: w.to_string(),
            start: 0,
            end: 1,
            score: 0.9,
            detector: DetectorKind::Regex,
            rule_id: "literal".into(),
            validated: false,
            context: Vec::new(),
        })
        .collect())
}

fn hipaa_with(identifier_alone: &str) -> Policy {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("policies/hipaa.toml");
    let src = std::fs::read_to_string(&path).unwrap();
    let src = src.replace(
        "identifier_alone = \"local\"",
        &format!("identifier_alone = \"{identifier_alone}\""),
    );
    load(&path, src.as_bytes()).unwrap()
}

fn jsonl(dir: &Path, lines: &[&str]) -> PathBuf {
    let p = dir.join("corpus.jsonl");
    std::fs::write(&p, lines.join("\n")).unwrap();
    p
}

#[test]
fn diff_lists_changed_texts_and_flags_loosening() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = jsonl(
        dir.path(),
        &[
            r#"{"id": "n1", "text": "call PERSON at PHONE_NUMBER"}"#,
            r#"{"id": "n2", "text": "PERSON has MEDICAL_CONDITION"}"#,
            "",
            r#"{"id": 3, "text": "MEDICATION dosage question"}"#,
            r#"{"id": "n4", "text": "EMAIL_ADDRESS only"}"#,
            r#"{"id": "n5", "text": "UNSCANNABLE"}"#,
        ],
    );
    let old = hipaa_with("local");
    let new = hipaa_with("allow");
    let scans = Cell::new(0);
    let report = diff_policies(&old, &new, read_corpus(&corpus).unwrap(), |t| {
        scans.set(scans.get() + 1);
        literal_types(t)
    })
    .unwrap();
    assert_eq!(scans.get(), 5, "each text is scanned once");
    assert_eq!(report.texts, 5);
    assert_eq!(report.scan_failures, 1);
    let changed: Vec<(&str, Action, Action, bool)> = report
        .changes
        .iter()
        .map(|c| (c.id.as_str(), c.old.action, c.new.action, c.loosens()))
        .collect();
    assert_eq!(
        changed,
        vec![
            ("n1", Action::Local, Action::Allow, true),
            ("n4", Action::Local, Action::Allow, true),
        ]
    );
    assert_eq!(report.loosened(), 2);

    // The reverse edit tightens the same texts.
    let back = diff_policies(&new, &old, read_corpus(&corpus).unwrap(), literal_types).unwrap();
    assert_eq!(back.changes.len(), 2);
    assert_eq!(back.loosened(), 0);
}

#[test]
fn directory_corpus_reads_txt_files_in_name_order() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("b.txt"), "PERSON").unwrap();
    std::fs::write(dir.path().join("a.txt"), "nothing").unwrap();
    std::fs::write(dir.path().join("notes.md"), "PERSON").unwrap();
    let ids: Vec<String> = read_corpus(dir.path())
        .unwrap()
        .map(|t| t.unwrap().id)
        .collect();
    assert_eq!(ids, vec!["a.txt", "b.txt"]);
    let report = diff_policies(
        &hipaa_with("local"),
        &hipaa_with("redact"),
        read_corpus(dir.path()).unwrap(),
        literal_types,
    )
    .unwrap();
    assert_eq!(report.changes.len(), 1);
    assert_eq!(report.changes[0].id, "b.txt");
    assert_eq!(report.changes[0].new.redact_types, vec!["PERSON"]);
}

#[test]
fn corpus_errors_name_the_line_but_never_the_text() {
    let dir = tempfile::tempdir().unwrap();
    let canary = "Canary Patient 078-05-1120";
    for bad in [
        format!(r#"{{"id": "x", "text": "{canary}""#),
        format!(r#"{{"text": "{canary}"}}"#),
        format!(r#"{{"id": "x", "body": "{canary}"}}"#),
        format!(r#"["{canary}"]"#),
    ] {
        let corpus = jsonl(dir.path(), &[r#"{"id": "ok", "text": "fine"}"#, &bad]);
        let results: Vec<_> = read_corpus(&corpus).unwrap().collect();
        assert!(results[0].is_ok());
        let err = results[1].as_ref().unwrap_err();
        assert!(matches!(err, CorpusError::Jsonl { line: 2, .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("corpus.jsonl:2: "), "{msg}");
        assert!(
            !msg.contains("078-05-1120") && !msg.contains("Canary"),
            "{msg}"
        );
    }
    std::fs::write(
        dir.path().join("bin.jsonl"),
        b"{\"id\":1,\"text\":\"\xff\"}\n",
    )
    .unwrap();
    let err = read_corpus(&dir.path().join("bin.jsonl"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}:1: not valid UTF-8",
            dir.path().join("bin.jsonl").display()
        )
    );
    assert!(read_corpus(&dir.path().join("missing.jsonl")).is_err());
}

#[test]
fn check_prints_ok_lines_and_fails_on_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("policies/soc2.toml");
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "name = \"bad\"\ndescription = \"x\"\ndefault = \"alow\"\n",
    )
    .unwrap();
    let mut out = Vec::new();
    assert!(sluice::cli::policy::check(std::slice::from_ref(&good), &mut out).unwrap());
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("soc2.toml: ok (soc2 "), "{text}");
    let mut out = Vec::new();
    assert!(!sluice::cli::policy::check(&[good, bad], &mut out).unwrap());
}

#[test]
fn test_command_reports_each_case_with_its_diff() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.toml");
    std::fs::write(
        &path,
        "name = \"t\"\ndescription = \"x\"\ndefault = \"allow\"\n\
         [[rule]]\nid = \"names\"\nmatch = [\"PERSON\"]\naction = \"local\"\nreason = \"x\"\n\
         [[test]]\nname = \"passes\"\nentities = [\"PERSON\"]\nexpect = \"local\"\n\
         [[test]]\nname = \"fails\"\nentities = [\"PERSON\"]\nexpect = \"allow\"\nexpect_rules = [\"names\"]\n",
    )
    .unwrap();
    let detect = sluice::cli::policy::DetectArgs {
        rules: Some(dir.path().join("no-rules-needed")),
        no_ner: true,
    };
    let mut out = Vec::new();
    let ok = sluice::cli::policy::test(&[path], &detect, None, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(!ok);
    assert!(text.contains("  ok    passes [entities, line 9]"), "{text}");
    assert!(text.contains("  FAIL  fails [entities, line 13]\n        - expected allow, got local\n        fired: names [local] PERSON×1"), "{text}");
    assert!(text.ends_with("1 passed, 1 failed\n"), "{text}");
}
