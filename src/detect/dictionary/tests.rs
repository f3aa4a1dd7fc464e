use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::*;

fn dictionary(name: &str, entity_type: &str, terms: &[&str]) -> DictionaryFile {
    DictionaryFile {
        path: PathBuf::from(format!("{name}.txt")),
        name: name.to_owned(),
        entity_type: entity_type.to_owned(),
        score: 0.8,
        source: None,
        licence: None,
        case: Case::Any,
        terms: terms
            .iter()
            .enumerate()
            .map(|(i, t)| Term {
                text: (*t).to_owned(),
                line: i + 1,
            })
            .collect(),
    }
}

fn detector(terms: &[&str]) -> DictionaryDetector {
    DictionaryDetector::from_files(vec![dictionary("test", "MEDICAL_CONDITION", terms)]).unwrap()
}

/// (matched text, rule id) of every finding, in text order.
fn found<'t>(d: &DictionaryDetector, text: &'t str) -> Vec<(&'t str, String)> {
    let mut findings = d.detect(text).unwrap();
    findings.sort_by_key(|f| (f.start, f.end));
    findings
        .into_iter()
        .map(|f| (&text[f.start..f.end], f.rule_id))
        .collect()
}

fn texts<'t>(d: &DictionaryDetector, text: &'t str) -> Vec<&'t str> {
    found(d, text).into_iter().map(|(t, _)| t).collect()
}

fn shipped_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/dictionaries")
}

fn shipped() -> &'static DictionaryDetector {
    static SHIPPED: std::sync::OnceLock<DictionaryDetector> = std::sync::OnceLock::new();
    SHIPPED.get_or_init(|| DictionaryDetector::load(&shipped_dir()).unwrap())
}

#[test]
fn matches_whole_words_only() {
    let d = detector(&["ALS", "gout", "COVID-19"]);
    assert_eq!(texts(&d, "totals, ALSO, gouty, ragout"), Vec::<&str>::new());
    assert_eq!(
        texts(&d, "ALS; gout. (COVID-19)"),
        vec!["ALS", "gout", "COVID-19"]
    );
    assert_eq!(
        texts(&d, "COVID-190 gout_x x_gout 2gout"),
        Vec::<&str>::new()
    );
    assert_eq!(
        texts(&d, "post-COVID-19 gout-related"),
        vec!["COVID-19", "gout"]
    );
}

#[test]
fn capitalised_lists_match_only_capitalised_words() {
    let terms = ["Reading", "New York", "O'Brien", "Trinidad and Tobago"];
    let mut places = dictionary("places", "LOCATION", &terms);
    places.case = Case::Capitalised;
    let d = DictionaryDetector::from_files(vec![places]).unwrap();
    assert_eq!(
        texts(
            &d,
            "Reading in New York, O'Brien, Trinidad and Tobago, NEW YORK"
        ),
        [
            "Reading",
            "New York",
            "O'Brien",
            "Trinidad and Tobago",
            "NEW YORK"
        ]
    );
    assert!(texts(&d, "reading in new York, new york, o'brien, trinidad").is_empty());
}

#[test]
fn ascii_case_insensitive_but_capitals_only_terms_are_exact() {
    let d = detector(&["metformin", "ALS", "Crohn's disease"]);
    assert_eq!(
        texts(&d, "Metformin METFORMIN metformin mEtFoRmIn"),
        vec!["Metformin", "METFORMIN", "metformin", "mEtFoRmIn"]
    );
    assert_eq!(texts(&d, "als Als aLS ALS"), vec!["ALS"]);
    assert_eq!(
        texts(&d, "CROHN'S DISEASE, crohn's disease"),
        vec!["CROHN'S DISEASE", "crohn's disease"]
    );
}

#[test]
fn leftmost_longest_within_a_dictionary() {
    let d = detector(&["diabetes", "type 2 diabetes", "type 2", "diabetes mellitus"]);
    assert_eq!(
        texts(&d, "type 2 diabetes mellitus"),
        vec!["type 2 diabetes"]
    );
    assert_eq!(
        texts(&d, "has diabetes mellitus and diabetes"),
        vec!["diabetes mellitus", "diabetes"]
    );
    assert_eq!(texts(&d, "prototype 2 diabetes"), vec!["diabetes"]);
}

#[test]
fn a_longer_term_failing_the_word_check_does_not_hide_a_shorter_one() {
    let d = detector(&["heart failure", "heart failure x"]);
    assert_eq!(texts(&d, "heart failure xyz"), vec!["heart failure"]);
    let d = detector(&["breast", "breast cancer"]);
    assert_eq!(texts(&d, "breast cancerous"), vec!["breast"]);
}

