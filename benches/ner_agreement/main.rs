//! Agreement of the derived int8 NER graph with the wheel's 4-bit one on a fixed set of texts
//! (texts.rs): both run over every text, and the findings are compared entity by entity and
//! character by character (compare.rs), at every score and at the shipped `min_score`.
//!
//! `cargo bench --bench ner_agreement` (needs `make models`); NER_AGREEMENT_TEXTS sets how many
//! generated sentences join the fixed texts (default 2,000), NER_AGREEMENT_CANDIDATE the path of
//! another graph to compare with the 4-bit one instead of the int8 one (to try other derivations). It prints markdown tables for
//! BENCHMARKS.md and the texts on which the two graphs disagree at the shipped `min_score`.

mod compare;
mod texts;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use compare::Agreement;
use sluice::detect::ner::{NerConfig, NerDetector, DEFAULT_MODEL_FILE, WHEEL_MODEL_FILE};
use sluice::detect::{DetectConfig, Detector, Finding};

fn detector(repo: &Path, model_file: PathBuf) -> NerDetector {
    NerDetector::load(&NerConfig {
        model_dir: repo.join("models/rampart"),
        model_file,
        onnxruntime: repo.join("models/onnxruntime/libonnxruntime.so.1.31.1"),
        threads: 2,
        sessions: 1,
    })
    .expect("load the NER model (run `make models`)")
}

fn shown(text: &str, findings: &[Finding], min_score: f32) -> String {
    findings
        .iter()
        .filter(|f| f.score >= min_score)
        .map(|f| {
            format!(
                "{}={:?}({:.2})",
                f.entity_type,
                &text[f.start..f.end],
                f.score
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let count = std::env::var("NER_AGREEMENT_TEXTS")
        .map(|n| n.parse().expect("NER_AGREEMENT_TEXTS: a number"))
        .unwrap_or(2000);
    let min_score = DetectConfig::default().min_score;
    let samples = texts::all(&repo, count);
    let candidate = std::env::var_os("NER_AGREEMENT_CANDIDATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join("models/rampart").join(DEFAULT_MODEL_FILE));
    let q4 = detector(&repo, repo.join("models/rampart").join(WHEEL_MODEL_FILE));
    let int8 = detector(&repo, candidate);

    let sources = ["generated", "policy cases", "mixed prose"];
    let mut all_scores: Vec<Agreement> = sources.iter().map(|_| Agreement::default()).collect();
    let mut shipped: Vec<Agreement> = sources.iter().map(|_| Agreement::default()).collect();
    let (mut total_all, mut total_shipped) = (Agreement::default(), Agreement::default());
    let (mut time_q4, mut time_int8) = (Duration::ZERO, Duration::ZERO);
    let mut disagreements = Vec::new();
    for s in &samples {
        let started = Instant::now();
        let r = q4.detect(&s.text).expect("q4 detect");
        time_q4 += started.elapsed();
        let started = Instant::now();
        let c = int8.detect(&s.text).expect("int8 detect");
        time_int8 += started.elapsed();
        let at = sources
            .iter()
            .position(|x| *x == s.source)
            .expect("known source");
        all_scores[at].add(&s.text, &s.planted, &r, &c, 0.0);
        total_all.add(&s.text, &s.planted, &r, &c, 0.0);
        let before = total_shipped.identical_texts;
        shipped[at].add(&s.text, &s.planted, &r, &c, min_score);
        total_shipped.add(&s.text, &s.planted, &r, &c, min_score);
        if total_shipped.identical_texts == before {
            disagreements.push(format!(
                "{:?}\n    q4:   {}\n    int8: {}",
                s.text,
                shown(&s.text, &r, min_score),
                shown(&s.text, &c, min_score)
            ));
        }
    }

    for (title, per_source, total) in [
        ("every finding", &all_scores, &total_all),
        ("findings with score >= min_score", &shipped, &total_shipped),
    ] {
        println!("\n### {title}\n\n{}", compare::HEADER);
        for (name, a) in sources.iter().zip(per_source.iter()) {
            println!("{}", compare::row(name, a));
        }
        println!("{}", compare::row("all", total));
        println!(
            "max score difference on a shared finding: {:.3}",
            total.max_score_diff
        );
    }
    println!("\n### by type (score >= {min_score})\n\n| type | q4 | int8 | same type+span |\n|---|---|---|---|");
    for (t, n) in &total_shipped.by_type {
        println!("| {t} | {} | {} | {} |", n.reference, n.candidate, n.same);
    }
    println!(
        "\nNER time over all texts (2 threads, one after the other): q4 {:.2} s, int8 {:.2} s, ratio {:.2}",
        time_q4.as_secs_f64(),
        time_int8.as_secs_f64(),
        time_int8.as_secs_f64() / time_q4.as_secs_f64()
    );
    println!(
        "\n{} texts where the findings differ (score >= {min_score}):",
        disagreements.len()
    );
    for d in &disagreements {
        println!("  {d}");
    }
}
