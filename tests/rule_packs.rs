//! The shipped rule packs against their example files, plus robustness of the regex detector on
//! arbitrary and hostile input.
//!
//! For every `rules/<pack>.toml` there must be a `rules/examples/<pack>.toml`; each positive example
//! must be reported (at the default min_score, after merging) with exactly the expected type and
//! span, each negative must not be, and every rule of the pack must be exercised by a positive.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use proptest::prelude::*;
use serde::Deserialize;
use sluice::detect::catalog;
use sluice::detect::merge::{merge, MergeOptions};
use sluice::detect::regex::RegexDetector;
use sluice::detect::rules;
use sluice::detect::{Detector, Finding};

/// The default `min_score` of `[detect]`: what "reported" means in the examples.
const MIN_SCORE: f32 = 0.5;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Examples {
    #[serde(default)]
    positive: Vec<Positive>,
    #[serde(default)]
    negative: Vec<Negative>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Positive {
    text: String,
    entity: String,
    value: String,
    rule: Option<String>,
    validated: Option<bool>,
    context: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Negative {
    text: String,
    entity: Option<String>,
}

fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")
}

/// The detector as the pipeline builds it: thresholds known, so by-context rules are gated.
fn detector() -> &'static RegexDetector {
    static DETECTOR: OnceLock<RegexDetector> = OnceLock::new();
    DETECTOR.get_or_init(|| {
        RegexDetector::load(&rules_dir())
            .and_then(|d| d.with_thresholds(MIN_SCORE, &Default::default()))
            .expect("shipped rule packs load")
    })
}

/// The detector without thresholds: every finding, whatever its score, nothing gated.
fn ungated_detector() -> &'static RegexDetector {
    static DETECTOR: OnceLock<RegexDetector> = OnceLock::new();
    DETECTOR.get_or_init(|| RegexDetector::load(&rules_dir()).expect("shipped rule packs load"))
}

/// Findings at or above the threshold, as comparable tuples.
fn reported(findings: Vec<Finding>) -> Vec<(String, usize, usize, String)> {
    let mut v: Vec<_> = findings
        .into_iter()
        .filter(|f| f.score >= MIN_SCORE)
        .map(|f| (f.entity_type, f.start, f.end, f.rule_id))
        .collect();
    v.sort();
    v
}

/// Gating by-context rules on their context words is only an optimisation: the thresholded
/// detector must report exactly what the ungated one reports at or above the threshold.
fn assert_gating_is_invisible(text: &str) {
    let gated = reported(detector().detect(text).unwrap());
    let all = reported(ungated_detector().detect(text).unwrap());
    assert_eq!(
        gated,
        all,
        "in {:?}",
        text.chars().take(200).collect::<String>()
    );
}

