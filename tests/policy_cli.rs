//! The `sluice policy` binary: exit codes and messages a person (or CI) acts on.

use std::process::Command;

fn sluice() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sluice"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

#[test]
fn check_passes_on_the_shipped_policies() {
    let out = sluice().args(["policy", "check"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in ["hipaa", "soc2", "pci", "gdpr"] {
        assert!(
            stdout.contains(&format!("policies/{name}.toml: ok ({name} ")),
            "{stdout}"
        );
    }
}

#[test]
fn check_fails_with_file_line_column() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "name = \"bad\"\ndescription = \"x\"\ndefault = \"alow\"\n",
    )
    .unwrap();
    let out = sluice()
        .args(["policy", "check"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{}:3:11: error: `default`: unknown action `alow` (did you mean `allow`?)",
            bad.display()
        )),
        "{stderr}"
    );
}

#[test]
fn explain_names_the_available_policies() {
    let out = sluice()
        .args(["policy", "explain", "-p", "hipa", "some text"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no policy `hipa` in policies (did you mean `hipaa`?); available: gdpr, hipaa, pci, soc2"), "{stderr}");
}
