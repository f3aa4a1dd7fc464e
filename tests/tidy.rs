//! Architecture rules that the compiler does not check (ARCHITECTURE.md, "Layering"): the
//! detection, policy, redaction and audit layers, the wire formats and the API translations
//! (`openai`, `dialect`) and the backends never reach into the HTTP server, so each can be used,
//! tested and benchmarked without it; the translations do not even know the HTTP framework; and
//! the compliance console reads the audit log only: it never reaches into the gateway, the
//! detectors, the policy engine or the backends, so what it shows is what the log says.

use std::path::{Path, PathBuf};

/// Layers that must not depend on `server`.
const SERVER_FREE: &[&str] = &[
    "src/detect",
    "src/policy",
    "src/redact",
    "src/audit",
    "src/openai",
    "src/dialect",
    "src/backend",
    "src/route",
    "src/quota",
];

/// Layers that must not use the HTTP framework either.
const FRAMEWORK_FREE: &[&str] = &["src/openai", "src/dialect"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every line of the Rust files under `layers` that mentions one of `needles`, as `file:line: text`.
fn lines_mentioning(layers: &[&str], needles: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut offences = Vec::new();
    for layer in layers {
        let mut files = Vec::new();
        rust_files(&root.join(layer), &mut files);
        assert!(
            !files.is_empty(),
            "{layer} has no Rust files: update this test"
        );
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                if needles.iter().any(|needle| line.contains(needle)) {
                    offences.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    offences
}

#[test]
fn the_layers_below_the_server_never_import_it() {
    let offences = lines_mentioning(SERVER_FREE, &["crate::server", "sluice::server"]);
    assert!(
        offences.is_empty(),
        "these layers must not use the HTTP server:\n{}",
        offences.join("\n")
    );
}

#[test]
fn wire_formats_and_translations_never_use_the_http_framework() {
    let offences = lines_mentioning(FRAMEWORK_FREE, &["actix_web", "reqwest"]);
    assert!(
        offences.is_empty(),
        "wire formats and API translations are pure:\n{}",
        offences.join("\n")
    );
}

#[test]
fn the_console_reads_the_audit_log_only() {
    let offences = lines_mentioning(
        &["src/console"],
        &[
            "crate::server",
            "crate::detect",
            "crate::policy",
            "crate::backend",
            "crate::redact",
        ],
    );
    assert!(
        offences.is_empty(),
        "the console may use the audit log, not the gateway's other layers:\n{}",
        offences.join("\n")
    );
}