fn describe(text: &str, findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| {
            format!(
                "{} {:?} {:.2} ({})",
                f.entity_type,
                &text[f.start..f.end],
                f.score,
                f.rule_id
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Checks one positive example; returns the rule ids that produced it, or what went wrong.
fn check_positive(p: &Positive) -> Result<BTreeSet<String>, String> {
    let start = p
        .text
        .find(&p.value)
        .ok_or_else(|| format!("value {:?} is not in the text", p.value))?;
    let end = start + p.value.len();
    let raw = detector().detect(&p.text).map_err(|e| e.to_string())?;
    let exact: Vec<&Finding> = raw
        .iter()
        .filter(|f| {
            f.entity_type == p.entity && (f.start, f.end) == (start, end) && f.score >= MIN_SCORE
        })
        .collect();
    let opts = MergeOptions {
        min_score: MIN_SCORE,
        ..MergeOptions::default()
    };
    let merged = merge(&p.text, raw.clone(), &opts);
    let reported = merged
        .iter()
        .any(|f| f.entity_type == p.entity && (f.start, f.end) == (start, end));
    if exact.is_empty() || !reported {
        return Err(format!(
            "expected {} {:?}; raw: [{}]; merged: [{}]",
            p.entity,
            p.value,
            describe(&p.text, &raw),
            describe(&p.text, &merged)
        ));
    }
    let picked = match &p.rule {
        Some(rule) => *exact
            .iter()
            .find(|f| &f.rule_id == rule)
            .ok_or_else(|| format!("expected rule {rule}; found [{}]", describe(&p.text, &raw)))?,
        None => *exact
            .iter()
            .max_by(|a, b| a.score.total_cmp(&b.score))
            .expect("non-empty"),
    };
    if let Some(v) = p.validated {
        if picked.validated != v {
            return Err(format!(
                "expected validated = {v} from rule {}",
                picked.rule_id
            ));
        }
    }
    if let Some(words) = &p.context {
        if let Some(missing) = words.iter().find(|w| !picked.context.contains(w)) {
            return Err(format!(
                "expected context word {missing:?}; found {:?}",
                picked.context
            ));
        }
    }
    Ok(exact.iter().map(|f| f.rule_id.clone()).collect())
}

fn check_negative(n: &Negative) -> Result<(), String> {
    let raw = detector().detect(&n.text).map_err(|e| e.to_string())?;
    let bad: Vec<Finding> = raw
        .into_iter()
        .filter(|f| f.score >= MIN_SCORE && n.entity.as_ref().is_none_or(|e| &f.entity_type == e))
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(format!("unexpected [{}]", describe(&n.text, &bad)))
    }
}

#[test]
fn every_pack_passes_its_examples_and_every_rule_has_one() {
    let dir = rules_dir();
    let all_rules = rules::load_dir(&dir).expect("packs load");
    let mut packs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
        .collect();
    packs.sort();
    assert!(
        packs.len() >= 3,
        "expected the identifiers, health and secrets packs, found {packs:?}"
    );

    let mut failures = Vec::new();
    let mut checked = 0;
    for pack in &packs {
        let stem = pack.file_stem().unwrap().to_string_lossy().into_owned();
        let examples_path = dir.join("examples").join(format!("{stem}.toml"));
        let text = std::fs::read_to_string(&examples_path).unwrap_or_else(|e| {
            panic!(
                "{}: every pack needs an examples file: {e}",
                examples_path.display()
            )
        });
        let examples: Examples =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", examples_path.display()));

        let mut covered = BTreeSet::new();
        for (i, p) in examples.positive.iter().enumerate() {
            checked += 1;
            assert_gating_is_invisible(&p.text);
            match check_positive(p) {
                Ok(rules) => covered.extend(rules),
                Err(why) => {
                    failures.push(format!("{stem} positive #{} {:?}: {why}", i + 1, p.text))
                }
            }
        }
        for (i, n) in examples.negative.iter().enumerate() {
            checked += 1;
            assert_gating_is_invisible(&n.text);
            if let Err(why) = check_negative(n) {
                failures.push(format!("{stem} negative #{} {:?}: {why}", i + 1, n.text));
            }
        }
        let pack_prefix = format!("{}:", pack.display());
        let pack_rules: BTreeSet<&str> = all_rules
            .iter()
            .filter(|r| r.origin.starts_with(&pack_prefix))
            .map(|r| r.id.as_str())
            .collect();
        assert!(!pack_rules.is_empty(), "{stem}: no rules");
        for rule in pack_rules {
            if !covered.contains(rule) {
                failures.push(format!(
                    "{stem}: rule {rule} has no passing positive example"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} examples failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// All example texts of all packs run together (so context windows reach across examples), in a
/// few different orders and spacings.
#[test]
fn gating_is_invisible_on_the_examples_run_together() {
    let dir = rules_dir().join("examples");
    let mut texts = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        let examples: Examples = toml::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        texts.extend(examples.positive.into_iter().map(|p| p.text));
        texts.extend(examples.negative.into_iter().map(|n| n.text));
    }
    for (round, gap) in [" ", " and then ", "\n", " lorem ipsum dolor sit amet 42 "]
        .iter()
        .enumerate()
    {
        let mut order: Vec<usize> = (0..texts.len()).collect();
        let mut x = 2_654_435_761usize.wrapping_mul(round + 1);
        for i in (1..order.len()).rev() {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            order.swap(i, (x >> 33) % (i + 1));
        }
        let joined = order
            .iter()
            .map(|&i| texts[i].as_str())
            .collect::<Vec<_>>()
            .join(gap);
        assert_gating_is_invisible(&joined);
    }
}

#[test]
fn shipped_packs_only_name_catalog_types_and_keep_scores_in_range() {
    let by_type: BTreeMap<String, usize> =
        rules::load_dir(&rules_dir())
            .unwrap()
            .iter()
            .fold(BTreeMap::new(), |mut m, r| {
                *m.entry(r.entity_type.clone()).or_insert(0) += 1;
                m
            });
    for ty in by_type.keys() {
        assert!(catalog::is_entity_type(ty), "{ty}");
    }
    for required in [
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "FAX_NUMBER",
        "US_SSN",
        "US_ITIN",
        "CREDIT_CARD",
        "IBAN_CODE",
        "ABA_ROUTING_NUMBER",
        "US_BANK_NUMBER",
        "ACCOUNT_NUMBER",
        "IP_ADDRESS",
        "MAC_ADDRESS",
        "URL",
        "US_PASSPORT",
        "US_DRIVER_LICENSE",
        "VIN",
        "US_NPI",
        "DEA_NUMBER",
        "MEDICAL_LICENSE",
        "MEDICAL_RECORD_NUMBER",
        "HEALTH_PLAN_ID",
        "DEVICE_ID",
        "DATE_TIME",
        "AGE_OVER_89",
        "ZIP_CODE",
        "STREET_ADDRESS",
        "LICENSE_PLATE",
        "AWS_ACCESS_KEY",
        "AWS_SECRET_KEY",
        "API_KEY",
        "JWT",
        "PRIVATE_KEY",
        "PASSWORD",
        "SECRET",
    ] {
        assert!(by_type.contains_key(required), "no rule for {required}");
    }
}

/// Findings must be usable by every consumer: on char boundaries, non-empty, in the text, scored
/// in [0, 1], with a known type.
fn assert_well_formed(text: &str, findings: &[Finding]) {
    for f in findings {
        assert!(
            f.start < f.end && f.end <= text.len(),
            "{f:?} in text of {} bytes",
            text.len()
        );
        assert!(
            text.is_char_boundary(f.start) && text.is_char_boundary(f.end),
            "{f:?}"
        );
        assert!((0.0..=1.0).contains(&f.score), "{f:?}");
        assert!(catalog::is_entity_type(&f.entity_type), "{f:?}");
    }
}

#[test]
fn hostile_inputs_finish_with_well_formed_findings() {
    let d = detector();
    let cases: Vec<(&str, String)> = vec![
        ("100k a", "a".repeat(100_000)),
        ("10 MB digits", "7".repeat(10 << 20)),
        ("ZIP-like numbers", "12345 ".repeat(100_000)),
        ("at signs", "a@".repeat(200_000)),
        (
            "unterminated PEM headers",
            "-----BEGIN PRIVATE KEY-----\n".repeat(20_000),
        ),
        (
            "one endless URL",
            format!("https://{}", "a/".repeat(500_000)),
        ),
        ("JWT-like prefix", format!("eyJ{}.eyJ", "A".repeat(500_000))),
        ("newlines", "\n".repeat(1 << 20)),
        ("multibyte", "é日😀".repeat(100_000)),
        (
            "context words only",
            "MRN account DOB ssn fax ".repeat(40_000),
        ),
        ("dashes and digits", "1-".repeat(300_000)),
    ];
    for (name, text) in &cases {
        let findings = d.detect(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_well_formed(text, &findings);
        let all = ungated_detector()
            .detect(text)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_well_formed(text, &all);
    }
    // Linear, not quadratic: the ZIP-like input yields one ZIP candidate per number, nothing more.
    let zips = ungated_detector().detect(&cases[2].1).unwrap();
    assert_eq!(
        zips.iter().filter(|f| f.rule_id == "zip-code").count(),
        100_000
    );
}

/// The gateway scans many requests at once with one detector: results must not depend on which
/// thread (and which pooled automaton cache) ran the scan.
#[test]
fn concurrent_scans_agree() {
    let text = std::fs::read_dir(rules_dir().join("examples"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    let expected = reported(detector().detect(&text).unwrap());
    assert!(
        expected.len() > 100,
        "the example files should yield many findings"
    );
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    (0..5)
                        .map(|_| reported(detector().detect(&text).unwrap()))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            for got in h.join().unwrap() {
                assert_eq!(got, expected);
            }
        }
    });
}

#[test]
fn empty_text_has_no_findings() {
    assert!(detector().detect("").unwrap().is_empty());
}

/// Fragments that exercise many rules at once; proptest glues them with arbitrary separators.
const FRAGMENTS: &[&str] = &[
    "536-22-1234",
    "4111 1111 1111 1111",
    "jane@example.org",
    "(555) 234-5678",
    "+44 20 7946 0958",
    "DE89 3704 0044 0532 0130 00",
    "10.0.0.1",
    "fe80::1",
    "https://x.io/a?b=c",
    "MRN:",
    "DOB",
    "03/14/1962",
    "March 3",
    "92-year-old",
    "age 95",
    "AKIATTNS4LRWBQCABM6P",
    "password=",
    "eyJ",
    "-----BEGIN RSA PRIVATE KEY-----",
    "-----END RSA PRIVATE KEY-----",
    "1234 Maple Avenue",
    "IL 62704",
    "é",
    "日本",
    "😀",
    "\u{200b}",
    "\n",
    " ",
    "-",
    ".",
    ":",
    "@",
    "/",
    "0",
    "9",
];

fn fragment_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            prop::sample::select(FRAGMENTS).prop_map(str::to_owned),
            any::<String>(),
            "[0-9 .:/@-]{0,12}",
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics_and_spans_are_well_formed(text in any::<String>()) {
        let findings = detector().detect(&text).unwrap();
        assert_well_formed(&text, &findings);
    }

    #[test]
    fn pii_heavy_text_never_panics_and_spans_are_well_formed(text in fragment_text()) {
        let findings = detector().detect(&text).unwrap();
        assert_well_formed(&text, &findings);
        assert_gating_is_invisible(&text);
    }
}

/// Every positive example is also found by the whole pipeline (rule packs, dictionaries, the
/// normalised view, allow lists, merge; no NER), with its type and covering its value: the view
/// must not cut a value the rule matches as written (a JSON web token's segments decoded in the
/// middle of the token did).
#[test]
fn positive_examples_are_found_through_the_whole_pipeline() {
    let cfg = sluice::detect::DetectConfig {
        rules: rules_dir(),
        ner: false,
        ..Default::default()
    };
    let pipeline = sluice::detect::Pipeline::from_config(&cfg).expect("shipped packs load");
    let mut failures = Vec::new();
    let mut checked = 0;
    for entry in std::fs::read_dir(rules_dir().join("examples")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        let examples: Examples = toml::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for p in &examples.positive {
            let byte_start = p.text.find(&p.value).expect("value in text");
            let start = p.text[..byte_start].chars().count();
            let end = start + p.value.chars().count();
            let entities = pipeline.scan(&p.text).expect("scan");
            checked += 1;
            if !entities
                .iter()
                .any(|e| e.entity_type == p.entity && e.start <= start && end <= e.end)
            {
                failures.push(format!(
                    "{}: {} {:?} not found in {:?}: {:?}",
                    path.display(),
                    p.entity,
                    p.value,
                    p.text,
                    entities
                        .iter()
                        .map(|e| (&e.entity_type, e.start, e.end))
                        .collect::<Vec<_>>()
                ));
            }
        }
    }
    assert!(checked > 100, "only {checked} examples");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
