//! The format documented in audit/README.md is the format written: the README's own Python
//! verifier accepts a real (rotated) log and rejects a tampered one, and its OpenSSL recipe checks
//! a real checkpoint signature. This keeps the document a reviewer relies on honest.

mod audit_support;

use std::fs;
use std::path::Path;
use std::process::Command;

use audit_support::*;
use sluice::audit::keys::load_verifying_key;
use sluice::audit::verify::{verify_log, VerifyOptions};
use sluice::audit::{AuditConfig, AuditLog};

/// The fenced code block that follows `<!-- tested: NAME -->` in audit/README.md.
fn readme_block(name: &str) -> String {
    let readme =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("audit/README.md")).unwrap();
    let marker = format!("<!-- tested: {name} -->");
    let after = &readme[readme
        .find(&marker)
        .unwrap_or_else(|| panic!("no {marker}"))
        + marker.len()..];
    let start = after.find("```").unwrap();
    let body = &after[start..];
    let body = &body[body.find('\n').unwrap() + 1..];
    body[..body.find("```").unwrap()].to_string()
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn the_readme_python_verifier_agrees_with_sluice() {
    let f = Fixture::new();
    let log = AuditLog::open(&AuditConfig {
        rotate_bytes: 4096,
        checkpoint_every_records: 9,
        ..f.config()
    })
    .unwrap();
    append_decisions(&log, 40, "py");
    shutdown(&log);
    let options = VerifyOptions {
        trusted_keys: vec![load_verifying_key(&f.public_key).unwrap()],
        anchors: vec![],
    };
    let summary = verify_log(&f.dir, &options).unwrap();
    assert!(summary.files > 2);
    let script = f.root.path().join("verify_chain.py");
    fs::write(&script, readme_block("verify_chain")).unwrap();

    let (ok, out) = run(Command::new("python3").arg(&script).arg(&f.dir));
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!(
            "OK: {} records, head {}",
            summary.records, summary.head
        )),
        "{out}"
    );

    let path = f.file(2);
    let mut lines = read_lines(&path);
    lines[2] = lines[2].replacen("\\\"demo\\\"", "\\\"dem0\\\"", 1);
    write_lines(&path, &lines);
    let (ok, out) = run(Command::new("python3").arg(&script).arg(&f.dir));
    assert!(!ok, "{out}");
    assert!(
        out.contains("log-000002.jsonl:3: hash does not match"),
        "{out}"
    );
}

#[test]
fn the_readme_openssl_recipe_checks_a_checkpoint_signature() {
    let f = Fixture::new();
    let log = AuditLog::open(&f.config()).unwrap();
    append_decisions(&log, 3, "ssl");
    shutdown(&log);
    let work = f.root.path().join("work");
    fs::create_dir_all(work.join(".sluice")).unwrap();
    fs::copy(&f.public_key, work.join(".sluice/audit-signing.pub.pem")).unwrap();
    fs::write(
        work.join("checkpoint_message.py"),
        readme_block("checkpoint_message"),
    )
    .unwrap();
    let anchors = f.dir.join("anchors.jsonl");

    let (ok, out) = run(Command::new("python3")
        .current_dir(&work)
        .arg("checkpoint_message.py")
        .arg(&anchors));
    assert!(ok, "{out}");
    let openssl = readme_block("openssl_verify");
    let (ok, out) = run(Command::new("sh")
        .current_dir(&work)
        .arg("-c")
        .arg(&openssl));
    assert!(
        ok && out.contains("Signature Verified Successfully"),
        "{out}"
    );

    let message = fs::read_to_string(work.join("msg.bin")).unwrap();
    fs::write(work.join("msg.bin"), message.replace("seq=", "seq=1")).unwrap();
    let (ok, out) = run(Command::new("sh")
        .current_dir(&work)
        .arg("-c")
        .arg(&openssl));
    assert!(!ok, "a changed message must not verify: {out}");
}
