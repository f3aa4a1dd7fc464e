//! The recorded figures (tests/eval/baseline.json) and the gate that keeps detection from
//! regressing: recall, entity F2 and the decisions on cleared and labelled prompts.
//!
//! The file is written by `sluice eval --write-baseline` and reviewed like code: a change to it
//! says in its commit why the figures moved. Tolerances live in the file, next to the figures
//! they apply to; re-recording keeps them.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::run::{Report, Setup};

/// How far a figure may move the wrong way before the gate fails (absolute, as fractions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tolerances {
    pub char_recall: f64,
    pub entity_f2: f64,
    /// Per-type character recall, for types with at least `small_type_entities` gold entities.
    pub type_char_recall: f64,
    /// Per-type character recall for smaller types, whose figures move more per entity.
    pub small_type_char_recall: f64,
    pub small_type_entities: u64,
    pub false_alarm_rate: f64,
    pub under_protected_rate: f64,
}

impl Default for Tolerances {
    fn default() -> Self {
        Tolerances {
            char_recall: 0.005,
            entity_f2: 0.01,
            type_char_recall: 0.02,
            small_type_char_recall: 0.05,
            small_type_entities: 50,
            false_alarm_rate: 0.005,
            under_protected_rate: 0.01,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeFigures {
    pub gold_entities: u64,
    pub char_recall: f64,
}

/// The gated figures (and character precision, recorded for reading, not gated).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatedFigures {
    pub char_recall: f64,
    pub char_precision: f64,
    pub entity_f2: f64,
    pub false_alarm_rate: f64,
    pub under_protected_rate: f64,
    pub types: BTreeMap<String, TypeFigures>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub setup: Setup,
    pub tolerances: Tolerances,
    pub figures: GatedFigures,
}

impl GatedFigures {
    pub fn of(report: &Report) -> GatedFigures {
        let f = &report.overall.figures;
        GatedFigures {
            char_recall: f.char_recall.unwrap_or(0.0),
            char_precision: f.char_precision.unwrap_or(0.0),
            entity_f2: f.entity_f2.unwrap_or(0.0),
            false_alarm_rate: report.cleared.false_alarm_rate.unwrap_or(0.0),
            under_protected_rate: report.decisions.under_protected_rate.unwrap_or(0.0),
            types: report
                .types
                .iter()
                .filter_map(|(t, r)| {
                    Some((
                        t.clone(),
                        TypeFigures {
                            gold_entities: r.counts.gold_entities,
                            char_recall: r.figures.char_recall?,
                        },
                    ))
                })
                .collect(),
        }
    }
}

impl Baseline {
    pub fn load(path: &Path) -> anyhow::Result<Baseline> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the baseline {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{}: not a baseline", path.display()))
    }

    /// The baseline for `report`, keeping the tolerances of `previous` if there is one.
    pub fn record(report: &Report, previous: Option<&Baseline>) -> Baseline {
        Baseline {
            setup: report.setup.clone(),
            tolerances: previous.map(|b| b.tolerances.clone()).unwrap_or_default(),
            figures: GatedFigures::of(report),
        }
    }

    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
    }

    /// Every regression of `now` beyond the tolerances, one sentence each; empty when none.
    /// A run of another corpus or detector setup cannot be compared: that is an error.
    pub fn regressions(&self, now: &Report) -> anyhow::Result<Vec<String>> {
        let (was, is) = (&self.setup, &now.setup);
        if was.corpus_sha256 != is.corpus_sha256 {
            anyhow::bail!(
                "the corpus is not the one the baseline was recorded on (sha256 {} then, {} now): \
                 re-record it with `make eval-baseline` in the commit that changes the corpus",
                short(&was.corpus_sha256),
                short(&is.corpus_sha256)
            );
        }
        if was.ner != is.ner || was.policies != is.policies {
            anyhow::bail!(
                "the baseline was recorded with ner = {} and policies {:?}; this run has ner = {} and policies {:?}",
                was.ner,
                was.policies,
                is.ner,
                is.policies
            );
        }
        let t = &self.tolerances;
        let base = &self.figures;
        let cur = GatedFigures::of(now);
        let mut out = Vec::new();
        let mut fell = |what: &str, was: f64, is: f64, tol: f64| {
            if is < was - tol - 1e-12 {
                out.push(format!(
                    "{what} fell from {} to {} (tolerance {})",
                    pct(was),
                    pct(is),
                    pct(tol)
                ));
            }
        };
        fell(
            "character recall",
            base.char_recall,
            cur.char_recall,
            t.char_recall,
        );
        fell("entity F2", base.entity_f2, cur.entity_f2, t.entity_f2);
        for (ty, b) in &base.types {
            let is = cur.types.get(ty).map_or(0.0, |c| c.char_recall);
            let tol = if b.gold_entities < t.small_type_entities {
                t.small_type_char_recall
            } else {
                t.type_char_recall
            };
            fell(&format!("{ty} character recall"), b.char_recall, is, tol);
        }
        let mut rise = |what: &str, was: f64, is: f64, tol: f64| {
            if is > was + tol + 1e-12 {
                out.push(format!(
                    "{what} rose from {} to {} (tolerance {})",
                    pct(was),
                    pct(is),
                    pct(tol)
                ));
            }
        };
        rise(
            "cleared-prompt false-alarm rate",
            base.false_alarm_rate,
            cur.false_alarm_rate,
            t.false_alarm_rate,
        );
        rise(
            "under-protected rate",
            base.under_protected_rate,
            cur.under_protected_rate,
            t.under_protected_rate,
        );
        Ok(out)
    }
}

fn pct(x: f64) -> String {
    format!("{:.2}%", 100.0 * x)
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::run::{ClearedReport, DecisionReport, Timing, TypeReport};
    use crate::eval::score::TypeCounts;

    fn counts(gold: u64, found: u64) -> TypeCounts {
        TypeCounts {
            gold_entities: gold,
            gold_chars: gold * 10,
            gold_chars_found: found * 10,
            gold_chars_found_typed: found * 10,
            gold_entities_found: found,
            detected_entities: found,
            detected_chars: found * 10,
            detected_chars_in_gold: found * 10,
            detected_entities_correct: found,
        }
    }

    /// A report with `person` of 100 names found and `ssn` of 10 SSNs found, and the cleared
    /// prompts' false alarms out of 200.
    fn report(person: u64, ssn: u64, false_alarms: u64) -> Report {
        let mut overall = counts(110, person + ssn);
        overall.detected_entities = person + ssn;
        let types = [
            ("PERSON".to_string(), (&counts(100, person)).into()),
            ("US_SSN".to_string(), (&counts(10, ssn)).into()),
        ]
        .into_iter()
        .collect();
        Report {
            setup: Setup {
                corpus: "c".into(),
                corpus_sha256: "abc".into(),
                records: 310,
                ner: true,
                ner_model: Some("model_q4.onnx".into()),
                policies: vec!["hipaa".into()],
            },
            overall: TypeReport::from(&overall),
            types,
            kinds: BTreeMap::new(),
            cleared: ClearedReport {
                prompts: 200,
                not_allowed: false_alarms,
                false_alarm_rate: Some(false_alarms as f64 / 200.0),
                ..Default::default()
            },
            decisions: DecisionReport {
                records: 110,
                under_protected: 0,
                under_protected_rate: Some(0.0),
                over_protected: 0,
            },
            scan_errors: 0,
            misses: Vec::new(),
            timing: Timing {
                scan_seconds: 1.0,
                texts_per_second: 310.0,
            },
        }
    }

    #[test]
    fn the_same_figures_pass() {
        let b = Baseline::record(&report(90, 8, 10), None);
        assert_eq!(
            b.regressions(&report(90, 8, 10)).unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_recall_drop_beyond_tolerance_fails_and_names_the_type() {
        let b = Baseline::record(&report(90, 8, 10), None);
        // PERSON 90% -> 85%: beyond the 2-point per-type tolerance (100 gold entities), and the
        // overall recall 89.1% -> 84.5%. The SSN (10 entities: small type, 5 points) is unchanged.
        let r = b.regressions(&report(85, 8, 10)).unwrap();
        assert!(
            r.iter()
                .any(|m| m.starts_with("PERSON character recall fell from 90.00% to 85.00%")),
            "{r:?}"
        );
        assert!(
            r.iter().any(|m| m.starts_with("character recall fell")),
            "{r:?}"
        );
        assert!(!r.iter().any(|m| m.contains("US_SSN")), "{r:?}");
    }

    #[test]
    fn small_types_get_the_looser_tolerance() {
        let mut b = Baseline::record(&report(90, 8, 10), None);
        b.tolerances.char_recall = 1.0;
        b.tolerances.entity_f2 = 1.0;
        // One SSN of ten lost: 80% -> 70%, beyond even the 5-point small-type tolerance.
        let r = b.regressions(&report(90, 7, 10)).unwrap();
        assert_eq!(
            r,
            vec!["US_SSN character recall fell from 80.00% to 70.00% (tolerance 5.00%)"]
        );
        // With a 15-point tolerance for small types it passes.
        b.tolerances.small_type_char_recall = 0.15;
        assert!(b.regressions(&report(90, 7, 10)).unwrap().is_empty());
    }

    #[test]
    fn more_false_alarms_fail() {
        let b = Baseline::record(&report(90, 8, 10), None);
        // 10/200 = 5% -> 12/200 = 6%: beyond 0.5 points.
        let r = b.regressions(&report(90, 8, 12)).unwrap();
        assert_eq!(
            r,
            vec!["cleared-prompt false-alarm rate rose from 5.00% to 6.00% (tolerance 0.50%)"]
        );
        // 11/200 is within it; fewer false alarms are never a regression.
        assert!(b.regressions(&report(90, 8, 11)).unwrap().is_empty());
        assert!(b.regressions(&report(95, 10, 0)).unwrap().is_empty());
    }

    #[test]
    fn another_corpus_or_setup_cannot_be_compared() {
        let b = Baseline::record(&report(90, 8, 10), None);
        let mut other = report(90, 8, 10);
        other.setup.corpus_sha256 = "def".into();
        let e = b.regressions(&other).unwrap_err().to_string();
        assert!(e.contains("make eval-baseline"), "{e}");
        let mut no_ner = report(90, 8, 10);
        no_ner.setup.ner = false;
        assert!(b.regressions(&no_ner).is_err());
    }

    #[test]
    fn re_recording_keeps_the_tolerances() {
        let mut first = Baseline::record(&report(90, 8, 10), None);
        first.tolerances.false_alarm_rate = 0.02;
        let second = Baseline::record(&report(91, 8, 10), Some(&first));
        assert_eq!(second.tolerances.false_alarm_rate, 0.02);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.json");
        second.write(&path).unwrap();
        assert_eq!(Baseline::load(&path).unwrap(), second);
    }
}