#[test]
fn typographic_apostrophes_match_too() {
    let d = detector(&["Crohn's disease", "Bell’s palsy"]);
    assert_eq!(
        texts(
            &d,
            "Crohn’s disease and Crohn's disease; Bell's palsy, Bell’s palsy"
        ),
        vec![
            "Crohn’s disease",
            "Crohn's disease",
            "Bell's palsy",
            "Bell’s palsy"
        ]
    );
}

#[test]
fn offsets_are_char_boundaries_around_multibyte_text() {
    let d = detector(&[
        "diabetes",
        "HIV",
        "Crohn's disease",
        "Sjögren's syndrome",
        "日本脳炎",
    ]);
    let text = "患者は diabetes と HIV を持つ—Crohn’s disease. Ünd Sjögren's syndrome; 日本脳炎。";
    let findings = d.detect(text).unwrap();
    assert_eq!(findings.len(), 5);
    for f in &findings {
        assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end));
        assert_eq!(f.detector, DetectorKind::Dictionary);
        assert_eq!(f.entity_type, "MEDICAL_CONDITION");
        assert_eq!(f.rule_id, "test");
    }
    assert_eq!(
        texts(&d, text),
        vec![
            "diabetes",
            "HIV",
            "Crohn’s disease",
            "Sjögren's syndrome",
            "日本脳炎"
        ]
    );
    // A term of letters inside a longer run of non-ASCII letters is not a whole word.
    assert_eq!(texts(&d, "ädiabetes diabetesé"), Vec::<&str>::new());
}

#[test]
fn each_dictionary_reports_independently() {
    let d = DictionaryDetector::from_files(vec![
        dictionary(
            "medical_conditions",
            "MEDICAL_CONDITION",
            &["breast cancer", "cancer"],
        ),
        dictionary(
            "procedures",
            "PROCEDURE",
            &["breast cancer screening", "chemotherapy"],
        ),
    ])
    .unwrap();
    let got = found(&d, "breast cancer screening, then chemotherapy");
    assert_eq!(
        got,
        vec![
            ("breast cancer", "medical_conditions".to_owned()),
            ("breast cancer screening", "procedures".to_owned()),
            ("chemotherapy", "procedures".to_owned()),
        ]
    );
    let f = d.detect("chemotherapy").unwrap();
    assert_eq!((f[0].entity_type.as_str(), f[0].score), ("PROCEDURE", 0.8));
}

#[test]
fn empty_and_hostile_inputs() {
    let d = detector(&["aa", "asthma"]);
    assert!(d.detect("").unwrap().is_empty());
    // One 100,000-character word: every position is a candidate, none is a whole word.
    assert!(d.detect(&"a".repeat(100_000)).unwrap().is_empty());
    assert_eq!(d.detect("aa").unwrap().len(), 1);
    // 10 MB of text: linear, every occurrence found.
    let chunk = "The patient reports asthma since childhood; no other history. ";
    let text = chunk.repeat(10 * 1024 * 1024 / chunk.len() + 1);
    assert_eq!(d.detect(&text).unwrap().len(), text.len() / chunk.len());
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const HEADER: &str =
    "# source: test\n# licence: CC0-1.0\n# entity_type: MEDICATION\n# score: 0.9\n";

#[test]
fn loads_dictionaries_and_deny_lists_but_not_allow_lists() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("meds.txt"),
        &format!("{HEADER}metformin\n"),
    );
    write(
        &dir.path().join("deny/codenames.txt"),
        "# Internal project names that must never leave.\nProject Bluebird\nPROJ-7\n",
    );
    // Allow lists have no header and are read by allow.rs only; other files are ignored.
    write(&dir.path().join("allow/cloud.txt"), "AWS\nS3\n");
    write(&dir.path().join("README.md"), "# Not a dictionary\n");
    let d = DictionaryDetector::load(dir.path()).unwrap();
    let names: Vec<_> = d
        .dictionaries()
        .iter()
        .map(|i| (i.name.as_str(), i.terms))
        .collect();
    assert_eq!(names, vec![("meds", 1), ("deny/codenames", 2)]);

    let text = "Is project bluebird on metformin? PROJ-7 yes, proj-7 no, AWS no.";
    let mut findings = d.detect(text).unwrap();
    findings.sort_by_key(|f| f.start);
    let got: Vec<_> = findings
        .iter()
        .map(|f| {
            (
                &text[f.start..f.end],
                f.entity_type.as_str(),
                f.rule_id.as_str(),
                f.score,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("project bluebird", "CUSTOM", "deny/codenames", 1.0),
            ("metformin", "MEDICATION", "meds", 0.9),
            ("PROJ-7", "CUSTOM", "deny/codenames", 1.0),
        ]
    );
}

