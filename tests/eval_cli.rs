//! `sluice eval`: the gate fails on a regression and says which figure moved; a broken corpus
//! line is named by file and line; nothing of the corpus text reaches the output.

use std::path::Path;
use std::process::{Command, Output};

const CANARY: &str = "Quentin Zabriskie-Vollmar";

fn corpus() -> String {
    [
        format!("{{\"id\":\"r1\",\"kind\":\"chat\",\"template\":\"chat/a\",\"text\":\"Mail {CANARY} at qz.vollmar@gmail.com or call 212-555-0143.\",\"spans\":[{{\"start\":5,\"end\":30,\"type\":\"PERSON\"}},{{\"start\":34,\"end\":54,\"type\":\"EMAIL_ADDRESS\"}},{{\"start\":63,\"end\":75,\"type\":\"PHONE_NUMBER\"}}],\"cleared\":false}}"),
        "{\"id\":\"r2\",\"kind\":\"cleared\",\"template\":\"cleared/sw/a\",\"text\":\"Is Redis 7.2.4 faster than 6.0?\",\"spans\":[],\"cleared\":true}".to_string(),
    ]
    .join("\n")
}

fn eval(dir: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["eval", "--no-ner", "--corpus"])
        .arg(dir.join("corpus.jsonl"))
        .arg("--baseline")
        .arg(dir.join("baseline.json"))
        .args(extra)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn the_gate_passes_on_its_own_figures_and_fails_when_they_were_better() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("corpus.jsonl"), corpus()).unwrap();
    let json = dir.path().join("report.json");
    let out = eval(
        dir.path(),
        &["--write-baseline", "--json-out", json.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(json.exists());

    let out = eval(dir.path(), &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("no regression"), "{}", text(&out));

    // Pretend the recorded run found every character and had no false alarm: today's run is a
    // regression on recall, and a false alarm rate of 0 cannot fall, so only recall is named.
    let path = dir.path().join("baseline.json");
    let mut baseline: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    baseline["figures"]["char_recall"] = 1.0.into();
    baseline["figures"]["types"]["PERSON"]["char_recall"] = 1.0.into();
    std::fs::write(&path, baseline.to_string()).unwrap();
    let out = eval(dir.path(), &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("- character recall fell from 100.00% to"),
        "{all}"
    );
    assert!(
        all.contains("- PERSON character recall fell from 100.00% to"),
        "{all}"
    );
    assert!(!all.contains(CANARY) && !all.contains("vollmar"), "{all}");
    assert!(!std::fs::read_to_string(&json).unwrap().contains("ollmar"));
}

#[test]
fn a_malformed_line_is_named_by_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = format!("{}\n{{\"id\":\"r3\",\"text\":\"{CANARY}\"}}\n", corpus());
    std::fs::write(dir.path().join("corpus.jsonl"), bad).unwrap();
    let out = eval(dir.path(), &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("corpus.jsonl:3: not a corpus record"), "{all}");
    assert!(!all.contains(CANARY), "{all}");
}
