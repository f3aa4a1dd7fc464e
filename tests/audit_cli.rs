//! `sluice audit show|stats|report|verify|keygen` on a log with known contents: filters select
//! exactly the right records, counts add up, the report finds the one PHI request that reached a
//! cloud model, a tampered log exits 1, and keygen refuses to overwrite.

mod audit_support;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use audit_support::*;
use clap::Parser;
use sluice::audit::{Action, AuditLog, BackendRef};
use sluice::cli::audit::{execute, AuditArgs};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: AuditArgs,
}

/// Runs `sluice audit ARGS...`; returns the exit code's debug form and the output.
fn audit(args: &[&str]) -> (String, String) {
    let cli =
        Cli::try_parse_from(std::iter::once("sluice-audit").chain(args.iter().copied())).unwrap();
    let mut out = Vec::new();
    let code = execute(cli.args, &mut out).unwrap();
    (format!("{code:?}"), String::from_utf8(out).unwrap())
}

/// The error of a command that fails as a command (exit code 2).
fn audit_error(args: &[&str]) -> String {
    let cli =
        Cli::try_parse_from(std::iter::once("sluice-audit").chain(args.iter().copied())).unwrap();
    execute(cli.args, &mut Vec::new()).unwrap_err().to_string()
}

fn ok() -> String {
    format!("{:?}", std::process::ExitCode::SUCCESS)
}

