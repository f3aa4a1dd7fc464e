//! `--config sluice.toml` from any working directory: relative paths in the file are relative to
//! the file, so every `sluice audit` and `sluice policy` command finds the log, the keys, the rule
//! packs, the NER model and the policies wherever it is run from.

use std::path::Path;
use std::process::{Command, Output};

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// A deployment directory whose sluice.toml uses only relative paths; the repository's rules,
/// models and policies are linked into it.
fn deployment(root: &Path) -> std::path::PathBuf {
    let conf = root.join("etc-sluice");
    std::fs::create_dir_all(&conf).unwrap();
    for name in ["rules", "models", "policies"] {
        std::os::unix::fs::symlink(Path::new(REPO).join(name), conf.join(name)).unwrap();
    }
    std::fs::write(
        conf.join("sluice.toml"),
        r#"
[detect]
rules = "rules"
ner_model_dir = "models/rampart"
onnxruntime = "models/onnxruntime/libonnxruntime.so.1.31.1"

[policies]
dir = "policies"

[audit]
dir = "audit-log"
signing_key = "keys/signing.pem"
public_key = "keys/signing.pub.pem"
fingerprint_key = "keys/fingerprint.key"

[backends.local]
kind = "llama"
model = "models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"

[routing]
local = "local"

[[routing.rules]]
name = "hinted-local"
when = { task = ["classify"] }
to = "local"
"#,
    )
    .unwrap();
    conf.join("sluice.toml")
}

/// Runs sluice from `cwd`.
fn sluice(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .current_dir(cwd)
        .args(args)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn audit_and_policy_commands_find_everything_from_the_config_file() {
    let root = tempfile::tempdir().unwrap();
    let config = deployment(root.path());
    let config = config.to_str().unwrap();
    let elsewhere = root.path().join("somewhere-else");
    std::fs::create_dir_all(&elsewhere).unwrap();

    let out = sluice(&elsewhere, &["audit", "keygen", "--config", config]);
    assert!(out.status.success(), "{}", text(&out));
    let conf = root.path().join("etc-sluice");
    assert!(conf.join("keys/signing.pem").is_file());
    assert!(conf.join("keys/signing.pub.pem").is_file());
    assert!(!elsewhere.join("keys").exists() && !elsewhere.join(".sluice").exists());

    // A log written where the configuration says (resolved from the file, not the cwd).
    let loaded = sluice::config::Config::load(Path::new(config)).unwrap();
    assert_eq!(loaded.audit.dir, conf.join("audit-log"));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let log = sluice::audit::AuditLog::open(&loaded.audit).unwrap();
        log.shutdown().await.unwrap();
    });

    // verify trusts the configured public key and checks the configured anchors file.
    let out = sluice(&elsewhere, &["audit", "verify", "--config", config]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("trusted"), "{}", text(&out));
    for command in [
        &["audit", "show", "--config", config][..],
        &["audit", "stats", "--config", config],
        &["audit", "report", "--config", config],
        &["audit", "--config", config, "report", "--format", "json"],
    ] {
        let out = sluice(&elsewhere, command);
        assert!(out.status.success(), "{command:?}: {}", text(&out));
    }
    // Without it, the error names the directory looked for and the flag that fixes it.
    let out = sluice(&elsewhere, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--config"), "{}", text(&out));

    let out = sluice(&elsewhere, &["policy", "check", "--config", config]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("{}/policies/hipaa.toml: ok", conf.display())),
        "{}",
        text(&out)
    );
    // The NER model is found through the configuration too (PERSON comes only from it here:
    // the name is in no dictionary).
    let out = sluice(
        &elsewhere,
        &[
            "policy",
            "explain",
            "--config",
            config,
            "-p",
            "hipaa",
            "--json",
            "Zebulon Quillfeather was seen at the clinic for diabetes.",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["route"]["consulted"], false,
        "PHI: rules are not consulted"
    );
    assert!(
        json["entities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["entity_type"] == "PERSON"),
        "{json}"
    );
}

#[test]
fn policy_explain_shows_the_task_rule_a_cleared_text_would_take() {
    let root = tempfile::tempdir().unwrap();
    let config = deployment(root.path());
    let out = sluice(
        root.path(),
        &[
            "policy",
            "explain",
            "--config",
            config.to_str().unwrap(),
            "-p",
            "hipaa",
            "--task",
            "Classify",
            "Which language is this sentence written in?",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("route: task rule hinted-local -> backend local"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_missing_model_behind_a_relative_path_says_where_it_looked() {
    let root = tempfile::tempdir().unwrap();
    let out = sluice(
        root.path(),
        &[
            "policy",
            "explain",
            "-p",
            &format!("{REPO}/policies/hipaa.toml"),
            "--rules",
            &format!("{REPO}/rules"),
            "some text",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("looked up from") && said.contains("--config"),
        "{said}"
    );
}