#[test]
fn load_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meds.txt");
    write(&path, &format!("{HEADER}metformin\n# score: 0.5\n"));
    let e = DictionaryDetector::load(dir.path())
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.starts_with(&format!(
            "{}:6:3: directive `score` after the first term",
            path.display()
        )),
        "{e}"
    );

    write(
        &path,
        "# source: s\n# licence: l\n# entity_type: MEDICATIONS\n# score: 0.9\n",
    );
    let e = DictionaryDetector::load(dir.path())
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.starts_with(&format!(
            "{}:3:16: unknown entity type MEDICATIONS",
            path.display()
        )),
        "{e}"
    );

    std::fs::remove_file(&path).unwrap();
    write(&dir.path().join("deny/x.txt"), "# entity_type: CUSTOMER\n");
    let e = DictionaryDetector::load(dir.path())
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("deny/x.txt:1:16: unknown entity type CUSTOMER"),
        "{e}"
    );
}

#[test]
fn a_missing_or_empty_directory_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dictionaries");
    let e = DictionaryDetector::load(&missing)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.starts_with(&format!(
            "{}: dictionary directory not found",
            missing.display()
        )),
        "{e}"
    );

    write(&dir.path().join("allow/cloud.txt"), "AWS\n");
    let e = DictionaryDetector::load(dir.path())
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.starts_with(&format!("{}: no dictionary files", dir.path().display())),
        "{e}"
    );
}

#[test]
fn the_shipped_example_deny_list_loads_and_matches_as_custom() {
    let dir = tempfile::tempdir().unwrap();
    let example = std::fs::read_to_string(shipped_dir().join("deny/example.txt")).unwrap();
    write(
        &dir.path().join("deny/example.txt"),
        &format!("{example}\nOperation Sandpiper\n"),
    );
    let d = DictionaryDetector::load(dir.path()).unwrap();
    let f = d.detect("status of operation sandpiper?").unwrap();
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].entity_type.as_str(), f[0].rule_id.as_str(), f[0].score),
        ("CUSTOM", "deny/example", 1.0)
    );
}

#[test]
fn every_shipped_file_loads_with_its_type() {
    let d = shipped();
    let info: Vec<_> = d
        .dictionaries()
        .iter()
        .map(|i| (i.name.as_str(), i.entity_type.as_str(), i.terms))
        .collect();
    let find = |name: &str| info.iter().find(|i| i.0 == name).copied().unwrap();
    assert_eq!(find("medical_conditions").1, "MEDICAL_CONDITION");
    assert_eq!(find("medications").1, "MEDICATION");
    assert_eq!(find("procedures").1, "PROCEDURE");
    assert_eq!(find("deny/example").1, "CUSTOM");
    assert!(find("medical_conditions").2 > 3000, "{info:?}");
    assert!(find("medications").2 > 3000, "{info:?}");
    assert!(find("procedures").2 > 300, "{info:?}");
    // Every shipped term list names its provenance.
    for path in txt_files(&shipped_dir(), true).unwrap() {
        let f = file::load(&path, ListKind::Dictionary).unwrap();
        assert!(
            f.source.is_some() && f.licence.is_some(),
            "{}",
            path.display()
        );
    }
}

#[test]
fn shipped_allow_lists_load() {
    let allow = crate::detect::allow::AllowList::load(&shipped_dir().join("allow")).unwrap();
    for term in ["AWS", "s3", "EKS", "GCP", "Kubernetes"] {
        assert!(allow.contains(term), "{term}");
    }
}

#[test]
fn shipped_dictionaries_find_health_context() {
    let text = "Pt is a 54yo w/ Type 2 Diabetes and hypertension, on Metformin 500mg and Ozempic, \
                lisinopril for BP. Hx of HIV and COPD; Crohn’s disease in remission. \
                Colonoscopy in 2021, MRI scheduled, considering chemotherapy for breast cancer.";
    let got = found(shipped(), text);
    let expect = [
        ("Type 2 Diabetes", "medical_conditions"),
        ("hypertension", "medical_conditions"),
        ("Metformin", "medications"),
        ("Ozempic", "medications"),
        ("lisinopril", "medications"),
        ("HIV", "medical_conditions"),
        ("COPD", "medical_conditions"),
        ("Crohn’s disease", "medical_conditions"),
        ("Colonoscopy", "procedures"),
        ("MRI", "procedures"),
        ("chemotherapy", "procedures"),
        ("breast cancer", "medical_conditions"),
    ];
    for (term, rule) in expect {
        assert!(
            got.contains(&(term, rule.to_owned())),
            "{term} ({rule}) not in {got:?}"
        );
    }
    assert_eq!(got.len(), expect.len(), "{got:?}");
}