/// Day 1: three PHI requests kept local (with outcomes), two cleared ones, one blocked secret.
/// Day 2: one PHI request allowed to a cloud model, one redacted to it.
fn build() -> Fixture {
    let f = Fixture::new();
    let clock = TestClock::at(day(2025, 6, 1, 9, 0, 0));
    let log = AuditLog::open_with_clock(&f.config(), clock.clone()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let llama = BackendRef {
        name: "llama".into(),
        on_premise: true,
    };
    let openai = BackendRef {
        name: "openai".into(),
        on_premise: false,
    };
    rt.block_on(async {
        let fp = log.fingerprinter().clone();
        for i in 0..3 {
            let id = format!("phi-{i}");
            log.append(decision(&fp, &id, "clinic", Action::Local, true))
                .await
                .unwrap();
            log.append(outcome(&id, Some(llama.clone()))).await.unwrap();
        }
        for i in 0..2 {
            let id = format!("clear-{i}");
            log.append(decision(&fp, &id, "billing", Action::Allow, false))
                .await
                .unwrap();
            log.append(outcome(&id, Some(openai.clone())))
                .await
                .unwrap();
        }
        log.append(decision(&fp, "secret-0", "billing", Action::Block, false))
            .await
            .unwrap();
        clock.set(day(2025, 6, 2, 9, 0, 0));
        log.append(decision(&fp, "leak-0", "clinic", Action::Allow, true))
            .await
            .unwrap();
        log.append(outcome("leak-0", Some(openai.clone())))
            .await
            .unwrap();
        log.append(decision(&fp, "masked-0", "clinic", Action::Redact, true))
            .await
            .unwrap();
        log.append(outcome("masked-0", Some(openai.clone())))
            .await
            .unwrap();
        log.shutdown().await.unwrap();
    });
    f
}

fn dir(f: &Fixture) -> &str {
    f.dir.to_str().unwrap()
}

#[test]
fn show_filters_select_decisions_and_their_outcomes() {
    let f = build();
    let (code, out) = audit(&["show", dir(&f), "--action", "local", "--format", "csv"]);
    assert_eq!(code, ok());
    let rows: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(rows.len(), 6, "{out}");
    assert!(rows.iter().all(|r| r.contains(",phi-")), "{out}");
    assert_eq!(rows.iter().filter(|r| r.contains(",outcome,")).count(), 3);

    let (_, out) = audit(&[
        "show",
        dir(&f),
        "--entity",
        "us_ssn",
        "--kind",
        "decision",
        "--format",
        "json",
    ]);
    let ids: Vec<String> = out
        .lines()
        .map(|l| parse(l)["body"]["request_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["phi-0", "phi-1", "phi-2", "leak-0", "masked-0"]);

    let (_, out) = audit(&[
        "show",
        dir(&f),
        "--since",
        "2025-06-02",
        "--kind",
        "decision",
        "--format",
        "json",
    ]);
    assert_eq!(out.lines().count(), 2, "{out}");
    let (_, out) = audit(&[
        "show",
        dir(&f),
        "--until",
        "2025-06-01",
        "--client",
        "billing",
        "--kind",
        "decision",
        "--format",
        "json",
    ]);
    assert_eq!(
        out.lines().count(),
        3,
        "--until with a date includes that day: {out}"
    );
    let (_, out) = audit(&[
        "show",
        dir(&f),
        "--rule",
        "api-key-rule",
        "--format",
        "json",
    ]);
    assert_eq!(out.lines().count(), 1, "{out}");
    let (_, out) = audit(&["show", dir(&f), "--limit", "4"]);
    assert_eq!(out.lines().count(), 5, "header and four rows: {out}");
}

#[test]
fn stats_count_by_day_action_client_and_entity() {
    let f = build();
    let (code, out) = audit(&["stats", dir(&f), "--format", "json"]);
    assert_eq!(code, ok());
    let s = parse(&out);
    assert_eq!(s["decisions"]["total"], 8);
    assert_eq!(s["decisions"]["local"], 3);
    assert_eq!(s["by_day"]["2025-06-01"]["total"], 6);
    assert_eq!(s["by_day"]["2025-06-02"]["total"], 2);
    assert_eq!(s["by_client"]["clinic"]["total"], 5);
    assert_eq!(s["by_client"]["billing"]["block"], 1);
    assert_eq!(s["by_entity"]["US_SSN"]["requests"], 5);
    assert_eq!(s["by_entity"]["API_KEY"]["occurrences"], 1);
    assert_eq!(s["outcomes_by_status"]["200"], 7);
    let (_, table) = audit(&["stats", dir(&f)]);
    assert!(
        table.contains("decisions: 8 (allow 3, redact 1, local 3, block 1)"),
        "{table}"
    );
}

#[test]
fn report_summarizes_phi_and_the_chain() {
    let f = build();
    let pubkey = f.public_key.to_str().unwrap();
    let (code, out) = audit(&[
        "report",
        dir(&f),
        "--until",
        "2025-06-01",
        "--pubkey",
        pubkey,
    ]);
    assert_eq!(code, ok(), "{out}");
    assert!(
        out.contains("Requests: 6 (allow 2, redact 0, local 3, block 1)"),
        "{out}"
    );
    assert!(
        out.contains("Requests with PHI: 3\n  served on-premise: 3"),
        "{out}"
    );
    assert!(
        out.contains("=> 0 PHI requests reached a cloud model unredacted"),
        "{out}"
    );
    assert!(out.contains("Chain: verified"), "{out}");
    assert!(out.contains("(trusted key)"), "{out}");
    assert!(
        out.find("Chain: verified").unwrap() < out.find("Requests").unwrap(),
        "{out}"
    );
    let (code, csv) = audit(&[
        "report",
        dir(&f),
        "--until",
        "2025-06-01",
        "--pubkey",
        pubkey,
        "--format",
        "csv",
    ]);
    assert_eq!(code, ok(), "{csv}");
    assert!(csv.is_ascii());
    assert!(csv.starts_with("field,value\nverification."), "{csv}");
    assert!(
        csv.contains("phi_requests.unredacted_to_cloud,0\n"),
        "{csv}"
    );

    let (_, out) = audit(&["report", dir(&f), "--pubkey", pubkey]);
    assert!(out.contains("Requests with PHI: 5"), "{out}");
    assert!(
        out.contains("redacted, then sent to a cloud model: 1"),
        "{out}"
    );
    assert!(
        out.contains("ATTENTION: 1 PHI request(s) reached a cloud model unredacted"),
        "{out}"
    );
}

#[test]
fn verify_exits_1_with_the_location_of_a_tamper() {
    let f = build();
    let (code, out) = audit(&[
        "verify",
        dir(&f),
        "--pubkey",
        f.public_key.to_str().unwrap(),
    ]);
    assert_eq!(code, ok(), "{out}");
    assert!(out.starts_with("OK: "), "{out}");
    let path = f.file(1);
    let mut lines = read_lines(&path);
    let i = lines.iter().position(|l| l.contains("clinic")).unwrap();
    lines[i] = lines[i].replacen("clinic", "clinlc", 1);
    write_lines(&path, &lines);
    let (code, out) = audit(&["verify", dir(&f)]);
    assert_eq!(code, format!("{:?}", std::process::ExitCode::from(1)));
    assert!(
        out.starts_with(&format!("FAIL: {}:{} (seq {i})", path.display(), i + 1)),
        "{out}"
    );
    let (code, out) = audit(&["report", dir(&f)]);
    assert_ne!(code, ok());
    let failure = out
        .find("VERIFICATION FAILED")
        .expect("the failure is reported");
    assert!(
        failure < out.find("Requests").unwrap(),
        "the verification result leads: {out}"
    );
    assert!(
        !out.contains("0 PHI requests reached a cloud model unredacted"),
        "no conclusion from a tampered log: {out}"
    );
    assert!(out.contains("no conclusion"), "{out}");
    for format in ["json", "csv"] {
        let (code, out) = audit(&["report", dir(&f), "--format", format]);
        assert_ne!(code, ok());
        assert!(out.contains("failed"), "{format}: {out}");
        assert!(out.is_ascii() || format == "json", "{format}: {out}");
    }
    let (_, json) = audit(&["report", dir(&f), "--format", "json"]);
    assert!(json.starts_with("{\n  \"verification\""), "{json}");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["verification"]["status"], "failed");
}

#[test]
fn an_unknown_entity_type_is_an_error_that_suggests_one() {
    let f = build();
    for (asked, meant) in [
        ("SSN", "US_SSN"),
        ("us_snn", "US_SSN"),
        ("EMAIL_ADRESS", "EMAIL_ADDRESS"),
    ] {
        let error = audit_error(&["show", dir(&f), "--entity", asked]);
        assert!(
            error.contains(&format!("did you mean {meant}?")),
            "{asked}: {error}"
        );
    }
    let (code, out) = audit(&["show", dir(&f), "--entity", "us_ssn", "--format", "csv"]);
    assert_eq!(code, ok(), "{out}");
    assert!(out.lines().count() > 1, "lower case is accepted: {out}");
    assert!(out.is_ascii(), "{out}");
    assert!(out.contains("US_SSN:"), "{out}");
}

#[test]
fn keygen_creates_private_keys_0600_and_never_overwrites() {
    let root = tempfile::tempdir().unwrap();
    let p = |name: &str| root.path().join(name).to_str().unwrap().to_string();
    let args = [
        "keygen",
        "--signing-key",
        &p("k/s.pem"),
        "--public-key",
        &p("k/s.pub.pem"),
        "--fingerprint-key",
        &p("k/f.key"),
    ];
    let (code, out) = audit(&args);
    assert_eq!(code, ok(), "{out}");
    for private in ["k/s.pem", "k/f.key"] {
        assert_eq!(
            fs::metadata(root.path().join(private))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }
    let before = fs::read(root.path().join("k/s.pem")).unwrap();
    let cli =
        Cli::try_parse_from(std::iter::once("sluice-audit").chain(args.iter().copied())).unwrap();
    let err = execute(cli.args, &mut Vec::new()).unwrap_err().to_string();
    assert!(err.contains("refusing to overwrite"), "{err}");
    fs::remove_file(root.path().join("k/s.pub.pem")).unwrap();
    let mut again = args.to_vec();
    again.push("--if-missing");
    let (code, out) = audit(&again);
    assert_eq!(code, ok(), "{out}");
    assert!(out.contains("exists, kept"), "{out}");
    assert_eq!(fs::read(root.path().join("k/s.pem")).unwrap(), before);
    assert!(root.path().join("k/s.pub.pem").exists());
}

#[test]
fn verify_takes_several_replicas_logs_and_reports_each_chain() {
    let (a, b, c) = (build(), build(), build());
    let anchors = |f: &Fixture| f.dir.join("anchors.jsonl");
    let (code, out) = audit(&[
        "verify",
        dir(&a),
        dir(&b),
        "--anchor",
        anchors(&a).to_str().unwrap(),
        "--anchor",
        anchors(&b).to_str().unwrap(),
    ]);
    assert_eq!(code, ok(), "{out}");
    assert!(out.contains(&format!("== {} ==", a.dir.display())), "{out}");
    assert_eq!(out.matches("OK: ").count(), 2, "{out}");
    assert!(out.contains("2 log(s): 2 verified, 0 failure(s)"), "{out}");

    // An anchor of a replica whose log is not given: that log is missing.
    let (code, out) = audit(&[
        "verify",
        dir(&a),
        dir(&b),
        "--anchor",
        anchors(&c).to_str().unwrap(),
    ]);
    assert_ne!(code, ok());
    assert!(out.contains("none of the logs given"), "{out}");

    // One replica's log altered: that chain fails, the other still verifies.
    let path = b.file(1);
    let mut lines = read_lines(&path);
    let i = lines.iter().position(|l| l.contains("clinic")).unwrap();
    lines[i] = lines[i].replacen("clinic", "clinlc", 1);
    write_lines(&path, &lines);
    let (code, out) = audit(&["verify", dir(&a), dir(&b)]);
    assert_ne!(code, ok());
    assert_eq!(out.matches("OK: ").count(), 1, "{out}");
    assert!(out.contains(&format!("FAIL: {}", path.display())), "{out}");
    assert!(out.contains("2 log(s): 1 verified, 1 failure(s)"), "{out}");
}
