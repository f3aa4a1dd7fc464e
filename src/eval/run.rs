//! One pass over a corpus: scan every record, score it, decide it, and gather the report.
//!
//! The scanner and the decision are passed in, so that this is the real pipeline and the real
//! policies in `sluice eval` and hand-made stand-ins in tests. The report holds figures, types,
//! ids and template names, never text.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::corpus::Record;
use super::score::{ratio, Figures, Span, Tally, TypeCounts};
use crate::detect::{DetectError, DetectorKind, Entity};
use crate::policy::{Action, Decision};

/// What was evaluated, so a baseline is only compared with a run of the same kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setup {
    pub corpus: String,
    pub corpus_sha256: String,
    pub records: u64,
    pub ner: bool,
    /// The NER graph file name (not its directory), when NER ran.
    pub ner_model: Option<String>,
    pub policies: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TypeReport {
    #[serde(flatten)]
    pub counts: TypeCounts,
    #[serde(flatten)]
    pub figures: Figures,
}

impl From<&TypeCounts> for TypeReport {
    fn from(c: &TypeCounts) -> Self {
        TypeReport {
            counts: *c,
            figures: c.figures(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ClearedGroup {
    pub prompts: u64,
    pub not_allowed: u64,
}

/// Cleared prompts: the right decision is `allow`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ClearedReport {
    pub prompts: u64,
    /// Decided anything but `allow` under the policy set.
    pub not_allowed: u64,
    pub false_alarm_rate: Option<f64>,
    /// Got at least one detected entity that overlaps no gold span.
    pub with_spurious_entity: u64,
    pub spurious_entity_rate: Option<f64>,
    /// Detected entities that overlap no gold span, by type: what the false alarms are made of.
    pub spurious_types: BTreeMap<String, u64>,
    pub actions: BTreeMap<String, u64>,
    pub groups: BTreeMap<String, ClearedGroup>,
}

/// Labelled records: the decision on detected entities against the decision on the gold ones.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DecisionReport {
    pub records: u64,
    /// Decided less strictly than their gold entities would be (a leak of what policy protects).
    pub under_protected: u64,
    pub under_protected_rate: Option<f64>,
    /// Decided more strictly than their gold entities would be.
    pub over_protected: u64,
}

/// Gold entities of one type from one template that were not found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Miss {
    pub template: String,
    pub entity_type: String,
    pub missed: u64,
    pub total: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Timing {
    pub scan_seconds: f64,
    pub texts_per_second: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub setup: Setup,
    pub overall: TypeReport,
    pub types: BTreeMap<String, TypeReport>,
    pub kinds: BTreeMap<String, TypeReport>,
    pub cleared: ClearedReport,
    pub decisions: DecisionReport,
    /// Records whose scan failed (counted with no entities found; the gateway would keep them local).
    pub scan_errors: u64,
    pub misses: Vec<Miss>,
    pub timing: Timing,
}

/// How many (template, type) miss lines the report keeps, worst first.
const MISSES_KEPT: usize = 25;

/// Scans and scores `records`. `decide` judges an entity list under the policy set.
pub fn evaluate(
    records: &[Record],
    setup: Setup,
    scan: impl Fn(&str) -> Result<Vec<Entity>, DetectError>,
    decide: impl Fn(&[Entity]) -> Decision,
) -> Report {
    let mut all = Tally::default();
    let mut kinds: BTreeMap<String, Tally> = BTreeMap::new();
    let mut cleared = ClearedReport::default();
    let mut decisions = DecisionReport::default();
    let mut misses: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    let mut scan_errors = 0;
    let mut scan_seconds = 0.0;
    for r in records {
        let started = Instant::now();
        let scanned = scan(&r.text);
        scan_seconds += started.elapsed().as_secs_f64();
        let entities = scanned.unwrap_or_else(|_| {
            scan_errors += 1;
            Vec::new()
        });
        let gold: Vec<Span> = r
            .spans
            .iter()
            .map(|s| Span {
                start: s.start,
                end: s.end,
                entity_type: &s.entity_type,
            })
            .collect();
        let detected: Vec<Span> = entities
            .iter()
            .map(|e| Span {
                start: e.start,
                end: e.end,
                entity_type: &e.entity_type,
            })
            .collect();
        let chars = r.text.chars().count();
        all.add(chars, &gold, &detected);
        let mut one = Tally::default();
        one.add(chars, &gold, &detected);
        kinds
            .entry(r.kind.clone())
            .or_default()
            .add(chars, &gold, &detected);
        for (ty, c) in one.types.iter().filter(|(_, c)| c.gold_entities > 0) {
            let m = misses.entry((r.template.clone(), ty.clone())).or_default();
            m.0 += c.gold_entities - c.gold_entities_found;
            m.1 += c.gold_entities;
        }
        let decision = decide(&entities);
        if r.cleared {
            cleared.prompts += 1;
            let group = cleared.groups.entry(r.group().to_string()).or_default();
            group.prompts += 1;
            *cleared
                .actions
                .entry(decision.action.as_str().to_string())
                .or_default() += 1;
            if decision.action != Action::Allow {
                cleared.not_allowed += 1;
                group.not_allowed += 1;
            }
            let mut spurious = false;
            for d in &detected {
                if !gold.iter().any(|g| g.start < d.end && d.start < g.end) {
                    spurious = true;
                    *cleared
                        .spurious_types
                        .entry(d.entity_type.to_string())
                        .or_default() += 1;
                }
            }
            cleared.with_spurious_entity += u64::from(spurious);
        } else {
            let expected = decide(&gold_entities(r)).action;
            decisions.records += 1;
            decisions.under_protected += u64::from(decision.action < expected);
            decisions.over_protected += u64::from(decision.action > expected);
        }
    }
    cleared.false_alarm_rate = ratio(cleared.not_allowed, cleared.prompts);
    cleared.spurious_entity_rate = ratio(cleared.with_spurious_entity, cleared.prompts);
    decisions.under_protected_rate = ratio(decisions.under_protected, decisions.records);
    let mut misses: Vec<Miss> = misses
        .into_iter()
        .filter(|(_, (missed, _))| *missed > 0)
        .map(|((template, entity_type), (missed, total))| Miss {
            template,
            entity_type,
            missed,
            total,
        })
        .collect();
    misses.sort_by(|a, b| b.missed.cmp(&a.missed).then(a.template.cmp(&b.template)));
    misses.truncate(MISSES_KEPT);
    Report {
        setup,
        overall: TypeReport::from(&all.overall),
        types: all
            .types
            .iter()
            .map(|(t, c)| (t.clone(), c.into()))
            .collect(),
        kinds: kinds
            .iter()
            .map(|(k, t)| (k.clone(), (&t.overall).into()))
            .collect(),
        cleared,
        decisions,
        scan_errors,
        misses,
        timing: Timing {
            scan_seconds,
            texts_per_second: if scan_seconds > 0.0 {
                records.len() as f64 / scan_seconds
            } else {
                0.0
            },
        },
    }
}

/// The gold spans as entities, to ask the policies what the right decision is.
fn gold_entities(r: &Record) -> Vec<Entity> {
    r.spans
        .iter()
        .map(|s| Entity {
            entity_type: s.entity_type.clone(),
            start: s.start,
            end: s.end,
            score: 1.0,
            detector: DetectorKind::Regex,
            rule_id: "gold".into(),
            validated: true,
            context: Vec::new(),
            decoded: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::corpus::parse;
    use crate::policy::store::PolicyStore;

    const CORPUS: &str = concat!(
        "{\"id\":\"p1\",\"kind\":\"chat\",\"template\":\"chat/a\",\"text\":\"Call Ann Lee on 555-0100 now\",\"spans\":[{\"start\":5,\"end\":12,\"type\":\"PERSON\"},{\"start\":16,\"end\":24,\"type\":\"PHONE_NUMBER\"}],\"cleared\":false}\n",
        "{\"id\":\"c1\",\"kind\":\"cleared\",\"template\":\"cleared/sw/x\",\"text\":\"Upgrade to 2.3.1 today\",\"spans\":[],\"cleared\":true}\n",
        "{\"id\":\"c2\",\"kind\":\"cleared\",\"template\":\"cleared/health/y\",\"text\":\"Is asthma common?\",\"spans\":[{\"start\":3,\"end\":9,\"type\":\"MEDICAL_CONDITION\"}],\"cleared\":true}\n",
    );

    fn entity(ty: &str, start: usize, end: usize) -> Entity {
        Entity {
            entity_type: ty.into(),
            start,
            end,
            score: 0.9,
            detector: DetectorKind::Regex,
            rule_id: "t".into(),
            validated: false,
            context: Vec::new(),
            decoded: None,
        }
    }

    fn setup() -> Setup {
        Setup {
            corpus: "c".into(),
            corpus_sha256: "x".into(),
            records: 3,
            ner: false,
            ner_model: None,
            policies: vec!["hipaa".into(), "soc2".into()],
        }
    }

    #[test]
    fn a_missed_name_and_a_false_alarm_on_a_version() {
        let records = parse("c", CORPUS.as_bytes()).unwrap();
        let store = PolicyStore::open(concat!(env!("CARGO_MANIFEST_DIR"), "/policies")).unwrap();
        let snapshot = store.snapshot();
        // soc2 alone: its name-with-contact rule tells a name and phone (local) from a phone
        // alone (redact). Under hipaa both are `local`.
        let set = ["soc2"];
        // A scanner that finds the phone number but not the name, flags the version as a
        // phone number, and finds the condition.
        let scan = |text: &str| -> Result<Vec<Entity>, DetectError> {
            Ok(match text {
                t if t.starts_with("Call") => vec![entity("PHONE_NUMBER", 16, 24)],
                t if t.starts_with("Upgrade") => vec![entity("PHONE_NUMBER", 11, 16)],
                _ => vec![entity("MEDICAL_CONDITION", 3, 9)],
            })
        };
        let report = evaluate(&records, setup(), scan, |e| {
            snapshot.decide(&set, Ok::<_, ()>(e))
        });
        assert_eq!(report.overall.counts.gold_chars, 7 + 8 + 6);
        assert_eq!(report.overall.figures.char_recall, Some(14.0 / 21.0));
        assert_eq!(report.types["PERSON"].figures.char_recall, Some(0.0));
        assert_eq!(report.cleared.prompts, 2);
        assert_eq!(report.cleared.not_allowed, 1);
        assert_eq!(report.cleared.false_alarm_rate, Some(0.5));
        assert_eq!(report.cleared.with_spurious_entity, 1);
        assert_eq!(report.cleared.spurious_types["PHONE_NUMBER"], 1);
        assert_eq!(report.cleared.groups["cleared/sw"].not_allowed, 1);
        assert_eq!(report.cleared.groups["cleared/health"].not_allowed, 0);
        // Gold (name + phone) is `local`; the phone alone is `redact`: under-protected.
        assert_eq!(report.decisions.records, 1);
        assert_eq!(report.decisions.under_protected, 1);
        assert_eq!(report.misses.len(), 1);
        assert_eq!(report.misses[0].template, "chat/a");
        assert_eq!(report.misses[0].entity_type, "PERSON");
    }

    #[test]
    fn a_failed_scan_finds_nothing_and_is_counted() {
        let records = parse("c", CORPUS.as_bytes()).unwrap();
        let store = PolicyStore::open(concat!(env!("CARGO_MANIFEST_DIR"), "/policies")).unwrap();
        let snapshot = store.snapshot();
        let report = evaluate(
            &records,
            setup(),
            |_| Err(DetectError::Deadline),
            |e| snapshot.decide(&["hipaa"], Ok::<_, ()>(e)),
        );
        assert_eq!(report.scan_errors, 3);
        assert_eq!(report.overall.figures.char_recall, Some(0.0));
    }
}