#[test]
fn shipped_dictionaries_stay_quiet_on_everyday_and_engineering_text() {
    let text = "ALL hands: please lead the major migration of the iron-clad billing service to AWS \
                (EKS on S3, GCP as fallback) before the cold snap. Our CAD team and the MS Office \
                admins will stress test the PCI scope, the CT office and the ED queue. The plague \
                of flaky tests is a DNS cache poisoning risk; the malware infection was contained. \
                Anxiety about the deadline is normal; the cold-start analogy is a stretch. \
                We will ship a fix, run a scan, operate the cluster, add a column, and ALTER TABLE \
                ADD the index. Allegra and Camila from sales join the PE review; TB of logs, RA \
                of the week, SAD lamps, ODD numbers, GAD-7 form fields, DM me, AML checks, MI office.";
    assert_eq!(found(shipped(), text), Vec::<(&str, String)>::new());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn findings_are_whole_words_on_char_boundaries(text in "[a-zA-Z0-9 é日’'\\-_.]{0,80}") {
        let d = detector(&["ab", "AB", "ab cd", "é日", "x'y", "b-c"]);
        let mut last_end = 0;
        let mut findings = d.detect(&text).unwrap();
        findings.sort_by_key(|f| f.start);
        for f in findings {
            prop_assert!(f.start < f.end && f.end <= text.len());
            prop_assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end));
            prop_assert!(f.start >= last_end, "overlap within one dictionary");
            last_end = f.end;
            let before = text[..f.start].chars().next_back();
            let after = text[f.end..].chars().next();
            prop_assert!(!before.is_some_and(is_word_char) && !after.is_some_and(is_word_char));
        }
    }
}

/// The obvious quadratic algorithm: try every term at every char boundary.
fn reference(terms: &[&str], text: &str) -> Vec<(usize, usize)> {
    let mut candidates = Vec::new();
    for (start, _) in text.char_indices() {
        for term in terms {
            let end = start + term.len();
            let Some(slice) = text.get(start..end) else {
                continue;
            };
            let same = if is_exact_case(term) {
                slice == *term
            } else {
                slice.eq_ignore_ascii_case(term)
            };
            if same && words::is_whole_word(text, start, end, Edges::of(term)) {
                candidates.push((start, end));
            }
        }
    }
    candidates.sort_by_key(|&(start, end)| (start, std::cmp::Reverse(end)));
    let mut chosen: Vec<(usize, usize)> = Vec::new();
    for (start, end) in candidates {
        if chosen.last().is_none_or(|&(_, last_end)| start >= last_end) {
            chosen.push((start, end));
        }
    }
    chosen
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn agrees_with_the_quadratic_reference(text in "[abAB é日_\\-+.2]{0,60}") {
        let terms = ["ab", "AB", "ab ab", "ab ab ba", "ba", "é日", "+b", "b-a", "a2", "日b"];
        let d = detector(&terms);
        let mut got: Vec<_> = d.detect(&text).unwrap().iter().map(|f| (f.start, f.end)).collect();
        got.sort();
        prop_assert_eq!(got, reference(&terms, &text));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Texts of a few hundred bytes made of pieces, so that words of every length (including
    /// past eight bytes, and running across 64-byte blocks) meet terms of every kind.
    #[test]
    fn agrees_with_the_reference_across_blocks(
        pieces in prop::collection::vec(0usize..13, 0..120)
    ) {
        let parts = [
            "ab", "ab ", "abababababab", " ", "-", "é", "日", "AB", "+b", "ba ", "__", "2",
            "abababababab ab",
        ];
        let text: String = pieces.iter().map(|&i| parts[i]).collect();
        let terms = [
            "ab", "AB", "ab ab", "abababababab", "abababababab ab", "ba", "é日", "+b", "b-a",
            "a2", "日b", "__",
        ];
        let d = detector(&terms);
        let mut got: Vec<_> = d.detect(&text).unwrap().iter().map(|f| (f.start, f.end)).collect();
        got.sort();
        prop_assert_eq!(got, reference(&terms, &text));
    }
}
